/**
 * Drills end to end in the local runtime: the real drill and failover state machines, handlers,
 * DynamoDB adapters (dynalite), the EC2 simulator, and the SSM acceptance-check adapter answered
 * by the local acceptance runner (checks are simulated locally). One fault per step of the
 * drill; every drill must end with ZERO resources tagged with it in the simulator.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Drill } from '../../domain/drills/index.ts';
import { drillExecution, startLocalDrill } from '../../local/drills-api.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import type { LocalExecution } from '../../local/workflow-runner.ts';
import { startSeededRuntime, until } from '../helpers/local-runtime.ts';

let rt: LocalRuntime;

// 240×: a two-wave drill takes a few virtual minutes, about a second of wall time, and a busy
// machine's stall of 100 ms costs only 24 virtual seconds of measured RTO.
beforeAll(async () => {
  rt = await startSeededRuntime({ speed: 240, infected: {} });
  // Load every handler the drill runs once (a warm Lambda container): importing a module takes
  // wall time, which the sped-up clock would otherwise count as minutes of the first drill's RTO.
  for (const fn of ['start-drill', 'launch-machine', 'check-machine', 'run-acceptance-checks', 'record-drill', 'cleanup-test-machines', 'finish-aborted-drill']) {
    await rt.invoke(fn, {}).catch(() => undefined);
  }
}, 120_000);
afterAll(async () => { await rt?.close(); });
afterEach(() => { rt.sim.clearFaults(); rt.acceptance.clearFaults(); });

async function stores() {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  return stateStores({ STATE_TABLE: rt.tables.state }, rt.platform);
}

async function drillRecord(drillId: string): Promise<Drill> {
  return (await (await stores()).drills.getDrill(drillId))!;
}

/** Everything in the simulator tagged with the drill: instances (until terminated), volumes, images. */
const tagged = (drillId: string) => rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: drillId } });

/** Instances take the simulator's terminateMs (10 virtual seconds) to go from shutting-down to gone. */
async function expectNothingLeft(drillId: string): Promise<void> {
  await until(`no resources tagged ${drillId}`, () => tagged(drillId).length === 0 || undefined, 10_000).catch(() => undefined);
  expect(tagged(drillId).map((r) => `${r.type} ${r.id} ${r.state ?? ''}`)).toEqual([]);
}

async function runDrill(group: string, point = 'latest'): Promise<{ drillId: string; done: LocalExecution; drill: Drill }> {
  const { drillId } = await startLocalDrill(rt, { group, point, requestedBy: 'eve' });
  const done = await drillExecution(rt, drillId)!.done;
  return { drillId, done, drill: await drillRecord(drillId) };
}

