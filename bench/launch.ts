import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { DEFAULT_RETRY, LaunchFailedError, ThrottledError, TransientError, type Clock } from '../domain/shared/index.ts';
import { EC2_MUTATING_BUCKET, launchMachine, TokenBucketPacer, type LaunchItem, type RunMachine } from '../domain/failover/index.ts';
import { TAG, type InstanceView } from '../domain/inventory/index.ts';
import { launchFleet, launchFleetNaive, type LaunchRetryPolicy, PACED_RETRY, SDK_STANDARD_RETRY } from './lib/fleet.ts';
import type { ComputeProvider } from '../domain/ports/index.ts';
import { Ec2ComputeProvider } from '../functions/shared/adapters/ec2-compute.ts';
import { MemoryAuditLog } from '../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../functions/shared/adapters/memory/run-store.ts';
import { attachEc2Simulator, DEFAULT_SETTINGS, EC2_DEFAULT_THROTTLING, Ec2Simulator } from '../local/ec2-sim/index.ts';
import { VirtualClock } from '../local/virtual-clock.ts';
import { makespanFloor, type BucketSpec } from './lib/floor.ts';
import { atMost, exactly, figure, type Benchmark, type Figure } from './lib/result.ts';
import { elapsedMs, seededRandom } from './lib/stats.ts';

/**
 * 1. Failover makespan against the floor set by EC2's token buckets.
 *
 * Every case runs the production launch path on a discrete-event VirtualClock: launchFleet (or
 * launchMachine per machine) ▶ TokenBucketPacer ▶ Ec2ComputeProvider ▶ a real EC2Client
 * (maxAttempts 1) ▶ the EC2 simulator with the documented buckets. A wave is done when
 * Ec2ComputeProvider.describeInstances, polled every POLL_MS of virtual time, shows every
 * launched instance running with both status checks ok; the next wave starts then.
 */

const START = Date.UTC(2025, 0, 6, 9, 0, 0);
/** Poll interval of the readiness check (virtual time): the measured makespan overshoots the floor by less than this per wave. */
const POLL_MS = 5_000;
/** The failover Map's MaxConcurrency (statemachines/failover.asl.json). */
const CONCURRENCY = 40;
/** Give up waiting for a wave after this much virtual time. */
const WAVE_DEADLINE_MS = 4 * 3_600_000;
const READY_MS = DEFAULT_SETTINGS.bootMs + DEFAULT_SETTINGS.statusCheckMs;
/** Both RunInstances buckets: one request token and, with MaxCount 1, one instance token per call. */
const LAUNCH_BUCKETS: BucketSpec[] = [EC2_DEFAULT_THROTTLING.runInstancesRequests, EC2_DEFAULT_THROTTLING.runInstancesResources];
/** What registering an image in the run costs per machine: DescribeImages (name lookup) + RegisterImage. */
const REGISTRATION_BUCKETS: BucketSpec[] = [EC2_DEFAULT_THROTTLING.describe, EC2_DEFAULT_THROTTLING.mutating];

type Launcher = 'paced' | 'naive';
type Images = 'pre-registered' | 'registered in the run';

interface LaunchCase {
  label: string;
  launcher: Launcher;
  images: Images;
  waves: number[];
  /** Target for makespan / floor (paced cases). */
  ratioTarget?: number;
  /** Another client in the same account calls RunInstances this often while the fleet launches. */
  rivalEveryMs?: number;
  /**
   * launchMachine cases: one pacer per worker instead of one shared pacer — what the deployed
   * system would do if each Lambda container kept its own bucket model (the failover Map runs up
   * to 40 launch-machine invocations at once in separate containers). The deployed system shares
   * one bucket through DynamoDB (functions/shared/adapters/dynamodb/token-bucket.ts), which is the
   * shared-pacer case; this one stays as the contrast.
   */
  pacerPerWorker?: boolean;
}

interface WaveRecord {
  machines: number;
  startMs: number;
  lastLaunchMs: number;
  readyMs: number;
  launched: number;
  failed: number;
}

