import { withoutToken, type PublicApprovalRequest } from '../approvals/model.ts';
import { verifyAuditChain, type ChainVerdict } from './audit-chain.ts';
import { NotFoundError } from '../shared/index.ts';
import { failbackRunIds } from '../incidents/model.ts';
import type { Incident } from '../incidents/model.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import type { ApprovalStore, AuditLog, IncidentStore, RunStore } from '../ports/index.ts';
import type { AuditEntry } from './audit-entry.ts';
import type { RunMachine, StoredProposal } from '../failover/model.ts';
import { minutesBetween } from '../shared/index.ts';

/**
 * The evidence pack: everything an auditor or a post-incident review asks about one incident,
 * in one document, linked in order — finding(s) ▶ assessment and policy version ▶ proposal ▶
 * every approval attempt and decision with identity ▶ chosen and skipped points with reasons ▶
 * every launch and terminate with instance ids ▶ checks ▶ measured RPO and RTO against the
 * objectives ▶ failback — plus the verdict of the audit log's digest chain. No task token or
 * secret is ever part of it.
 */
export interface EvidencePack {
  format: 'cleanpoint-evidence-v1';
  generatedAt: string;
  incident: Omit<Incident, 'version'>;
  findings: { findingId: string; type?: string; severity?: number; firstReceived: string; deliveries: number }[];
  assessment: Incident['assessment'] & { policyVersion: string };
  proposal: StoredProposal | null;
  approvals: (PublicApprovalRequest & { attempts: AuditEntry[] })[];
  points: { machineId: string; group: string; pointId: string; capturedAt: string; lossMinutes: number; skipped: { pointId: string; capturedAt: string; reason: string }[] }[];
  machines: { run: 'failover' | 'failback'; machineId: string; instanceId: string | null; imageId: string | null; instanceType: string | null; launchedAt: string | null; readyAt: string | null; error: string | null }[];
  actions: AuditEntry[];
  measured: {
    rpoMinutes: number | null; rtoMinutes: number | null;
    objectives: { group: string; rpoMinutes: number | null; rtoMinutes: number | null; rpoMet: boolean | null; rtoMet: boolean | null }[];
  };
  failback: Incident['failback'] | null;
  audit: { entries: AuditEntry[]; chain: ChainVerdict };
}

const ACTION_TYPES = /^(machine\.|cleanup\.|failback\.|failover\.|outcome\.|workflow\.)/;

