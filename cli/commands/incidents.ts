import { pastTense } from '../../domain/approvals/index.ts';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AuditEntry } from '../../domain/evidence/index.ts';
import { describe } from '../../local/console/incident.ts';
import { FINAL_STATUSES, GOOD_ENDINGS } from '../../domain/incidents/index.ts';
import { idMessage, INCIDENT_ID, isId } from '../../domain/shared/index.ts';
import type { IncidentDetail, IncidentSummary } from '../../local/read-model.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Io } from '../io.ts';
import { columns, LocalApi, shortTime, URL_OPTION } from '../local-api.ts';

export const INCIDENTS_USAGE = 'cleanpoint incidents list|show ID|watch ID [--url URL] [--json] [--interval MS] [--timeout SECONDS]\n'
  + '  cleanpoint incidents export ID [--format json|html] [--out FILE] | verify ID | failback ID --as PERSON | close ID --as PERSON --reason TEXT';

function incidentIdArgument(id: string): void {
  if (!isId(INCIDENT_ID, id)) throw new UsageError(`ID ${JSON.stringify(id)} ${idMessage(INCIDENT_ID)}`);
}

export async function incidentsCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      ...URL_OPTION, json: { type: 'boolean', default: false }, interval: { type: 'string' }, timeout: { type: 'string' },
      format: { type: 'string' }, out: { type: 'string' }, as: { type: 'string' }, reason: { type: 'string' },
    },
  });
  const [sub, id, ...extra] = positionals;
  const api = new LocalApi(values.url);
  if (sub && ['export', 'verify', 'failback', 'close'].includes(sub) && id && extra.length === 0) {
    incidentIdArgument(id);
    return afterIncident(io, api, sub as 'export' | 'verify' | 'failback' | 'close', id, values);
  }
  if (sub === 'list' && !id) {
    const { incidents } = await api.get<{ incidents: IncidentSummary[] }>('/local/incidents', 'incidents');
    io.stdout(values.json ? JSON.stringify(incidents, null, 2) : renderList(incidents));
    return EXIT_OK;
  }
  if ((sub === 'show' || sub === 'watch') && id && extra.length === 0) {
    incidentIdArgument(id);
    if (sub === 'show') {
      const detail = await api.get<IncidentDetail>(`/local/incidents/${id}`, `incident ${id}`);
      io.stdout(values.json ? JSON.stringify(detail, null, 2) : renderDetail(detail));
      return EXIT_OK;
    }
    return watch(io, api, id, {
      intervalMs: flagNumber('--interval', values.interval, 1_000, 10, 60_000),
      timeoutMs: flagNumber('--timeout', values.timeout, 0, 0, 7 * 24 * 3600) * 1000,
    });
  }
  throw new UsageError(`${sub ? `cannot run "incidents ${[sub, id, ...extra].filter(Boolean).join(' ')}"` : 'missing subcommand'}\nusage: ${INCIDENTS_USAGE}`);
}

/** export / verify / failback / close: what happens after the failover. */
async function afterIncident(io: Io, api: LocalApi, sub: 'export' | 'verify' | 'failback' | 'close', id: string,
  flags: { format?: string | undefined; out?: string | undefined; as?: string | undefined; reason?: string | undefined; json: boolean }): Promise<number> {
  if (sub === 'export') {
    const format = flags.format ?? 'json';
    if (format !== 'json' && format !== 'html') throw new UsageError(`--format must be json or html, not ${JSON.stringify(format)}`);
    const text = format === 'json'
      ? JSON.stringify(await api.get(`/local/incidents/${id}/evidence?format=json`, `incident ${id}`), null, 2)
      : await api.getText(`/local/incidents/${id}/evidence?format=html`, `incident ${id}`);
    if (flags.out) { await writeFile(flags.out, text); io.stderr(`wrote ${flags.out}`); } else io.stdout(text);
    return EXIT_OK;
  }
  if (sub === 'verify') {
    const v = await api.get<{ ok: boolean; entries: number; reason?: string }>(`/local/incidents/${id}/verify`, `incident ${id}`);
    io.stdout(v.ok ? `audit chain of ${id} intact (${v.entries} entries)` : `audit chain of ${id} BROKEN: ${v.reason}`);
    return v.ok ? EXIT_OK : EXIT_FAILURE;
  }
  if (!flags.as) throw new UsageError('--as PERSON is required: the executor (from the inventory) who does this');
  if (sub === 'close' && !flags.reason?.trim()) throw new UsageError('--reason TEXT is required to close an incident without failback');
  const out = await api.post<{ status: string; executionName?: string }>(`/local/incidents/${id}/${sub}`, sub === 'close' ? { by: flags.as, reason: flags.reason } : { by: flags.as }, `incident ${id}`);
  io.stdout(sub === 'failback' ? `Failback of ${id} started (${out.executionName}); it waits for a decider's approval (cleanpoint approvals list). Follow it with: cleanpoint incidents watch ${id}` : `Incident ${id} closed without failback.`);
  return EXIT_OK;
}

function flagNumber(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag} must be a number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}