describe('a drill of the payments group in the local runtime', () => {
  it('passes end to end: launched in waves in the test network, checks green, measured, recorded, cleaned up', async () => {
    // Act
    const { drillId, done, drill } = await runDrill('payments');

    // Assess: the execution, the verdict and the measurements
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    expect(drill.result, drill.reasons.join('; ')).toBe('pass');
    expect(done.output).toMatchObject({ drillId, status: 'finished', result: 'pass', cleanup: 'clean' });
    expect(drill).toMatchObject({ group: 'payments', status: 'finished', result: 'pass', trigger: 'on-demand', requestedBy: 'eve', pointSpec: 'latest' });
    expect(drill.reasons).toEqual([]);
    expect(drill.machines.map((m) => [m.machineId, m.wave, Boolean(m.readyAt)])).toEqual([
      ['payments-db-1', 1, true], ['payments-api-1', 2, true], ['payments-api-2', 2, true],
    ]);
    expect(drill.checks.map((c) => [c.name, c.machineId, c.passed])).toEqual([['postgres', 'payments-db-1', true], ['api-health', 'payments-api-1', true]]);
    // The tcp/http probes ran on another drilled machine of the test network (a client's path).
    expect(drill.checks.every((c) => c.runnerMachineId && c.runnerMachineId !== c.machineId)).toBe(true);
    const m = drill.measurements!;
    expect(m.rtoMinutes).toBeGreaterThan(0);
    expect(m.rtoMinutes).toBeLessThan(30 * 0.8);
    expect(m.rtoMinutes).toBe(Math.round((Date.parse(drill.checksPassedAt!) - Date.parse(drill.startedAt)) / 600) / 100);
    expect(m.waves.map((w) => w.wave)).toEqual([1, 2]);
    expect(m.waves[0]!.readyMinutes!).toBeLessThan(m.waves[1]!.readyMinutes!);
    expect(m.pointAgeMinutes).toBeGreaterThanOrEqual(0);
    expect(m.pointAgeMinutes).toBeLessThanOrEqual(60);
    expect(m.instancesLaunched).toBe(3);
    expect(m.instanceMinutes).toBeGreaterThan(0);
    expect(Object.keys(m.instanceMinutesByType).sort()).toEqual(['m6i.large', 'r6i.large']);
    expect(drill.cleanup).toMatchObject({ status: 'clean', remaining: [] });
    expect(drill.cleanup!.terminated).toHaveLength(3);
    // Launched into the isolated test subnet, in test mode.
    const launched = (await (await stores()).audit.list(drillId)).filter((a) => a.type === 'machine.launched');
    expect(launched).toHaveLength(3);
    for (const a of launched) expect(a.data).toMatchObject({ subnetId: 'subnet-0c000000000000001', mode: 'test' });
    // The executor hears about it; the group's drill status is kept in the state table.
    expect(rt.outbox.some((x) => x.to.includes('eve@example.com') && x.subject.startsWith('Drill of payments: PASS'))).toBe(true);
    expect(await (await stores()).drills.getGroupStatus('payments')).toMatchObject({ lastDrill: { drillId, result: 'pass', cleanup: 'clean' }, machines: { 'payments-db-1': { result: 'pass', drillId } } });
    await expectNothingLeft(drillId);
  }, 60_000);
});

