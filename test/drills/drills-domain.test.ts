import { describe, expect, it } from 'vitest';
import { cleanupExecutionName, describeFailure, drillIdFor, finishDrill, handleDrillExecutionEnded, judgeDrill, measureRecovery, parsePointSpec, planChecks, requestDrill, runAcceptanceChecks, runnerFor, startDrill, type Drill } from '../../domain/drills/index.ts';
import { ConflictError, fixedClock, MachineCheckFailedError, NoEligibleRecoveryPointError, SafetyViolationError, ValidationError } from '../../domain/shared/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import { indexInventory, parseInventory, type InstanceView } from '../../domain/inventory/index.ts';
import { DEFAULT_POLICY } from '../../domain/findings/index.ts';
import type { AcceptanceChecker } from '../../domain/ports/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { MemoryDrillStore } from '../../functions/shared/adapters/memory/drill-store.ts';
import { MemoryAuditLog, MemoryIncidentStore } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { DAY, demoIndex, makeDrill, MINUTE, passedDrill, point, readOnlyCompute, RecordingNotifier, RecordingWorkflows, T0 } from './support.ts';

const index = demoIndex();
const PAYMENTS = ['payments-db-1', 'payments-api-1', 'payments-api-2'];

function world(points = PAYMENTS.flatMap((m) => [point(m, T0 - 10 * MINUTE), point(m, T0 - 70 * MINUTE), point(m, T0 - 5 * DAY)])) {
  const deps = {
    drills: new MemoryDrillStore(), runs: new MemoryRunStore(), incidents: new MemoryIncidentStore(), audit: new MemoryAuditLog(),
    catalog: new InMemoryRecoveryPointCatalog(points), index, policy: DEFAULT_POLICY, clock: fixedClock(T0), random: () => 0.5,
  };
  const input = (o: Partial<Parameters<ReturnType<typeof startDrill>>[0]> = {}) => ({ drillId: 'drill-payments-x', group: 'payments', point: 'latest', trigger: 'on-demand' as const, requestedBy: 'eve', ...o });
  return { deps, points, input, start: (o: Parameters<typeof input>[0] = {}) => startDrill(deps)(input(o)) };
}

describe('point specs and drill ids', () => {
  it('reads latest, random-within:Nd, an ISO time and a point id; refuses the rest', () => {
    expect(parsePointSpec('latest')).toEqual({ kind: 'latest' });
    expect(parsePointSpec('random-within:7d')).toEqual({ kind: 'random-within', days: 7 });
    expect(parsePointSpec('2025-03-01T12:00:00+01:00')).toEqual({ kind: 'time', at: '2025-03-01T11:00:00.000Z' });
    expect(parsePointSpec('rp-payments-db-1-20250301T1100')).toEqual({ kind: 'point', pointId: 'rp-payments-db-1-20250301T1100' });
    for (const bad of ['random-within:0d', 'random-within:7', '2025-02-30T00:00Z', 'rm -rf /', '']) expect(() => parsePointSpec(bad), bad).toThrow(ValidationError);
  });

  it('names scheduled drills after their slot and on-demand drills after the second, with a random suffix', () => {
    expect(drillIdFor('payments', T0, 'schedule')).toBe('drill-payments-20250302T0320');
    expect(drillIdFor('web.shop', T0 + 7_000, 'on-demand', () => 'beef')).toBe('drill-web-shop-20250302T032007-beef');
    expect(cleanupExecutionName('drill-payments-20250302T0320', 'arn:x').length).toBeLessThanOrEqual(80);
  });

  it('refuses to request a drill of a group without an isolated test network', async () => {
    const inv = parseInventory({ groups: [{ name: 'bare', machines: [{ id: 'bare-1', instanceId: 'i-0123456789abcdef0' }], networks: { recovery: { subnetId: 'subnet-0123abcd', securityGroupIds: ['sg-0123abcd'] } } }] });
    const request = requestDrill({ index: indexInventory(inv), workflows: new RecordingWorkflows(), clock: fixedClock(T0) });
    await expect(request({ group: 'bare', trigger: 'on-demand', requestedBy: 'eve' })).rejects.toThrow(SafetyViolationError);
  });
});

