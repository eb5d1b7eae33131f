import { EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { ThrottledError } from '../../domain/shared/index.ts';
import { Ec2SnapshotDirectory } from '../../functions/shared/adapters/ec2-snapshots.ts';
import { attachEc2Simulator, Ec2Simulator, type Ec2SimulatorOptions } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

const START = Date.UTC(2025, 0, 1, 12);

function account(options: Partial<Ec2SimulatorOptions> = {}) {
  const clock = new VirtualClock({ startMs: START, autoAdvance: false });
  const sim = new Ec2Simulator({ clock, ...options });
  const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  attachEc2Simulator(client, sim);
  return { clock, sim, directory: new Ec2SnapshotDirectory(client) };
}

describe('Ec2SnapshotDirectory on the EC2 simulator', () => {
  it('describes snapshots with their tags as a record and the start time in ISO', async () => {
    // Prepare
    const a = account();
    const root = a.sim.seedSnapshot({
      volumeId: 'vol-0aaaaaaaaaaaaaaa1', volumeSize: 8, startedAt: START - 3_600_000,
      tags: { 'cleanpoint:machine': 'payments-db', 'cleanpoint:device': '/dev/xvda' },
    });
    const data = a.sim.seedSnapshot({ volumeSize: 100, startedAt: START - 10_000, completed: false });

    // Act
    const infos = await a.directory.describeSnapshots([root, data]);

    // Assess
    expect(infos).toEqual([
      {
        snapshotId: root, state: 'completed', startTime: '2025-01-01T11:00:00.000Z', volumeId: 'vol-0aaaaaaaaaaaaaaa1', volumeSize: 8,
        tags: { 'cleanpoint:machine': 'payments-db', 'cleanpoint:device': '/dev/xvda' },
      },
      { snapshotId: data, state: 'pending', startTime: '2025-01-01T11:59:50.000Z', volumeId: expect.stringMatching(/^vol-/), volumeSize: 100, tags: {} },
    ]);
  });

  it('leaves out a snapshot that no longer exists and still describes the others', async () => {
    // Prepare
    const a = account();
    const kept = a.sim.seedSnapshot({ volumeSize: 8 });

    // Act
    const infos = await a.directory.describeSnapshots(['snap-0123456789abcdef0', kept]);

    // Assess
    expect(infos.map((i) => i.snapshotId)).toEqual([kept]);
  });

  it('asks EC2 nothing for an empty list', async () => {
    // Prepare
    const a = account();

    // Act
    const infos = await a.directory.describeSnapshots([]);

    // Assess
    expect(infos).toEqual([]);
    expect(a.sim.stats().totals.requests).toBe(0);
  });

  it('reports a throttled lookup as ThrottledError so the event is retried', async () => {
    // Prepare: a describe bucket that is always empty
    const a = account({ throttling: { describe: { capacity: 0, refillPerSecond: 0 } } });
    const id = a.sim.seedSnapshot({ volumeSize: 8 });

    // Act
    const error = await a.directory.describeSnapshots([id]).then(() => null, (e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as Error).message).toContain('DescribeSnapshots failed: RequestLimitExceeded');
  });
});
