import { createHash, randomBytes } from 'node:crypto';
import { ConflictError, isIsoTimestamp, minutesBetween, NoEligibleRecoveryPointError, NotFoundError, SafetyViolationError, toIso, ValidationError, type Clock } from '../shared/index.ts';
import { toRunPlan, type RunPlan } from '../failover/index.ts';
import { peopleInRole, TAG, type Group, type InventoryIndex } from '../inventory/index.ts';
import { OPEN_STATUSES, type Incident } from '../incidents/model.ts';
import { buildFailoverPlan, type Run, type RunMachine } from '../failover/model.ts';
import type { Policy } from '../findings/model.ts';
import type {
  AuditLog, ComputeProvider, DrillStore, IncidentStore, Notifier, RecoveryPointCatalog, RunStore, WorkflowEngine,
} from '../ports/index.ts';
import { selectRecoveryPoints } from '../recovery-points/model.ts';
import type { DrillTrigger, DrillStatus, DrillResult, DrillMachine, CheckResult, DrillMeasurements, DrillCleanup, Drill, GroupDrillStatus } from './drill.ts';
export type { DrillTrigger, DrillStatus, DrillResult, DrillMachine, CheckResult, DrillMeasurements, DrillCleanup, Drill, GroupDrillStatus } from './drill.ts';

/**
 * Drills: a scheduled or on-demand test-mode failover of one application group into its
 * isolated test network, with acceptance checks, measured RTO/RPO and guaranteed cleanup, so
 * the recovery plan is known to work before the day it is needed.
 *
 * A drill is one run of the failover machinery (RunStore records, `kind: drill`, `mode: test`)
 * plus a drill record (DrillStore) holding what the run does not: the point requested, the
 * acceptance-check results, the measurements, the verdict against the group's objectives and
 * the cleanup. The drill id is the run id, the Step Functions execution name, and the value of
 * the `cleanpoint:incident` tag on everything launched: cleanup finds its resources by it.
 */

// ---------------------------------------------------------------------------------------------
// Ids and point specs

const MAX_POINT_SCAN = 5_000;

export type PointSpec =
  | { kind: 'latest' }
  | { kind: 'random-within'; days: number }
  | { kind: 'time'; at: string }
  | { kind: 'point'; pointId: string };

export function parsePointSpec(text: string): PointSpec {
  const fail = (message: string): never => { throw new ValidationError('point', [{ path: 'point', message }]); };
  if (text === 'latest') return { kind: 'latest' };
  const random = text.match(/^random-within:(\d+(?:\.\d+)?)d$/);
  if (!random && text.startsWith('random')) fail('write random-within:Nd, e.g. random-within:7d');
  if (random) {
    const days = Number(random[1]);
    if (!(days > 0 && days <= 366)) fail('random-within takes 0 < N ≤ 366 days, e.g. random-within:7d');
    return { kind: 'random-within', days };
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    if (!isIsoTimestamp(text)) fail(`${text} is not an ISO-8601 time with a zone`);
    return { kind: 'time', at: toIso(Date.parse(text)) };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/.test(text)) fail('use latest, random-within:Nd, a recovery point id or an ISO time');
  return { kind: 'point', pointId: text };
}

