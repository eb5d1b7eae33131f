import { describe, expect, it } from 'vitest';
import { fullBucket, idealAdmissions, makespanFloor, singleBucketFloorMs } from '../../bench/lib/floor.ts';
import { EC2_DEFAULT_THROTTLING } from '../../local/ec2-sim/index.ts';

const REQUESTS = EC2_DEFAULT_THROTTLING.runInstancesRequests;
const INSTANCES = EC2_DEFAULT_THROTTLING.runInstancesResources;
const READY_MS = 90_000;

describe('singleBucketFloorMs', () => {
  it('is max(0, N − 5) / 2 seconds for the RunInstances request bucket', () => {
    // Act / Assess
    expect([1, 5, 6, 7, 100, 1_000].map((n) => singleBucketFloorMs(n, REQUESTS))).toEqual([0, 0, 500, 1_000, 47_500, 497_500]);
  });
});

describe('idealAdmissions', () => {
  it('admits the burst at once and then one call per refill interval', () => {
    // Act
    const times = idealAdmissions(8, [fullBucket(REQUESTS)], 0);

    // Assess
    expect(times).toEqual([0, 0, 0, 0, 0, 500, 1_000, 1_500]);
  });

  it('agrees with the closed form for every N up to 1,000, the instance bucket never binding', () => {
    // Prepare
    const sizes = [1, 5, 6, 50, 100, 999, 1_000];

    // Act
    const last = sizes.map((n) => idealAdmissions(n, [fullBucket(REQUESTS), fullBucket(INSTANCES)], 0).at(-1));

    // Assess
    expect(last).toEqual(sizes.map((n) => singleBucketFloorMs(n, REQUESTS)));
  });

  it('is held back by the instance bucket once it runs dry', () => {
    // Prepare: a tiny instance bucket (3, then 1 per second) behind the request bucket
    const tiny = { capacity: 3, refillPerSecond: 1 };

    // Act
    const times = idealAdmissions(5, [fullBucket(REQUESTS), fullBucket(tiny)], 0);

    // Assess
    expect(times).toEqual([0, 0, 0, 1_000, 2_000]);
  });

  it('waits for a call that may not go out earlier (its image is not registered yet)', () => {
    // Act
    const times = idealAdmissions(3, [fullBucket(REQUESTS)], 0, [0, 4_000, 0]);

    // Assess: calls stay in order, so the third waits behind the second
    expect(times).toEqual([0, 4_000, 4_000]);
  });
});

describe('makespanFloor', () => {
  it('is the last launch plus boot and status checks for one wave', () => {
    // Act
    const floor = makespanFloor({ waves: [100], launchBuckets: [REQUESTS, INSTANCES], readyMs: READY_MS });

    // Assess
    expect(floor.totalMs).toBe(47_500 + READY_MS);
  });

  it('adds the waves up, each starting from buckets that refilled while the previous one booted', () => {
    // Act
    const floor = makespanFloor({ waves: [100, 100, 100], launchBuckets: [REQUESTS, INSTANCES], readyMs: READY_MS });

    // Assess
    expect(floor.waves.map((w) => w.readyMs - w.startMs)).toEqual([137_500, 137_500, 137_500]);
    expect(floor.totalMs).toBe(3 * 137_500);
  });

  it('carries a half-empty bucket into the next wave when the boot is shorter than the refill', () => {
    // Prepare: 1 s to ready, so the request bucket holds only 2 tokens when wave 2 starts
    const input = { waves: [10, 10], launchBuckets: [REQUESTS], readyMs: 1_000 };

    // Act
    const floor = makespanFloor(input);

    // Assess: wave 2 needs (10 − 2) / 2 s, not (10 − 5) / 2 s
    expect(floor.waves[1]!.lastLaunchMs - floor.waves[1]!.startMs).toBe(4_000);
  });

  it('does not move when images are registered in the run: the mutating and describe buckets outpace RunInstances', () => {
    // Prepare
    const base = { waves: [1_000], launchBuckets: [REQUESTS, INSTANCES], readyMs: READY_MS };

    // Act
    const preRegistered = makespanFloor(base).totalMs;
    const inRun = makespanFloor({ ...base, registrationBuckets: [EC2_DEFAULT_THROTTLING.describe, EC2_DEFAULT_THROTTLING.mutating] }).totalMs;

    // Assess
    expect(inRun).toBe(preRegistered);
    expect(preRegistered).toBe(497_500 + READY_MS);
  });
});