describe('startDrill', () => {
  it('chooses every machine\'s newest eligible point at drill time and plans a test-mode run in waves into the test network', async () => {
    const w = world();
    const plan = await w.start();

    expect(plan).toEqual({
      runId: 'drill-payments-x', kind: 'drill', mode: 'test',
      waves: [
        { wave: 1, machines: [{ runId: 'drill-payments-x', kind: 'drill', mode: 'test', machineId: 'payments-db-1' }] },
        { wave: 2, machines: ['payments-api-1', 'payments-api-2'].map((machineId) => ({ runId: 'drill-payments-x', kind: 'drill', mode: 'test', machineId })) },
      ],
    });
    const drill = (await w.deps.drills.getDrill('drill-payments-x'))!;
    expect(drill).toMatchObject({ status: 'running', cutoff: new Date(T0).toISOString(), objectives: { rtoMinutes: 30, rpoMinutes: 60 } });
    expect(drill.machines.map((m) => [m.machineId, m.pointAgeMinutes])).toEqual([['payments-db-1', 10], ['payments-api-1', 10], ['payments-api-2', 10]]);
    expect(drill.measurements?.estimatedRtoMinutes).toBeGreaterThan(0);
    const machines = await w.deps.runs.listMachines('drill-payments-x');
    expect(machines.every((m) => m.mode === 'test' && m.network?.subnetId === 'subnet-0c000000000000001')).toBe(true);
  });

  it('picks one random instant for the whole group with random-within, and keeps it on a retry', async () => {
    const w = world();
    await w.start({ point: 'random-within:7d' });
    const drill = (await w.deps.drills.getDrill('drill-payments-x'))!;
    expect(drill.cutoff).toBe(new Date(T0 - 3.5 * DAY).toISOString());
    expect(drill.machines.every((m) => m.pointAgeMinutes === 5 * 24 * 60)).toBe(true);
    w.deps.random = () => 0.01;
    await w.start({ point: 'random-within:7d' });
    expect((await w.deps.drills.getDrill('drill-payments-x'))!.cutoff).toBe(drill.cutoff);
  });

  it('uses a point id\'s time as the cutoff for every machine of the group', async () => {
    const w = world();
    const older = w.points.find((p) => p.machineId === 'payments-db-1' && p.capturedAt === new Date(T0 - 70 * MINUTE).toISOString())!;
    await w.start({ point: older.pointId });
    const drill = (await w.deps.drills.getDrill('drill-payments-x'))!;
    expect(drill.cutoff).toBe(older.capturedAt);
    expect(drill.machines.map((m) => m.pointAgeMinutes)).toEqual([70, 70, 70]);
    expect(drill.machines[0]!.pointId).toBe(older.pointId);
  });

  it('is idempotent: a retried task returns the same plan and creates nothing twice', async () => {
    const w = world();
    const first = await w.start();
    const second = await w.start();
    expect(second).toEqual(first);
    expect((await w.deps.audit.list('drill-payments-x')).filter((a) => a.type === 'drill.started')).toHaveLength(1);
  });

  it('fails a drill whose machine has no eligible point, keeping what it chose for the others', async () => {
    const w = world(PAYMENTS.filter((m) => m !== 'payments-api-2').map((m) => point(m, T0 - 10 * MINUTE)).concat(point('payments-api-2', T0 - 20 * MINUTE, { scan: 'infected' })));
    await expect(w.start()).rejects.toThrow(NoEligibleRecoveryPointError);
    const drill = (await w.deps.drills.getDrill('drill-payments-x'))!;
    expect(drill.machines.map((m) => m.machineId)).toEqual(['payments-db-1', 'payments-api-1']);
    expect(await w.deps.runs.getRun('drill-payments-x')).toBeNull();
  });

  it('refuses while an open incident holds the group', async () => {
    const w = world();
    await w.deps.incidents.createIncident({ incidentId: 'inc-1', status: 'awaiting-approval', groups: ['payments'] } as Incident);
    await expect(w.start()).rejects.toThrow(ConflictError);
  });

  it('refuses while an open incident older than the newest 200 holds the group (issue 16, item 10)', async () => {
    // Prepare: the open incident is the oldest; 250 closed incidents of other groups came after it.
    const w = world();
    await w.deps.incidents.createIncident({ incidentId: 'inc-old-open', status: 'failing-over', groups: ['payments'], createdAt: new Date(T0 - 30 * DAY).toISOString() } as Incident);
    for (let i = 0; i < 250; i++) {
      await w.deps.incidents.createIncident({ incidentId: `inc-${i}`, status: 'closed', groups: ['other'], createdAt: new Date(T0 - DAY + i * MINUTE).toISOString() } as Incident);
    }

    // Act / Assess
    await expect(w.start()).rejects.toThrow(/open incident inc-old-open/);
    expect(await w.deps.runs.getRun('drill-payments-x')).toBeNull();
  });

  it('refuses to start when the open-incident check cannot complete (fails closed)', async () => {
    // Prepare
    const w = world();
    w.deps.incidents.listIncidents = async () => { throw new Error('ProvisionedThroughputExceededException'); };

    // Act / Assess
    await expect(w.start()).rejects.toThrow(/ProvisionedThroughputExceededException/);
    expect(await w.deps.runs.getRun('drill-payments-x')).toBeNull();
  });
});