/** `2025-03-02T03:00:00.000Z` → `20250302T0300` (seconds too when asked). */
function stamp(ms: number, seconds = false): string {
  const iso = toIso(ms);
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${seconds ? iso.slice(17, 19) : ''}`;
}

/**
 * Drill ids are run ids, execution names and tag values: `[A-Za-z0-9-]`, at most 67 characters.
 * A scheduled drill's id is derived from its slot (starting it twice starts it once); an
 * on-demand drill's carries seconds and a random suffix.
 */
export function drillIdFor(group: string, atMs: number, trigger: DrillTrigger, random: () => string = () => randomBytes(2).toString('hex')): string {
  const slug = group.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 40);
  return trigger === 'schedule' ? `drill-${slug}-${stamp(atMs)}` : `drill-${slug}-${stamp(atMs, true)}-${random()}`;
}

/** Execution name of the cleanup that follows an aborted or timed-out drill execution (≤ 80 chars). */
export function cleanupExecutionName(drillId: string, endedExecutionArn: string): string {
  return `${drillId.slice(0, 62)}-cleanup-${createHash('sha256').update(endedExecutionArn).digest('hex').slice(0, 8)}`;
}

// ---------------------------------------------------------------------------------------------
// Request (CLI, console, schedule) ▶ drill execution

export interface DrillExecutionInput {
  action: 'run' | 'cleanup';
  drillId: string;
  group: string;
  point: string;
  trigger: DrillTrigger;
  requestedBy: string;
}

/**
 * requestDrill(deps)({ group, point, trigger, requestedBy, slotMs? })
 *
 * 1. The group must exist and have an isolated test network; the point spec must be readable.
 * 2. The drill id comes from the slot (schedule) or the time plus a random suffix (on demand).
 * 3. Start the drill state machine named after the drill (idempotent by name).
 */
export function requestDrill(deps: { index: InventoryIndex; workflows: WorkflowEngine; clock: Clock; random?: () => string }) {
  return async (input: { group: string; point?: string; trigger: DrillTrigger; requestedBy: string; slotMs?: number }) => {
    const group = deps.index.groupByName.get(input.group);
    if (!group) throw new NotFoundError(`there is no group ${JSON.stringify(input.group)} in the inventory`);
    if (!group.networks?.test) throw new SafetyViolationError(`group ${group.name} has no isolated test network (networks.test): it cannot be drilled`);
    const point = input.point ?? 'latest';
    parsePointSpec(point);
    const drillId = drillIdFor(group.name, input.slotMs ?? deps.clock.now(), input.trigger, deps.random);
    const execution: DrillExecutionInput = { action: 'run', drillId, group: group.name, point, trigger: input.trigger, requestedBy: input.requestedBy };
    const started = await deps.workflows.startExecution({ machine: 'drill', name: drillId, input: execution });
    return { drillId, executionArn: started.executionArn, alreadyStarted: started.alreadyStarted };
  };
}

// ---------------------------------------------------------------------------------------------
// Start Drill (first task of the drill machine)

export interface StartDrillDeps {
  drills: DrillStore;
  runs: RunStore;
  incidents: IncidentStore;
  catalog: RecoveryPointCatalog;
  audit: AuditLog;
  index: InventoryIndex;
  policy: Policy;
  clock: Clock;
  random?: () => number;
}

/**
 * startDrill(deps)({ drillId, group, point, trigger, requestedBy })
 *
 * Input: the drill execution's input. Output: the run plan for the failover machine (test mode).
 * 1. Create the drill record (idempotent: a retried task finds it, and the run, and returns the same plan).
 * 2. Refuse while an open incident holds the group: a drill must not compete with a real failover.
 * 3. Resolve the point spec to one cutoff for the group (kept on the record, so a retry of a
 *    random pick picks the same), then per machine the latest eligible point at or before it.
 * 4. A machine without an eligible point, or a group without an isolated test network, fails the drill.
 * 5. Store the run (one record per machine) and return its waves.
 */
export function startDrill(deps: StartDrillDeps) {
  return async (input: Omit<DrillExecutionInput, 'action'>): Promise<RunPlan> => {
    const group = deps.index.groupByName.get(input.group);
    if (!group) throw new NotFoundError(`there is no group ${JSON.stringify(input.group)} in the inventory`);
    const spec = parsePointSpec(input.point);
    const now = deps.clock.now();
    const { drill } = await deps.drills.createDrill({
      drillId: input.drillId, group: group.name, trigger: input.trigger, requestedBy: input.requestedBy, pointSpec: input.point,
      status: 'running', startedAt: toIso(now), machines: [], checks: [], reasons: [], objectives: group.objectives ?? null,
    });
    if (drill.group !== group.name) throw new ConflictError(`drill ${input.drillId} belongs to group ${drill.group}`);
    const existing = await deps.runs.getRun(drill.drillId);
    if (existing) return toRunPlan(existing);
    if (drill.status !== 'running') throw new ConflictError(`drill ${drill.drillId} is ${drill.status}`);

    const open = await openIncidentHolding(deps.incidents, group.name);
    if (open) throw new ConflictError(`group ${group.name} is part of open incident ${open.incidentId} (${open.status}): no drill while it lasts`);

    const cutoff = drill.cutoff ?? await cutoffFor(deps, group, spec, Date.parse(drill.startedAt));
    const selection = await selectRecoveryPoints({ catalog: deps.catalog })({
      groups: [{ group: group.name, cutoff, machines: group.machines.map((m) => m.id) }], evidenceAt: drill.startedAt, alternatives: 0,
    });
    const plan = buildFailoverPlan(deps.policy, deps.index)({ mode: 'test', selection });
    const machines: DrillMachine[] = selection.machines.map((m) => ({
      machineId: m.machineId, wave: deps.index.machineById.get(m.machineId)!.machine.wave, pointId: m.pointId, capturedAt: m.capturedAt, pointAgeMinutes: m.lossMinutes,
    }));
    await deps.drills.updateDrill(drill.drillId, { cutoff, machines, waves: plan.waves });
    if (selection.blockers.length) {
      throw new NoEligibleRecoveryPointError(`no eligible recovery point at or before ${cutoff} for ${selection.blockers.map((b) => `${b.machineId} (${b.reason})`).join('; ')}`);
    }
    if (plan.problems.length) throw new SafetyViolationError(plan.problems.join('; '));

    const run: Run = { runId: drill.drillId, kind: 'drill', mode: 'test', createdAt: toIso(now), decidedAt: drill.startedAt, waves: plan.waves };
    const lossByMachine = new Map(selection.machines.map((m) => [m.machineId, m.lossMinutes]));
    await deps.runs.createRun(run, plan.machines.map((m): RunMachine => ({
      runId: run.runId, machineId: m.machineId, group: m.group, wave: m.wave, mode: 'test', pointId: m.pointId, capturedAt: m.capturedAt,
      lossMinutes: lossByMachine.get(m.machineId) ?? 0, snapshots: m.snapshots, instanceType: m.instanceType, fallbackInstanceTypes: m.fallbackInstanceTypes, network: m.network,
      launch: m.launch,
    })));
    await deps.drills.updateDrill(drill.drillId, { measurements: { ...emptyMeasurements(), estimatedRtoMinutes: plan.estimatedRtoMinutes } });
    await deps.audit.append(drill.drillId, {
      type: 'drill.started', actor: input.requestedBy, at: drill.startedAt,
      data: { group: group.name, trigger: input.trigger, point: input.point, cutoff, points: machines.map((m) => ({ machineId: m.machineId, pointId: m.pointId, capturedAt: m.capturedAt })) },
    });
    return toRunPlan(run);
  };
}

async function cutoffFor(deps: StartDrillDeps, group: Group, spec: PointSpec, startedMs: number): Promise<string> {
  switch (spec.kind) {
    case 'latest': return toIso(startedMs);
    case 'time':
      if (Date.parse(spec.at) > startedMs) throw new ValidationError('point', [{ path: 'point', message: `${spec.at} is in the future` }]);
      return spec.at;
    case 'random-within': {
      const random = deps.random ?? Math.random;
      return toIso(Math.floor(startedMs - random() * spec.days * 86_400_000));
    }
    case 'point': {
      // Point ids belong to one machine: its time becomes the group's cutoff, so every other
      // machine restores from its latest point at or before the same instant (a consistent set).
      const nowIso = toIso(startedMs);
      for (const m of group.machines) {
        let seen = 0;
        for await (const p of deps.catalog.pointsAtOrBefore(m.id, nowIso, { pageSize: 100 })) {
          if (p.pointId === spec.pointId) return p.capturedAt;
          if (++seen >= MAX_POINT_SCAN) break;
        }
      }
      throw new NotFoundError(`no machine of group ${group.name} has a recovery point ${spec.pointId}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements and verdict

export function emptyMeasurements(): DrillMeasurements {
  return {
    rtoMinutes: null, waves: [], pointAgeMinutes: null, consistencySkewMinutes: null, estimatedRtoMinutes: null,
    instanceMinutes: 0, instanceMinutesByType: {}, instancesLaunched: 0, imagesRegistered: 0,
  };
}

/** The run's per-machine facts, copied onto the drill (the run records stay the source). */
export function drillMachinesFrom(previous: DrillMachine[], runMachines: RunMachine[], startedAt: string): DrillMachine[] {
  const before = new Map(previous.map((m) => [m.machineId, m]));
  return runMachines.map((r) => ({
    ...before.get(r.machineId),
    machineId: r.machineId, wave: r.wave, pointId: r.pointId, capturedAt: r.capturedAt,
    pointAgeMinutes: before.get(r.machineId)?.pointAgeMinutes ?? minutesBetween(Date.parse(startedAt), Date.parse(r.capturedAt)),
    ...(r.imageId ? { imageId: r.imageId } : {}), ...(r.instanceId ? { instanceId: r.instanceId } : {}),
    ...(r.instanceTypeUsed ? { instanceType: r.instanceTypeUsed } : {}), ...(r.launchedAt ? { launchedAt: r.launchedAt } : {}),
    ...(r.readyAt ? { readyAt: r.readyAt } : {}), ...(r.failedAt ? { failedAt: r.failedAt } : {}), ...(r.error ? { error: r.error } : {}),
  })).sort((a, b) => a.wave - b.wave || a.machineId.localeCompare(b.machineId));
}

/**
 * measureRecovery(drill)
 *
 * RTO from the drill start to the moment every acceptance check had passed (or, for a group
 * without checks, to the last machine ready); per wave the minutes from the start until the
 * wave's last machine was ready, and how long the wave itself took (first launch to last ready).
 */
export function measureRecovery(drill: Pick<Drill, 'startedAt' | 'machines' | 'checks' | 'checksPassedAt'>): Pick<DrillMeasurements, 'rtoMinutes' | 'waves' | 'pointAgeMinutes' | 'consistencySkewMinutes'> {
  const t0 = Date.parse(drill.startedAt);
  const ms = drill.machines;
  const allReady = ms.length > 0 && ms.every((m) => m.readyAt);
  const lastReady = Math.max(...ms.map((m) => (m.readyAt ? Date.parse(m.readyAt) : -Infinity)));
  const end = drill.checks.length ? (drill.checksPassedAt ? Date.parse(drill.checksPassedAt) : null) : allReady ? lastReady : null;
  const waves = [...new Set(ms.map((m) => m.wave))].sort((a, b) => a - b).map((wave) => {
    const inWave = ms.filter((m) => m.wave === wave);
    const ready = inWave.every((m) => m.readyAt);
    const readyAt = Math.max(...inWave.map((m) => (m.readyAt ? Date.parse(m.readyAt) : -Infinity)));
    const launched = inWave.filter((m) => m.launchedAt).map((m) => Date.parse(m.launchedAt!));
    return {
      wave, machines: inWave.length,
      readyMinutes: ready ? minutesBetween(readyAt, t0) : null,
      durationMinutes: ready && launched.length ? minutesBetween(readyAt, Math.min(...launched)) : null,
    };
  });
  const times = ms.map((m) => Date.parse(m.capturedAt));
  return {
    rtoMinutes: end === null ? null : minutesBetween(end, t0),
    waves,
    pointAgeMinutes: ms.length ? Math.max(...ms.map((m) => m.pointAgeMinutes)) : null,
    consistencySkewMinutes: times.length ? minutesBetween(Math.max(...times), Math.min(...times)) : null,
  };
}

/** Instance-minutes from each launch until `endMs` (the cleanup), by instance type: what the drill cost. */
export function instanceUsage(machines: DrillMachine[], endMs: number): Pick<DrillMeasurements, 'instanceMinutes' | 'instanceMinutesByType' | 'instancesLaunched' | 'imagesRegistered'> {
  const byType: Record<string, number> = {};
  let total = 0;
  for (const m of machines) {
    if (!m.launchedAt || !m.instanceId) continue;
    const minutes = Math.max(0, minutesBetween(endMs, Date.parse(m.launchedAt)));
    const type = m.instanceType ?? 'unknown';
    byType[type] = Math.round(((byType[type] ?? 0) + minutes) * 100) / 100;
    total += minutes;
  }
  return {
    instanceMinutes: Math.round(total * 100) / 100, instanceMinutesByType: byType,
    instancesLaunched: machines.filter((m) => m.instanceId).length, imagesRegistered: machines.filter((m) => m.imageId).length,
  };
}

/** Less than this share of the RTO objective left over is a warning: the plan works, barely. */
export const RTO_HEADROOM_WARNING = 0.8;

/**
 * judgeDrill(drill, failure)
 *
 * fail: the drill could not start, a machine did not launch or become ready, a check failed,
 *       or the measured RTO is beyond the objective;
 * warn: it worked, but with less than 20 % of the RTO objective to spare, on a fallback
 *       instance type, with the newest eligible point older than the RPO objective (a `latest`
 *       drill only: replication is lagging), without acceptance checks, or without objectives;
 * pass: otherwise.
 */
export function judgeDrill(
  drill: Pick<Drill, 'machines' | 'checks' | 'objectives' | 'pointSpec'>, measured: Pick<DrillMeasurements, 'rtoMinutes' | 'pointAgeMinutes'>,
  context: { failure?: string; fallbackTypesUsed?: string[]; hasChecks: boolean },
): { result: DrillResult; reasons: string[] } {
  const fails: string[] = [];
  const warns: string[] = [];
  if (context.failure) fails.push(context.failure);
  for (const m of drill.machines) {
    if (m.error) fails.push(`${m.machineId}: ${m.error}`);
    else if (!m.readyAt && !context.failure) fails.push(`${m.machineId} never became ready`);
  }
  for (const c of drill.checks.filter((x) => !x.passed)) fails.push(`check ${c.name} on ${c.machineId} failed: ${c.detail}`);
  const o = drill.objectives;
  if (o && measured.rtoMinutes !== null) {
    if (measured.rtoMinutes > o.rtoMinutes) fails.push(`measured RTO ${measured.rtoMinutes} min exceeds the objective of ${o.rtoMinutes} min`);
    else if (measured.rtoMinutes > o.rtoMinutes * RTO_HEADROOM_WARNING) warns.push(`measured RTO ${measured.rtoMinutes} min leaves less than ${Math.round((1 - RTO_HEADROOM_WARNING) * 100)} % of the ${o.rtoMinutes} min objective`);
  }
  if (o && drill.pointSpec === 'latest' && measured.pointAgeMinutes !== null && measured.pointAgeMinutes > o.rpoMinutes) {
    warns.push(`the newest eligible point was ${measured.pointAgeMinutes} min old at drill time, beyond the RPO objective of ${o.rpoMinutes} min (replication lagging?)`);
  }
  if (!o) warns.push('the group has no RTO/RPO objectives to compare against');
  for (const t of context.fallbackTypesUsed ?? []) warns.push(`launched on fallback instance type ${t}: the preferred type had no capacity`);
  if (!context.hasChecks) warns.push('the group has no acceptance checks: only EC2 status checks were verified');
  if (fails.length) return { result: 'fail', reasons: [...fails, ...warns] };
  return { result: warns.length ? 'warn' : 'pass', reasons: warns };
}

// ---------------------------------------------------------------------------------------------
// Record Drill Result / Record Drill Failure

/** `{Error, Cause}` from a Step Functions Catch (a nested execution's Cause is JSON again), in a line. */
export function describeFailure(error: unknown): string {
  if (typeof error === 'string') return error.slice(0, 600);
  const e = (error ?? {}) as { Error?: unknown; Cause?: unknown };
  let name = typeof e.Error === 'string' ? e.Error : 'Error';
  let cause = typeof e.Cause === 'string' ? e.Cause : '';
  try {
    const inner = JSON.parse(cause) as { Error?: unknown; Cause?: unknown; errorMessage?: unknown };
    if (inner && typeof inner === 'object') {
      if (typeof inner.Error === 'string') name = inner.Error;
      if (typeof inner.Cause === 'string') cause = inner.Cause;
      else if (typeof inner.errorMessage === 'string') cause = inner.errorMessage;
    }
  } catch { /* a plain message */ }
  if (name === 'WaveFailed') {
    try {
      const machines = JSON.parse(cause) as { machineId?: string; failed?: boolean; error?: string; cause?: string }[];
      cause = machines.filter((m) => m.failed).map((m) => `${m.machineId}: ${m.error ?? 'failed'}${m.cause ? ` (${lambdaMessage(m.cause).slice(0, 240)})` : ''}`).join('; ');
    } catch { /* keep the cause */ }
  }
  return `${name}${cause ? `: ${cause}` : ''}`.slice(0, 600);
}

/** A Lambda error's Cause is JSON (`errorMessage`) on AWS and the message locally. */
function lambdaMessage(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') return parsed.errorMessage;
  } catch { /* a plain message */ }
  return cause;
}

