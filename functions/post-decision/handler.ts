import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { decideOnPage } from '../../domain/approvals/index.ts';
import { identify, loadRequest, pageFailure, renderRequest, sourceOf } from '../shared/approval-page.ts';
import { html, type HttpResult } from '../shared/edge/index.ts';
import { lambda } from '../shared/middleware.ts';
import { metrics } from '../shared/observability.ts';
import { onFirstUse } from '../shared/compose.ts';
import { compose } from './compose.ts';
import { attemptOf, previewOf, readForm, type DecisionDeps } from './form.ts';

/**
 * POST /approvals/{approvalId}/decision — the form of the approval page. Order: a form post ▶
 * the personal link ▶ same origin ▶ CSRF ▶ the domain's rules (decideOnPage) ▶ a preview of
 * older points, or the decision (SendTaskSuccess/Failure once the outcome is final).
 */
export function makeHandler(deps: () => Promise<DecisionDeps>) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    try {
      const d = await deps();
      const form = readForm(event);
      const request = await loadRequest(d, event.pathParameters?.['approvalId']);
      const who = await identify(d, request, form.fields, sourceOf(event));
      const outcome = await decideOnPage(d)(await attemptOf(d, request, who, event, form, sourceOf(event)));
      if (outcome.kind === 'preview') return html(200, await previewOf(d, outcome.request, outcome.cutoffs, who));
      const { result } = outcome;
      metrics.addMetric(form.params.get('decision') === 'approve' ? 'Approvals' : 'Rejections', MetricUnit.Count, result.duplicate ? 0 : 1);
      return html(200, await renderRequest(d, result.request, who, result.duplicate ? 'Your decision was already recorded; nothing was changed.' : undefined));
    } catch (e) {
      return pageFailure(e, event);
    }
  };
}

export { compose };

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
