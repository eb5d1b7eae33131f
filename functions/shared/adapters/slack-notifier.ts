import type { ApprovalStatus, Decision } from '../../../domain/approvals/index.ts';
import { approvalQuestion, isApprovalNotification, type ApprovalCard } from '../../../domain/approvals/index.ts';
import { TransientError, type Notification } from '../../../domain/shared/index.ts';
import type { Notifier } from '../../../domain/ports/index.ts';
import { escapeSlack as esc, isSlackResponseUrl, SLACK_ACTIONS } from '../../../domain/approvals/index.ts';
import { z } from 'zod';
import { ConfigError } from '../config.ts';
import { getSecret } from '../secrets.ts';

/**
 * Slack: one Block Kit message per approval request in the team channel, through an incoming
 * webhook (URL kept in SSM) or chat.postMessage with a bot token (kept in SSM), and the
 * outcome written back over the click's response_url.
 *
 * What never goes to Slack: task tokens, secrets, and links. Personal approval links act as
 * their person, so a notification that carries links is a personal copy and is skipped; the
 * channel copy's buttons carry only the approval id. Error messages never include the webhook
 * URL or the token (both are credentials).
 */

export interface SlackHttpRequest { url: string; headers: Record<string, string>; body: string }
export interface SlackHttpResponse { status: number; body: string }
/** One HTTPS POST. Swappable so tests and the local runtime capture messages instead of sending them. */
export type SlackTransport = (request: SlackHttpRequest) => Promise<SlackHttpResponse>;

export const fetchTransport: SlackTransport = async (request) => {
  const response = await fetch(request.url, {
    method: 'POST', headers: request.headers, body: request.body, redirect: 'error', signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: (await response.text()).slice(0, 2_000) };
};

let transportOverride: SlackTransport | null = null;

/**
 * Where Slack posts go. On AWS: HTTPS (fetch). The local runtime and tests plug in a
 * transport that records the message (the outbox) instead.
 */
export function useSlackTransport(transport: SlackTransport | null): void {
  transportOverride = transport;
}

export function slackTransport(): SlackTransport {
  return transportOverride ?? fetchTransport;
}

export type SlackDestination =
  | { kind: 'webhook'; webhookUrl: () => Promise<string> }
  | { kind: 'bot'; botToken: () => Promise<string>; channel: string };

export interface SlackMessage { text: string; blocks: Record<string, unknown>[] }

export class SlackNotifier implements Notifier {
  constructor(private readonly destination: SlackDestination, private readonly transport: () => SlackTransport = slackTransport) {}

  /** Not personal copies: their links act as one person and must never sit in a shared channel. */
  accepts(n: Notification): boolean {
    if (n.links?.length) return false;
    return !(isApprovalNotification(n) && n.audience !== 'channel');
  }

  async send(n: Notification): Promise<void> {
    if (!this.accepts(n)) return;
    await this.post(isApprovalNotification(n) ? renderApprovalMessage(n.approval) : renderTextMessage(n));
  }

  private async post(message: SlackMessage): Promise<void> {
    const send = this.transport();
    if (this.destination.kind === 'webhook') {
      const url = await this.destination.webhookUrl();
      const out = await send({ url, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(message) });
      if (out.status !== 200) throw deliveryError('Slack incoming webhook', out.status, out.body);
      return;
    }
    const token = await this.destination.botToken();
    const out = await send({
      url: 'https://slack.com/api/chat.postMessage',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
      body: JSON.stringify({ channel: this.destination.channel, ...message }),
    });
    let answer: { ok?: boolean; error?: string } = {};
    try { answer = JSON.parse(out.body) as typeof answer; } catch { /* reported below */ }
    if (out.status !== 200 || answer.ok !== true) throw deliveryError('Slack chat.postMessage', out.status, answer.error ?? 'no ok in the answer');
  }
}

/** Slack answers errors with a code (no_service, invalid_payload, invalid_auth): only a code-shaped word is repeated. */
function deliveryError(what: string, status: number, detail: string): Error {
  const code = detail.trim().match(/^[a-z][a-z_]{0,39}(?![\w/:.])/)?.[0] ?? 'unexpected answer';
  const message = `${what} answered ${status}: ${code}`;
  return status === 429 || status >= 500 ? new TransientError(message) : new Error(message);
}

/** Write a message back to the Slack click that caused it (response_url; Slack hosts only). */
export async function respondToSlack(responseUrl: string | undefined, message: Record<string, unknown>, transport: SlackTransport = slackTransport()): Promise<boolean> {
  if (!responseUrl || !isSlackResponseUrl(responseUrl)) return false;
  const out = await transport({ url: responseUrl, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(message) });
  if (out.status !== 200) throw deliveryError('Slack response_url', out.status, out.body);
  return true;
}

/** Only to the person who clicked: refusals and "already recorded". */
export function ephemeral(text: string): Record<string, unknown> {
  return { response_type: 'ephemeral', replace_original: false, text: text.slice(0, 2_000) };
}

/** Replace the channel message with its updated state. */
export function replaceWith(message: SlackMessage): Record<string, unknown> {
  return { replace_original: true, ...message };
}

const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
const plain = (text: string, max: number) => ({ type: 'plain_text', text: cut(text, max), emoji: false });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text: cut(text, 2_900) });

