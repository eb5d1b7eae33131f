import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { slackJobDispatcher } from '../shared/adapters/slack/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { HttpError, type HttpResult } from '../shared/edge/index.ts';
import { lambda } from '../shared/middleware.ts';
import { eventPublisher, secret, stateStores } from '../shared/wiring.ts';
import { acknowledge, queue, slackFailure, verifiedClick, type ReceiveDeps } from './verify.ts';

/**
 * POST /slack/interactions — the channel message's buttons. Slack wants an answer within 3 s, so nothing is decided
 * here: verify Slack's signature ▶ read the click ▶ queue a job MACed with the secret (decide-slack-action) ▶ 200.
 */
export function makeHandler(deps: () => Promise<ReceiveDeps>) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    try {
      const d = await deps();
      const signingSecret = await d.slackSigningSecret();
      if (!signingSecret) throw new HttpError(404, 'Slack is not set up for this deployment.');
      const sourceIp = event.requestContext?.http?.sourceIp ?? 'unknown';
      const click = await verifiedClick(d, signingSecret, event, sourceIp);
      if (click) await queue(d, signingSecret, click, sourceIp); // else another kind of interaction: acknowledged, nothing to do
      return acknowledge();
    } catch (e) {
      return slackFailure(e, event);
    }
  };
}

/** The dependencies from the function's environment (compose.ts). Without the signing secret parameter, Slack is off (404). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<ReceiveDeps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, EVENT_BUS_NAME: configVars.EVENT_BUS_NAME, SLACK_SIGNING_SECRET_PARAMETER: configVars.SLACK_SIGNING_SECRET_PARAMETER }, env);
  const p = platform(overrides);
  const { approvals, audit } = stateStores(config, p);
  const [name, dispatch] = [config.SLACK_SIGNING_SECRET_PARAMETER, slackJobDispatcher(p, eventPublisher(config, p))];
  return async () => ({ approvals, audit, clock: p.clock, wallClock: p.wallClock, slackSigningSecret: async () => (name ? secret(name, p) : null), dispatch });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