export interface RecordDrillDeps {
  drills: DrillStore;
  runs: RunStore;
  audit: AuditLog;
  index: InventoryIndex;
  clock: Clock;
}

/**
 * recordDrillResult(deps)({ drillId, outcome, error? })
 *
 * Copies the run's machine facts onto the drill, measures RTO (overall and per wave) and the
 * point age, and judges the result against the group's objectives. `failed` carries the error
 * the workflow caught (start, launch, boot, status or acceptance checks). An aborted drill
 * stays aborted.
 */
export function recordDrillResult(deps: RecordDrillDeps) {
  return async (input: { drillId: string; outcome: 'completed' | 'failed'; error?: unknown }): Promise<{ drillId: string; result: DrillResult; rtoMinutes: number | null }> => {
    const drill = await deps.drills.getDrill(input.drillId);
    if (!drill) throw new NotFoundError(`drill ${input.drillId} not found`);
    const runMachines = await deps.runs.listMachines(drill.drillId);
    const machines = drillMachinesFrom(drill.machines, runMachines, drill.startedAt);
    const recovery = measureRecovery({ ...drill, machines });
    const group = deps.index.groupByName.get(drill.group);
    const hasChecks = Boolean(group && (group.checks.length || group.machines.some((m) => m.checks.length)));
    const fallbackTypesUsed = runMachines.filter((r) => r.instanceTypeUsed && r.instanceType && r.instanceTypeUsed !== r.instanceType).map((r) => `${r.instanceTypeUsed} (${r.machineId})`);
    const failure = input.outcome === 'failed' ? describeFailure(input.error) : undefined;
    const verdict = judgeDrill({ ...drill, machines }, recovery, { ...(failure ? { failure } : {}), fallbackTypesUsed, hasChecks });
    const measurements = { ...(drill.measurements ?? emptyMeasurements()), ...recovery };
    await deps.drills.updateDrill(drill.drillId, {
      machines, measurements, result: verdict.result, reasons: verdict.reasons, ...(failure ? { error: failure } : {}),
    });
    await deps.audit.append(drill.drillId, {
      type: 'drill.recorded', actor: 'cleanpoint', at: toIso(deps.clock.now()),
      data: { result: verdict.result, rtoMinutes: recovery.rtoMinutes, pointAgeMinutes: recovery.pointAgeMinutes, reasons: verdict.reasons },
    });
    return { drillId: drill.drillId, result: verdict.result, rtoMinutes: recovery.rtoMinutes };
  };
}

