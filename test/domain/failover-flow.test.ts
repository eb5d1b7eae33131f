import { EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, MachineCheckFailedError, MachineNotReadyError } from '../../domain/shared/index.ts';
import { checkMachine, cleanupTestRun, launchMachine, recordOutcome, type Run, type RunMachine } from '../../domain/failover/index.ts';
import { TAG } from '../../domain/inventory/index.ts';
import { Ec2ComputeProvider } from '../../functions/shared/adapters/ec2-compute.ts';
import { MemoryAuditLog, MemoryIncidentStore } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { attachEc2Simulator, Ec2Simulator } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { makeIncident } from '../contract/contract-fixtures.ts';

const START = Date.UTC(2025, 0, 1, 10);
const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/drill';
const RUN_ID = 'inc-0123456789abcdef0123';

/**
 * One incident run over the real EC2 adapter and the simulator (boot 30 s, status checks 60 s),
 * with the in-memory stores. Time moves only when a test moves it.
 */
async function world(machines: { machineId: string; mode: 'recovery' | 'test' }[]) {
  const clock = new VirtualClock({ startMs: START, autoAdvance: false });
  const sim = new Ec2Simulator({ clock });
  const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  attachEc2Simulator(client, sim);
  const vpcId = sim.seedVpc();
  const subnetId = sim.seedSubnet({ vpcId, isolated: true });
  const groupId = sim.seedSecurityGroup({ vpcId, groupName: 'isolated' });
  const compute = new Ec2ComputeProvider(client, { kmsKeyId: KMS_KEY });
  const runs = new MemoryRunStore();
  const audit = new MemoryAuditLog();
  const incidents = new MemoryIncidentStore();
  await incidents.createIncident(makeIncident({ incidentId: RUN_ID, status: 'failing-over' }));
  const records: RunMachine[] = machines.map(({ machineId, mode }) => ({
    runId: RUN_ID, machineId, group: 'payments', wave: 1, mode, pointId: `pt-${machineId}`,
    capturedAt: new Date(START - 20 * 60_000).toISOString(), lossMinutes: 10,
    snapshots: [
      { deviceName: '/dev/xvda', snapshotId: sim.seedSnapshot({ volumeSize: 8, tags: { [TAG.machine]: machineId } }) },
      { deviceName: '/dev/sdf', snapshotId: sim.seedSnapshot({ volumeSize: 50, tags: { [TAG.machine]: machineId } }) },
    ],
    instanceType: 't3.medium', fallbackInstanceTypes: ['t3.large'], network: { subnetId, securityGroupIds: [groupId] },
  }));
  const run: Run = {
    runId: RUN_ID, kind: 'incident', incidentId: RUN_ID, mode: machines[0]!.mode, createdAt: new Date(START).toISOString(),
    decidedAt: new Date(START - 5 * 60_000).toISOString(), waves: [{ wave: 1, machines: machines.map((m) => m.machineId) }],
  };
  await runs.createRun(run, records);
  const retry = { ...DEFAULT_RETRY, random: () => 0.5 };
  return {
    clock, sim, runs, audit, incidents, records,
    launch: launchMachine({ runs, compute, clock, audit, kmsKeyId: KMS_KEY, retry }),
    check: checkMachine({ runs, compute, clock, audit }),
    record: recordOutcome({ incidents, runs, audit, clock }),
    cleanup: cleanupTestRun({ compute, audit, clock }),
    runTagged: () => sim.resources({ tag: { key: TAG.incident, value: RUN_ID } }),
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (e: unknown) => e);
}

