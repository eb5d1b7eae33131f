import { MachineCheckFailedError, NotFoundError, toIso, type Clock } from '../shared/index.ts';
import type { CheckResult, Drill } from './runs.ts';
import type { AcceptanceCheck, Group, InventoryIndex } from '../inventory/index.ts';
import type { AcceptanceChecker, AuditLog, ComputeProvider, DrillStore, RunStore } from '../ports/index.ts';
import type { RunMachine } from '../failover/model.ts';
import { mapLimit } from '../shared/index.ts';
import type { CheckEndpoint, ProbeRequest, ProbeResult } from './acceptance-probe.ts';
export type { CheckEndpoint, ProbeRequest, ProbeResult } from './acceptance-probe.ts';

/**
 * User-acceptance checks of a drill: does the recovered application answer, from inside the
 * isolated test network? The inventory declares them per machine or per group:
 *   tcp   a port accepts connections
 *   http  GET http://<private ip>:<port><path> answers `expectStatus` (and contains `expectBody`)
 *   ssm   a shell command on the machine exits 0 (and prints `expectOutput`)
 * Each check may take up to its `timeoutSeconds` to pass (a service warms up after the status
 * checks are green): it is probed again every few seconds until it passes or the time is up.
 *
 * The probes go through the AcceptanceChecker port: on AWS, SSM Run Command on a drilled
 * machine in the test network (functions/shared/adapters/ssm-acceptance-checker.ts); locally,
 * the same adapter answered by local/acceptance-runner.ts, which SIMULATES the services from
 * the EC2 simulator's instance state (nothing is really listening locally).
 */

export interface PlannedCheck {
  check: AcceptanceCheck;
  machineId: string;
  scope: 'machine' | 'group';
}

/**
 * Which check runs against which machine: a machine's own checks against it; a group check
 * against its `machines`, or by default the group's first wave (inventory.ts documents that).
 */
export function planChecks(group: Group): PlannedCheck[] {
  const planned: PlannedCheck[] = [];
  for (const m of group.machines) for (const check of m.checks) planned.push({ check, machineId: m.id, scope: 'machine' });
  const firstWave = Math.min(...group.machines.map((m) => m.wave));
  for (const check of group.checks) {
    const targets = check.machines ?? group.machines.filter((m) => m.wave === firstWave).map((m) => m.id);
    for (const machineId of targets) planned.push({ check, machineId, scope: 'group' });
  }
  return planned;
}

/**
 * The machine a tcp/http probe runs on: another drilled machine, preferring later waves (the
 * application tier calls the database, clients call the application), so the probe crosses
 * the test network and its security groups as a real client would. A lone machine probes itself.
 */
export function runnerFor(check: AcceptanceCheck, target: CheckEndpoint, ready: (CheckEndpoint & { wave: number })[]): CheckEndpoint {
  if (check.type === 'ssm') return target;
  const other = [...ready].filter((m) => m.machineId !== target.machineId).sort((a, b) => b.wave - a.wave || a.machineId.localeCompare(b.machineId))[0];
  return other ? { machineId: other.machineId, instanceId: other.instanceId, privateIpAddress: other.privateIpAddress } : target;
}

/** Pause between probes of a check that has not passed yet. */
export const PROBE_INTERVAL_MS = 5_000;

export interface AcceptanceDeps {
  drills: DrillStore;
  runs: RunStore;
  compute: ComputeProvider;
  checker: AcceptanceChecker;
  index: InventoryIndex;
  audit: AuditLog;
  clock: Clock;
  /** Cap on one check's timeout (the Lambda's own timeout bounds the whole step). */
  maxCheckSeconds?: number;
  concurrency?: number;
}

/**
 * runAcceptanceChecks(deps)({ drillId })
 *
 * 1. The drill's machines and their private addresses in the test network.
 * 2. Every planned check, in parallel (bounded), each probed until it passes or its timeout.
 * 3. Store every result on the drill; all passed → `checksPassedAt` (the end of the measured RTO).
 * 4. Any failure → MachineCheckFailedError naming the failed checks (the workflow records it and cleans up).
 */