// ---------------------------------------------------------------------------------------------
// Finish Drill (after the cleanup) / Record Cleanup Failure

export interface FinishDrillDeps extends RecordDrillDeps {
  compute: ComputeProvider;
  notifier: Notifier;
}

/**
 * finishDrill(deps)({ drillId, cleanup } | { drillId, cleanupError })
 *
 * 1. With the cleanup's result: the drill is clean; instance-minutes are counted up to now.
 * 2. With the cleanup's error: look again for everything tagged with the drill, so the alarm
 *    says exactly what is left, and record the cleanup as incomplete.
 * 3. Finish the drill (an aborted one stays aborted), update the group's drill status and tell
 *    the group's executors: the result, or an ALARM naming what is left.
 * Output: `{ drillId, status, result, cleanup }` for the workflow's last Choice.
 */
export function finishDrill(deps: FinishDrillDeps) {
  return async (input: { drillId: string; cleanup?: { terminated: string[]; deregistered: string[] }; cleanupError?: unknown }) => {
    const drill = await deps.drills.getDrill(input.drillId);
    if (!drill) throw new NotFoundError(`drill ${input.drillId} not found`);
    const now = deps.clock.now();
    const at = toIso(now);
    let cleanup: DrillCleanup;
    if (input.cleanupError === undefined && input.cleanup) {
      cleanup = { status: 'clean', at, terminated: input.cleanup.terminated, deregistered: input.cleanup.deregistered, remaining: [] };
    } else {
      const left = await deps.compute.findTagged({ [TAG.incident]: drill.drillId, [TAG.mode]: 'test' });
      const remaining = [
        ...left.instances.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down')
          .map((i) => `instance ${i.instanceId} (${i.state}, ${i.instanceType}, ${i.tags[TAG.machine] ?? 'unknown machine'})`),
        ...left.imageIds.map((id) => `image ${id}`),
      ];
      cleanup = remaining.length
        ? { status: 'incomplete', at, terminated: [], deregistered: [], remaining }
        // The cleanup failed, but nothing tagged with the drill is left (e.g. it finished on a retry that timed out).
        : { status: 'clean', at, terminated: [], deregistered: [], remaining: [] };
    }
    const runMachines = await deps.runs.listMachines(drill.drillId);
    const machines = drillMachinesFrom(drill.machines, runMachines, drill.startedAt);
    const measurements = { ...(drill.measurements ?? emptyMeasurements()), ...instanceUsage(machines, now) };
    const status: DrillStatus = drill.status === 'aborted' ? 'aborted' : 'finished';
    const reasons = [...drill.reasons];
    if (!drill.result) reasons.push('the drill result could not be recorded');
    if (cleanup.status === 'incomplete') reasons.push(`cleanup incomplete: ${cleanup.remaining.length} resource(s) left`);
    const result: DrillResult = drill.result ?? 'fail';
    const finished = await deps.drills.updateDrill(drill.drillId, { status, finishedAt: at, cleanup, machines, measurements, result, reasons });
    await deps.audit.append(drill.drillId, { type: cleanup.status === 'clean' ? 'drill.finished' : 'drill.cleanup-incomplete', actor: 'cleanpoint', at, data: { status, result, cleanup } });
    await updateGroupAfterDrill(deps.drills, finished, at);

    const group = deps.index.groupByName.get(drill.group);
    if (cleanup.status === 'incomplete') {
      const alarm = cleanupAlarm(finished);
      // Everybody of the group, and the operations address (no recipients) in case nobody reads theirs.
      const everyone = group ? [...new Set([...peopleInRole(group, 'executor'), ...peopleInRole(group, 'decider'), ...peopleInRole(group, 'analyst')])] : [];
      if (everyone.length) await deps.notifier.send({ kind: 'alarm', incidentId: drill.drillId, ...alarm, recipients: everyone });
      await deps.notifier.send({ kind: 'alarm', incidentId: drill.drillId, ...alarm, recipients: [] });
    } else {
      await deps.notifier.send({ kind: 'drill', incidentId: drill.drillId, ...drillSummary(finished), recipients: group ? drillRecipients(group) : [] });
    }
    return { drillId: drill.drillId, status, result, cleanup: cleanup.status, remaining: cleanup.remaining };
  };
}