describe('a drill that fails at each step still leaves nothing behind', () => {
  it('launch: no capacity for the database type or its fallback', async () => {
    rt.sim.setFaults({ capacityErrors: { instanceTypes: ['r6i.large', 'r5.large'] } });
    const { drillId, done, drill } = await runDrill('payments');

    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('DrillFailed');
    expect(drill).toMatchObject({ status: 'finished', result: 'fail' });
    expect(drill.error).toMatch(/^WaveFailed: payments-db-1: LaunchFailedError/);
    expect(drill.machines.find((x) => x.machineId === 'payments-db-1')?.error).toMatch(/capacity/i);
    expect(drill.machines.find((x) => x.machineId === 'payments-api-1')?.launchedAt).toBeUndefined();
    expect(drill.cleanup?.status).toBe('clean');
    expect(rt.outbox.some((x) => x.subject.startsWith('Drill of payments: FAIL') && x.text.includes(drillId))).toBe(true);
    await expectNothingLeft(drillId);
  }, 60_000);

  it('boot: the second wave never becomes ready in time', async () => {
    rt.sim.setFaults({ slowBoot: { tag: { key: 'cleanpoint:machine', value: 'payments-api-2' }, extraMs: 6 * 3_600_000 } });
    const { drillId, done, drill } = await runDrill('payments');

    expect(done.status).toBe('FAILED');
    expect(drill.result).toBe('fail');
    expect(drill.error).toMatch(/payments-api-2: MachineNotReadyError/);
    // Wave 1 had been launched and ready: it is cleaned up too.
    expect(drill.machines.find((x) => x.machineId === 'payments-db-1')?.readyAt).toBeDefined();
    expect(drill.cleanup?.status).toBe('clean');
    await expectNothingLeft(drillId);
  }, 60_000);

  it('acceptance: the API health check answers 503', async () => {
    rt.acceptance.setFaults({ failingChecks: [{ check: 'api-health', behaviour: 'wrong-status', status: 503 }] });
    const { drillId, done, drill } = await runDrill('payments');

    expect(done.status).toBe('FAILED');
    expect(drill.result).toBe('fail');
    const health = drill.checks.find((c) => c.name === 'api-health')!;
    expect(health).toMatchObject({ passed: false, machineId: 'payments-api-1' });
    expect(health.detail).toMatch(/HTTP 503, expected 200/);
    expect(health.attempts).toBeGreaterThan(1); // probed again until its timeout
    expect(drill.checks.find((c) => c.name === 'postgres')?.passed).toBe(true);
    expect(drill.checksPassedAt).toBeUndefined();
    expect(drill.reasons.join('\n')).toMatch(/check api-health on payments-api-1 failed/);
    await expectNothingLeft(drillId);
  }, 60_000);

  it('abort: stopped mid-launch, the abort rule marks it aborted and the same cleanup path removes everything', async () => {
    // Prepare: slow boots, so the drill is still in its first wave when it is stopped
    rt.sim.setFaults({ slowBoot: { extraMs: 30 * 60_000 } });
    const { drillId } = await startLocalDrill(rt, { group: 'payments', requestedBy: 'eve' });
    await until('a drill instance in the simulator', () => tagged(drillId).some((r) => r.type === 'instance') || undefined);

    // Act
    const stopped = await rt.engine.abort(drillExecution(rt, drillId)!.executionArn).done;
    const cleanupRun = await until('the cleanup execution', () => [...rt.engine.executions.values()].find((e) => e.name.startsWith(`${drillId}-cleanup-`)));
    const cleaned = await cleanupRun.done;

    // Assess
    expect(stopped.status).toBe('ABORTED');
    const child = [...rt.engine.executions.values()].find((e) => e.machine === 'failover' && e.name === drillId);
    expect(child?.status).toBe('ABORTED');
    expect(rt.deliveries.some((d) => d.functionName === 'finish-aborted-drill' && d.status === 'delivered')).toBe(true);
    expect(cleaned.status, `${cleaned.error}: ${cleaned.cause}`).toBe('SUCCEEDED');
    expect(cleaned.events.filter((e) => e.type === 'StateEntered').map((e) => e.state?.name)).toEqual([
      'Cleanup Only?', 'Wait For In Flight Launches', 'Clean Up Drill', 'Finish Drill', 'Drill Passed?', 'Aborted Drill Cleaned Up',
    ]);
    const drill = await drillRecord(drillId);
    expect(drill).toMatchObject({ status: 'aborted', result: 'fail', abort: { status: 'ABORTED' }, cleanup: { status: 'clean' } });
    expect(drill.cleanup!.terminated.length).toBeGreaterThan(0);
    await expectNothingLeft(drillId);
  }, 60_000);

  it('cleanup: when terminating keeps failing, the alarm names exactly what is left', async () => {
    // Prepare: every TerminateInstances call is refused (a successful drill launches without one)
    rt.sim.setFaults({ failNextCalls: { TerminateInstances: { count: 50, code: 'UnauthorizedOperation', message: 'injected: not allowed' } } });
    const { drillId } = await startLocalDrill(rt, { group: 'intranet', requestedBy: 'eve' });

    // Act
    const done = await drillExecution(rt, drillId)!.done;
    rt.sim.clearFaults();

    // Assess
    expect(done.status).toBe('FAILED');
    const drill = await drillRecord(drillId);
    const [instance] = tagged(drillId).filter((r) => r.type === 'instance');
    const [image] = tagged(drillId).filter((r) => r.type === 'image');
    const left = [`instance ${instance!.id} (running, t3.medium, intranet-web-1)`, `image ${image!.id}`];
    expect(drill.cleanup?.status).toBe('incomplete');
    expect(drill.cleanup!.remaining).toEqual(left);
    expect(drill.result).toBe('warn'); // the recovery itself worked (intranet has no acceptance checks)
    const alarms = rt.outbox.filter((x) => x.subject === `ALARM: drill ${drillId} of intranet left 2 resource(s) behind`);
    expect(alarms.length).toBeGreaterThan(0);
    for (const line of left) expect(alarms[0]!.text).toContain(line);

    // The operators clean up by hand; then nothing is left.
    await rt.invoke('cleanup-test-machines', { runId: drillId, kind: 'drill' });
    await expectNothingLeft(drillId);
  }, 60_000);
});
