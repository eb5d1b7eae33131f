import { describe, expect, it } from 'vitest';
import { fixedClock, InsufficientCapacityError, ThrottledError } from '../../domain/shared/index.ts';
import { launchMachine, type RunMachine } from '../../domain/failover/index.ts';
import type { ComputeProvider } from '../../domain/ports/index.ts';
import { MemoryAuditLog } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';

const RUN = 'inc-0123456789abcdef0123';
const machine: RunMachine = {
  runId: RUN, machineId: 'db-1', group: 'payments', wave: 1, mode: 'recovery', pointId: 'rp-1', capturedAt: '2026-11-26T08:00:00.000Z',
  lossMinutes: 30, snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0123456789abcdef0' }], instanceType: 'r6i.large',
  fallbackInstanceTypes: ['r5.large'], network: { subnetId: 'subnet-0123abcd', securityGroupIds: ['sg-0123abcd'] },
};

function compute(runInstance: ComputeProvider['runInstance']): ComputeProvider {
  return {
    registerImage: async () => ({ imageId: 'ami-0123456789abcdef0' }), runInstance,
    describeInstances: async () => [], terminateInstances: async () => {}, deregisterImage: async () => {},
    findTagged: async () => ({ instances: [], imageIds: [] }), snapshotInstance: async () => ({ snapshots: [] }),
  };
}

async function world(run: ComputeProvider['runInstance']) {
  const runs = new MemoryRunStore();
  await runs.createRun({ runId: RUN, kind: 'incident', mode: 'recovery', createdAt: machine.capturedAt, decidedAt: machine.capturedAt, waves: [{ wave: 1, machines: ['db-1'] }] }, [machine]);
  const launch = launchMachine({ runs, audit: new MemoryAuditLog(), compute: compute(run), clock: fixedClock(0), retry: { maxAttempts: 3, baseMs: 10, capMs: 100, random: () => 0.5 } });
  return { runs, launch };
}

describe('launchMachine when EC2 keeps throttling', () => {
  it('hands the machine back to the workflow with a ThrottledError instead of failing it', async () => {
    // Prepare: every RunInstances is throttled
    const w = await world(async () => { throw new ThrottledError('RequestLimitExceeded'); });

    // Act
    const error = await w.launch({ runId: RUN, machineId: 'db-1' }).catch((e: Error) => e);

    // Assess: retryable by the state machine, and the machine is not marked failed
    expect(error).toBeInstanceOf(ThrottledError);
    const stored = await w.runs.getMachine(RUN, 'db-1');
    expect(stored?.failedAt).toBeUndefined();
    expect(stored?.throttledRetries).toBeGreaterThan(0);
  });

  it('still fails the machine when every instance type has no capacity (retrying will not help)', async () => {
    const w = await world(async () => { throw new InsufficientCapacityError('InsufficientInstanceCapacity'); });
    const error = await w.launch({ runId: RUN, machineId: 'db-1' }).then(() => null, (e: Error) => e);
    expect(error?.name).toBe('LaunchFailedError');
    expect((await w.runs.getMachine(RUN, 'db-1'))?.failedAt).toBeDefined();
  });
});
