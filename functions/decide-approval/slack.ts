import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { withoutToken, type ApprovalRequest } from '../../domain/approvals/index.ts';
import { approvalCard, decideApproval, recordRefusal, type DecideDeps, type DecideResult } from '../../domain/approvals/index.ts';
import type { Clock } from '../../domain/shared/index.ts';
import { ApprovalExpiredError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../domain/shared/index.ts';
import type { EventPublisher } from '../../domain/ports/index.ts';
import {
  parseSlackInteraction, signSlackJob, verifySlackJob, verifySlackRequest, type SlackDecisionJob, type SlackDecisionRequest,
} from '../../domain/approvals/index.ts';
import { ephemeral, renderApprovalMessage, replaceWith, respondToSlack, type SlackTransport } from '../shared/adapters/slack-notifier.ts';
import { header, HttpError, rawBody, SECURITY_HEADERS, type HttpResult } from '../shared/http/http.ts';
import { logger, metrics } from '../shared/observability.ts';

/**
 * Slack interactivity: Approve / Reject buttons in the channel message.
 *
 * Slack wants an answer within 3 seconds; a decision reads and writes DynamoDB and calls
 * Step Functions, and a cold start alone can take longer. So the work is split:
 *
 *   POST /slack/interactions (API Gateway, synchronous)
 *     verify Slack's signature over the raw body (5-minute window, constant time) ▶ read the
 *     click ▶ queue a job MACed with the signing secret ▶ 200 (empty) — typically < 100 ms
 *   "Slack Interaction Received" (EventBridge ▶ the same function, asynchronous, retried)
 *     verify the job's MAC and age ▶ Slack user ▶ person (inventory `slackUserId`) ▶
 *     decideApproval(channel slack) ▶ write the outcome back over the click's response_url
 *     (the channel message is replaced; refusals go only to the clicker, ephemeral)
 *
 * The job carries no Slack token and cannot be forged by anybody who can only put events on
 * the bus (they lack the signing secret). Both legs are idempotent, so a Slack retry or an
 * EventBridge redelivery changes nothing twice.
 */

export const SLACK_JOB_DETAIL_TYPE = 'Slack Interaction Received';

export interface SlackJobDetail { job: SlackDecisionJob; mac: string }

/** What the asynchronous leg receives (an EventBridge event). */
export interface SlackJobEvent { source: 'cleanpoint'; 'detail-type': typeof SLACK_JOB_DETAIL_TYPE; detail: SlackJobDetail; [k: string]: unknown }

export type SlackJobDispatcher = (detail: SlackJobDetail) => Promise<void>;

export interface SlackDeps extends DecideDeps {
  /** The Slack signing secret, or null when Slack is not set up for this stage. */
  slackSigningSecret: () => Promise<string | null>;
  /** Queues the job for the asynchronous leg. */
  dispatch: SlackJobDispatcher;
  slackTransport: SlackTransport;
  /** Slack's timestamps are wall-clock time: compared with this clock, never a simulated one. */
  wallClock: Clock;
}

let dispatchOverride: SlackJobDispatcher | null = null;

/**
 * Replace how verified clicks reach the asynchronous leg. On AWS they go over EventBridge (a
 * rule on the Cleanpoint bus invokes this function). The local runtime or a test may run the
 * job itself after the response instead.
 */
export function useSlackJobDispatcher(dispatcher: SlackJobDispatcher | null): void {
  dispatchOverride = dispatcher;
}

/** The dispatcher in force: the override, else PutEvents on the bus (FailedEntryCount checked by the publisher). */
export function slackJobDispatcher(publisher: () => EventPublisher | null): SlackJobDispatcher {
  return async (detail) => {
    if (dispatchOverride) return dispatchOverride(detail);
    const bus = publisher();
    if (!bus) throw new Error('EVENT_BUS_NAME is not set: Slack decisions cannot be queued');
    await bus.publish([{ detailType: SLACK_JOB_DETAIL_TYPE, detail: detail as unknown as Record<string, unknown> }]);
  };
}

/** The EventBridge event the rule delivers for a queued job (also what the local runtime invokes). */
export function slackJobEvent(detail: SlackJobDetail): SlackJobEvent {
  return { source: 'cleanpoint', 'detail-type': SLACK_JOB_DETAIL_TYPE, detail };
}

export function isSlackJobEvent(event: unknown): event is SlackJobEvent {
  const e = event as Partial<SlackJobEvent> | null;
  return typeof e === 'object' && e !== null && e.source === 'cleanpoint' && e['detail-type'] === SLACK_JOB_DETAIL_TYPE;
}

const ack = (): HttpResult => ({ statusCode: 200, headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }, body: '' });

