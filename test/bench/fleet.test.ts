import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../domain/shared/index.ts';
import { clientTokenFor, defaultClientToken, launchOne, TokenBucketPacer, type LaunchItem } from '../../domain/failover/index.ts';
import { seededRandom } from '../../bench/lib/stats.ts';
import { launchFleet, launchFleetNaive, type LaunchRetryPolicy, PACED_RETRY, SDK_STANDARD_RETRY } from '../../bench/lib/fleet.ts';
import { Ec2ComputeProvider } from '../../functions/shared/adapters/ec2-compute.ts';
import { attachEc2Simulator, Ec2Simulator, type Ec2SimulatorOptions } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

const START = Date.UTC(2025, 0, 1);

const seeded = seededRandom;

const paced = (seed = 1): LaunchRetryPolicy => ({ ...PACED_RETRY, random: seeded(seed) });
const naive = (seed = 1): LaunchRetryPolicy => ({ ...SDK_STANDARD_RETRY, random: seeded(seed) });

/** A simulated account with EC2's documented buckets, on discrete virtual time. */
function account(options: Partial<Ec2SimulatorOptions> = {}) {
  const clock = new VirtualClock({ startMs: START });
  const sim = new Ec2Simulator({ clock, ...options });
  const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  attachEc2Simulator(client, sim);
  const vpcId = sim.seedVpc();
  const subnetId = sim.seedSubnet({ vpcId, cidrBlock: '10.0.0.0/20' });
  const groupId = sim.seedSecurityGroup({ vpcId, groupName: 'recovery' });
  const imageId = sim.seedImage({ name: 'recovery-point', snapshotIds: [sim.seedSnapshot({ volumeSize: 8 })] });
  const compute = new Ec2ComputeProvider(client);
  const items = (n: number, overrides: Partial<LaunchItem> = {}): LaunchItem[] =>
    Array.from({ length: n }, (_, i) => ({
      key: `run-1/m-${i}`, imageId, instanceType: 't3.micro', subnetId, securityGroupIds: [groupId],
      tags: { 'cleanpoint:incident': 'run-1', 'cleanpoint:machine': `m-${i}` }, ...overrides,
    }));
  return { clock, sim, client, compute, items, imageId, subnetId };
}

/** The floor for N single-instance launches: the burst of 5 at once, then 2 per second. */
const floorMs = (n: number) => ((n - 5) / 2) * 1000;