interface CaseResult {
  label: string;
  launcher: Launcher;
  images: Images;
  waves: number[];
  /** One pacer per worker (as deployed) instead of one shared pacer. */
  pacerPerWorker: boolean;
  machines: number;
  makespanMs: number;
  floorMs: number;
  ratio: number;
  launched: number;
  failed: number;
  /** Failed launches whose last error was a throttle: throttling the launcher did not absorb. */
  failedByThrottling: number;
  runInstancesCalls: number;
  /** RunInstances calls beyond the first per machine. */
  retries: number;
  /** RunInstances calls of this launcher answered with a throttle (the rival's not counted). */
  launcherThrottled: number;
  /** The other client's RunInstances calls, and how many were throttled. */
  rival: { calls: number; throttled: number } | null;
  /** With another client: the floor if its admitted calls had been ours too (the bucket is shared). */
  sharedFloorMs?: number;
  /** Calls the simulator refused with RequestLimitExceeded, per command. */
  throttled: Record<string, number>;
  throttledTotal: number;
  readinessPolls: number;
  perWave: WaveRecord[];
  floorPerWave: ReturnType<typeof makespanFloor>['waves'];
  wallMs: number;
}

const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** A fresh simulated account (full buckets) with one recovery subnet and a snapshot per machine. */
function account(machines: number, seed: number) {
  const clock = new VirtualClock({ startMs: START });
  const sim = new Ec2Simulator({ clock, seed, maxInstances: 20_000 });
  const client = new EC2Client({ region: 'us-east-1', credentials, maxAttempts: 1 });
  attachEc2Simulator(client, sim);
  const rivalClient = new EC2Client({ region: 'us-east-1', credentials, maxAttempts: 1 });
  attachEc2Simulator(rivalClient, sim);
  const vpcId = sim.seedVpc({ cidrBlock: '10.20.0.0/16' });
  const subnetId = sim.seedSubnet({ vpcId, cidrBlock: '10.20.0.0/18' });
  const groupId = sim.seedSecurityGroup({ vpcId, groupName: 'recovery' });
  const snapshotIds = Array.from({ length: machines }, (_, i) => sim.seedSnapshot({ volumeSize: 8, tags: { 'cleanpoint:machine': `m-${i}` } }));
  const compute = new Ec2ComputeProvider(client);
  return { clock, sim, compute, rivalClient, subnetId, groupId, snapshotIds };
}

/**
 * Another tool in the same account (a deployment pipeline, an auto-scaling group) calling
 * RunInstances every `everyMs` until stopped: the pacer's model of the bucket is then wrong, and
 * the throttles that follow must be absorbed by re-synchronising and retrying.
 */
function startRival(a: ReturnType<typeof account>, imageId: string, everyMs: number) {
  let stopped = false;
  const counts = { calls: 0, throttled: 0 };
  const done = (async () => {
    while (!stopped) {
      await a.clock.sleep(everyMs);
      if (stopped) break;
      counts.calls++;
      try {
        await a.rivalClient.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: a.subnetId, TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'owner', Value: 'another-tool' }] }] }));
      } catch (e) {
        if ((e as { name?: string }).name !== 'RequestLimitExceeded') throw e;
        counts.throttled++;
      }
    }
  })();
  return { counts, stop: async () => { stopped = true; await done; } };
}

const machineId = (i: number) => `m-${String(i).padStart(4, '0')}`;
const RUN_ID = 'bench-run';
const tagsFor = (i: number) => ({ [TAG.incident]: RUN_ID, [TAG.machine]: machineId(i), [TAG.mode]: 'recovery' });

/**
 * Register one image per machine before the clock starts, through the adapter (so it knows each
 * image's devices, as the container that registered it does), paced to the mutating bucket.
 */
async function preRegister(a: ReturnType<typeof account>): Promise<string[]> {
  const pacer = new TokenBucketPacer({ clock: a.clock, bucket: EC2_MUTATING_BUCKET });
  const imageIds: string[] = [];
  for (let i = 0; i < a.snapshotIds.length; i++) {
    for (;;) {
      await pacer.acquire();
      try {
        const { imageId } = await a.compute.registerImage({
          name: `cleanpoint-bench-${machineId(i)}`, snapshots: [{ deviceName: '/dev/xvda', snapshotId: a.snapshotIds[i]!, volumeSize: 8 }], tags: tagsFor(i),
        });
        imageIds.push(imageId);
        break;
      } catch (e) {
        if (!(e instanceof ThrottledError)) throw e;
        pacer.penalise();
      }
    }
  }
  return imageIds;
}

