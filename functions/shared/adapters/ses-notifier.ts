import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { isApprovalNotification, type ApprovalCard } from '../../../domain/approvals/index.ts';
import type { InventoryIndex } from '../../../domain/inventory/index.ts';
import type { Notifier } from '../../../domain/ports/index.ts';
import type { Notification } from '../../../domain/shared/index.ts';
import { escapeHtml } from '../edge/index.ts';

/**
 * E-mail through SES v2 (SendEmail, Simple content: subject, text and HTML bodies, UTF-8),
 * one message per recipient so each person's copy carries their own link. Recipients are
 * person ids resolved through the inventory; with none, the configured operations address
 * is used. The shared channel copy of an approval request (audience `channel`) is Slack's,
 * not e-mail's. Everything inserted into the HTML is escaped, and only http(s) links become
 * anchors.
 */
export class SesNotifier implements Notifier {
  constructor(
    private readonly client: SESv2Client,
    private readonly options: { from: string; fallbackTo: string[]; index: () => Promise<InventoryIndex> },
  ) {}

  /** Everything except the shared channel copy of an approval request (that one is Slack's). */
  accepts(n: Notification): boolean {
    return !(isApprovalNotification(n) && n.audience === 'channel');
  }

  async send(n: Notification): Promise<void> {
    if (!this.accepts(n)) return;
    const index = await this.options.index();
    const addresses = (n.recipients ?? []).map((id) => index.personById.get(id)?.email).filter((e): e is string => !!e);
    const to = addresses.length ? addresses : this.options.fallbackTo;
    const content = { Simple: { Subject: { Data: n.subject.replace(/[\r\n]+/g, ' ').slice(0, 200), Charset: 'UTF-8' }, Body: { Text: { Data: renderText(n), Charset: 'UTF-8' }, Html: { Data: renderHtml(n), Charset: 'UTF-8' } } } };
    // One refused copy (MessageRejected: over SES's 40 MB, or content SES will not send; a
    // throttled send) must not cost the other recipients theirs: every copy is tried, then the
    // send fails naming the ones that did not go, so the caller records it (audit, alarm).
    const failures: { address: string; error: Error }[] = [];
    for (const address of to) {
      try {
        await this.client.send(new SendEmailCommand({ FromEmailAddress: this.options.from, Destination: { ToAddresses: [address] }, Content: content }));
      } catch (e) {
        failures.push({ address, error: e as Error });
      }
    }
    if (failures.length) throw new EmailNotSentError(failures, to.length);
  }
}

/** Copies SES did not accept, each with SES's reason (e.g. MessageRejected); the others were sent. */
export class EmailNotSentError extends Error {
  override readonly name = 'EmailNotSentError' as const;
  constructor(readonly failures: { address: string; error: Error }[], total: number) {
    const reasons = failures.map((f) => `${f.address}: ${f.error.name}: ${f.error.message}`).join('; ');
    super(`SES did not send ${failures.length} of ${total} e-mail cop${total === 1 ? 'y' : 'ies'} (${reasons.slice(0, 500)})`, { cause: failures[0]?.error });
  }
}

export function renderText(n: Notification): string {
  const details = isApprovalNotification(n) ? cardText(n.approval) : [];
  return [n.text, ...(n.links ?? []).map((l) => `${l.label}: ${l.url}`), ...(details.length ? [details.join('\n')] : [])].join('\n\n');
}

function cardText(c: ApprovalCard): string[] {
  if (c.purpose === 'failback') {
    return ['Failback:', ...(c.failback?.machines ?? []).map((m) => `- ${m.machineId} (${m.group}): now ${m.recoveryInstanceId ?? 'not running'}, back to ${m.primarySubnetId ?? 'no primary network'}`)];
  }
  return [
    'Proposed restore points:',
    ...c.machines.map((m) => `- ${m.machineId} (${m.group}): point of ${m.capturedAt}, gives up ${m.lossMinutes} min; ${m.olderPoints.length} older point(s)${m.scan && m.scan.status !== 'not-required' ? `; malware scan: ${m.scan.status}${m.scan.threats.length ? ` (${m.scan.threats.map((t) => t.name).join(', ')})` : ''}` : ''}`),
    ...c.blockers.map((b) => `- BLOCKED ${b.machineId} (${b.group}): ${b.reason}`),
    ...c.problems.map((p) => `! ${p}`),
  ];
}

const isHttpUrl = (url: string) => {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
};

const TD = 'style="padding:6px 8px;border-bottom:1px solid #eceef2;text-align:left;vertical-align:top"';
const TH = 'style="padding:6px 8px;border-bottom:1px solid #d8dce3;text-align:left;color:#5a6372;font-weight:600"';