describe('measuring and judging a drill', () => {
  const base = () => {
    const d = passedDrill('drill-payments-1', T0);
    d.checks = [{ name: 'postgres', type: 'tcp', machineId: 'payments-db-1', instanceId: 'i-1', runnerMachineId: 'payments-api-2', passed: true, detail: 'port 5432 open', attempts: 1, startedAt: '', finishedAt: '', durationSeconds: 0.2, timeoutSeconds: 60 }];
    d.checksPassedAt = new Date(T0 + 6 * MINUTE).toISOString();
    d.machines[0]!.readyAt = new Date(T0 + 2 * MINUTE).toISOString();
    return d;
  };

  it('measures RTO from the drill start to every check passed, and per wave', () => {
    expect(measureRecovery(base())).toEqual({
      rtoMinutes: 6, pointAgeMinutes: 10, consistencySkewMinutes: 0,
      waves: [{ wave: 1, machines: 1, readyMinutes: 2, durationMinutes: 1 }, { wave: 2, machines: 2, readyMinutes: 4, durationMinutes: 3 }],
    });
  });

  it('passes within the objectives and warns with little headroom, lagging replication, a fallback type or no checks', () => {
    const d = base();
    expect(judgeDrill(d, { rtoMinutes: 6, pointAgeMinutes: 10 }, { hasChecks: true })).toEqual({ result: 'pass', reasons: [] });
    expect(judgeDrill(d, { rtoMinutes: 25, pointAgeMinutes: 10 }, { hasChecks: true }).reasons).toEqual(['measured RTO 25 min leaves less than 20 % of the 30 min objective']);
    expect(judgeDrill(d, { rtoMinutes: 6, pointAgeMinutes: 90 }, { hasChecks: true }).reasons[0]).toMatch(/90 min old.*RPO objective of 60 min/);
    expect(judgeDrill({ ...d, pointSpec: 'random-within:7d' }, { rtoMinutes: 6, pointAgeMinutes: 3000 }, { hasChecks: true }).result).toBe('pass');
    expect(judgeDrill(d, { rtoMinutes: 6, pointAgeMinutes: 10 }, { hasChecks: true, fallbackTypesUsed: ['r5.large (payments-db-1)'] }).result).toBe('warn');
    expect(judgeDrill(d, { rtoMinutes: 6, pointAgeMinutes: 10 }, { hasChecks: false }).reasons).toEqual(['the group has no acceptance checks: only EC2 status checks were verified']);
  });

  it('fails beyond the RTO objective, on a failed check, or on a machine that never became ready', () => {
    const d = base();
    expect(judgeDrill(d, { rtoMinutes: 31, pointAgeMinutes: 10 }, { hasChecks: true }).result).toBe('fail');
    expect(judgeDrill({ ...d, checks: [{ ...d.checks[0]!, passed: false, detail: 'port 5432 refused' }] }, { rtoMinutes: null, pointAgeMinutes: 10 }, { hasChecks: true }).reasons)
      .toEqual(['check postgres on payments-db-1 failed: port 5432 refused']);
    const notReady = base();
    delete notReady.machines[2]!.readyAt;
    expect(judgeDrill(notReady, { rtoMinutes: null, pointAgeMinutes: 10 }, { hasChecks: true }).reasons).toEqual(['payments-api-2 never became ready']);
  });

  it('describes a failed nested failover by the machines that failed', () => {
    const cause = JSON.stringify({ Error: 'WaveFailed', Cause: JSON.stringify([{ machineId: 'a', failed: false }, { machineId: 'b', failed: true, error: 'LaunchFailedError', cause: JSON.stringify({ errorMessage: 'no capacity for r6i.large' }) }]) });
    expect(describeFailure({ Error: 'States.TaskFailed', Cause: cause })).toBe('WaveFailed: b: LaunchFailedError (no capacity for r6i.large)');
    expect(describeFailure({ Error: 'MachineCheckFailedError', Cause: 'acceptance checks failed: x' })).toBe('MachineCheckFailedError: acceptance checks failed: x');
  });
});