describe('failover use cases over the EC2 adapter and simulator', () => {
  it('launches, waits for boot and status checks, records the outcome and cleans up a test run completely', async () => {
    // Prepare
    const w = await world([{ machineId: 'web-1', mode: 'test' }]);

    // Act
    const launched = await w.launch({ runId: RUN_ID, machineId: 'web-1' });
    const whilePending = await rejection(w.check({ runId: RUN_ID, machineId: 'web-1' }));
    w.clock.advance(30_000);
    const whileInitialising = await rejection(w.check({ runId: RUN_ID, machineId: 'web-1' }));
    w.clock.advance(60_000);
    const ready = await w.check({ runId: RUN_ID, machineId: 'web-1' });
    const outcome = await w.record({ runId: RUN_ID, result: 'recovered' });
    const launchedResources = w.runTagged();
    const cleaned = await w.cleanup({ runId: RUN_ID });
    w.clock.advance(10_000);

    // Assess
    expect(launched).toMatchObject({ instanceType: 't3.medium', waitSeconds: 60, throttledRetries: 0 });
    expect(whilePending).toBeInstanceOf(MachineNotReadyError);
    expect((whilePending as Error).message).toContain('pending');
    expect(whileInitialising).toBeInstanceOf(MachineNotReadyError);
    expect((whileInitialising as Error).message).toContain('initialising');
    expect(ready).toEqual({ instanceId: launched.instanceId, ready: true });
    const machine = await w.runs.getMachine(RUN_ID, 'web-1');
    expect(machine).toMatchObject({ instanceId: launched.instanceId, instanceTypeUsed: 't3.medium', launchedAt: new Date(START).toISOString(), readyAt: new Date(START + 90_000).toISOString() });
    expect(outcome).toEqual({ incidentId: RUN_ID, result: 'recovered', rtoMinutes: 6.5, rpoMinutes: 10 });
    expect((await w.incidents.getIncident(RUN_ID))?.status).toBe('recovered');
    expect(launchedResources.map((r) => r.type).sort()).toEqual(['image', 'instance', 'volume', 'volume']);
    expect(cleaned).toEqual({ terminated: [launched.instanceId], deregistered: [machine!.imageId], remaining: [] });
    expect(w.runTagged()).toEqual([]);
    expect(w.sim.resources().filter((r) => r.type === 'snapshot')).toHaveLength(2);
    expect((await w.audit.list(RUN_ID)).map((e) => e.type)).toEqual(['machine.launched', 'machine.ready', 'outcome.recorded', 'cleanup.done']);
  });

  it('cleanup of a run never touches its recovery-mode machines', async () => {
    // Prepare
    const w = await world([{ machineId: 'db-1', mode: 'recovery' }, { machineId: 'web-1', mode: 'test' }]);
    const recovery = await w.launch({ runId: RUN_ID, machineId: 'db-1' });
    const test = await w.launch({ runId: RUN_ID, machineId: 'web-1' });
    w.clock.advance(90_000);

    // Act
    const cleaned = await w.cleanup({ runId: RUN_ID });
    w.clock.advance(10_000);

    // Assess
    expect(cleaned.terminated).toEqual([test.instanceId]);
    const left = w.runTagged();
    expect(left.find((r) => r.type === 'instance')).toMatchObject({ id: recovery.instanceId, state: 'running' });
    expect(left.map((r) => r.type).sort()).toEqual(['image', 'instance', 'volume', 'volume']);
    expect(left.every((r) => r.tags[TAG.mode] === 'recovery')).toBe(true);
  });

  it('a relaunch after a lost record finds the same image and the same instance', async () => {
    // Prepare
    const w = await world([{ machineId: 'web-1', mode: 'test' }]);
    const first = await w.launch({ runId: RUN_ID, machineId: 'web-1' });
    await w.runs.updateMachine(RUN_ID, 'web-1', { instanceId: undefined, imageId: undefined, launchedAt: undefined });

    // Act
    const again = await w.launch({ runId: RUN_ID, machineId: 'web-1' });

    // Assess
    expect(again.instanceId).toBe(first.instanceId);
    expect(w.sim.resources().filter((r) => r.type === 'instance' || r.type === 'image')).toHaveLength(2);
    expect(w.sim.stats().requests.RegisterImage).toBe(1);
  });

  it('moves to the fallback instance type when EC2 has no capacity for the planned one', async () => {
    // Prepare
    const w = await world([{ machineId: 'web-1', mode: 'test' }]);
    w.sim.setFaults({ capacityErrors: { instanceTypes: ['t3.medium'] } });

    // Act
    const launched = await w.launch({ runId: RUN_ID, machineId: 'web-1' });

    // Assess
    expect(launched.instanceType).toBe('t3.large');
    expect((await w.runs.getMachine(RUN_ID, 'web-1'))?.instanceTypeUsed).toBe('t3.large');
  });

  it('fails the check of a machine whose status check is impaired', async () => {
    // Prepare
    const w = await world([{ machineId: 'web-1', mode: 'test' }]);
    const launched = await w.launch({ runId: RUN_ID, machineId: 'web-1' });
    w.sim.setFaults({ statusCheckFailures: { instanceIds: [launched.instanceId] } });
    w.clock.advance(90_000);

    // Act
    const error = await rejection(w.check({ runId: RUN_ID, machineId: 'web-1' }));

    // Assess
    expect(error).toBeInstanceOf(MachineCheckFailedError);
    expect((await w.runs.getMachine(RUN_ID, 'web-1'))?.error).toBe('status checks failed (instance impaired, system ok)');
  });
});