function cardHtml(c: ApprovalCard): string {
  const row = (k: string, v: string) => `<tr><th ${TH}>${escapeHtml(k)}</th><td ${TD}>${v}</td></tr>`;
  if (c.purpose === 'failback') {
    const rows = (c.failback?.machines ?? []).map((m) => `<tr><td ${TD}>${escapeHtml(m.machineId)}<br><span style="color:#6b7380">${escapeHtml(m.group)}</span></td>`
      + `<td ${TD}>${escapeHtml(m.recoveryInstanceId ?? '—')}</td><td ${TD}>${escapeHtml(m.primarySubnetId ?? 'no primary network')}</td></tr>`).join('');
    return `<table role="presentation" style="border-collapse:collapse;width:100%;font-size:14px;margin:12px 0">${row('Groups', escapeHtml(c.groups.join(', ')))}${row('Deadline', escapeHtml(c.expiresAt))}${row('Approvals needed', `${escapeHtml(c.quorum)} of ${escapeHtml(c.deciders.map((d) => d.name).join(', ') || 'nobody eligible')}`)}</table>
<table style="border-collapse:collapse;width:100%;font-size:14px"><tr><th ${TH}>Machine</th><th ${TH}>Runs now as</th><th ${TH}>Goes back to</th></tr>${rows}</table>`;
  }
  const f = c.finding;
  const facts = [
    row('Finding', `${escapeHtml(f.type)}${f.sample ? ' <b>(GuardDuty sample finding)</b>' : ''}<br><span style="color:#6b7380">${escapeHtml(f.accountId)}/${escapeHtml(f.region)}, first seen ${escapeHtml(f.firstSeen)}</span>`),
    row('Severity', `${escapeHtml(f.severity)} (${escapeHtml(f.severityLabel)})`),
    row('Groups', escapeHtml(c.groups.join(', '))),
    row('Machines hit', escapeHtml(c.machinesHit.join(', '))),
    row('Corruption suspected since', escapeHtml(c.suspectedSince ?? 'unknown')),
    row('Mode', c.mode === 'test' ? 'TEST — isolated network' : '<b style="color:#9c250b">RECOVERY — production recovery network</b>'),
    row('Estimated RTO', `${escapeHtml(c.estimatedRtoMinutes)} min in ${escapeHtml(c.waves)} wave(s)`),
    row('Deadline', escapeHtml(c.expiresAt)),
    row('Approvals needed', `${escapeHtml(c.quorum)} of ${escapeHtml(c.deciders.map((d) => d.name).join(', ') || 'nobody eligible')}`),
  ].join('');
  const machines = c.machines.map((m) => `<tr><td ${TD}>${escapeHtml(m.machineId)}<br><span style="color:#6b7380">${escapeHtml(m.group)}</span></td>` +
    `<td ${TD}>${escapeHtml(m.capturedAt)}<br><span style="color:#6b7380">${escapeHtml(m.pointId)}</span></td><td ${TD}>${escapeHtml(m.lossMinutes)} min</td>` +
    `<td ${TD}>${m.olderPoints.map((o) => `${escapeHtml(o.capturedAt)} (${escapeHtml(o.lossMinutes)} min)`).join('<br>') || '—'}</td></tr>`).join('');
  const blockers = c.blockers.map((b) => `<tr><td ${TD}>${escapeHtml(b.machineId)}<br><span style="color:#6b7380">${escapeHtml(b.group)}</span></td><td ${TD} colspan="3" style="color:#9c250b">BLOCKED: ${escapeHtml(b.reason)}</td></tr>`).join('');
  return `<table role="presentation" style="border-collapse:collapse;width:100%;font-size:14px;margin:12px 0">${facts}</table>
<p style="margin:16px 0 4px"><b>Proposed restore points</b> (latest clean point at or before ${escapeHtml(c.cutoff)})</p>
<table style="border-collapse:collapse;width:100%;font-size:14px"><tr><th ${TH}>Machine</th><th ${TH}>Restore point</th><th ${TH}>Clean data given up</th><th ${TH}>Older points available</th></tr>${machines}${blockers}</table>
${c.problems.length ? `<p style="color:#9c250b">${c.problems.map(escapeHtml).join('<br>')}</p>` : ''}`;
}

export function renderHtml(n: Notification): string {
  const body = n.text.split('\n').map((l) => `<p style="margin:0 0 8px">${escapeHtml(l)}</p>`).join('');
  const links = (n.links ?? []).map((l) => isHttpUrl(l.url)
    ? `<p style="margin:16px 0"><a href="${escapeHtml(l.url)}" style="display:inline-block;padding:10px 18px;background:#1d2430;color:#ffffff;text-decoration:none;border-radius:6px">${escapeHtml(l.label)}</a></p>`
    : `<p>${escapeHtml(l.label)}: ${escapeHtml(l.url)}</p>`).join('');
  const details = isApprovalNotification(n) ? cardHtml(n.approval) : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(n.subject)}</title></head>
<body style="margin:0;background:#f4f5f7;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2430">
<div style="max-width:680px;margin:0 auto;padding:24px"><div style="background:#ffffff;border:1px solid #d8dce3;border-radius:8px;padding:20px">
<h1 style="font-size:18px;margin:0 0 12px">${escapeHtml(n.subject)}</h1>${body}${links}${details}
</div><p style="color:#6b7380;font-size:12px">Cleanpoint${n.incidentId ? ` · incident ${escapeHtml(n.incidentId)}` : ''}</p></div></body></html>`;
}