describe('launchFleet', () => {
  it('launches 100 machines without a failure at the refill rate of the RunInstances bucket', async () => {
    // Prepare
    const a = account();

    // Act
    const { results, totals } = await launchFleet({ compute: a.compute, clock: a.clock, retry: paced() })(a.items(100), { concurrency: 40 });

    // Assess
    expect(totals).toMatchObject({ items: 100, launched: 100, failed: 0, fellBack: 0 });
    expect(totals.throttled).toBeLessThanOrEqual(2);
    expect(totals.elapsedMs).toBeGreaterThanOrEqual(floorMs(100));
    expect(totals.elapsedMs / floorMs(100)).toBeLessThanOrEqual(1.05);
    expect(new Set(results.map((r) => (r.ok ? r.instanceId : r.error))).size).toBe(100);
    expect(results.map((r) => r.key)).toEqual(a.items(100).map((i) => i.key));
    expect(a.sim.resources({ tag: { key: 'cleanpoint:incident', value: 'run-1' } }).filter((r) => r.type === 'instance')).toHaveLength(100);
    expect(a.sim.stats().requests.RunInstances).toBe(totals.attempts);
  });

  it('falls back to the second instance type when the first has no capacity', async () => {
    // Prepare
    const a = account({ faults: { capacityErrors: { instanceTypes: ['m5.large'] } } });
    const items = a.items(10, { instanceType: 'm5.large', fallbackInstanceTypes: ['m6i.large'] });

    // Act
    const { results, totals } = await launchFleet({ compute: a.compute, clock: a.clock, retry: paced() })(items, { concurrency: 10 });

    // Assess
    expect(totals).toMatchObject({ launched: 10, failed: 0, fellBack: 10, attempts: 20, throttled: 0 });
    expect(results.every((r) => r.ok && r.instanceType === 'm6i.large' && r.failures.join() === 'm5.large: no capacity')).toBe(true);
    expect(a.sim.resources().filter((r) => r.type === 'instance')).toHaveLength(10);
  });

  it('fails only the machine whose every instance type lacks capacity', async () => {
    // Prepare
    const a = account({ faults: { capacityErrors: { instanceTypes: ['m5.large', 'm6i.large'] } } });
    const items = [...a.items(3), { ...a.items(4)[3]!, instanceType: 'm5.large', fallbackInstanceTypes: ['m6i.large'] }];

    // Act
    const { results, totals } = await launchFleet({ compute: a.compute, clock: a.clock, retry: paced() })(items, { concurrency: 4 });

    // Assess
    expect(totals).toMatchObject({ launched: 3, failed: 1 });
    expect(results[3]).toMatchObject({ ok: false, instanceType: 'm6i.large', error: 'm5.large: no capacity; m6i.large: no capacity', launchedAt: null });
  });

  it('retries transient errors and still launches every machine', async () => {
    // Prepare
    const a = account({ faults: { failNextCalls: { RunInstances: 2 } } });

    // Act
    const { totals } = await launchFleet({ compute: a.compute, clock: a.clock, retry: paced() })(a.items(10), { concurrency: 10 });

    // Assess
    expect(totals).toMatchObject({ launched: 10, failed: 0, attempts: 12, throttled: 0 });
  });

  it('re-synchronises with an account bucket that someone else has spent', async () => {
    // Prepare: another client takes the whole burst just before the fleet starts
    const a = account();
    for (let i = 0; i < 5; i++) await a.client.send(new RunInstancesCommand({ ImageId: a.imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: a.subnetId }));
    const pacer = new TokenBucketPacer({ clock: a.clock });

    // Act
    const { totals } = await launchFleet({ compute: a.compute, clock: a.clock, pacer, retry: paced() })(a.items(20), { concurrency: 20 });

    // Assess: the burst it believed in was throttled, then the pace holds
    expect(totals).toMatchObject({ launched: 20, failed: 0 });
    expect(totals.throttled).toBeGreaterThanOrEqual(5);
    expect(totals.throttled).toBeLessThanOrEqual(10);
    expect(pacer.stats().penalties).toBe(totals.throttled);
    expect(totals.elapsedMs).toBeLessThanOrEqual(floorMs(25) * 1.25);
  });

  it('records an error that retrying cannot fix as that machine failure and launches the rest', async () => {
    // Prepare
    const a = account();
    const items = [...a.items(2), { ...a.items(3)[2]!, imageId: 'ami-0123456789abcdef0' }];

    // Act
    const { results, totals } = await launchFleet({ compute: a.compute, clock: a.clock, retry: paced() })(items, { concurrency: 3 });

    // Assess
    expect(totals).toMatchObject({ launched: 2, failed: 1 });
    expect(results[2]).toMatchObject({ ok: false, error: expect.stringContaining('InvalidAMIID.NotFound') });
  });

  it('refuses duplicate keys, which would share an idempotency token, and a concurrency below one', async () => {
    // Prepare
    const a = account();
    const fleet = launchFleet({ compute: a.compute, clock: a.clock });

    // Act
    const duplicate = await fleet([...a.items(2), a.items(1)[0]!], { concurrency: 2 }).catch((e: unknown) => e);
    const noWorkers = await fleet(a.items(1), { concurrency: 0 }).catch((e: unknown) => e);

    // Assess
    expect(duplicate).toBeInstanceOf(ValidationError);
    expect((duplicate as Error).message).toContain('items[2].key');
    expect(noWorkers).toBeInstanceOf(ValidationError);
    expect(a.sim.stats().totals.requests).toBe(0);
  });
});

describe('launchFleetNaive', () => {
  it('fires everything at once and is throttled far more often than the paced launcher, losing launches', async () => {
    // Prepare
    const a = account();

    // Act
    const { results, totals } = await launchFleetNaive({ compute: a.compute, clock: a.clock, retry: naive() })(a.items(100));

    // Assess
    expect(totals.throttled).toBeGreaterThan(150);
    expect(totals.failed).toBeGreaterThan(50);
    expect(totals.attempts).toBeLessThanOrEqual(300);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.error.includes('RequestLimitExceeded'))).toBe(true);
  });
});

describe('launchOne', () => {
  it('uses the same idempotency tokens as clientTokenFor when keyed by run and machine', () => {
    // Assess
    expect(defaultClientToken('run-1/web-1', 'm5.large')).toBe(clientTokenFor('run-1', 'web-1', 'm5.large'));
  });

  it('gives up on a machine after the last attempt when every answer is a throttle', async () => {
    // Prepare: a RunInstances bucket that never refills after the first call
    const a = account({ throttling: { runInstancesRequests: { capacity: 1, refillPerSecond: 0 } } });
    const [first, second] = a.items(2);
    await launchOne({ compute: a.compute, clock: a.clock })(first!);

    // Act
    const outcome = await launchOne({ compute: a.compute, clock: a.clock, retry: { ...paced(), maxAttempts: 4 } })({ ...second!, fallbackInstanceTypes: ['t3.small'] });

    // Assess: throttling is not a capacity problem, so the fallback type is not tried
    expect(outcome).toMatchObject({ ok: false, instanceType: 't3.micro', attempts: 4, throttled: 4 });
    expect(outcome.ok ? '' : outcome.error).toMatch(/^t3\.micro: EC2 RunInstances failed: RequestLimitExceeded/);
  });
});