async function updateGroupAfterDrill(store: DrillStore, d: Drill, at: string): Promise<void> {
  const current = await store.getGroupStatus(d.group);
  const machines = { ...(current?.machines ?? {}) };
  if (d.status === 'finished') {
    for (const m of d.machines) {
      const checkFailed = d.checks.some((c) => c.machineId === m.machineId && !c.passed);
      if (m.error || checkFailed) machines[m.machineId] = { lastTestedAt: d.startedAt, result: 'fail', drillId: d.drillId };
      else if (m.readyAt) machines[m.machineId] = { lastTestedAt: d.startedAt, result: 'pass', drillId: d.drillId };
    }
  }
  const passed = d.status === 'finished' && (d.result === 'pass' || d.result === 'warn');
  await store.putGroupStatus({
    ...(current ?? { group: d.group }),
    group: d.group,
    lastDrill: {
      drillId: d.drillId, startedAt: d.startedAt, status: d.status, ...(d.finishedAt ? { finishedAt: d.finishedAt } : {}),
      ...(d.result ? { result: d.result } : {}), rtoMinutes: d.measurements?.rtoMinutes ?? null, ...(d.cleanup ? { cleanup: d.cleanup.status } : {}),
    },
    ...(passed ? { lastPassedAt: d.finishedAt ?? at } : {}),
    machines,
    updatedAt: at,
  });
}