/**
 * Wait until every instance is running with both status checks ok, polling describeInstances.
 * Same rules as checkMachine: pending / initialising is "not yet", impaired or any other state is
 * a failure. A throttled poll is retried at the next interval.
 */
async function waitUntilReady(compute: ComputeProvider, clock: Clock, instanceIds: string[], gridStart: number): Promise<{ failed: string[]; polls: number }> {
  // Polls fall on a fixed grid from the wave's start, not from the last launch, so the overshoot
  // past the ready instant is whatever the grid gives (0 to POLL_MS), not zero by construction.
  const sinceStart = clock.now() - gridStart;
  await clock.sleep(Math.ceil(sinceStart / POLL_MS) * POLL_MS - sinceStart);
  const pending = new Set(instanceIds);
  const failed: string[] = [];
  const deadline = clock.now() + WAVE_DEADLINE_MS;
  let polls = 0;
  while (pending.size > 0) {
    if (clock.now() > deadline) throw new Error(`${pending.size} instances still not ready after ${WAVE_DEADLINE_MS / 60_000} min`);
    let views: InstanceView[] = [];
    try {
      polls++;
      views = await compute.describeInstances([...pending]);
    } catch (e) {
      if (!(e instanceof ThrottledError || e instanceof TransientError)) throw e;
    }
    for (const v of views) {
      if (v.state === 'running' && v.statusOk === true) pending.delete(v.instanceId);
      else if (v.state !== 'pending' && !(v.state === 'running' && v.statusOk === null)) {
        pending.delete(v.instanceId);
        failed.push(v.instanceId);
      }
    }
    if (pending.size > 0) await clock.sleep(POLL_MS);
  }
  return { failed, polls };
}