/** The decision state shown under the proposal once somebody decided. */
export interface ApprovalState {
  status: ApprovalStatus;
  decisions: (Pick<Decision, 'personId' | 'decision' | 'at' | 'channel'> & { name?: string; reason?: string })[];
  approvalsNeeded: number;
}

const MAX_MACHINES_LISTED = 12;

/**
 * The approval card as Block Kit: what happened, what would be restored (point per machine,
 * clean data given up, older points), blockers, mode, RTO, deadline, and, while the request
 * is open, Approve / Reject buttons (with a confirmation dialog) whose value is the approval id.
 */
export function renderApprovalMessage(c: ApprovalCard, state?: ApprovalState): SlackMessage {
  const status = state?.status ?? 'pending';
  const title = `${c.escalation ? '[ESCALATED] ' : ''}${approvalQuestion(c)}`;
  const f = c.finding;
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: plain(title, 150) },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Finding*\n${esc(f.type)}${f.sample ? ' (SAMPLE)' : ''}`),
        mrkdwn(`*Severity*\n${esc(f.severity)} (${esc(f.severityLabel)})`),
        mrkdwn(`*Machines hit*\n${esc(c.machinesHit.join(', ') || '—')}`),
        mrkdwn(`*Corruption suspected since*\n${esc(c.suspectedSince ?? 'unknown')}`),
        ...(c.purpose === 'failback' ? [mrkdwn(`*Failback*\n${esc(c.failback?.machines.length ?? 0)} machine(s) back to the primary network in ${esc(c.waves)} wave(s)`)] : [
          mrkdwn(`*Mode*\n${c.mode === 'test' ? 'TEST (isolated network)' : 'RECOVERY (production recovery network)'}`),
          mrkdwn(`*Estimated RTO*\n${esc(c.estimatedRtoMinutes)} min in ${esc(c.waves)} wave(s)`),
        ]),
        mrkdwn(`*Decide before*\n${esc(c.expiresAt)}`),
        mrkdwn(`*Approvals needed*\n${esc(c.quorum)} of: ${esc(c.deciders.map((d) => d.name).join(', ') || 'nobody eligible')}`),
      ],
    },
  ];
  if (c.purpose === 'failback') {
    const back = c.failback?.machines ?? [];
    const listed = back.slice(0, MAX_MACHINES_LISTED).map((m) => `• \`${esc(m.machineId)}\` (${esc(m.group)}): now ${esc(m.recoveryInstanceId ?? 'not running')} → ${esc(m.primarySubnetId ?? 'no primary network')}`);
    if (back.length > MAX_MACHINES_LISTED) listed.push(`…and ${back.length - MAX_MACHINES_LISTED} more machine(s)`);
    blocks.push({ type: 'section', text: mrkdwn(`*Failback to the primary network*\n${listed.join('\n') || 'none'}`) });
  } else {
    const listed = c.machines.slice(0, MAX_MACHINES_LISTED).map((m) =>
      `• \`${esc(m.machineId)}\` (${esc(m.group)}) ← point of ${esc(m.capturedAt)}, gives up ${esc(m.lossMinutes)} min; ${m.olderPoints.length} older point(s) available${m.scan && m.scan.status !== 'not-required' ? `; malware scan: *${esc(m.scan.status)}*` : ''}`);
    if (c.machines.length > MAX_MACHINES_LISTED) listed.push(`…and ${c.machines.length - MAX_MACHINES_LISTED} more machine(s)`);
    blocks.push({ type: 'section', text: mrkdwn(`*Restore points* (latest clean point at or before ${esc(c.cutoff)})\n${listed.join('\n') || 'none'}`) });
  }
  if (c.blockers.length) {
    blocks.push({ type: 'section', text: mrkdwn(`*Blocked*\n${c.blockers.slice(0, MAX_MACHINES_LISTED).map((b) => `• \`${esc(b.machineId)}\` (${esc(b.group)}): ${esc(b.reason)}`).join('\n')}`) });
  }
  if (c.problems.length) blocks.push({ type: 'section', text: mrkdwn(`:warning: ${c.problems.map(esc).join('\n:warning: ')}`) });
  if (state && state.decisions.length) {
    const lines = state.decisions.map((d) => `• ${esc(d.name ?? d.personId)} ${d.decision === 'approve' ? 'approved' : 'rejected'} at ${esc(d.at)} via ${esc(d.channel)}${d.reason ? ` — “${esc(d.reason)}”` : ''}`);
    blocks.push({ type: 'section', text: mrkdwn(`*Decisions*\n${lines.join('\n')}`) });
  }
  if (status === 'pending') {
    if (state && state.approvalsNeeded > 0 && state.decisions.length) blocks.push({ type: 'context', elements: [mrkdwn(`${state.approvalsNeeded} more approval(s) needed.`)] });
    const failback = c.purpose === 'failback';
    const what = failback ? `failback of ${c.groups.join(', ')} to the primary network` : `${c.mode}-mode failover of ${c.groups.join(', ')}`;
    blocks.push({
      type: 'actions', block_id: 'cleanpoint.decision',
      elements: [
        {
          type: 'button', action_id: SLACK_ACTIONS.approve, value: c.approvalId, style: 'primary', text: plain('Approve', 75),
          confirm: { title: plain(`Approve the ${failback ? 'failback' : 'failover'}?`, 100), text: plain(`This starts the ${what}${failback ? '' : ' from the points listed'}.`, 300), confirm: plain('Approve', 30), deny: plain('Cancel', 30) },
        },
        {
          type: 'button', action_id: SLACK_ACTIONS.reject, value: c.approvalId, style: 'danger', text: plain('Reject', 75),
          confirm: { title: plain(`Reject the ${failback ? 'failback' : 'failover'}?`, 100), text: plain(`${failback ? 'The recovery machines keep running.' : 'Nothing will be restored.'} To give a reason, reject from your e-mail link instead.`, 300), confirm: plain('Reject', 30), deny: plain('Cancel', 30) },
        },
      ],
    });
  } else {
    const failback = c.purpose === 'failback';
    const outcome = status === 'approved' ? `:white_check_mark: *Approved* — the ${failback ? 'failback' : 'failover'} is starting.`
      : status === 'rejected' ? `:no_entry: *Rejected* — ${failback ? 'the recovery machines keep running' : 'nothing will be restored'}.`
        : ':hourglass: *Expired* — nobody decided in time.';
    blocks.push({ type: 'section', text: mrkdwn(outcome) });
  }
  blocks.push({
    type: 'context',
    elements: [mrkdwn(`Incident ${esc(c.incidentId)} · approval ${esc(c.approvalId)} · Buttons act as your Slack account. Older restore points can be picked on the page behind your personal e-mail link.`)],
  });
  const fallback = status === 'pending' ? title : `${title} — ${status}`;
  return { text: cut(fallback, 300), blocks };
}

/** Any other notification (outcome, alarm): subject and text, escaped. */
export function renderTextMessage(n: Notification): SlackMessage {
  const text = `*${esc(n.subject)}*\n${esc(n.text)}`;
  return { text: cut(n.subject, 300), blocks: [{ type: 'section', text: mrkdwn(text) }] };
}

const parameterName = z.string().regex(/^\/[A-Za-z0-9_.\/-]+$/, 'must be an SSM parameter name');

/**
 * Environment of a function that posts to Slack (validated with the function's own config):
 * the SSM parameter holding the incoming-webhook URL, or the one holding a bot token plus the
 * channel id. Neither set: Slack is off.
 */
export const slackConfigVars = {
  SLACK_WEBHOOK_URL_PARAMETER: parameterName.optional(),
  SLACK_BOT_TOKEN_PARAMETER: parameterName.optional(),
  SLACK_CHANNEL_ID: z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCDEF').optional(),
} as const;

export type SlackConfig = { SLACK_WEBHOOK_URL_PARAMETER?: string | undefined; SLACK_BOT_TOKEN_PARAMETER?: string | undefined; SLACK_CHANNEL_ID?: string | undefined };

/** The Slack notifier the configuration asks for (secrets read from SSM when sending, cached), or null. */
export function slackNotifier(config: SlackConfig): SlackNotifier | null {
  if (config.SLACK_BOT_TOKEN_PARAMETER) {
    if (!config.SLACK_CHANNEL_ID) throw new ConfigError('invalid configuration: SLACK_CHANNEL_ID: is not set (needed with SLACK_BOT_TOKEN_PARAMETER)');
    const name = config.SLACK_BOT_TOKEN_PARAMETER;
    return new SlackNotifier({ kind: 'bot', botToken: () => getSecret(name), channel: config.SLACK_CHANNEL_ID });
  }
  if (config.SLACK_WEBHOOK_URL_PARAMETER) {
    const name = config.SLACK_WEBHOOK_URL_PARAMETER;
    return new SlackNotifier({ kind: 'webhook', webhookUrl: () => getSecret(name) });
  }
  return null;
}