/** Who hears about a group's drills: its executors (they run and test failovers), else its deciders, else its analysts. */
export function drillRecipients(group: Group): string[] {
  for (const role of ['executor', 'decider', 'analyst'] as const) {
    const people = peopleInRole(group, role);
    if (people.length) return people;
  }
  return [];
}

const RESULT_WORD: Record<DrillResult, string> = { pass: 'PASS', warn: 'PASS WITH WARNINGS', fail: 'FAIL' };

/** The drill's result in words, for the executors (e-mail/Slack). */
export function drillSummary(d: Drill): { subject: string; text: string } {
  const m = d.measurements;
  const o = d.objectives;
  const verdict = d.status === 'aborted' ? 'ABORTED' : RESULT_WORD[d.result ?? 'fail'];
  const rto = m?.rtoMinutes ?? null;
  const subject = `Drill of ${d.group}: ${verdict}${rto !== null ? ` (RTO ${rto} min${o ? `, objective ${o.rtoMinutes} min` : ''})` : ''}`;
  const lines = [
    `Drill ${d.drillId} of ${d.group} (${d.trigger === 'schedule' ? 'scheduled' : `on demand by ${d.requestedBy}`}, point ${d.pointSpec}) ${d.status === 'aborted' ? 'was aborted' : 'finished'}: ${verdict}.`,
  ];
  if (rto !== null) lines.push(`Measured RTO ${rto} min${o ? ` (objective ${o.rtoMinutes} min)` : ''}; ${(m?.waves ?? []).map((w) => `wave ${w.wave} ready at +${w.readyMinutes ?? '?'} min`).join(', ')}.`);
  if (m?.pointAgeMinutes !== null && m?.pointAgeMinutes !== undefined) lines.push(`Point age at drill time ${m.pointAgeMinutes} min${o ? ` (RPO objective ${o.rpoMinutes} min)` : ''}.`);
  if (d.checks.length) {
    lines.push(`Acceptance checks: ${d.checks.filter((c) => c.passed).length}/${d.checks.length} passed.`);
    for (const c of d.checks) lines.push(`- ${c.name} on ${c.machineId}: ${c.passed ? 'passed' : 'FAILED'} (${c.detail})`);
  }
  if (d.error) lines.push(`Failure: ${d.error}`);
  for (const r of d.reasons.filter((r) => r !== d.error)) lines.push(`! ${r}`);
  if (m) lines.push(`Cost: ${m.instancesLaunched} instance(s), ${m.instanceMinutes} instance-minutes${Object.keys(m.instanceMinutesByType).length ? ` (${Object.entries(m.instanceMinutesByType).map(([t, v]) => `${t} ${v}`).join(', ')})` : ''}, ${m.imagesRegistered} image(s).`);
  if (d.cleanup) lines.push(d.cleanup.status === 'clean'
    ? `Cleanup: nothing tagged with the drill is left (${d.cleanup.terminated.length} instance(s) terminated, ${d.cleanup.deregistered.length} image(s) deregistered).`
    : `Cleanup INCOMPLETE: ${d.cleanup.remaining.join('; ')}`);
  return { subject, text: lines.join('\n') };
}

