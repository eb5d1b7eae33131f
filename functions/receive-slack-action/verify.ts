import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { recordRefusal, type DecideDeps } from '../../domain/approvals/index.ts';
import type { Clock } from '../../domain/shared/index.ts';
import type { SlackJobDispatcher } from '../shared/compose.ts';
import { parseSlackInteraction, signSlackJob, verifySlackRequest, type SlackDecisionJob, type SlackDecisionRequest } from '../shared/adapters/slack/index.ts';
import { header, HttpError, json, publicMessage, rawBody, SECURITY_HEADERS, statusFor, type HttpResult } from '../shared/edge/index.ts';
import { logger, metrics } from '../shared/observability.ts';

/** What the receiver needs: the request store and audit trail (refusals), the signing secret, the queue, Slack's clock. */
export interface ReceiveDeps extends Pick<DecideDeps, 'approvals' | 'audit' | 'clock'> {
  /** The Slack signing secret, or null when Slack is not set up for this stage. */
  slackSigningSecret: () => Promise<string | null>;
  /** Queues the job for the asynchronous leg (decide-slack-action). */
  dispatch: SlackJobDispatcher;
  /** Slack's timestamps are wall-clock time: compared with this clock, never a simulated one. */
  wallClock: Clock;
}

/** Slack wants a 200 with an empty body, at once. */
export const acknowledge = (): HttpResult => ({ statusCode: 200, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }, body: '' });

/**
 * The click of a request Slack signed (the raw body exactly as received, 5-minute window,
 * constant time), or null for an interaction that is not a click on one of our buttons.
 * A request Slack did not sign is refused with 401 and audited on the request it names.
 */
export async function verifiedClick(d: ReceiveDeps, secret: string, event: APIGatewayProxyEventV2, sourceIp: string): Promise<SlackDecisionRequest | null> {
  const type = header(event, 'content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new HttpError(415, 'Slack interactions are form posts');
  const body = rawBody(event);
  const check = verifySlackRequest(secret, {
    timestamp: header(event, 'x-slack-request-timestamp'), signature: header(event, 'x-slack-signature'), rawBody: body,
  }, d.wallClock.now());
  if (!check.ok) {
    await auditUnverified(d, body, sourceIp, `Slack request refused: ${check.reason}`);
    metrics.addMetric('SlackRequestsRefused', MetricUnit.Count, 1);
    throw new HttpError(401, 'The request is not signed by Slack.');
  }
  return parseSlackInteraction(body);
}

/** Queue the verified click for the asynchronous decision, MACed with the signing secret (the job's age starts now). */
export async function queue(d: ReceiveDeps, secret: string, click: SlackDecisionRequest, sourceIp: string): Promise<void> {
  const job: SlackDecisionJob = { ...click, sourceIp, receivedAt: d.wallClock.now() };
  await d.dispatch({ job, mac: signSlackJob(secret, job) });
  logger.info('Slack decision queued', { approvalId: job.approvalId, slackUserId: job.slackUserId, decision: job.decision });
}

/**
 * A refused Slack request names an approval only as a claim; it is audited on that request
 * when the request exists (approval ids are unguessable), so forged clicks on a live request
 * show up in its trail. Nothing else is read from an unverified body.
 */
async function auditUnverified(d: ReceiveDeps, body: string, sourceIp: string, why: string): Promise<void> {
  let claim: SlackDecisionRequest | null = null;
  try {
    claim = parseSlackInteraction(body);
  } catch {
    claim = null;
  }
  const request = claim ? await d.approvals.getApproval(claim.approvalId) : null;
  if (claim && request) {
    await recordRefusal(d, request, { personId: `unverified:slack:${claim.slackUserId}`, channel: 'slack', source: `slack(unverified) via ${sourceIp}`, decision: claim.decision }, why);
  }
  logger.info('Slack request refused', { reason: why, approvalId: request?.approvalId });
}

/** Errors become JSON answers for Slack: 4xx messages are shown, 5xx internals never are. */
export function slackFailure(e: unknown, event: APIGatewayProxyEventV2): HttpResult {
  const status = statusFor(e);
  const message = publicMessage(e, status);
  if (status < 500) logger.info('approval request refused', { status, reason: message, method: event.requestContext?.http?.method, path: event.rawPath });
  return json(status, { error: message });
}
