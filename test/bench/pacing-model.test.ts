import { EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { EC2_MUTATING_BUCKET, EC2_RUN_INSTANCES_BUCKET, launchOne, TokenBucketPacer } from '../../domain/failover/index.ts';
import { launchBackoffMs, PACED_RETRY, SDK_STANDARD_RETRY, type LaunchRetryPolicy } from '../../bench/lib/fleet.ts';
import { Ec2ComputeProvider } from '../../functions/shared/adapters/ec2-compute.ts';
import { attachEc2Simulator, EC2_DEFAULT_THROTTLING, Ec2Simulator, TokenBucket } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

/**
 * What test/domain/pacing.test.ts, test/bench/fleet.test.ts and
 * test/local/ec2-sim-buckets.test.ts leave open about the launcher's pacing and retry model,
 * which the makespan benchmark relies on: the backoff formula itself, the mutating-call bucket on
 * the client side, that client and simulator use the same documented numbers, a pacer that starts
 * short of tokens, and which errors re-synchronise the pacer.
 */

const START = Date.UTC(2025, 0, 1);

/** Acquire `n` tokens at once; resolves to the clock time (relative to START) each was granted. */
function grantTimes(pacer: TokenBucketPacer, clock: VirtualClock, n: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, () => pacer.acquire().then(() => clock.now() - START)));
}

const fixed = (value: number, base: LaunchRetryPolicy = PACED_RETRY): LaunchRetryPolicy => ({ ...base, random: () => value });

describe('launchBackoffMs', () => {
  it('draws full jitter below base × 2^attempt', () => {
    // Prepare
    const policy = fixed(0.999_999, { maxAttempts: 8, baseMs: 500, capMs: 20_000, random: Math.random });

    // Act
    const ceilings = [0, 1, 2, 3].map((attempt) => launchBackoffMs(policy, attempt, false));

    // Assess
    expect(ceilings).toEqual([499, 999, 1_999, 3_999]);
    expect(launchBackoffMs(fixed(0), 3, false)).toBe(0);
  });

  it('never waits longer than the cap, however many attempts failed', () => {
    // Act / Assess
    expect(launchBackoffMs(fixed(0.999_999, SDK_STANDARD_RETRY), 20, true)).toBe(19_999);
  });

  it('uses the throttling base only after a throttle', () => {
    // Prepare
    const policy: LaunchRetryPolicy = { ...fixed(0.5), baseMs: 100, throttlingBaseMs: 1_000 };

    // Act / Assess
    expect(launchBackoffMs(policy, 1, true)).toBe(1_000);
    expect(launchBackoffMs(policy, 1, false)).toBe(100);
  });
});

describe('retry policies', () => {
  it('models the SDK standard strategy as documented: 3 attempts, 100 ms base, 20 s cap', () => {
    // Assess
    expect(SDK_STANDARD_RETRY).toMatchObject({ maxAttempts: 3, baseMs: 100, capMs: 20_000 });
    expect(PACED_RETRY).toMatchObject({ maxAttempts: 8, baseMs: 500, capMs: 20_000 });
  });
});

describe('client-side bucket model and the simulator', () => {
  it('use the same documented numbers for RunInstances requests and mutating calls', () => {
    // Assess
    expect(EC2_RUN_INSTANCES_BUCKET).toEqual(EC2_DEFAULT_THROTTLING.runInstancesRequests);
    expect(EC2_MUTATING_BUCKET).toEqual(EC2_DEFAULT_THROTTLING.mutating);
    expect(EC2_DEFAULT_THROTTLING).toEqual({
      runInstancesRequests: { capacity: 5, refillPerSecond: 2 },
      runInstancesResources: { capacity: 1_000, refillPerSecond: 2 },
      mutating: { capacity: 50, refillPerSecond: 5 },
      describe: { capacity: 100, refillPerSecond: 20 },
    });
  });

  it('paces mutating calls to 50 at once and then one every 200 ms, which the server bucket never refuses', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });
    const pacer = new TokenBucketPacer({ clock, bucket: EC2_MUTATING_BUCKET });
    const server = new TokenBucket({ ...EC2_DEFAULT_THROTTLING.mutating, clock });
    let refused = 0;

    // Act
    const times = await Promise.all(Array.from({ length: 60 }, () => pacer.acquire().then(() => {
      if (!server.tryTake(1)) refused++;
      return clock.now() - START;
    })));

    // Assess
    expect(times.slice(0, 50).every((t) => t === 0)).toBe(true);
    expect(times.slice(50)).toEqual([200, 400, 600, 800, 1_000, 1_200, 1_400, 1_600, 1_800, 2_000]);
    expect(refused).toBe(0);
  });

  it('starts a pacer that knows the bucket is spent with that many tokens', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });
    const pacer = new TokenBucketPacer({ clock, initialTokens: 0 });

    // Act
    const times = await grantTimes(pacer, clock, 3);

    // Assess
    expect(times).toEqual([500, 1_000, 1_500]);
  });
});

describe('launchOne and the pacer', () => {
  /** One machine against a simulated account; the first RunInstances calls fail as given. */
  async function launchWith(faults: { failNextCalls?: Record<string, number> }, pre?: (a: { client: EC2Client; sim: Ec2Simulator }) => Promise<void>) {
    const clock = new VirtualClock({ startMs: START });
    const sim = new Ec2Simulator({ clock, faults });
    const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    attachEc2Simulator(client, sim);
    const vpcId = sim.seedVpc();
    const subnetId = sim.seedSubnet({ vpcId, cidrBlock: '10.0.0.0/20' });
    const imageId = sim.seedImage({ name: 'point', snapshotIds: [sim.seedSnapshot({ volumeSize: 8 })] });
    await pre?.({ client, sim });
    const pacer = new TokenBucketPacer({ clock });
    const outcome = await launchOne({ compute: new Ec2ComputeProvider(client), clock, pacer, retry: fixed(0.5) })({
      key: 'run-1/m-1', imageId, instanceType: 't3.micro', subnetId, securityGroupIds: [], tags: {},
    });
    return { outcome, pacer };
  }

  it('backs off after a transient error without treating it as someone else spending the bucket', async () => {
    // Act
    const { outcome, pacer } = await launchWith({ failNextCalls: { RunInstances: 2 } });

    // Assess
    expect(outcome).toMatchObject({ ok: true, attempts: 3, throttled: 0 });
    expect(pacer.stats().penalties).toBe(0);
  });

  it('tells the pacer about every throttle, once each', async () => {
    // Prepare: another client spends the whole request bucket first
    const { RunInstancesCommand } = await import('@aws-sdk/client-ec2');

    // Act
    const { outcome, pacer } = await launchWith({}, async ({ client, sim }) => {
      const imageId = sim.resources().find((r) => r.type === 'image')!.id;
      const subnetId = sim.resources().find((r) => r.type === 'subnet')!.id;
      for (let i = 0; i < 5; i++) await client.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: subnetId }));
    });

    // Assess: the pacer believed in a full bucket, was throttled once, waited a refill interval and got through
    expect(outcome).toMatchObject({ ok: true, throttled: 1, attempts: 2 });
    expect(pacer.stats().penalties).toBe(1);
  });
});
