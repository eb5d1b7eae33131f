import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SlackDecisionJob } from './interaction.ts';

/**
 * Slack request signing (Slack "Verifying requests from Slack", version v0): the signature is
 * `v0=` + hex HMAC-SHA256(signing secret, `v0:${timestamp}:${raw body}`), sent in
 * X-Slack-Signature with the timestamp in X-Slack-Request-Timestamp. A timestamp more than
 * five minutes from now is refused (replay window), and signatures are compared in constant
 * time. Also the MAC of the internal job that carries a verified click from the 3-second
 * acknowledgement to the asynchronous decision, so that nobody who can merely put events on
 * the bus can forge one.
 */

export const SLACK_REPLAY_WINDOW_SECONDS = 300;

export function slackSignature(signingSecret: string, timestamp: string, rawBody: string): string {
  if (!signingSecret) throw new Error('the Slack signing secret is empty');
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export type SlackRefusal = 'missing-headers' | 'malformed-timestamp' | 'stale' | 'bad-signature';
export type SlackCheck = { ok: true } | { ok: false; reason: SlackRefusal };

/**
 * Verifies a request from Slack against the raw body exactly as received. `nowMs` is the wall
 * clock (Slack's clock), not a simulated one.
 */
export function verifySlackRequest(
  signingSecret: string,
  request: { timestamp: string | undefined; signature: string | undefined; rawBody: string },
  nowMs: number,
  windowSeconds = SLACK_REPLAY_WINDOW_SECONDS,
): SlackCheck {
  const { timestamp, signature, rawBody } = request;
  if (!timestamp || !signature) return { ok: false, reason: 'missing-headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed-timestamp' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > windowSeconds) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(slackSignature(signingSecret, timestamp, rawBody));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad-signature' };
  return { ok: true };
}

const jobBytes = (j: SlackDecisionJob) => JSON.stringify([
  'cleanpoint-slack-job-v1', j.approvalId, j.decision, j.slackUserId, j.teamId ?? '', j.userName ?? '', j.responseUrl ?? '', j.actionTs ?? '', j.sourceIp, j.receivedAt,
]);

/** MAC of a job under the Slack signing secret (a different purpose string, so never a valid Slack signature). */
export function signSlackJob(signingSecret: string, job: SlackDecisionJob): string {
  if (!signingSecret) throw new Error('the Slack signing secret is empty');
  return createHmac('sha256', signingSecret).update(jobBytes(job)).digest('base64url');
}

export function verifySlackJob(signingSecret: string, job: SlackDecisionJob, mac: string, nowMs: number, windowSeconds = SLACK_REPLAY_WINDOW_SECONDS): { ok: true } | { ok: false; reason: 'bad-signature' | 'stale' } {
  const expected = Buffer.from(signSlackJob(signingSecret, job));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad-signature' };
  if (!Number.isFinite(job.receivedAt) || Math.abs(nowMs - job.receivedAt) > windowSeconds * 1000) return { ok: false, reason: 'stale' };
  return { ok: true };
}