export function buildEvidencePack(deps: { incidents: IncidentStore; audit: AuditLog; approvals: ApprovalStore; runs: RunStore; index: InventoryIndex; now: () => string }) {
  return async (incidentId: string): Promise<EvidencePack> => {
    const incident = await deps.incidents.getIncident(incidentId);
    if (!incident) throw new NotFoundError(`incident ${incidentId} not found`);
    const [entries, approvals, proposal, failover] = await Promise.all([
      deps.audit.list(incidentId),
      deps.approvals.listApprovals({ incidentId, limit: 100 }),
      deps.runs.getProposal(incidentId),
      deps.runs.listMachines(incidentId),
    ]);
    // Every failback attempt ran on its own run: the pack shows each attempt's machines.
    const failback = (await Promise.all(failbackRunIds(incidentId, entries).map((id) => deps.runs.listMachines(id)))).flat();
    const findings = new Map<string, EvidencePack['findings'][number]>();
    for (const e of entries.filter((x) => x.type === 'incident.created' || x.type === 'finding.received')) {
      const d = e.data as { findingId?: string; findingType?: string; severity?: number };
      if (!d.findingId) continue;
      const f = findings.get(d.findingId) ?? { findingId: d.findingId, ...(d.findingType ? { type: d.findingType } : {}), ...(d.severity !== undefined ? { severity: d.severity } : {}), firstReceived: e.at, deliveries: 0 };
      f.deliveries++;
      findings.set(d.findingId, f);
    }
    const selected = [...entries].reverse().find((e) => e.type === 'points.selected')?.data as { chosen?: EvidencePack['points'] } | undefined;
    const points: EvidencePack['points'] = proposal
      ? proposal.selection.machines.map((m) => ({ machineId: m.machineId, group: m.group, pointId: m.pointId, capturedAt: m.capturedAt, lossMinutes: m.lossMinutes, skipped: m.skipped }))
      : selected?.chosen ?? [];
    // The points actually launched (a decider may have picked older ones) win over the proposal.
    for (const m of failover) {
      const p = points.find((x) => x.machineId === m.machineId);
      if (p && p.pointId !== m.pointId) Object.assign(p, { pointId: m.pointId, capturedAt: m.capturedAt, lossMinutes: m.lossMinutes });
    }
    const machineRow = (run: 'failover' | 'failback') => (m: RunMachine) => ({
      run, machineId: m.machineId, instanceId: m.instanceId ?? null, imageId: m.imageId ?? null, instanceType: m.instanceTypeUsed ?? m.instanceType,
      launchedAt: m.launchedAt ?? null, readyAt: m.readyAt ?? null, error: m.error ?? null,
    });
    const rpo = incident.outcome?.rpoMinutes ?? (failover.length ? Math.max(...failover.map((m) => m.lossMinutes)) : null);
    const rto = incident.outcome?.rtoMinutes ?? null;
    const objectives = incident.groups.map((g) => {
      const o = deps.index.groupByName.get(g)?.objectives;
      const groupRpo = failover.filter((m) => m.group === g).map((m) => m.lossMinutes);
      const worst = groupRpo.length ? Math.max(...groupRpo) : null;
      return {
        group: g, rpoMinutes: o?.rpoMinutes ?? null, rtoMinutes: o?.rtoMinutes ?? null,
        rpoMet: o && worst !== null ? worst <= o.rpoMinutes : null,
        rtoMet: o && rto !== null ? rto <= o.rtoMinutes : null,
      };
    });
    const { version: _v, ...incidentView } = incident;
    return {
      format: 'cleanpoint-evidence-v1',
      generatedAt: deps.now(),
      incident: incidentView,
      findings: [...findings.values()],
      assessment: { ...incident.assessment, policyVersion: incident.assessment.policyVersion },
      proposal,
      approvals: approvals.map((a) => ({ ...withoutToken(a), attempts: entries.filter((e) => (e.data as { approvalId?: string }).approvalId === a.approvalId) })),
      points,
      machines: [...failover.map(machineRow('failover')), ...failback.map(machineRow('failback'))],
      actions: entries.filter((e) => ACTION_TYPES.test(e.type)),
      measured: { rpoMinutes: rpo, rtoMinutes: rto, objectives },
      failback: incident.failback ?? null,
      audit: { entries, chain: verifyAuditChain(entries) },
    };
  };
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const table = (head: string[], rows: unknown[][]) =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

/** A self-contained HTML rendering (no scripts, no external assets). */
export function renderEvidenceHtml(p: EvidencePack): string {
  const i = p.incident;
  const a = p.assessment;
  const duration = (from: string | null, to: string | null) => (from && to ? `${minutesBetween(Date.parse(to), Date.parse(from))} min` : '');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Evidence pack ${esc(i.incidentId)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#1d2430}table{border-collapse:collapse;width:100%;margin:8px 0 20px}th,td{border-bottom:1px solid #e3e6eb;padding:4px 6px;text-align:left;vertical-align:top}th{color:#5a6372}.ok{color:#17602a}.bad{color:#9c250b}code{font-size:12px}</style></head><body>
<h1>Evidence pack — incident ${esc(i.incidentId)}</h1>
<p>Generated ${esc(p.generatedAt)}. Status <b>${esc(i.status)}</b>; mode ${esc(i.mode)}; groups ${esc(i.groups.join(', '))}.
Audit chain: <b class="${p.audit.chain.ok ? 'ok' : 'bad'}">${p.audit.chain.ok ? `intact (${p.audit.entries.length} entries)` : `BROKEN — ${esc(p.audit.chain.reason)}`}</b></p>
<h2>1. Findings</h2>${table(['Finding', 'Type', 'Severity', 'First received', 'Deliveries'], p.findings.map((f) => [f.findingId, f.type, f.severity, f.firstReceived, f.deliveries]))}
<h2>2. Assessment (policy ${esc(a.policyVersion)})</h2><p>${esc(a.action)} — ${esc(a.finding.type)}, severity ${esc(a.finding.severity)} (${esc(a.finding.severityLabel)})${a.finding.sample ? ', sample' : ''}. Machines ${esc(i.machines.join(', '))}. Suspected corruption since <b>${esc(i.suspectedSince)}</b>.</p><ul>${a.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>
<h2>3. Proposal</h2>${p.proposal ? `<p>Cutoff ${esc(p.proposal.cutoff)}; ${p.proposal.plan.waves.map((w) => `wave ${w.wave}: ${esc(w.machines.join(', '))}`).join('; ')}; estimated RTO ${esc(p.proposal.plan.estimatedRtoMinutes)} min.</p>` : '<p>No proposal was made.</p>'}
<h2>4. Approvals and decisions</h2>${p.approvals.map((r) => `<h3>Request ${esc(r.approvalId)} — ${esc(r.status)}${r.escalation ? ' (escalation)' : ''}</h3><p>Created ${esc(r.createdAt)}, expires ${esc(r.expiresAt)}; deciders ${esc(r.eligibleDeciders.join(', '))}; quorum ${esc(r.quorum)}.</p>${table(['When', 'Who', 'What', 'Channel', 'Source', 'Outcome'], r.attempts.map((e) => { const d = e.data as Record<string, unknown>; return [e.at, e.actor, e.type, d['channel'], d['source'], d['outcome'] ?? d['reason']]; }))}`).join('') || '<p>None.</p>'}
<h2>5. Recovery points: chosen and skipped</h2>${table(['Machine', 'Group', 'Point', 'Captured', 'Clean data given up', 'Skipped newer points'], p.points.map((x) => [x.machineId, x.group, x.pointId, x.capturedAt, `${x.lossMinutes} min`, x.skipped.map((s) => `${s.pointId} (${s.reason})`).join('; ')]))}
<h2>6. Machines launched and terminated</h2>${table(['Run', 'Machine', 'Instance', 'Image', 'Type', 'Launched', 'Ready', 'Took', 'Error'], p.machines.map((m) => [m.run, m.machineId, m.instanceId, m.imageId, m.instanceType, m.launchedAt, m.readyAt, duration(m.launchedAt, m.readyAt), m.error]))}
${table(['When', 'Action', 'By', 'Details'], p.actions.map((e) => [e.at, e.type, e.actor, JSON.stringify(e.data)]))}
<h2>7. Measured against the objectives</h2><p>Achieved RPO (clean data given up): <b>${esc(p.measured.rpoMinutes ?? 'n/a')} min</b>. Achieved RTO (decision to all checks passed): <b>${esc(p.measured.rtoMinutes ?? 'n/a')} min</b>.</p>
${table(['Group', 'RPO objective', 'RPO met', 'RTO objective', 'RTO met'], p.measured.objectives.map((o) => [o.group, o.rpoMinutes, o.rpoMet, o.rtoMinutes, o.rtoMet]))}
<h2>8. Failback</h2>${p.failback ? `<p>${esc(p.failback.result)} (${esc(p.failback.startedAt)} → ${esc(p.failback.finishedAt)})</p>${table(['Machine', 'Primary instance', 'Recovery instance retired'], p.failback.machines.map((m) => [m.machineId, m.primaryInstanceId, m.retiredInstanceId]))}` : `<p>No failback.${i.closure ? ` Closed by ${esc(i.closure.by)} at ${esc(i.closure.at)}: ${esc(i.closure.reason)}` : ''}</p>`}
<h2>9. Audit log (digest chain)</h2>${table(['Seq', 'When', 'Type', 'Actor', 'Digest'], p.audit.entries.map((e) => [e.seq, e.at, e.type, e.actor, e.digest.slice(0, 16)]))}
</body></html>`;
}
