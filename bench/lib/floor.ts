/**
 * The analytic lower bound of a failover's makespan against EC2's token buckets.
 *
 * A launch needs one token from each bucket it passes through (RunInstances: the request bucket
 * and, with MaxCount 1, one token of the instance bucket). The best any client can do is to
 * call the moment every bucket has a token: for one wave of N launches from full buckets the
 * N-th call goes out at max over buckets of max(0, N − capacity) / refill seconds, and the
 * machine is ready boot + status-check time later. Waves run one after another (a wave starts
 * when the previous one is ready), so the floor of a run is the sum over its waves, with each
 * wave starting from whatever the buckets refilled to meanwhile.
 *
 * `idealAdmissions` computes that schedule exactly (greedy earliest admission, which is optimal
 * for token buckets); `singleBucketFloorMs` is the closed form for one full bucket.
 */

export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

/** A bucket in an ideal schedule: its spec and its tokens at time `at` (ms). */
export interface BucketLevel {
  spec: BucketSpec;
  tokens: number;
  at: number;
}

export const fullBucket = (spec: BucketSpec, at = 0): BucketLevel => ({ spec, tokens: spec.capacity, at });

/** Closed form: ms until the n-th one-token call is admitted by one bucket that starts full. */
export function singleBucketFloorMs(n: number, bucket: BucketSpec): number {
  return (Math.max(0, n - bucket.capacity) / bucket.refillPerSecond) * 1000;
}

function tokensAt(level: BucketLevel, t: number): number {
  return Math.min(level.spec.capacity, level.tokens + ((t - level.at) * level.spec.refillPerSecond) / 1000);
}

/** Float dust guard, as the buckets themselves have. */
const EPSILON = 1e-9;

/**
 * Earliest admission times (ms) of `n` calls made in order from `startMs`, each taking one token from
 * every bucket in `levels` (mutated to their state after the last call). `notBefore[k]`, when given,
 * is the earliest time call k may go out (e.g. when its image is registered).
 */
export function idealAdmissions(n: number, levels: BucketLevel[], startMs: number, notBefore?: readonly number[]): number[] {
  const times: number[] = [];
  let t = startMs;
  for (let k = 0; k < n; k++) {
    t = Math.max(t, notBefore?.[k] ?? -Infinity);
    for (const level of levels) {
      const have = tokensAt(level, t);
      if (have + EPSILON < 1) t = Math.max(t, level.at + ((1 - level.tokens) * 1000) / level.spec.refillPerSecond);
    }
    for (const level of levels) {
      level.tokens = Math.max(0, tokensAt(level, t) - 1);
      level.at = t;
    }
    times.push(t);
  }
  return times;
}

export interface FloorInput {
  /** Machines per wave, in order. */
  waves: readonly number[];
  /** Buckets every RunInstances call takes a token from. */
  launchBuckets: readonly BucketSpec[];
  /** Buckets a machine's image registration takes a token from before its launch (empty: pre-registered). */
  registrationBuckets?: readonly BucketSpec[];
  /** Boot + status-check time: from the RunInstances call to running with both checks ok. */
  readyMs: number;
}

export interface WaveFloor {
  machines: number;
  startMs: number;
  lastLaunchMs: number;
  readyMs: number;
}

/** The ideal run: per wave its start, last launch and ready time (ms from the run's start), and the total. */
export function makespanFloor(input: FloorInput): { totalMs: number; waves: WaveFloor[] } {
  const launch = input.launchBuckets.map((b) => fullBucket(b));
  const registration = (input.registrationBuckets ?? []).map((b) => fullBucket(b));
  const waves: WaveFloor[] = [];
  let t = 0;
  for (const machines of input.waves) {
    if (machines === 0) {
      waves.push({ machines, startMs: t, lastLaunchMs: t, readyMs: t });
      continue;
    }
    const registered = registration.length ? idealAdmissions(machines, registration, t) : undefined;
    const launches = idealAdmissions(machines, launch, t, registered);
    const lastLaunchMs = launches.at(-1)!;
    const readyMs = lastLaunchMs + input.readyMs;
    waves.push({ machines, startMs: t, lastLaunchMs, readyMs });
    t = readyMs;
  }
  return { totalMs: t, waves };
}