describe('acceptance checks', () => {
  const payments = index.groupByName.get('payments')!;

  it('plans machine checks on their machine and group checks on their machines', () => {
    expect(planChecks(payments).map((p) => [p.check.name, p.machineId, p.scope])).toEqual([['postgres', 'payments-db-1', 'machine'], ['api-health', 'payments-api-1', 'group']]);
  });

  it('probes tcp/http from another machine of a later wave, ssm on the machine itself', () => {
    const ep = (machineId: string, wave: number) => ({ machineId, instanceId: `i-${machineId}`, privateIpAddress: '10.0.0.1', wave });
    const ready = [ep('payments-db-1', 1), ep('payments-api-1', 2), ep('payments-api-2', 2)];
    expect(runnerFor(payments.machines[0]!.checks[0]!, ready[0]!, ready).machineId).toBe('payments-api-1');
    expect(runnerFor(payments.checks[0]!, ready[1]!, ready).machineId).toBe('payments-api-2');
    expect(runnerFor({ name: 'x', type: 'ssm', command: 'true', timeoutSeconds: 60 }, ready[1]!, ready).machineId).toBe('payments-api-1');
    expect(runnerFor(payments.checks[0]!, ready[1]!, [ready[1]!]).machineId).toBe('payments-api-1');
  });

  it('probes a failing check again until its timeout, stores every result and fails naming the check', async () => {
    // Prepare: a started drill whose machines are all ready
    const w = world();
    await w.start();
    for (const [i, m] of PAYMENTS.entries()) await w.deps.runs.updateMachine('drill-payments-x', m, { instanceId: `i-0${i}000000000000000`, readyAt: new Date(T0).toISOString() });
    const instances: InstanceView[] = PAYMENTS.map((m, i) => ({ instanceId: `i-0${i}000000000000000`, state: 'running', statusOk: true, instanceType: 'm6i.large', imageId: 'ami-1', privateIpAddress: `10.0.0.${i + 10}`, tags: {} }));
    const probes: string[] = [];
    const checker: AcceptanceChecker = {
      probe: async (r) => {
        probes.push(`${r.check.name}@${r.target.privateIpAddress} from ${r.runner.machineId}`);
        return r.check.name === 'api-health' ? { passed: false, detail: 'HTTP 503, expected 200' } : { passed: true, detail: 'port 5432 open' };
      },
    };
    const run = runAcceptanceChecks({ ...w.deps, compute: readOnlyCompute({ instances }), checker });

    // Act
    const error = await run({ drillId: 'drill-payments-x' }).catch((e: unknown) => e);

    // Assess: api-health (60 s timeout, probed every 5 s) was tried 12 times; postgres once
    expect(error).toBeInstanceOf(MachineCheckFailedError);
    expect((error as Error).message).toBe('acceptance checks failed: api-health on payments-api-1 (HTTP 503, expected 200 (gave up after 60 s, 12 attempt(s)))');
    expect(probes.filter((p) => p.startsWith('postgres'))).toEqual(['postgres@10.0.0.10 from payments-api-1']);
    expect(probes.filter((p) => p.startsWith('api-health')).length).toBe(12);
    const drill = (await w.deps.drills.getDrill('drill-payments-x'))!;
    expect(drill.checks.map((c) => [c.name, c.passed, c.attempts])).toEqual([['postgres', true, 1], ['api-health', false, 12]]);
    expect(drill.checksPassedAt).toBeUndefined();
  });
});

