import { expireApprovals } from '../approvals/index.ts';
import { TAG, type InventoryIndex } from '../inventory/index.ts';
import { CleanupIncompleteError, ConflictError, MachineNotReadyError, NotFoundError, toIso, ValidationError, type Clock } from '../shared/index.ts';
import { toRunPlan, type RunPlan } from './failover.ts';
import { changeIncident, moveTo } from '../incidents/index.ts';
import { executionNameFor, failbackAttempt, failbackRunId, type FailbackOutcome, type Incident } from '../incidents/model.ts';
import type { ApprovalStore, AuditLog, ComputeProvider, IncidentStore, RunStore, SnapshotDirectory } from '../ports/index.ts';
import type { AuditEntry } from '../evidence/model.ts';
import type { Run, RunMachine } from './run.ts';

/**
 * Failback: when the incident is over, bring each recovered machine back into its primary
 * network — with the data it has now — and only then retire the recovery machines.
 *
 *   a decider approves (same rules as a failover) ▶ prepareFailback ▶ (snapshots complete) ▶ the failover machine launches the new primaries in
 *   wave order and checks them ▶ retireRecoveryMachines ▶ recordFailback
 *
 * On any failure the recovery machines keep running and the incident goes back to
 * failback-pending: nothing that serves production is removed before its replacement is verified.
 */
const FAILBACK_FROM: readonly Incident['status'][] = ['recovered', 'failback-pending', 'failing-back'];

export interface FailbackDeps {
  incidents: IncidentStore;
  runs: RunStore;
  audit: AuditLog;
  compute: ComputeProvider;
  index: InventoryIndex;
  clock: Clock;
}

/**
 * prepareFailback(deps)({ incidentId, requestedBy })
 *
 * 1. Only a recovered incident (or one whose failback failed) can fail back.
 * 2. Every recovered machine needs a primary network in the inventory.
 * 3. Snapshot each recovery machine's volumes (idempotent by tags) and store a failback run:
 *    one record per machine with the new snapshots, the primary network, the same waves.
 */
export function prepareFailback(deps: FailbackDeps) {
  return async (input: { incidentId: string; requestedBy: string }): Promise<{ runId: string; waitSeconds: number }> => {
    const incident = await deps.incidents.getIncident(input.incidentId);
    if (!incident) throw new NotFoundError(`incident ${input.incidentId} not found`);
    if (!FAILBACK_FROM.includes(incident.status)) throw new ConflictError(`incident is ${incident.status}; only a recovered incident can fail back`);
    const failover = await deps.runs.getRun(incident.incidentId);
    const recovered = (await deps.runs.listMachines(incident.incidentId)).filter((m) => m.instanceId && m.readyAt);
    if (!failover || recovered.length === 0) throw new ConflictError('the incident has no recovered machines to fail back');
    const missing = recovered.filter((m) => !deps.index.groupByName.get(m.group)?.networks?.primary);
    if (missing.length) {
      throw new ValidationError('failback', missing.map((m) => ({ path: `groups.${m.group}.networks.primary`, message: `no primary network to fail ${m.machineId} back into` })));
    }
    const runId = failbackRunId(incident.incidentId, failbackAttempt(await deps.audit.list(incident.incidentId)));
    const now = toIso(deps.clock.now());
    await changeIncident(deps.incidents, incident.incidentId, moveTo('failing-back', { updatedAt: now }));
    const machines: RunMachine[] = [];
    for (const m of recovered) {
      const { snapshots } = await deps.compute.snapshotInstance(m.instanceId!, { [TAG.incident]: runId, [TAG.machine]: m.machineId, [TAG.kind]: 'failback' });
      machines.push({
        runId, machineId: m.machineId, group: m.group, wave: m.wave, mode: 'recovery',
        pointId: `failback-of-${m.instanceId}`, capturedAt: now, lossMinutes: 0, snapshots,
        instanceType: m.instanceTypeUsed ?? m.instanceType, fallbackInstanceTypes: m.fallbackInstanceTypes,
        network: deps.index.groupByName.get(m.group)!.networks!.primary!,
        // Back into production with the recovery machine's key, profile and user data; its private
        // IP is not carried over (the recovery machine still holds it until it is retired).
        ...(m.launch ? { launch: (({ privateIpAddress: _ip, ...rest }) => rest)(m.launch) } : {}),
      });
    }
    const run: Run = { runId, kind: 'failback', incidentId: incident.incidentId, mode: 'recovery', createdAt: now, decidedAt: now, waves: failover.waves };
    const { created } = await deps.runs.createRun(run, machines);
    if (created) {
      await deps.audit.append(incident.incidentId, {
        type: 'failback.started', actor: input.requestedBy, at: now,
        data: { runId, machines: machines.map((m) => ({ machineId: m.machineId, from: m.pointId, snapshots: m.snapshots.map((s) => s.snapshotId), subnetId: m.network?.subnetId })) },
      });
    }
    return { runId, waitSeconds: 30 };
  };
}

/** The failback run's waves once every snapshot is complete; MachineNotReadyError until then. */
export function failbackPlanWhenSnapshotsReady(deps: { runs: RunStore; snapshots: SnapshotDirectory }) {
  return async (input: { runId: string }): Promise<RunPlan> => {
    const run = await deps.runs.getRun(input.runId);
    if (!run) throw new NotFoundError(`run ${input.runId} not found`);
    const ids = (await deps.runs.listMachines(input.runId)).flatMap((m) => m.snapshots.map((s) => s.snapshotId));
    const infos = await deps.snapshots.describeSnapshots(ids);
    const pending = ids.filter((id) => infos.find((i) => i.snapshotId === id)?.state !== 'completed');
    if (pending.length) throw new MachineNotReadyError(`${pending.length} failback snapshot(s) not complete yet`);
    return toRunPlan(run);
  };
}

