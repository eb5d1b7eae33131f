import { z } from 'zod';
import { parseWith } from '../../../../domain/shared/index.ts';
import type { EventPublisher } from '../../../../domain/ports/index.ts';
import type { Platform, SlackJobDispatcher } from '../../compose.ts';
import type { SlackDecisionJob } from './interaction.ts';

/**
 * The queued Slack decision. Slack wants an answer within 3 seconds; a decision reads and
 * writes DynamoDB and calls Step Functions, and a cold start alone can take longer. So the
 * receiver verifies the click and queues this job (MACed with the signing secret, signing.ts)
 * as a "Slack Interaction Received" event on the Cleanpoint bus; a rule delivers it to the
 * decider, asynchronously (retried, then dead-lettered). The job carries no Slack token and
 * cannot be forged by anybody who can only put events on the bus (they lack the secret).
 */

export const SLACK_JOB_DETAIL_TYPE = 'Slack Interaction Received';

export interface SlackJobDetail { job: SlackDecisionJob; mac: string }

/** What the asynchronous leg receives (an EventBridge event). */
export interface SlackJobEvent { source: 'cleanpoint'; 'detail-type': typeof SLACK_JOB_DETAIL_TYPE; detail: SlackJobDetail; [k: string]: unknown }

/** The EventBridge event the rule delivers for a queued job (also what a test or the local runtime invokes). */
export function slackJobEvent(detail: SlackJobDetail): SlackJobEvent {
  return { source: 'cleanpoint', 'detail-type': SLACK_JOB_DETAIL_TYPE, detail };
}

/**
 * How verified clicks reach the asynchronous leg: the platform's dispatcher when it names one
 * (the local runtime, a test), else PutEvents on the bus (FailedEntryCount checked by the publisher).
 */
export function slackJobDispatcher(p: Pick<Platform, 'slackJobDispatcher'>, bus: EventPublisher | null): SlackJobDispatcher {
  if (p.slackJobDispatcher) return p.slackJobDispatcher;
  return async (detail) => {
    if (!bus) throw new Error('EVENT_BUS_NAME is not set: Slack decisions cannot be queued');
    await bus.publish([{ detailType: SLACK_JOB_DETAIL_TYPE, detail: detail as unknown as Record<string, unknown> }]);
  };
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

/**
 * The job of a delivered event. A detail that is not one is never acted on: it is refused as a
 * ValidationError naming what is wrong (not retried; dead-lettered, so an operator sees it).
 */
export function parseSlackJob(event: unknown): SlackJobDetail {
  return parseWith(jobSchema, (event as { detail?: unknown } | null)?.detail, 'not a queued Slack decision', 'detail') as SlackJobDetail;
}

/** Who clicked, for the audit trail: `slack:<team>/<user> via <ip>`. */
export function slackSource(job: Pick<SlackDecisionJob, 'teamId' | 'slackUserId' | 'sourceIp'>): string {
  return `slack:${job.teamId ?? '?'}/${job.slackUserId} via ${job.sourceIp}`;
}