export function runAcceptanceChecks(deps: AcceptanceDeps) {
  return async (input: { drillId: string }): Promise<{ drillId: string; passed: number; total: number }> => {
    const drill = await deps.drills.getDrill(input.drillId);
    if (!drill) throw new NotFoundError(`drill ${input.drillId} not found`);
    const group = deps.index.groupByName.get(drill.group);
    if (!group) throw new NotFoundError(`group ${drill.group} is no longer in the inventory`);
    const machines = await deps.runs.listMachines(drill.drillId);
    const endpoints = await endpointsOf(deps.compute, machines);
    const planned = planChecks(group);
    const results = await mapLimit(planned, deps.concurrency ?? 16, (p) => runCheck(deps, drill, p, endpoints));
    const allPassed = results.every((r) => r.passed);
    const at = toIso(deps.clock.now());
    await deps.drills.updateDrill(drill.drillId, { checks: results, ...(allPassed ? { checksPassedAt: at } : {}) });
    await deps.audit.append(drill.drillId, {
      type: 'drill.checks', actor: 'cleanpoint', at,
      data: { passed: results.filter((r) => r.passed).length, total: results.length, failed: results.filter((r) => !r.passed).map((r) => `${r.name}@${r.machineId}`) },
    });
    if (!allPassed) {
      throw new MachineCheckFailedError(`acceptance checks failed: ${results.filter((r) => !r.passed).map((r) => `${r.name} on ${r.machineId} (${r.detail})`).join('; ')}`);
    }
    return { drillId: drill.drillId, passed: results.length, total: results.length };
  };
}

async function endpointsOf(compute: ComputeProvider, machines: RunMachine[]): Promise<Map<string, CheckEndpoint & { wave: number; ready: boolean }>> {
  const launched = machines.filter((m) => m.instanceId);
  const views = new Map((await compute.describeInstances(launched.map((m) => m.instanceId!))).map((v) => [v.instanceId, v]));
  return new Map(launched.map((m) => [m.machineId, {
    machineId: m.machineId, instanceId: m.instanceId!, wave: m.wave, ready: Boolean(m.readyAt) && views.get(m.instanceId!)?.state === 'running',
    privateIpAddress: views.get(m.instanceId!)?.privateIpAddress ?? null,
  }]));
}

async function runCheck(deps: AcceptanceDeps, drill: Drill, p: PlannedCheck, endpoints: Map<string, CheckEndpoint & { wave: number; ready: boolean }>): Promise<CheckResult> {
  const started = deps.clock.now();
  const timeoutSeconds = Math.min(p.check.timeoutSeconds, deps.maxCheckSeconds ?? 600);
  const deadline = started + timeoutSeconds * 1000;
  const target = endpoints.get(p.machineId);
  const done = (passed: boolean, detail: string, attempts: number, runnerMachineId: string | null): CheckResult => {
    const finished = deps.clock.now();
    return {
      name: p.check.name, type: p.check.type, machineId: p.machineId, instanceId: target?.instanceId ?? null, runnerMachineId,
      passed, detail, attempts, startedAt: toIso(started), finishedAt: toIso(finished),
      durationSeconds: Math.round((finished - started) / 100) / 10, timeoutSeconds,
    };
  };
  if (!target?.ready) return done(false, `${p.machineId} is not running in the drill`, 0, null);
  const ready = [...endpoints.values()].filter((e) => e.ready);
  const runner = runnerFor(p.check, target, ready);
  let attempts = 0;
  let last = 'not probed';
  for (;;) {
    attempts++;
    try {
      const r = await deps.checker.probe({ drillId: drill.drillId, check: p.check, target, runner, timeoutMs: Math.max(1000, deadline - deps.clock.now()) });
      if (r.passed) return done(true, r.detail, attempts, runner.machineId);
      last = r.detail;
    } catch (e) {
      last = `${(e as Error).name}: ${(e as Error).message}`;
    }
    if (deps.clock.now() + PROBE_INTERVAL_MS >= deadline) return done(false, `${last} (gave up after ${timeoutSeconds} s, ${attempts} attempt(s))`, attempts, runner.machineId);
    await deps.clock.sleep(PROBE_INTERVAL_MS);
  }
}