/**
 * retireRunMachines(deps)({ runId })
 *
 * Terminates every instance a run launched and deregisters its images, then checks nothing is
 * left. On the success path it retires the incident's recovery machines — only after the new
 * primaries are verified; on a failed failback it removes the failback run's half-launched
 * primaries, so the recovery machines stay the only ones serving.
 */
export function retireRunMachines(deps: { runs: RunStore; compute: ComputeProvider; audit: AuditLog; clock: Clock }) {
  return async (input: { runId: string }): Promise<{ terminated: string[]; deregistered: string[] }> => {
    const run = await deps.runs.getRun(input.runId);
    if (!run) throw new NotFoundError(`run ${input.runId} not found`);
    const machines = await deps.runs.listMachines(input.runId);
    const instanceIds = machines.flatMap((m) => (m.instanceId ? [m.instanceId] : []));
    const imageIds = [...new Set(machines.flatMap((m) => (m.imageId ? [m.imageId] : [])))];
    if (instanceIds.length) await deps.compute.terminateInstances(instanceIds);
    for (const id of imageIds) await deps.compute.deregisterImage(id);
    const after = instanceIds.length ? await deps.compute.describeInstances(instanceIds) : [];
    const left = after.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down').map((i) => i.instanceId);
    await deps.audit.append(run.incidentId ?? run.runId, {
      type: run.kind === 'failback' ? 'failback.primaries-removed' : 'failback.recovery-retired', actor: 'cleanpoint', at: toIso(deps.clock.now()),
      data: { runId: run.runId, terminated: instanceIds, deregistered: imageIds, left },
    });
    if (left.length) throw new CleanupIncompleteError(`machines of ${run.runId} still running: ${left.join(', ')}`);
    return { terminated: instanceIds, deregistered: imageIds };
  };
}

/**
 * recordFailback(deps)({ incidentId, result })
 *
 * completed: the incident closes (with failback) and its groups are released.
 * failed: the incident goes back to failback-pending; the recovery machines keep running.
 */
export function recordFailback(deps: { incidents: IncidentStore; runs: RunStore; audit: AuditLog; clock: Clock }) {
  return async (input: { incidentId: string; result: 'completed' | 'failed'; error?: string }): Promise<FailbackOutcome> => {
    const runId = failbackRunId(input.incidentId, failbackAttempt(await deps.audit.list(input.incidentId)));
    const run = await deps.runs.getRun(runId);
    const primaries = await deps.runs.listMachines(runId);
    const recovery = await deps.runs.listMachines(input.incidentId);
    const now = toIso(deps.clock.now());
    const outcome: FailbackOutcome = {
      result: input.result, runId, startedAt: run?.createdAt ?? now, finishedAt: now,
      machines: recovery.map((m) => ({
        machineId: m.machineId,
        primaryInstanceId: primaries.find((p) => p.machineId === m.machineId && p.readyAt)?.instanceId ?? null,
        retiredInstanceId: input.result === 'completed' ? m.instanceId ?? null : null,
      })),
      ...(input.error ? { error: input.error.slice(0, 2000) } : {}),
    };
    // Audit first, so whoever sees the new status also finds its record.
    await deps.audit.append(input.incidentId, {
      type: input.result === 'completed' ? 'failback.completed' : 'failback.failed', actor: 'cleanpoint', at: now,
      data: { runId, machines: outcome.machines, ...(input.error ? { error: outcome.error, note: 'recovery machines kept running' } : {}) },
    });
    const updated = input.result === 'completed'
      ? await changeIncident(deps.incidents, input.incidentId, moveTo('closed', { failback: outcome, updatedAt: now, closure: { by: 'cleanpoint', at: now, reason: 'failed back to the primary environment', withFailback: true } }))
      : await changeIncident(deps.incidents, input.incidentId, moveTo('failback-pending', { failback: outcome, updatedAt: now }));
    if (updated && input.result === 'completed') await Promise.all(updated.groups.map((g) => deps.incidents.releaseGroup(g, input.incidentId)));
    return outcome;
  };
}

/**
 * recordFailbackNotApproved(deps)({ incidentId, why, timedOut })
 *
 * A decider rejected the failback, or nobody decided in time: nothing was touched, so the
 * incident stays where it was (recovered or failback-pending) with its recovery machines
 * running. On a timeout the pending request is marked expired so no channel shows it as open.
 */
export function recordFailbackNotApproved(deps: { incidents: IncidentStore; approvals: ApprovalStore; audit: AuditLog; clock: Clock }) {
  return async (input: { incidentId: string; why: string; timedOut: boolean }): Promise<{ status: Incident['status'] | null; expired: string[] }> => {
    const incident = await deps.incidents.getIncident(input.incidentId);
    if (!incident) throw new NotFoundError(`incident ${input.incidentId} not found`);
    const expired = input.timedOut ? await expireApprovals(deps)(input.incidentId, 'the failback approval wait timed out') : [];
    await deps.audit.append(input.incidentId, {
      type: 'failback.not-approved', actor: 'cleanpoint', at: toIso(deps.clock.now()),
      data: { outcome: input.timedOut ? 'nobody decided in time' : 'rejected', reason: input.why.slice(0, 2000), status: incident.status, note: 'recovery machines kept running' },
    });
    return { status: incident.status, expired };
  };
}