/** POST /slack/interactions: verify, queue, acknowledge. */
export async function receiveSlackInteraction(d: SlackDeps, event: APIGatewayProxyEventV2, sourceIp: string): Promise<HttpResult> {
  const secret = await d.slackSigningSecret();
  if (!secret) throw new HttpError(404, 'Slack is not set up for this deployment.');
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
  const click = parseSlackInteraction(body);
  if (!click) return ack(); // another kind of interaction: acknowledged, nothing to do
  const job: SlackDecisionJob = { ...click, sourceIp, receivedAt: d.wallClock.now() };
  await d.dispatch({ job, mac: signSlackJob(secret, job) });
  logger.info('Slack decision queued', { approvalId: job.approvalId, slackUserId: job.slackUserId, decision: job.decision });
  return ack();
}

const jobSchema = z.strictObject({
  job: z.strictObject({
    approvalId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), decision: z.enum(['approve', 'reject']),
    slackUserId: z.string().min(1).max(64), teamId: z.string().max(64).optional(), userName: z.string().max(80).optional(),
    responseUrl: z.string().max(500).optional(), actionTs: z.string().max(32).optional(),
    sourceIp: z.string().max(64), receivedAt: z.number(),
  }),
  mac: z.string().max(128),
});

export interface SlackJobOutcome {
  outcome: 'decided' | 'duplicate' | 'refused' | 'ignored';
  reason?: string;
  status?: ApprovalRequest['status'];
}

