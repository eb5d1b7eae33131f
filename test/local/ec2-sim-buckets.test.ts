import { CreateTagsCommand, DescribeVpcsCommand, EC2Client, RegisterImageCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { attachEc2Simulator, Ec2Simulator, TokenBucket } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

const START = Date.UTC(2025, 0, 1);

/** A fresh account (full buckets) with an image and a subnet big enough for 4,000 instances. */
async function account() {
  const clock = new VirtualClock({ startMs: START, autoAdvance: false });
  const sim = new Ec2Simulator({ clock });
  const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  attachEc2Simulator(client, sim);
  const vpcId = sim.seedVpc();
  const subnetId = sim.seedSubnet({ vpcId, cidrBlock: '10.0.0.0/20' });
  const snapshotId = sim.seedSnapshot({ volumeSize: 8 });
  const imageId = sim.seedImage({ name: 'recovery', snapshotIds: [snapshotId] });
  const run = (count = 1) =>
    client.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: count, MaxCount: count, SubnetId: subnetId }));
  const mutate = () => client.send(new CreateTagsCommand({ Resources: [subnetId], Tags: [{ Key: 'k', Value: 'v' }] }));
  const describe = () => client.send(new DescribeVpcsCommand({}));
  return { clock, sim, client, run, mutate, describe };
}

/** Send `n` calls one after another and say which were throttled. */
async function outcomes(n: number, call: () => Promise<unknown>): Promise<Array<'ok' | 'throttled'>> {
  const results: Array<'ok' | 'throttled'> = [];
  for (let i = 0; i < n; i++) {
    results.push(
      await call().then(
        () => 'ok' as const,
        (error: { name?: string }) => {
          if (error.name !== 'RequestLimitExceeded') throw error;
          return 'throttled' as const;
        },
      ),
    );
  }
  return results;
}

const oks = (n: number) => Array<'ok'>(n).fill('ok');

describe('TokenBucket', () => {
  it('starts full and hands out tokens all-or-nothing', () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, autoAdvance: false });
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 2, clock });

    // Act
    const takeFour = bucket.tryTake(4);
    const takeTwo = bucket.tryTake(2);

    // Assess
    expect(takeFour).toBe(true);
    expect(takeTwo).toBe(false);
    expect(bucket.available()).toBe(1);
  });

  it('refills continuously with clock time and never beyond capacity', () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, autoAdvance: false });
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 2, clock });
    bucket.tryTake(5);

    // Act
    clock.advance(250);
    const quarterSecond = bucket.available();
    clock.advance(250);
    const halfSecond = bucket.tryTake(1);
    clock.advance(60_000);

    // Assess
    expect(quarterSecond).toBeCloseTo(0.5);
    expect(halfSecond).toBe(true);
    expect(bucket.available()).toBe(5);
    expect(bucket.msUntil(6)).toBe(Infinity);
  });
});

describe('EC2 simulator RunInstances throttling', () => {
  it('throttles the sixth RunInstances request in the same instant', async () => {
    // Prepare
    const a = await account();

    // Act
    const results = await outcomes(6, () => a.run());

    // Assess
    expect(results).toEqual([...oks(5), 'throttled']);
  });

  it('answers throttling as RequestLimitExceeded with HTTP 503', async () => {
    // Prepare
    const a = await account();
    await outcomes(5, () => a.run());

    // Act
    const attempt = a.run();

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'RequestLimitExceeded', $fault: 'client', $metadata: { httpStatusCode: 503 } });
  });

  it('admits one more RunInstances request after 500 ms', async () => {
    // Prepare
    const a = await account();
    await outcomes(6, () => a.run());

    // Act
    a.clock.advance(499);
    const early = await outcomes(1, () => a.run());
    a.clock.advance(1);
    const onTime = await outcomes(2, () => a.run());

    // Assess
    expect(early).toEqual(['throttled']);
    expect(onTime).toEqual(['ok', 'throttled']);
  });

  it('launches a 1,000-instance burst, then 2 instances per second', async () => {
    // Prepare
    const a = await account();

    // Act
    const burst = await a.run(1_000);
    const empty = await outcomes(1, () => a.run(1));
    a.clock.advance(1_000);
    const tooMany = await outcomes(1, () => a.run(3));
    const refilled = await outcomes(1, () => a.run(2));
    const drained = await outcomes(1, () => a.run(1));

    // Assess
    expect(burst.Instances).toHaveLength(1_000);
    expect(empty).toEqual(['throttled']);
    expect(tooMany).toEqual(['throttled']);
    expect(refilled).toEqual(['ok']);
    expect(drained).toEqual(['throttled']);
  });

  it('consumes no tokens for a throttled request', async () => {
    // Prepare
    const a = await account();
    await a.run(999);

    // Act
    await outcomes(1, () => a.run(5));

    // Assess
    expect(a.sim.bucketLevels()).toMatchObject({ runInstancesRequests: 4, runInstancesResources: 1 });
  });
});

describe('EC2 simulator mutating and describe throttling', () => {
  it('admits 50 mutating calls in a burst, then 5 per second', async () => {
    // Prepare
    const a = await account();

    // Act
    const burst = await outcomes(51, a.mutate);
    a.clock.advance(1_000);
    const nextSecond = await outcomes(6, a.mutate);
    a.clock.advance(200);
    const fifthOfASecond = await outcomes(2, a.mutate);

    // Assess
    expect(burst).toEqual([...oks(50), 'throttled']);
    expect(nextSecond).toEqual([...oks(5), 'throttled']);
    expect(fifthOfASecond).toEqual(['ok', 'throttled']);
  });

  it('admits 100 describe calls in a burst, then 20 per second', async () => {
    // Prepare
    const a = await account();

    // Act
    const burst = await outcomes(101, a.describe);
    a.clock.advance(1_000);
    const nextSecond = await outcomes(21, a.describe);
    a.clock.advance(50);
    const twentiethOfASecond = await outcomes(2, a.describe);

    // Assess
    expect(burst).toEqual([...oks(100), 'throttled']);
    expect(nextSecond).toEqual([...oks(20), 'throttled']);
    expect(twentiethOfASecond).toEqual(['ok', 'throttled']);
  });

  it('keeps the buckets independent of each other', async () => {
    // Prepare
    const a = await account();
    await outcomes(101, a.describe);

    // Act
    const mutating = await outcomes(1, a.mutate);
    const launch = await outcomes(1, () => a.run());

    // Assess
    expect(mutating).toEqual(['ok']);
    expect(launch).toEqual(['ok']);
  });

  it('counts requests, throttled and accepted calls per command', async () => {
    // Prepare
    const a = await account();

    // Act
    await outcomes(7, () => a.run());
    await outcomes(2, a.describe);

    // Assess
    expect(a.sim.stats()).toMatchObject({
      requests: { RunInstances: 7, DescribeVpcs: 2 },
      throttled: { RunInstances: 2 },
      accepted: { RunInstances: 5, DescribeVpcs: 2 },
      totals: { requests: 9, throttled: 2, accepted: 7, failed: 0 },
    });
  });

  it('throttles RegisterImage through the mutating bucket', async () => {
    // Prepare
    const a = await account();
    await outcomes(50, a.mutate);

    // Act
    const attempt = a.client.send(new RegisterImageCommand({ Name: 'late', BlockDeviceMappings: [] }));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
  });
});