export function cleanupAlarm(d: Drill): { subject: string; text: string } {
  const left = d.cleanup?.remaining ?? [];
  return {
    subject: `ALARM: drill ${d.drillId} of ${d.group} left ${left.length} resource(s) behind`,
    text: [
      `The cleanup of drill ${d.drillId} (group ${d.group}) could not remove everything the drill created. Still present, tagged ${TAG.incident}=${d.drillId} and ${TAG.mode}=test:`,
      ...left.map((r) => `- ${r}`),
      'They run in the isolated test network and cost money until removed: terminate the instances and deregister the images (their snapshots are recovery points: keep them).',
    ].join('\n'),
  };
}

// ---------------------------------------------------------------------------------------------
// Aborted or timed-out drill executions

export interface ExecutionEnded {
  executionArn: string;
  name: string;
  status: 'ABORTED' | 'TIMED_OUT';
  input?: string | null;
  stopDate?: number | null;
}

/**
 * handleDrillExecutionEnded(deps)(event detail)
 *
 * A drill execution that is aborted or times out never reaches its own cleanup states. An
 * EventBridge rule on its status change brings it here:
 * 1. Which drill (from the execution input, else from the name).
 * 2. Mark it aborted (unless it already finished and is clean: nothing to do).
 * 3. Start the drill machine's cleanup path for it (`action: cleanup`), named after the ended
 *    execution, so a redelivered event starts it once. That path waits for launches that were
 *    in flight, then runs the same cleanup, verification and alarm as every other drill.
 */