function renderList(incidents: IncidentSummary[]): string {
  if (incidents.length === 0) return 'No incidents. Send one with: cleanpoint findings send FILE';
  return columns([
    ['INCIDENT', 'STATUS', 'ACTION', 'GROUPS', 'OPENED', 'RTO', 'RPO'],
    ...incidents.map((i) => [i.incidentId, i.status, i.action, i.groups.join(',') || '-', shortTime(i.createdAt), mins(i.rtoMinutes), mins(i.rpoMinutes)]),
  ]);
}

const mins = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${Math.round(v * 10) / 10} min`);

function renderDetail(d: IncidentDetail): string {
  const i = d.incident;
  const f = i.assessment.finding;
  const out = [
    `Incident  ${i.incidentId}  ${i.status}${i.mode ? `  (${i.mode} mode)` : ''}`,
    `Finding   ${f.type}, severity ${f.severity} (${f.severityLabel}) on ${f.instanceIds.join(', ') || '-'}; first seen ${shortTime(f.firstSeen)}`,
    `Machines  ${i.machines.join(', ') || '-'}   groups ${i.groups.join(', ') || '-'}`,
    `Suspected corruption since  ${shortTime(i.suspectedSince)}`,
  ];
  for (const a of d.approvals) {
    out.push(`Approval  ${a.approvalId}  ${a.status}, ${a.decisions.filter((x) => x.decision === 'approve').length} of ${a.quorum}, deadline ${shortTime(a.expiresAt)}`);
    for (const x of a.decisions) out.push(`          ${x.personId} ${pastTense(x.decision)} ${shortTime(x.at)} via ${x.channel}${x.reason ? `: ${x.reason}` : ''}`);
    if (a.link) out.push(`          ${a.link.personName}'s link: ${a.link.url}`);
  }
  if (d.proposal) {
    out.push('', `Recovery points (latest clean at or before ${shortTime(d.proposal.cutoff)}):`);
    out.push(columns(d.proposal.selection.machines.map((m) => [
      `  ${m.machineId}`, m.pointId, shortTime(m.capturedAt), `loses ${mins(m.lossMinutes)}`,
      m.skippedCount ? `skipped ${m.skippedCount} newer (${[...new Set(m.skipped.map((s) => s.reason))].join('/')})` : '',
    ])));
    for (const b of d.proposal.selection.blockers) out.push(`  ${b.machineId}  BLOCKED: ${b.reason}`);
  }
  if (d.machines.length) {
    out.push('', 'Launches:');
    out.push(columns(d.machines.map((m) => [
      `  w${m.wave} ${m.machineId}`, m.instanceId ?? '-', m.instanceTypeUsed ?? m.instanceType ?? '-',
      `launched ${shortTime(m.launchedAt)}`, m.readyAt ? `ready ${shortTime(m.readyAt)}` : m.error ? `FAILED: ${m.error}` : 'starting',
    ])));
  }
  if (i.outcome) out.push('', `Outcome   ${i.outcome.result}: RTO ${mins(i.outcome.rtoMinutes)}, RPO ${mins(i.outcome.rpoMinutes)}`);
  return out.join('\n');
}

/**
 * Follows an incident: prints every status change and every new audit entry (launches,
 * checks, the outcome) until the incident reaches a final status. Exit 0 when it ends
 * recovered (or needed no failover), 1 when it ends otherwise or --timeout passes.
 */
async function watch(io: Io, api: LocalApi, id: string, o: { intervalMs: number; timeoutMs: number }): Promise<number> {
  const started = Date.now();
  let lastStatus = '';
  let lastSeq = 0;
  for (;;) {
    const d = await api.get<IncidentDetail>(`/local/incidents/${id}`, `incident ${id}`);
    const fresh = d.audit.filter((a) => a.seq > lastSeq);
    for (const entry of fresh) io.stdout(line(entry));
    lastSeq = Math.max(lastSeq, ...fresh.map((a) => a.seq));
    if (d.incident.status !== lastStatus) {
      io.stdout(`${shortTime(d.incident.updatedAt)}  status ${d.incident.status}${waitingHint(d)}`);
      lastStatus = d.incident.status;
    }
    // `recovered` is written just before its audit entry: finish once the outcome entry is printed too.
    const settled = FINAL_STATUSES.includes(d.incident.status) && (!d.incident.outcome || d.audit.some((a) => a.type === 'outcome.recorded'));
    if (settled) {
      const o = d.incident.outcome;
      io.stdout(`Finished: ${d.incident.status}${o ? ` (RTO ${mins(o.rtoMinutes)}, RPO ${mins(o.rpoMinutes)})` : ''}`);
      return GOOD_ENDINGS.includes(d.incident.status) ? EXIT_OK : EXIT_FAILURE;
    }
    if (o.timeoutMs > 0 && Date.now() - started > o.timeoutMs) {
      io.stderr(`cleanpoint incidents watch: gave up after ${o.timeoutMs / 1000} s; ${id} is still ${d.incident.status}`);
      return EXIT_FAILURE;
    }
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
}

function line(entry: AuditEntry): string {
  return `${shortTime(entry.at)}  ${entry.type.padEnd(21)} ${describe(entry)}`;
}

function waitingHint(d: IncidentDetail): string {
  if (d.incident.status !== 'awaiting-approval') return '';
  const link = d.approvals.find((a) => a.status === 'pending')?.link;
  return link ? `; waiting for a decision (${link.personName}'s link: ${link.url})` : '; waiting for a decision';
}
