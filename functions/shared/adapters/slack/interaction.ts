import { z } from 'zod';
import type { DecisionKind } from '../../../../domain/approvals/index.ts';
import { parseWith, ValidationError } from '../../../../domain/shared/index.ts';

/**
 * The `block_actions` payload of a click on one of our buttons (form field `payload`, JSON),
 * reduced to what a decision needs. Buttons carry only the approval id, never the task token.
 */

/** action_id of the two buttons (their `value` is the approval id). */
export const SLACK_ACTIONS = { approve: 'cleanpoint.approve', reject: 'cleanpoint.reject' } as const;

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
