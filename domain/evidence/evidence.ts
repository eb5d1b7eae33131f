import { withoutToken, type PublicApprovalRequest } from '../approvals/model.ts';
import { verifyAuditChain, type ChainVerdict } from './audit-chain.ts';
import { NotFoundError } from '../shared/index.ts';
import { failbackRunIds, type Incident } from '../incidents/model.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import type { ApprovalStore, AuditLog, IncidentStore, RunStore } from '../ports/index.ts';
import type { AuditEntry } from './audit-entry.ts';
import type { RunMachine, StoredProposal } from '../failover/model.ts';

/**
 * The evidence pack: everything an auditor or a post-incident review asks about one incident,
 * in one document, linked in order — finding(s) ▶ assessment and policy version ▶ proposal ▶
 * every approval attempt and decision with identity ▶ chosen and skipped points with reasons ▶
 * every launch and terminate with instance ids ▶ checks ▶ measured RPO and RTO against the
 * objectives ▶ failback — plus the verdict of the audit log's digest chain. No task token or
 * secret is ever part of it. Data only: its HTML rendering is a presenter at the edge
 * (functions/shared/presenters/evidence-html.ts).
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
