import { currentCutoff } from '../domain/incidents/index.ts';
import { ineligibility, type RecoveryPoint } from '../domain/recovery-points/index.ts';
import type { RouteDeps } from './routes.ts';

/**
 * Checks a finished failover against the world, independently of what the workflow reported:
 *   - the incident is recovered;
 *   - per machine, the point used is the one a person would pick by hand: the newest point at
 *     or before the cutoff that is available and not infected, read from the catalogue here;
 *   - no point used is newer than the group's current cutoff (suspectedSince, earlier for a
 *     re-infected group, or the decider's older cutoff);
 *   - the simulator has the machine's instance running, tagged for the incident, with volumes
 *     restored from exactly that point's snapshots.
 * Used by `npm run demo` and the tests.
 */
export interface MachineVerification {
  machineId: string;
  group: string;
  expected: Pick<RecoveryPoint, 'pointId' | 'capturedAt'> | null;
  used: { pointId: string; capturedAt: string } | null;
  instanceId: string | null;
  instanceState: string | null;
  problems: string[];
}

export interface FailoverVerification {
  ok: boolean;
  problems: string[];
  machines: MachineVerification[];
}

export async function verifyFailover(deps: RouteDeps, incidentId: string): Promise<FailoverVerification> {
  const { stores, rt } = deps;
  const problems: string[] = [];
  const incident = await stores.incidents.getIncident(incidentId);
  if (!incident) return { ok: false, problems: [`incident ${incidentId} does not exist`], machines: [] };
  if (incident.status !== 'recovered') problems.push(`incident is ${incident.status}, not recovered`);
  if (!incident.suspectedSince) problems.push('incident has no suspectedSince');
  // The approval that launched the machines: the latest one (earlier ones may have been re-planned).
  const approval = (await stores.approvals.listApprovals({ incidentId, status: 'approved' })).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  const runMachines = new Map((await stores.runs.listMachines(incidentId)).map((m) => [m.machineId, m]));
  const world = rt.sim.snapshotState();
  const expectedMachines = incident.groups.flatMap((g) => (rt.index.groupByName.get(g)?.machines ?? []).map((m) => ({ machineId: m.id, group: g })));
  const machines: MachineVerification[] = [];
  for (const { machineId, group } of expectedMachines) {
    const v: MachineVerification = { machineId, group, expected: null, used: null, instanceId: null, instanceState: null, problems: [] };
    machines.push(v);
    const cutoff = currentCutoff(incident, group, approval?.groupCutoffs?.[group]);
    if (!cutoff) continue;
    const expected = await latestEligible(deps, machineId, cutoff);
    v.expected = expected ? { pointId: expected.pointId, capturedAt: expected.capturedAt } : null;
    const run = runMachines.get(machineId);
    if (!run) { v.problems.push('not part of the failover run'); continue; }
    v.used = { pointId: run.pointId, capturedAt: run.capturedAt };
    if (!expected) v.problems.push(`no eligible point at or before ${cutoff}, yet ${run.pointId} was used`);
    else if (run.pointId !== expected.pointId) v.problems.push(`used ${run.pointId} (${run.capturedAt}) but the latest clean point at or before the cutoff is ${expected.pointId} (${expected.capturedAt})`);
    if (Date.parse(run.capturedAt) > Date.parse(cutoff)) v.problems.push(`used a point from ${run.capturedAt}, after the cutoff ${cutoff}`);
    v.instanceId = run.instanceId ?? null;
    const instance = run.instanceId ? world.instances[run.instanceId] : undefined;
    if (!instance) { v.problems.push('no instance was launched'); continue; }
    v.instanceState = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } }).find((r) => r.id === instance.instanceId)?.state ?? 'terminated';
    if (v.instanceState !== 'running') v.problems.push(`instance ${instance.instanceId} is ${v.instanceState}, not running`);
    if (instance.tags['cleanpoint:machine'] !== machineId) v.problems.push(`instance ${instance.instanceId} is tagged for ${instance.tags['cleanpoint:machine'] ?? 'no machine'}`);
    const restored = instance.volumeIds.map((id) => world.volumes[id]?.snapshotId).filter((s): s is string => Boolean(s)).sort();
    const wanted = (expected?.snapshots ?? []).map((s) => s.snapshotId).sort();
    if (expected && restored.join(',') !== wanted.join(',')) v.problems.push(`instance volumes come from ${restored.join(', ') || 'no snapshot'}, not the point's ${wanted.join(', ')}`);
  }
  for (const m of machines) problems.push(...m.problems.map((p) => `${m.machineId}: ${p}`));
  return { ok: problems.length === 0, problems, machines };
}

async function latestEligible(deps: RouteDeps, machineId: string, cutoff: string): Promise<RecoveryPoint | null> {
  for await (const p of deps.stores.catalog.pointsAtOrBefore(machineId, cutoff)) if (!ineligibility(p)) return p;
  return null;
}