async function runCase(c: LaunchCase, seed: number): Promise<CaseResult> {
  const wallStart = performance.now();
  const machines = c.waves.reduce((a, b) => a + b, 0);
  const a = account(machines, seed);
  const random = seededRandom(seed);
  const retry = (base: LaunchRetryPolicy): LaunchRetryPolicy => ({ ...base, random });

  const imageIds = c.images === 'pre-registered' ? await preRegister(a) : [];
  // The clock starts now, with full buckets and clean counters.
  a.sim.resetBuckets();
  a.sim.resetStats();
  const t0 = a.clock.now();
  const pacer = new TokenBucketPacer({ clock: a.clock });

  // Registered in the run: launchMachine per machine, exactly as the launch-machine function does.
  const runs = new MemoryRunStore();
  if (c.images === 'registered in the run') {
    const records: RunMachine[] = [];
    let index = 0;
    c.waves.forEach((size, w) => {
      for (let k = 0; k < size; k++, index++) {
        records.push({
          runId: RUN_ID, machineId: machineId(index), group: 'bench', wave: w + 1, mode: 'recovery', pointId: `rp-${index}`,
          capturedAt: new Date(START - 3_600_000).toISOString(), lossMinutes: 0,
          snapshots: [{ deviceName: '/dev/xvda', snapshotId: a.snapshotIds[index]!, volumeSize: 8 }],
          instanceType: 'm6i.large', fallbackInstanceTypes: [], network: { subnetId: a.subnetId, securityGroupIds: [a.groupId] },
        });
      }
    });
    await runs.createRun({ runId: RUN_ID, kind: 'incident', mode: 'recovery', createdAt: new Date(t0).toISOString(), decidedAt: new Date(t0).toISOString(), waves: [] }, records);
  }
  const launchOneMachine = launchMachine({
    runs, compute: a.compute, clock: a.clock, audit: new MemoryAuditLog(), pacer, retry: retry(DEFAULT_RETRY), bootWaitSeconds: READY_MS / 1000,
  });

  const rival = c.rivalEveryMs ? startRival(a, imageIds[0] ?? a.sim.seedImage({ name: 'another-tool', snapshotIds: [a.sim.seedSnapshot({ volumeSize: 8 })] }), c.rivalEveryMs) : null;
  const perWave: WaveRecord[] = [];
  let launched = 0;
  let failed = 0;
  let failedByThrottling = 0;
  let launcherThrottled = 0;
  let polls = 0;
  let first = 0;
  for (const size of c.waves) {
    const indices = Array.from({ length: size }, (_, k) => first + k);
    first += size;
    const startMs = a.clock.now() - t0;
    const instanceIds: string[] = [];
    if (c.images === 'pre-registered') {
      const items: LaunchItem[] = indices.map((i) => ({
        key: `${RUN_ID}/${machineId(i)}`, imageId: imageIds[i]!, instanceType: 'm6i.large',
        subnetId: a.subnetId, securityGroupIds: [a.groupId], tags: tagsFor(i),
      }));
      const fleet = c.launcher === 'paced'
        ? await launchFleet({ compute: a.compute, clock: a.clock, pacer, retry: retry(PACED_RETRY) })(items, { concurrency: CONCURRENCY })
        : await launchFleetNaive({ compute: a.compute, clock: a.clock, retry: retry(SDK_STANDARD_RETRY) })(items);
      for (const r of fleet.results) {
        if (r.ok) instanceIds.push(r.instanceId);
        else if (/RequestLimitExceeded|Throttl/.test(r.error)) failedByThrottling++;
      }
      launcherThrottled += fleet.totals.throttled;
    } else {
      let next = 0;
      const worker = async () => {
        const launch = c.pacerPerWorker
          ? launchMachine({ runs, compute: a.compute, clock: a.clock, audit: new MemoryAuditLog(), pacer: new TokenBucketPacer({ clock: a.clock }), retry: retry(DEFAULT_RETRY), bootWaitSeconds: READY_MS / 1000 })
          : launchOneMachine;
        while (next < indices.length) {
          const i = indices[next++]!;
          try {
            const out = await launch({ runId: RUN_ID, machineId: machineId(i) });
            instanceIds.push(out.instanceId);
            launcherThrottled += out.throttledRetries;
          } catch (e) {
            // ThrottledError: the task gave up on throttling and hands the machine back to the
            // workflow's retrier (counted here as lost within this attempt).
            if (!(e instanceof LaunchFailedError) && !(e instanceof ThrottledError)) throw e;
            if (/RequestLimitExceeded|Throttl/.test(e.message)) failedByThrottling++;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, size) }, worker));
    }
    const lastLaunchMs = a.clock.now() - t0;
    if (rival && perWave.length === c.waves.length - 1) await rival.stop();
    const ready = await waitUntilReady(a.compute, a.clock, instanceIds, t0 + startMs);
    polls += ready.polls;
    const waveLaunched = instanceIds.length - ready.failed.length;
    launched += waveLaunched;
    failed += size - waveLaunched;
    perWave.push({ machines: size, startMs, lastLaunchMs, readyMs: a.clock.now() - t0, launched: waveLaunched, failed: size - waveLaunched });
  }
  const makespanMs = a.clock.now() - t0;
  const floor = makespanFloor({
    waves: c.waves, launchBuckets: LAUNCH_BUCKETS, readyMs: READY_MS,
    ...(c.images === 'registered in the run' ? { registrationBuckets: REGISTRATION_BUCKETS } : {}),
  });
  const stats = a.sim.stats();
  const runInstancesCalls = stats.requests['RunInstances'] ?? 0;
  const rivalAdmitted = rival ? rival.counts.calls - rival.counts.throttled : 0;
  const sharedFloorMs = rival
    ? makespanFloor({ waves: c.waves.map((size, w) => size + (w === c.waves.length - 1 ? rivalAdmitted : 0)), launchBuckets: LAUNCH_BUCKETS, readyMs: READY_MS }).totalMs
    : undefined;
  a.clock.dispose();
  return {
    label: c.label, launcher: c.launcher, images: c.images, waves: c.waves, pacerPerWorker: c.pacerPerWorker === true, machines,
    makespanMs, floorMs: floor.totalMs, ratio: makespanMs / floor.totalMs,
    launched, failed, failedByThrottling, launcherThrottled, rival: rival ? rival.counts : null, ...(sharedFloorMs ? { sharedFloorMs } : {}),
    runInstancesCalls: runInstancesCalls - (rival?.counts.calls ?? 0), retries: runInstancesCalls - (rival?.counts.calls ?? 0) - machines,
    throttled: stats.throttled, throttledTotal: stats.totals.throttled, readinessPolls: polls,
    perWave, floorPerWave: floor.waves, wallMs: elapsedMs(wallStart),
  };
}

