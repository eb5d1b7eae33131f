import { approvalQuestion, type ApprovalCard, type ApprovalStatus, type Decision } from '../../../../domain/approvals/index.ts';
import type { Notification } from '../../../../domain/shared/index.ts';
import { SLACK_ACTIONS } from './interaction.ts';

/**
 * Block Kit: the approval card as Slack shows it in the team channel (with Approve / Reject
 * buttons while the request is open), other notifications as text, and the answers written
 * back over a click's response_url (the replaced message, or an ephemeral note to the clicker).
 */

export interface SlackMessage { text: string; blocks: Record<string, unknown>[] }

/** Slack text objects treat only &, < and > as control characters (links, mentions): escape exactly those. */
export function escapeSlack(s: unknown): string {
  return String(s ?? '').replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

const esc = escapeSlack;

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
