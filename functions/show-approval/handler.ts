import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { identify, loadRequest, pageFailure, refuseWhatAGetCannotDo, renderRequest, sourceOf, type PageDeps } from '../shared/approval-page.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { html, type HttpResult } from '../shared/edge/index.ts';
import { lambda } from '../shared/middleware.ts';
import { estate, protectionStore, secret, stateStores, workflowEngine } from '../shared/wiring.ts';

/**
 * GET /approvals/{approvalId}?p=&e=&g=&s= — the approval page, shown to the person the
 * personal link was sent to. A GET never decides, whatever it carries (mail scanners and link
 * previews follow links): the page's forms post to post-decision.
 */
export function makeHandler(deps: () => Promise<PageDeps>) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    try {
      const d = await deps();
      const request = await loadRequest(d, event.pathParameters?.['approvalId']);
      const query = event.queryStringParameters ?? {};
      const who = await identify(d, request, query, sourceOf(event));
      await refuseWhatAGetCannotDo(d, request, who, query, sourceOf(event));
      return html(200, await renderRequest(d, request, who));
    } catch (e) {
      return pageFailure(e, event);
    }
  };
}

/** The dependencies from the function's environment (compose.ts): it reads, and audits refusals; it never resumes a workflow. */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<PageDeps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, LINK_SECRET_PARAMETER: configVars.LINK_SECRET_PARAMETER }, env);
  const p = platform(overrides);
  const protection = protectionStore(config, p);
  const fixed = { ...stateStores(config, p), workflows: workflowEngine({}, p), clock: p.clock, readiness: (group: string) => protection.getReadiness(group) };
  return async () => ({ ...fixed, index: (await estate(config, p)).index, linkSecret: await secret(config.LINK_SECRET_PARAMETER, p) });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