function cases(quick: boolean): LaunchCase[] {
  const n = quick ? [20, 100] : [100, 1_000];
  const w = quick ? 20 : 100;
  const list: LaunchCase[] = [];
  for (const size of n) {
    const ratioTarget = size >= 1_000 ? 1.05 : 1.10;
    list.push({ label: `paced, 1 wave × ${size.toLocaleString('en-GB')}`, launcher: 'paced', images: 'pre-registered', waves: [size], ratioTarget });
    list.push({ label: `naive, 1 wave × ${size.toLocaleString('en-GB')}`, launcher: 'naive', images: 'pre-registered', waves: [size] });
  }
  list.push({ label: `paced, 3 waves × ${w}`, launcher: 'paced', images: 'pre-registered', waves: [w, w, w], ratioTarget: 1.10 });
  list.push({ label: `naive, 3 waves × ${w}`, launcher: 'naive', images: 'pre-registered', waves: [w, w, w] });
  list.push({ label: `paced, 1 wave × ${w}, another client in the account (1 RunInstances/s)`, launcher: 'paced', images: 'pre-registered', waves: [w], rivalEveryMs: 1_000 });
  const big = n.at(-1)!;
  list.push({
    label: `launchMachine (image registered in the run), 1 wave × ${big.toLocaleString('en-GB')}`, launcher: 'paced', images: 'registered in the run', waves: [big],
    ratioTarget: big >= 1_000 ? 1.05 : 1.10,
  });
  for (const size of n) {
    list.push({
      label: `launchMachine, 40 containers each with its own pacer (no shared bucket), 1 wave × ${size.toLocaleString('en-GB')}`, launcher: 'paced', images: 'registered in the run', waves: [size],
      pacerPerWorker: true,
    });
  }
  return list;
}

function figuresOf(r: CaseResult, target?: number): Figure[] {
  if (r.launcher === 'naive' || r.pacerPerWorker) {
    // Launches fail here, so the makespan covers only the machines that did launch: no ratio.
    // Both are contrasts to the shared-pacer design the system uses, so they carry no target.
    return [
      figure(r.label, 'makespan of the machines that launched', r.makespanMs / 1000, 's'),
      figure(r.label, 'machines ready', r.launched, 'count', undefined, `of ${r.machines.toLocaleString('en-GB')}`),
      figure(r.label, 'throttled requests', r.throttledTotal, 'count'),
      figure(r.label, 'RunInstances retries', r.retries, 'count'),
      figure(r.label, 'failed launches', r.failed, 'count'),
      ...(r.pacerPerWorker ? [figure(r.label, 'launches lost to throttling', r.failedByThrottling, 'count')] : []),
    ];
  }
  if (r.rival) {
    // The account's bucket is shared, so the single-client floor is only a reference here.
    return [
      figure(r.label, 'makespan', r.makespanMs / 1000, 's'),
      figure(r.label, 'makespan / single-client floor', r.ratio, 'ratio'),
      figure(r.label, 'makespan / shared-bucket floor', r.makespanMs / r.sharedFloorMs!, 'ratio', undefined, "floor counting the other client's admitted calls"),
      figure(r.label, 'throttled RunInstances of the launcher', r.launcherThrottled, 'count'),
      figure(r.label, "the other client's RunInstances calls", r.rival.calls, 'count', undefined, `${r.rival.throttled} of them throttled`),
      figure(r.label, 'RunInstances retries', r.retries, 'count'),
      figure(r.label, 'failed launches', r.failed, 'count', exactly(0)),
      figure(r.label, 'launches lost to throttling', r.failedByThrottling, 'count', exactly(0)),
    ];
  }
  return [
    figure(r.label, 'makespan', r.makespanMs / 1000, 's'),
    figure(r.label, 'floor', r.floorMs / 1000, 's'),
    figure(r.label, 'makespan / floor', r.ratio, 'ratio', target ? atMost(target) : undefined),
    figure(r.label, 'throttled requests', r.throttledTotal, 'count'),
    figure(r.label, 'RunInstances retries', r.retries, 'count'),
    figure(r.label, 'failed launches', r.failed, 'count', exactly(0)),
    figure(r.label, 'launches lost to throttling', r.failedByThrottling, 'count', exactly(0)),
  ];
}

