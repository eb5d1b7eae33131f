import { DescribeSnapshotsCommand, EC2Client, type DescribeSnapshotsCommandInput } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Run, RunMachine } from '../../domain/failover/index.ts';
import type { SnapshotInfo } from '../../domain/recovery-points/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/index.ts';
import {
  FixedSnapshots, issuePaths, itExportsTheWrappedHandler, lambdaContext, makeRunMachine, memoryAdapters, NOW, rejectionOf,
  STATE_TABLE, stubHandlerEnv, wrapped, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/check-failback-snapshots/handler.ts');
let mod: Module;

const INCIDENT_ID = 'inc-0123456789abcdef0123';
const RUN_ID = `failback-${INCIDENT_ID}`;
const NOW_ISO = new Date(NOW).toISOString();
const PRIMARY = { subnetId: 'subnet-0a1b2c31', securityGroupIds: ['sg-0a1b2c31'] };

/** The failback run prepare-failback stored: payments-db in wave 1, payments-api in wave 2, two snapshots each. */
const run: Run = {
  runId: RUN_ID, kind: 'failback', incidentId: INCIDENT_ID, mode: 'recovery', createdAt: NOW_ISO, decidedAt: NOW_ISO,
  waves: [{ wave: 1, machines: ['payments-db'] }, { wave: 2, machines: ['payments-api'] }],
};
const machines: RunMachine[] = [
  makeRunMachine({
    runId: RUN_ID, mode: 'recovery', pointId: 'failback-of-i-0aaaaaaaaaaaaaaa1', capturedAt: NOW_ISO, lossMinutes: 0, network: PRIMARY,
    snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0aaaaaaaaaaaaaa11' }, { deviceName: '/dev/sdf', snapshotId: 'snap-0aaaaaaaaaaaaaa12' }],
  }),
  makeRunMachine({
    runId: RUN_ID, mode: 'recovery', machineId: 'payments-api', wave: 2, pointId: 'failback-of-i-0aaaaaaaaaaaaaaa2', capturedAt: NOW_ISO, lossMinutes: 0, network: PRIMARY,
    snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0aaaaaaaaaaaaaa21' }, { deviceName: '/dev/sdf', snapshotId: 'snap-0aaaaaaaaaaaaaa22' }],
  }),
];
const snapshotIds = machines.flatMap((m) => m.snapshots.map((s) => s.snapshotId));
const item = (machineId: string) => ({ runId: RUN_ID, kind: 'failback', mode: 'recovery', machineId });
/** What the Launch Primaries state passes to the failover machine. */
const expectedPlan = {
  runId: RUN_ID, kind: 'failback', mode: 'recovery',
  waves: [{ wave: 1, machines: [item('payments-db')] }, { wave: 2, machines: [item('payments-api')] }],
};

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE });
  mod = await import('../../functions/check-failback-snapshots/handler.ts');
});

