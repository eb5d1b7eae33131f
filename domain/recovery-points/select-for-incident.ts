import { NotFoundError, toIso, type Clock } from '../shared/index.ts';
import type { RecoveryPoint } from './model.ts';
import { catalogAuditStream } from './verdicts.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import { proposeFailover } from '../failover/model.ts';
import type { Policy } from '../findings/model.ts';
import type { AuditLog, IncidentStore, RecoveryPointCatalog, RecoveryPointWriter, RunStore, SnapshotDirectory } from '../ports/index.ts';
import { currentCutoff } from '../incidents/index.ts';

export const DEFAULT_APPROVAL_TIMEOUT_MINUTES = 60;

/**
 * selectForIncident(deps)({ incidentId, groupCutoffs? })
 *
 * 1. Read the incident (cutoff = its suspectedSince, which later findings may have moved earlier).
 * 2. Select the latest clean point per machine and build the wave plan.
 *    With `snapshots`: ask EC2 whether every chosen point's snapshots still exist (retention
 *    policies delete snapshots and the DeleteSnapshot event may be lost or late). A point whose
 *    snapshot is gone is marked `expired` and the machine falls back to its next eligible point
 *    (still before the cutoff, not infected), audited as `point.fallback` (from, to, why); with
 *    none left the machine is a blocker the deciders see before they approve.
 * 3. Store the proposal (it can be large) and audit which points were chosen and skipped.
 * 4. Return a small summary for the workflow, including how long to wait for a decision:
 *    the shortest approval timeout of the affected groups.
 */
export function selectForIncident(deps: {
  incidents: IncidentStore; runs: RunStore; audit: AuditLog; catalog: RecoveryPointCatalog; policy: Policy; index: InventoryIndex; clock: Clock;
  /** EC2's own view of the chosen points' snapshots (absent: the catalogue is trusted, unit tests only). */
  snapshots?: SnapshotDirectory;
  /** Where a point found without its snapshots is marked expired. */
  writer?: Pick<RecoveryPointWriter, 'markPoint'>;
}) {
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
    const createdAt = toIso(deps.clock.now());
    const { proposal, fallbacks } = await proposeWithExistingSnapshots(deps, assessment, Object.keys(groupCutoffs).length ? { groupCutoffs } : {}, createdAt);
    for (const f of fallbacks) await deps.audit.append(incident.incidentId, { type: 'point.fallback', actor: 'cleanpoint', at: createdAt, data: { ...f } });
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

/** A bound on the re-selections after missing snapshots (each one asks EC2 about the newly chosen points only). */
export const MAX_FALLBACK_ROUNDS = 20;

export interface PointFallback { machineId: string; from: string; to: string | null; why: string }

type ProposeDeps = Parameters<typeof selectForIncident>[0];

/**
 * The proposal, re-selected until every chosen point's snapshots exist in EC2. Points found
 * without their snapshots are seen as `expired` by the re-selection (an overlay on the catalogue,
 * so it does not depend on the catalogue's read consistency) and marked so in the catalogue.
 */
async function proposeWithExistingSnapshots(
  deps: ProposeDeps, assessment: Parameters<ReturnType<typeof proposeFailover>>[0], options: Parameters<ReturnType<typeof proposeFailover>>[1], at: string,
) {
  const gone = new Map<string, string>(); // machineId/pointId ▶ why
  const key = (machineId: string, pointId: string) => `${machineId}\u0000${pointId}`;
  const catalog: RecoveryPointCatalog = {
    async *pointsAtOrBefore(machineId, atOrBefore, o) {
      for await (const p of deps.catalog.pointsAtOrBefore(machineId, atOrBefore, o)) {
        yield gone.has(key(machineId, p.pointId)) ? { ...p, status: 'expired' } as RecoveryPoint : p;
      }
    },
  };
  const propose = proposeFailover({ policy: deps.policy, index: deps.index, catalog });
  const hops: { machineId: string; from: string; why: string }[] = [];
  const verified = new Set<string>();
  let proposal = await propose(assessment, options);
  for (let round = 0; deps.snapshots && round < MAX_FALLBACK_ROUNDS; round++) {
    const unchecked = proposal.selection.machines.filter((m) => !verified.has(key(m.machineId, m.pointId)));
    if (unchecked.length === 0) break;
    const states = new Map((await deps.snapshots.describeSnapshots(unchecked.flatMap((m) => m.snapshots.map((s) => s.snapshotId)))).map((s) => [s.snapshotId, s.state]));
    let fellBack = false;
    for (const m of unchecked) {
      const bad = m.snapshots.filter((s) => states.get(s.snapshotId) !== 'completed');
      if (bad.length === 0) { verified.add(key(m.machineId, m.pointId)); continue; }
      const why = `snapshot(s) ${bad.map((s) => `${s.snapshotId} ${states.get(s.snapshotId) ?? 'no longer exists'}`).join(', ')}`;
      gone.set(key(m.machineId, m.pointId), why);
      hops.push({ machineId: m.machineId, from: m.pointId, why });
      fellBack = true;
      // A pending snapshot may still complete: only a missing or failed one expires the point for good.
      if (bad.every((s) => states.get(s.snapshotId) === 'pending')) continue;
      const marked = await deps.writer?.markPoint(m.machineId, m.pointId, { status: 'expired' }).then(() => true, (e: unknown) => { if (e instanceof NotFoundError) return false; throw e; });
      if (marked) {
        await deps.audit.append(catalogAuditStream(m.machineId), {
          type: 'point.expired', actor: 'cleanpoint', at, data: { pointId: m.pointId, outcome: `${why}: found before a launch, marked expired` },
        });
      }
    }
    if (!fellBack) break;
    proposal = await propose(assessment, options);
  }
  // Each hop goes to the next hop's point, the last one to the point finally chosen (null: a blocker).
  const finalChoice = new Map(proposal.selection.machines.map((m) => [m.machineId, m.pointId]));
  const fallbacks: PointFallback[] = hops.map((h, i) => {
    const next = hops.slice(i + 1).find((n) => n.machineId === h.machineId);
    return { ...h, to: next ? next.from : (finalChoice.get(h.machineId) ?? null) };
  });
  return { proposal, fallbacks };
}