export const launchBenchmark: Benchmark = {
  name: 'launch',
  title: '1. Failover makespan vs the token-bucket floor',
  async run({ quick }) {
    const results: CaseResult[] = [];
    const figures: Figure[] = [];
    for (const [i, c] of cases(quick).entries()) {
      const r = await runCase(c, 1000 + i);
      results.push(r);
      figures.push(...figuresOf(r, c.ratioTarget));
      process.stderr.write(`  launch: ${c.label}: ${(r.makespanMs / 1000).toFixed(1)} s (floor ${(r.floorMs / 1000).toFixed(1)} s), ${r.failed} failed, ${r.throttledTotal} throttled, ${Math.round(r.wallMs)} ms wall\n`);
    }
    return {
      figures,
      method: [
        `Production launch path on a discrete-event VirtualClock: launchFleet (concurrency ${CONCURRENCY}, the failover Map's MaxConcurrency) with one shared TokenBucketPacer and PACED_RETRY, or launchFleetNaive with SDK_STANDARD_RETRY, over Ec2ComputeProvider on a real EC2Client (maxAttempts 1) with attachEc2Simulator; jitter from a seeded generator.`,
        `Simulator: documented buckets (RunInstances requests ${fmtBucket(EC2_DEFAULT_THROTTLING.runInstancesRequests)}, instances ${fmtBucket(EC2_DEFAULT_THROTTLING.runInstancesResources)}, mutating ${fmtBucket(EC2_DEFAULT_THROTTLING.mutating)}, describe ${fmtBucket(EC2_DEFAULT_THROTTLING.describe)}), boot ${DEFAULT_SETTINGS.bootMs / 1000} s + status checks ${DEFAULT_SETTINGS.statusCheckMs / 1000} s, API latency 0.`,
        `Images: "pre-registered" cases register one image per machine through Ec2ComputeProvider.registerImage before the clock starts (buckets and counters reset afterwards), so the adapter knows each image's devices as the registering container does. The launchMachine case registers in the run: per machine DescribeImages + RegisterImage, then launchOne with the shared pacer, 40 machines at a time.`,
        `Makespan: virtual time from the first RunInstances call to the poll that sees the last machine of the last wave running with both status checks ok (Ec2ComputeProvider.describeInstances of the wave's launched instances on a ${POLL_MS / 1000} s grid from the wave's start, once the wave's launches have returned; a wave starts when the previous one is ready). Polling overshoots the ready instant by 0 to ${POLL_MS / 1000} s per wave.`,
        `Floor: T = Σ over waves of [max over buckets b of max(0, N − capacity_b) / refill_b + boot + status checks]; for one wave from full buckets that is max(0, N − 5) / 2 s + 90 s (the 1,000-instance bucket does not bind up to N = 1,000). Computed exactly by greedy earliest admission (bench/lib/floor.ts), which also carries bucket levels from one wave to the next; registering in the run adds the describe and mutating buckets per machine, which never bind (image k is ready by max(0, k − 50) / 5 s ≤ max(0, k − 5) / 2 s).`,
        `Throttled requests: every call the simulator answered with RequestLimitExceeded (all commands, including readiness polls). Retries: RunInstances calls beyond one per machine. Launches lost to throttling: failed launches whose last error was a throttle.`,
        `"Own pacer each": launchMachine per machine as above, but each of the 40 workers has its own TokenBucketPacer — what 40 Lambda containers would do without a shared bucket. The deployed launch-machine takes its tokens from one DynamoDB item shared by all containers (functions/shared/adapters/dynamodb/token-bucket.ts), which is the shared-pacer row; this row shows why that is needed. No makespan target; failed launches are counted.`,
        `"Another client in the account": a second EC2Client on the same simulated account calls RunInstances once a second (virtual) while the fleet launches, so the pacer's model of the bucket is wrong and throttles happen; the launcher must absorb them (penalise + jittered retry). Its makespan is compared, for reference only, with the single-client floor and with the shared-bucket floor: the same formula with the other client's admitted calls added to the wave (the bucket does not care whose calls it admits).`,
      ],
      details: { cases: results },
    };
  },
};

function fmtBucket(b: BucketSpec): string {
  return `${b.capacity} then ${b.refillPerSecond}/s`;
}