describe('ending a drill', () => {
  it('marks an aborted drill and starts its cleanup once, however often the event arrives', async () => {
    const drills = new MemoryDrillStore();
    await drills.createDrill(makeDrill({ drillId: 'drill-payments-x', status: 'running' }));
    const workflows = new RecordingWorkflows();
    const handle = handleDrillExecutionEnded({ drills, workflows, audit: new MemoryAuditLog(), clock: fixedClock(T0) });
    const event = { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:cleanpoint-dev-drill:drill-payments-x', name: 'drill-payments-x', status: 'ABORTED' as const, input: JSON.stringify({ drillId: 'drill-payments-x' }) };

    const first = await handle(event);
    const again = await handle(event);

    expect(first.action).toBe('cleanup-started');
    expect(again.executionArn).toBe(first.executionArn);
    expect(workflows.started).toHaveLength(1);
    expect(workflows.started[0]).toMatchObject({ machine: 'drill', input: { action: 'cleanup', drillId: 'drill-payments-x', group: 'payments' } });
    expect(await drills.getDrill('drill-payments-x')).toMatchObject({ status: 'aborted', result: 'fail', abort: { status: 'ABORTED' } });
  });

  it('has nothing to clean up for an execution stopped before its drill record existed (nothing launches before it)', async () => {
    const workflows = new RecordingWorkflows();
    const handle = handleDrillExecutionEnded({ drills: new MemoryDrillStore(), workflows, audit: new MemoryAuditLog(), clock: fixedClock(T0) });
    expect(await handle({ executionArn: 'arn:x:drill-payments-y', name: 'drill-payments-y', status: 'ABORTED', input: null })).toEqual({ drillId: 'drill-payments-y', action: 'nothing-to-do' });
    expect(workflows.started).toEqual([]);
  });

  it('when the cleanup failed, finds what is left and raises an alarm naming each resource', async () => {
    // Prepare
    const w = world();
    await w.start();
    await w.deps.drills.updateDrill('drill-payments-x', { result: 'pass' });
    const notifier = new RecordingNotifier();
    const tags = { 'cleanpoint:incident': 'drill-payments-x', 'cleanpoint:mode': 'test', 'cleanpoint:machine': 'payments-api-1' };
    const compute = readOnlyCompute({ instances: [{ instanceId: 'i-0abc0000000000001', state: 'running', statusOk: true, instanceType: 'm6i.large', imageId: 'ami-1', tags }], imageIds: ['ami-0def0000000000001'] });

    // Act
    const out = await finishDrill({ ...w.deps, compute, notifier })({ drillId: 'drill-payments-x', cleanupError: { Error: 'CleanupIncompleteError', Cause: 'cleanup of drill-payments-x left ...' } });

    // Assess
    const left = ['instance i-0abc0000000000001 (running, m6i.large, payments-api-1)', 'image ami-0def0000000000001'];
    expect(out).toEqual({ drillId: 'drill-payments-x', status: 'finished', result: 'pass', cleanup: 'incomplete', remaining: left });
    expect(notifier.sent.map((n) => [n.kind, n.subject, n.recipients])).toEqual([
      ['alarm', 'ALARM: drill drill-payments-x of payments left 2 resource(s) behind', ['eve', 'dev', 'dom', 'ana']],
      ['alarm', 'ALARM: drill drill-payments-x of payments left 2 resource(s) behind', []],
    ]);
    for (const l of left) expect(notifier.sent[0]!.text).toContain(`- ${l}`);
    expect((await w.deps.drills.getGroupStatus('payments'))?.lastDrill).toMatchObject({ drillId: 'drill-payments-x', cleanup: 'incomplete' });
  });
});

// Type check of the fixtures' shape against the domain type.
const _typed: Drill = makeDrill({ drillId: 'x' });
void _typed;
