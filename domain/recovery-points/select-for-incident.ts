import { NotFoundError, toIso, type Clock } from '../shared/index.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import { proposeFailover } from '../failover/model.ts';
import type { Policy } from '../findings/model.ts';
import type { AuditLog, IncidentStore, RecoveryPointCatalog, RunStore } from '../ports/index.ts';
import { currentCutoff } from '../incidents/index.ts';

export const DEFAULT_APPROVAL_TIMEOUT_MINUTES = 60;

/**
 * selectForIncident(deps)({ incidentId, groupCutoffs? })
 *
 * 1. Read the incident (cutoff = its suspectedSince, which later findings may have moved earlier).
 * 2. Select the latest clean point per machine and build the wave plan.
 * 3. Store the proposal (it can be large) and audit which points were chosen and skipped.
 * 4. Return a small summary for the workflow, including how long to wait for a decision:
 *    the shortest approval timeout of the affected groups.
 */
export function selectForIncident(deps: {
  incidents: IncidentStore; runs: RunStore; audit: AuditLog; catalog: RecoveryPointCatalog; policy: Policy; index: InventoryIndex; clock: Clock;
}) {
  const propose = proposeFailover({ policy: deps.policy, index: deps.index, catalog: deps.catalog });
  return async (input: { incidentId: string; groupCutoffs?: Record<string, string> }) => {
    const incident = await deps.incidents.getIncident(input.incidentId);
    if (!incident) throw new NotFoundError(`incident ${input.incidentId} not found`);
    const assessment = { ...incident.assessment, suspectedSince: incident.suspectedSince, evidenceAt: incident.evidenceAt, groups: incident.groups, machines: incident.machines };
    // Per group the earliest of: the incident's cutoff for it (a re-infection), and the workflow's input.
    const groupCutoffs: Record<string, string> = {};
    for (const g of incident.groups) {
      const own = incident.groupCutoffs?.[g];
      const given = input.groupCutoffs?.[g];
      if (!own && !given) continue;
      // Never later than the incident's own cutoff, which later evidence may have moved past `own`.
      const earliest = [own, given, incident.suspectedSince].filter((t): t is string => !!t).sort((a, b) => Date.parse(a) - Date.parse(b))[0]!;
      groupCutoffs[g] = earliest;
    }
    const proposal = await propose(assessment, Object.keys(groupCutoffs).length ? { groupCutoffs } : {});
    const createdAt = toIso(deps.clock.now());
    await deps.runs.saveProposal(incident.incidentId, {
      incidentId: incident.incidentId, createdAt, cutoff: proposal.cutoff, selection: proposal.selection, plan: proposal.plan,
      ...(Object.keys(groupCutoffs).length ? { groupCutoffs } : {}),
      basis: Object.fromEntries(incident.groups.flatMap((g) => { const c = currentCutoff(incident, g); return c ? [[g, c]] : []; })),
    });
    await deps.audit.append(incident.incidentId, {
      type: 'points.selected', actor: 'cleanpoint', at: createdAt,
      data: {
        cutoff: proposal.cutoff, policyVersion: deps.policy.version,
        chosen: proposal.selection.machines.map((m) => ({ machineId: m.machineId, pointId: m.pointId, capturedAt: m.capturedAt, lossMinutes: m.lossMinutes, skipped: m.skipped })),
        blockers: proposal.selection.blockers.map((b) => ({ machineId: b.machineId, reason: b.reason })),
        problems: proposal.plan.problems,
      },
    });
    const timeouts = incident.groups.map((g) => deps.index.groupByName.get(g)?.approval?.timeoutMinutes ?? DEFAULT_APPROVAL_TIMEOUT_MINUTES);
    return {
      incidentId: incident.incidentId,
      mode: proposal.plan.mode,
      ready: proposal.plan.machines.length > 0 && proposal.plan.machines.every((m) => m.network !== null),
      machineCount: proposal.plan.machines.length,
      blockerCount: proposal.selection.blockers.length,
      approvalTimeoutSeconds: Math.min(...timeouts, 7 * 24 * 60) * 60,
    };
  };
}