export function handleDrillExecutionEnded(deps: { drills: DrillStore; workflows: WorkflowEngine; audit: AuditLog; clock: Clock }) {
  return async (detail: ExecutionEnded): Promise<{ drillId: string; action: 'cleanup-started' | 'nothing-to-do'; executionArn?: string }> => {
    let parsed: Partial<DrillExecutionInput> = {};
    try { parsed = JSON.parse(detail.input ?? '{}') as Partial<DrillExecutionInput>; } catch { /* the name still says which drill */ }
    const drillId = typeof parsed.drillId === 'string' ? parsed.drillId : detail.name.replace(/-cleanup-[0-9a-f]{8}$/, '');
    const drill = await deps.drills.getDrill(drillId);
    // Stopped before Start Drill created the record: nothing was launched (launching comes after it).
    if (!drill) return { drillId, action: 'nothing-to-do' };
    if (drill.status === 'finished' && drill.cleanup?.status === 'clean') return { drillId, action: 'nothing-to-do' };
    const at = toIso(deps.clock.now());
    if (drill.status === 'running') {
      try {
        await deps.drills.updateDrill(drillId, { status: 'aborted', abort: { at, status: detail.status }, result: 'fail', error: `drill execution ${detail.status === 'ABORTED' ? 'aborted' : 'timed out'}` }, { ifStatusIn: ['running'] });
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e; // it finished meanwhile: clean up anyway
      }
    }
    await deps.audit.append(drillId, { type: 'drill.aborted', actor: 'cleanpoint', at, data: { execution: detail.executionArn, status: detail.status } });
    const input: DrillExecutionInput = { action: 'cleanup', drillId, group: drill.group, point: drill.pointSpec, trigger: drill.trigger, requestedBy: 'cleanpoint' };
    const started = await deps.workflows.startExecution({ machine: 'drill', name: cleanupExecutionName(drillId, detail.executionArn), input });
    return { drillId, action: 'cleanup-started', executionArn: started.executionArn };
  };
}

/**
 * The open incident that holds `group`, or null. Every incident is read (the store pages through
 * all of them: a page of the newest N could miss an older incident that is still failing over),
 * and a read that fails throws: a drill whose safety check cannot complete does not start.
 */
export async function openIncidentHolding(incidents: Pick<IncidentStore, 'listIncidents'>, group: string): Promise<Incident | null> {
  return (await incidents.listIncidents()).find((i) => OPEN_STATUSES.includes(i.status) && i.groups.includes(group)) ?? null;
}
