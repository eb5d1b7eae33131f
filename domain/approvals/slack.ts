import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { DecisionKind } from './approval.ts';
import { ValidationError } from '../shared/index.ts';
import { parseWith } from '../shared/index.ts';

/**
 * Slack's side of approvals, as pure functions (node:crypto only):
 * - request signing (Slack "Verifying requests from Slack", version v0): the signature is
 *   `v0=` + hex HMAC-SHA256(signing secret, `v0:${timestamp}:${raw body}`), sent in
 *   X-Slack-Signature with the timestamp in X-Slack-Request-Timestamp. A timestamp more than
 *   five minutes from now is refused (replay window), and signatures are compared in
 *   constant time;
 * - the `block_actions` payload of a button click (form field `payload`, JSON), reduced to
 *   what a decision needs. Buttons carry only the approval id, never the task token;
 * - the internal job that carries a verified click from the 3-second acknowledgement to the
 *   asynchronous decision, MACed so that nobody who can merely put events on the bus can
 *   forge one.
 */

export const SLACK_REPLAY_WINDOW_SECONDS = 300;

/** action_id of the two buttons (their `value` is the approval id). */
export const SLACK_ACTIONS = { approve: 'cleanpoint.approve', reject: 'cleanpoint.reject' } as const;

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

/** A click on one of our buttons, as far as a decision needs it. */
export interface SlackDecisionRequest {
  approvalId: string;
  decision: DecisionKind;
  slackUserId: string;
  teamId?: string;
  /** Slack's display of who clicked (for messages only; identity is slackUserId). */
  userName?: string;
  /** Where to post the outcome (valid for 30 minutes, 5 posts); only Slack's hosts are accepted. */
  responseUrl?: string;
  actionTs?: string;
}

const interactionSchema = z.looseObject({
  type: z.string(),
  user: z.looseObject({ id: z.string().regex(/^[UW][A-Z0-9]{2,40}$/, 'must be a Slack user id'), username: z.string().optional(), name: z.string().optional(), team_id: z.string().optional() }).optional(),
  team: z.looseObject({ id: z.string() }).nullable().optional(),
  response_url: z.string().optional(),
  actions: z.array(z.looseObject({ action_id: z.string(), value: z.string().optional(), action_ts: z.string().optional() })).optional(),
});

const APPROVAL_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Reads the form body Slack posts to the interactivity URL. Returns null for interactions
 * that are not a click on one of our buttons (Slack expects those acknowledged too); throws
 * ValidationError for a body that is not a Slack interaction at all.
 */
export function parseSlackInteraction(rawBody: string): SlackDecisionRequest | null {
  const payload = new URLSearchParams(rawBody).get('payload');
  if (!payload) throw new ValidationError('Slack interaction', [{ path: 'payload', message: 'is missing' }]);
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    throw new ValidationError('Slack interaction', [{ path: 'payload', message: 'is not JSON' }]);
  }
  const p = parseWith(interactionSchema, json, 'Slack interaction', 'payload');
  if (p.type !== 'block_actions') return null;
  if (!p.user) throw new ValidationError('Slack interaction', [{ path: 'payload.user', message: 'is missing' }]);
  const action = (p.actions ?? []).find((a) => a.action_id === SLACK_ACTIONS.approve || a.action_id === SLACK_ACTIONS.reject);
  if (!action) return null;
  if (!action.value || !APPROVAL_ID.test(action.value)) {
    throw new ValidationError('Slack interaction', [{ path: 'payload.actions.value', message: 'must be an approval id' }]);
  }
  const teamId = p.team?.id ?? p.user.team_id;
  const userName = p.user.name ?? p.user.username;
  return {
    approvalId: action.value,
    decision: action.action_id === SLACK_ACTIONS.approve ? 'approve' : 'reject',
    slackUserId: p.user.id,
    ...(teamId ? { teamId } : {}),
    ...(userName ? { userName: userName.slice(0, 80) } : {}),
    ...(p.response_url && isSlackResponseUrl(p.response_url) ? { responseUrl: p.response_url } : {}),
    ...(action.action_ts ? { actionTs: action.action_ts.slice(0, 32) } : {}),
  };
}

/** Only Slack's own hosts, over https: a response_url can never point us at anything else. */
export function isSlackResponseUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && (u.hostname === 'hooks.slack.com' || u.hostname === 'hooks.slack-gov.com') && !u.username && !u.password && !u.port;
  } catch {
    return false;
  }
}

/** A verified click, queued for the asynchronous decision. */
export interface SlackDecisionJob extends SlackDecisionRequest {
  /** Address the click came from (Slack's servers), for the audit trail. */
  sourceIp: string;
  /** Wall-clock epoch ms when the signed request was accepted. */
  receivedAt: number;
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

/** Slack text objects treat only &, < and > as control characters (links, mentions): escape exactly those. */
export function escapeSlack(s: unknown): string {
  return String(s ?? '').replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}
