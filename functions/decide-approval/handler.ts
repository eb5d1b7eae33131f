import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { systemClock } from '../../domain/shared/index.ts';
import { EventBridgePublisher } from '../shared/adapters/eventbridge-publisher.ts';
import { slackTransport } from '../shared/adapters/slack-notifier.ts';
import { eventBridgeClient } from '../shared/clients.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { html, HttpError, json, publicMessage, statusFor, type HttpResult } from '../shared/http/http.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { getSecret } from '../shared/secrets.ts';
import { catalogStore, clock, estate, protectionStore, stateStores, workflowEngine } from '../shared/wiring.ts';
import { messagePage } from './page.ts';
import { isSlackJobEvent, processSlackJob, receiveSlackInteraction, slackJobDispatcher, type SlackDeps, type SlackJobEvent, type SlackJobOutcome } from './slack.ts';
import { postDecision, showPage, type WebDeps } from './web.ts';

type SlackOnly = Omit<SlackDeps, keyof WebDeps>;

/** The web page needs WebDeps; the Slack routes also need SlackOnly (absent: Slack is off, the route answers 404). */
export type DecideHttpDeps = WebDeps & Partial<SlackOnly>;

function withSlack(d: DecideHttpDeps): SlackDeps {
  return {
    ...d,
    slackSigningSecret: d.slackSigningSecret ?? (async () => null),
    dispatch: d.dispatch ?? slackJobDispatcher(() => null),
    slackTransport: d.slackTransport ?? slackTransport(),
    wallClock: d.wallClock ?? systemClock,
  };
}

const ID = '([A-Za-z0-9_-]{1,64})';

/** HTTP API events get an HTTP response; the queued Slack job gets its outcome. */
export interface DecideApprovalHandler {
  (event: SlackJobEvent): Promise<SlackJobOutcome>;
  (event: APIGatewayProxyEventV2): Promise<HttpResult>;
}

/**
 * decide-approval: every way a person decides, and the asynchronous Slack leg.
 *   GET  /approvals/{approvalId}?p=&e=&g=&s=  the page (web.ts); GET never decides
 *   POST /approvals/{approvalId}/decision     the page's form (web.ts)
 *   POST /slack/interactions                  Slack buttons: verify, queue, 200 (slack.ts)
 *   EventBridge "Slack Interaction Received"  the queued Slack decision (slack.ts)
 * Errors become responses here: 4xx messages are shown, 5xx internals never are.
 */
export function makeHandler(deps: () => Promise<DecideHttpDeps>): DecideApprovalHandler {
  const handle = async (event: APIGatewayProxyEventV2 | SlackJobEvent): Promise<HttpResult | SlackJobOutcome> => {
    if (isSlackJobEvent(event)) return processSlackJob(withSlack(await deps()), event);
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? event.requestContext?.http?.path ?? '';
    const source = event.requestContext?.http?.sourceIp ?? 'unknown';
    const slack = path === '/slack/interactions';
    try {
      const d = await deps();
      const view = path.match(new RegExp(`^/approvals/${ID}$`));
      const decide = path.match(new RegExp(`^/approvals/${ID}/decision$`));
      if (view && method === 'GET') return await showPage(d, view[1]!, event.queryStringParameters ?? {}, source);
      if (decide && method === 'POST') return await postDecision(d, decide[1]!, event, source);
      if (slack && method === 'POST') return await receiveSlackInteraction(withSlack(d), event, source);
      if (view || decide || slack) throw new HttpError(405, 'method not allowed');
      throw new HttpError(404, 'no such page');
    } catch (e) {
      const status = statusFor(e);
      const message = publicMessage(e, status);
      if (status < 500) logger.info('approval request refused', { status, reason: message, method, path });
      if (slack) return json(status, { error: message });
      return html(status, messagePage(status, status === 410 ? 'Expired' : status === 403 ? 'Not allowed' : 'Request refused', message));
    }
  };
  return handle as DecideApprovalHandler;
}

const config = loadConfig({
  STATE_TABLE: configVars.STATE_TABLE, CATALOG_TABLE: configVars.CATALOG_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
  POLICY_SOURCE: configVars.POLICY_SOURCE, LINK_SECRET_PARAMETER: configVars.LINK_SECRET_PARAMETER,
  INCIDENT_STATE_MACHINE_ARN: configVars.INCIDENT_STATE_MACHINE_ARN.optional(),
  // Slack is optional: without the signing secret parameter /slack/interactions answers 404.
  SLACK_SIGNING_SECRET_PARAMETER: configVars.SLACK_SIGNING_SECRET_PARAMETER,
  // The bus the Slack acknowledgement queues decisions on (a rule brings them back here).
  EVENT_BUS_NAME: configVars.EVENT_BUS_NAME.optional(),
});
const stores = stateStores(config);
const catalog = catalogStore(config);
const protection = protectionStore(config);
const workflows = workflowEngine(config);
const bus = config.EVENT_BUS_NAME ? new EventBridgePublisher(eventBridgeClient, config.EVENT_BUS_NAME) : null;
const dispatch = slackJobDispatcher(() => bus);
const slackSecretParameter = config.SLACK_SIGNING_SECRET_PARAMETER;

export const handler = lambda(makeHandler(async () => ({
  ...stores, workflows, catalog, clock, ...(await estate(config)), linkSecret: await getSecret(config.LINK_SECRET_PARAMETER),
  slackSigningSecret: async () => (slackSecretParameter ? getSecret(slackSecretParameter) : null),
  dispatch, slackTransport: slackTransport(), wallClock: systemClock,
  readiness: (group: string) => protection.getReadiness(group),
})));