describe('check-failback-snapshots handler (factory, in-memory fakes)', () => {
  async function world(state: (snapshotId: string) => SnapshotInfo['state'] | null) {
    const runs = new MemoryRunStore();
    await runs.createRun(run, machines);
    const snapshots = new FixedSnapshots(snapshotIds.flatMap((snapshotId) => {
      const s = state(snapshotId);
      return s ? [{ snapshotId, state: s, startTime: NOW_ISO, tags: {} }] : [];
    }));
    const handle = mod.makeHandler(async () => ({ runs, snapshots }));
    return { snapshots, handle };
  }

  it('returns the failback waves for the failover machine once every snapshot is complete', async () => {
    // Prepare
    const w = await world(() => 'completed');

    // Act
    const out = await w.handle({ runId: RUN_ID });

    // Assess
    expect(out).toEqual(expectedPlan);
    expect(w.snapshots.asked.flat().sort()).toEqual([...snapshotIds].sort());
  });

  it('throws MachineNotReadyError (retried by the Check Snapshots state) while one is still pending', async () => {
    // Prepare
    const w = await world((id) => (id === 'snap-0aaaaaaaaaaaaaa22' ? 'pending' : 'completed'));

    // Act
    const error = await rejectionOf(w.handle({ runId: RUN_ID }));

    // Assess
    expect(error.name).toBe('MachineNotReadyError');
    expect(error.message).toBe('1 failback snapshot(s) not complete yet');
  });

  it('never plans from a snapshot that failed or is gone', async () => {
    // Prepare
    const w = await world((id) => (id === 'snap-0aaaaaaaaaaaaaa11' ? 'error' : id === 'snap-0aaaaaaaaaaaaaa12' ? null : 'completed'));

    // Act
    const error = await rejectionOf(w.handle({ runId: RUN_ID }));

    // Assess
    expect(error.name).toBe('MachineNotReadyError');
    expect(error.message).toBe('2 failback snapshot(s) not complete yet');
  });

  it('refuses a run it does not know with NotFoundError', async () => {
    // Prepare
    const w = await world(() => 'completed');

    // Act
    const error = await rejectionOf(w.handle({ runId: 'failback-inc-ffffffffffffffffffff' }));

    // Assess
    expect(error.name).toBe('NotFoundError');
    expect(w.snapshots.asked).toEqual([]);
  });

  it.each([
    ['a missing runId', {}],
    ['an empty runId', { runId: '' }],
    ['a runId with characters no run id has', { runId: 'failback/inc-0123456789abcdef0123' }],
    ['a runId longer than an execution name', { runId: `failback-${'a'.repeat(72)}` }],
    ['a runId that is not text', { runId: 7 }],
  ])('refuses task input with %s with a ValidationError naming runId, and asks EC2 nothing', async (_what, input) => {
    // Prepare
    const w = await world(() => 'completed');

    // Act
    const error = await rejectionOf(w.handle(input));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['runId']);
    expect(w.snapshots.asked).toEqual([]);
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world(() => 'completed');

    // Act
    const error = await rejectionOf(w.handle(RUN_ID));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(w.snapshots.asked).toEqual([]);
  });

  // GAP (reported): the schema is z.looseObject, so a key the Check Snapshots state never sends
  // is accepted and ignored. `it.fails` until the schema is strict — then flip it to `it`.
  it('refuses task input with an extra key with a ValidationError', async () => {
    // Prepare
    const w = await world(() => 'completed');

    // Act
    const error = await rejectionOf(w.handle({ runId: RUN_ID, waves: [] }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(w.snapshots.asked).toEqual([]);
  });
});

describe('check-failback-snapshots handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for EC2)', () => {
  const ec2 = mockClient(EC2Client);
  let states: Record<string, string>;
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;

  beforeEach(async () => {
    ec2.reset();
    stores = memoryAdapters();
    await stores.runs.createRun(run, machines);
    stores.calls.length = 0;
    handler = wrapped(mod, { adapters: stores.adapters });
    states = Object.fromEntries(snapshotIds.map((id) => [id, 'completed']));
    ec2.on(DescribeSnapshotsCommand).callsFake((input: DescribeSnapshotsCommandInput) => ({
      Snapshots: (input.SnapshotIds ?? []).map((SnapshotId) => ({ SnapshotId, State: states[SnapshotId], StartTime: new Date(NOW), VolumeSize: 50 })),
    }));
  });

  afterAll(() => {
    ec2.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('describes exactly the run\'s snapshots in one call and returns the plan when EC2 says they are completed', async () => {
    // Act
    const out = await handler({ runId: RUN_ID }, lambdaContext());

    // Assess
    expect(out).toEqual(expectedPlan);
    expect(ec2).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 1);
    // In the store's order (machines by id, as DynamoDB returns them): the same ids, each once.
    expect([...ec2.commandCalls(DescribeSnapshotsCommand)[0]!.args[0].input.SnapshotIds ?? []].sort()).toEqual([...snapshotIds].sort());
  });

  it('throws MachineNotReadyError while EC2 still reports a snapshot pending', async () => {
    // Prepare
    states['snap-0aaaaaaaaaaaaaa12'] = 'pending';

    // Act
    const error = await rejectionOf(handler({ runId: RUN_ID }, lambdaContext()));

    // Assess
    expect(error.name).toBe('MachineNotReadyError');
  });

  it('refuses a malformed runId with a ValidationError before any call to AWS', async () => {
    // Act
    const error = await rejectionOf(handler({ runId: 'RUN#x' }, lambdaContext()));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['runId']);
    expect(ec2.calls()).toHaveLength(0);
    expect(stores.calls).toEqual([]);
  });
});