/** The asynchronous leg: decide and write the outcome back to Slack. */
export async function processSlackJob(d: SlackDeps, event: SlackJobEvent): Promise<SlackJobOutcome> {
  const parsed = jobSchema.safeParse(event.detail);
  if (!parsed.success) {
    logger.warn('Slack job refused: malformed');
    return { outcome: 'ignored', reason: 'malformed job' };
  }
  const { job, mac } = parsed.data;
  const secret = await d.slackSigningSecret();
  if (!secret) return { outcome: 'ignored', reason: 'Slack is not set up' };
  const verified = verifySlackJob(secret, job as SlackDecisionJob, mac, d.wallClock.now());
  const request = await d.approvals.getApproval(job.approvalId);
  const source = sourceOf(job);
  if (!verified.ok) {
    // Not from our acknowledgement leg (forged), or queued too long ago to still stand for the click.
    if (request) await recordRefusal(d, request, { personId: `slack:${job.slackUserId}`, channel: 'slack', source, decision: job.decision }, `Slack job refused: ${verified.reason}`);
    logger.warn('Slack job refused', { approvalId: job.approvalId, reason: verified.reason });
    if (verified.reason === 'stale') await reply(d, job.responseUrl, ephemeral('Your click arrived too late to be acted on. Nothing was changed; please click again.'));
    return { outcome: 'refused', reason: verified.reason };
  }
  if (!request) {
    await reply(d, job.responseUrl, ephemeral('This approval request does not exist (any more). Nothing was changed.'));
    return { outcome: 'refused', reason: 'unknown approval request' };
  }
  const person = d.index.inventory.people.find((p) => p.slackUserId === job.slackUserId);
  if (!person) {
    const why = `Slack user ${job.slackUserId} is not linked to any person in the inventory`;
    await recordRefusal(d, request, { personId: `slack:${job.slackUserId}`, channel: 'slack', source, decision: job.decision }, why);
    await reply(d, job.responseUrl, ephemeral(`Not done: your Slack account is not linked to anyone in the Cleanpoint inventory (slackUserId), so it cannot decide. Nothing was changed.`));
    metrics.addMetric('SlackDecisionsRefused', MetricUnit.Count, 1);
    return { outcome: 'refused', reason: why };
  }
  let result: DecideResult;
  try {
    result = await decideApproval(d)({
      approvalId: request.approvalId, personId: person.id, decision: job.decision, channel: 'slack', source,
      ...(job.decision === 'reject' ? { reason: `rejected in Slack by ${person.name ?? person.id}` } : {}),
    });
  } catch (e) {
    if (e instanceof ForbiddenError || e instanceof ConflictError || e instanceof ApprovalExpiredError || e instanceof NotFoundError || e instanceof ValidationError) {
      // decideApproval audited the refusal; the clicker alone is told why.
      // A Slack button cannot give the second confirmation an unverified malware scan needs.
      const unverified = e instanceof ValidationError && e.issues.some((i) => i.path === 'confirmUnverified');
      await reply(d, job.responseUrl, ephemeral(unverified
        ? 'Not done: the malware scan of at least one proposed point is unverified, and approving it needs an explicit second confirmation that Slack buttons cannot give. Use your personal approval page (link in your e-mail). Nothing was changed.'
        : `Not done: ${e.message}. Nothing was changed.`));
      metrics.addMetric('SlackDecisionsRefused', MetricUnit.Count, 1);
      return { outcome: 'refused', reason: e.message };
    }
    throw e; // infrastructure: the asynchronous invocation is retried
  }
  if (result.duplicate) {
    await reply(d, job.responseUrl, ephemeral('Your decision was already recorded. Nothing was changed.'));
    return { outcome: 'duplicate', status: result.status };
  }
  metrics.addMetric(job.decision === 'approve' ? 'Approvals' : 'Rejections', MetricUnit.Count, 1);
  const incident = await d.incidents.getIncident(request.incidentId);
  if (incident) {
    const r = withoutToken(result.request);
    const nameOf = (id: string) => d.index.personById.get(id)?.name ?? id;
    await reply(d, job.responseUrl, replaceWith(renderApprovalMessage(approvalCard(r, incident, d.index), {
      status: result.status, approvalsNeeded: result.approvalsNeeded,
      decisions: r.decisions.map((x) => ({ personId: x.personId, name: nameOf(x.personId), decision: x.decision, at: x.at, channel: x.channel, ...(x.reason ? { reason: x.reason } : {}) })),
    })));
  }
  return { outcome: 'decided', status: result.status };
}

function sourceOf(job: Pick<SlackDecisionJob, 'teamId' | 'slackUserId' | 'sourceIp'>): string {
  return `slack:${job.teamId ?? '?'}/${job.slackUserId} via ${job.sourceIp}`;
}

/** Posting back is best effort: the decision stands whether or not Slack shows it. */
async function reply(d: SlackDeps, responseUrl: string | undefined, message: Record<string, unknown>): Promise<void> {
  try {
    await respondToSlack(responseUrl, message, d.slackTransport);
  } catch (e) {
    logger.warn('could not update the Slack message', { error: (e as Error).name, reason: (e as Error).message });
  }
}

/**
 * A refused Slack request names an approval only as a claim; it is audited on that request
 * when the request exists (approval ids are unguessable), so forged clicks on a live request
 * show up in its trail. Nothing else is read from an unverified body.
 */
async function auditUnverified(d: SlackDeps, body: string, sourceIp: string, why: string): Promise<void> {
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
