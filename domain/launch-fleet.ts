import { createHash } from 'node:crypto';
import type { Clock } from './clock.ts';
import { InsufficientCapacityError, ThrottledError, TransientError, ValidationError, type Issue } from './errors.ts';
// Type-only: failover.ts will import launchOne from here, and a type import adds no runtime cycle.
import type { RetryPolicy } from './failover.ts';
import { type Pacer, TokenBucketPacer } from './pacing.ts';
import type { ComputeProvider, LaunchRequest } from './ports.ts';

/**
 * Launching many machines against EC2's RunInstances token bucket (burst 5, then 2 requests per
 * second per account and region). The paced launcher asks a Pacer for a token before every
 * RunInstances call, so it calls at the rate the bucket refills and is rarely throttled; it
 * retries throttling and transient errors with jittered backoff in clock time, and moves to the
 * next fallback instance type when EC2 has no capacity for one. The naive launcher fires every
 * request at once and retries like the SDK's standard strategy: the baseline it is measured
 * against.
 */

/** RetryPolicy (failover.ts) plus an optional larger base for throttling errors, as the SDK has. */
export interface LaunchRetryPolicy extends RetryPolicy {
  /** Backoff base after a throttle (default: baseMs). */
  throttlingBaseMs?: number;
}

/** The paced launcher's retries: the pacer already spaces calls, backoff only de-synchronises. */
export const PACED_RETRY: LaunchRetryPolicy = { maxAttempts: 8, baseMs: 500, capMs: 20_000, random: Math.random };

/**
 * The AWS SDK's "standard" strategy as documented: 3 attempts, exponential backoff from 100 ms
 * capped at 20 s, full jitter. (SDK releases tune the bases; set `throttlingBaseMs` to model one.)
 */
export const SDK_STANDARD_RETRY: LaunchRetryPolicy = { maxAttempts: 3, baseMs: 100, capMs: 20_000, random: Math.random };

/** Full-jitter exponential backoff for the attempt that just failed (0-based). */
export function launchBackoffMs(policy: LaunchRetryPolicy, attempt: number, throttled: boolean): number {
  const base = throttled ? (policy.throttlingBaseMs ?? policy.baseMs) : policy.baseMs;
  return Math.floor(policy.random() * Math.min(policy.capMs, base * 2 ** attempt));
}

/**
 * Default idempotency token: sha-256 of `<key>/<instanceType>`. With key `<runId>/<machineId>`
 * this is exactly failover.ts's clientTokenFor(runId, machineId, instanceType), so launches
 * started before and after the switch to launchOne reuse the same tokens.
 */
export function defaultClientToken(key: string, instanceType: string): string {
  return createHash('sha256').update(`${key}/${instanceType}`).digest('hex').slice(0, 64);
}

/** One machine to launch: a LaunchRequest whose instance type may fall back, and a stable key. */
export interface LaunchItem extends Omit<LaunchRequest, 'clientToken'> {
  /** Unique within a fleet; feeds the default idempotency token, so it must be stable across retries. */
  key: string;
  /** Tried in order after `instanceType` when EC2 has no capacity. */
  fallbackInstanceTypes?: string[];
  /** Idempotency token per instance type (a different type is a different request). Default: defaultClientToken(key, type). */
  clientToken?: (instanceType: string) => string;
  /**
   * Called right before every RunInstances call, after any wait (pacer, backoff): the moment a
   * launch must still be safe. It throws to stop the launch; nothing is created then.
   */
  beforeAttempt?: () => Promise<void>;
}

interface OutcomeBase {
  key: string;
  /** The type that launched; on failure the last type tried. */
  instanceType: string;
  /** RunInstances calls made (every try of every type). */
  attempts: number;
  /** RunInstances calls answered with a throttle. */
  throttled: number;
  /** Why each abandoned type was abandoned, e.g. `m5.large: no capacity`. */
  failures: string[];
  /** Clock time (epoch ms) the item started, before waiting for the pacer. */
  startedAt: number;
}
export interface LaunchSuccess extends OutcomeBase { ok: true; instanceId: string; launchedAt: number }
export interface LaunchFailure extends OutcomeBase {
  ok: false; error: string; launchedAt: null;
  /** The retries ran out on throttling or transient errors (not capacity): worth trying again later. */
  retryable: boolean;
}
export type LaunchOutcome = LaunchSuccess | LaunchFailure;

export interface LaunchOneDeps {
  compute: ComputeProvider;
  clock: Clock;
  /** Waited on before every RunInstances call and told about every throttle. None: call at once. */
  pacer?: Pacer;
  retry?: LaunchRetryPolicy;
}

/**
 * launchOne(deps)(item)
 *
 * Input: one LaunchItem. Output: LaunchSuccess, or LaunchFailure when every instance type ran out
 * of capacity or the retries ran out. Errors that retrying cannot fix (validation, permissions,
 * a missing image, a reused token with other parameters) are thrown as they are.
 *
 * 1. Wait for a RunInstances token from the pacer, if there is one.
 * 2. RunInstances with the item's token for this instance type (a retry returns the same instance).
 * 3. Throttled: tell the pacer (it re-synchronises with the account bucket), back off with full
 *    jitter in clock time, go to 1. Transient error: back off, go to 1. After `maxAttempts` tries of
 *    one type, give up on the machine: throttling is not fixed by another type.
 * 4. No capacity: note it and go to 1 with the next fallback type; none left is a failure.
 */
export function launchOne(deps: LaunchOneDeps) {
  const retry = deps.retry ?? PACED_RETRY;
  return async (item: LaunchItem): Promise<LaunchOutcome> => {
    const startedAt = deps.clock.now();
    const types = [...new Set([item.instanceType, ...(item.fallbackInstanceTypes ?? [])])];
    const tokenFor = item.clientToken ?? ((type: string) => defaultClientToken(item.key, type));
    const { key, fallbackInstanceTypes: _fallbacks, clientToken: _token, beforeAttempt, ...request } = item;
    let attempts = 0;
    let throttled = 0;
    let lastType = item.instanceType;
    const failures: string[] = [];
    types: for (const instanceType of types) {
      lastType = instanceType;
      for (let attempt = 0; ; attempt++) {
        if (deps.pacer) await deps.pacer.acquire();
        // Evidence may have moved while this launch waited for a token or backed off.
        if (beforeAttempt) await beforeAttempt();
        attempts++;
        try {
          const { instanceId } = await deps.compute.runInstance({ ...request, instanceType, clientToken: tokenFor(instanceType) });
          return { ok: true, key, instanceId, instanceType, attempts, throttled, failures, startedAt, launchedAt: deps.clock.now() };
        } catch (e) {
          if (e instanceof InsufficientCapacityError) {
            failures.push(`${instanceType}: no capacity`);
            continue types;
          }
          const isThrottle = e instanceof ThrottledError;
          if (!isThrottle && !(e instanceof TransientError)) throw e;
          if (isThrottle) {
            throttled++;
            deps.pacer?.penalise();
          }
          if (attempt + 1 >= retry.maxAttempts) {
            failures.push(`${instanceType}: ${e.message}`);
            return { ok: false, key, error: failures.join('; '), instanceType, attempts, throttled, failures, startedAt, launchedAt: null, retryable: true };
          }
          await deps.clock.sleep(launchBackoffMs(retry, attempt, isThrottle));
        }
      }
    }
    return { ok: false, key, error: failures.join('; '), instanceType: lastType, attempts, throttled, failures, startedAt, launchedAt: null, retryable: false };
  };
}

export interface FleetTotals {
  items: number;
  launched: number;
  failed: number;
  /** Launched on a fallback type. */
  fellBack: number;
  attempts: number;
  throttled: number;
  startedAt: number;
  finishedAt: number;
  /** Clock time from the first request to the last answer. */
  elapsedMs: number;
}

export interface FleetResult {
  /** One per item, in the items' order. */
  results: LaunchOutcome[];
  totals: FleetTotals;
}

export type FleetDeps = LaunchOneDeps;

/**
 * launchFleet(deps)(items, { concurrency })
 *
 * Input: launch items with unique keys; `concurrency`, how many items may be in flight (waiting
 * for a token counts). Output: one outcome per item and the totals. Never throws for one item:
 * an unexpected error becomes that item's failure.
 *
 * 1. Validate the items (unique, non-empty keys) and the concurrency.
 * 2. Start up to `concurrency` workers; each takes the next item and runs launchOne with the shared
 *    pacer (by default a fresh model of the RunInstances bucket, which assumes nobody else is
 *    spending it: the first throttle corrects that).
 * 3. Sum up.
 *
 * With the documented bucket, N launches take about (N − 5) / 2 seconds: the burst of 5, then the
 * refill rate. More concurrency does not make that faster; it only queues more callers at the pacer.
 */
export function launchFleet(deps: FleetDeps) {
  return async (items: LaunchItem[], options: { concurrency: number }): Promise<FleetResult> => {
    const pacer = deps.pacer ?? new TokenBucketPacer({ clock: deps.clock });
    return runPool(launchOne({ ...deps, pacer }), deps.clock, items, options.concurrency);
  };
}

/**
 * launchFleetNaive(deps)(items)
 *
 * The baseline: every RunInstances call at once, no pacer, retries like the SDK's standard
 * strategy (SDK_STANDARD_RETRY unless `retry` is given). Same fallback and outcome rules as
 * launchFleet. For benchmarks and tests that show why pacing matters, not for production.
 */
export function launchFleetNaive(deps: { compute: ComputeProvider; clock: Clock; retry?: LaunchRetryPolicy }) {
  return async (items: LaunchItem[]): Promise<FleetResult> => {
    const launch = launchOne({ compute: deps.compute, clock: deps.clock, retry: deps.retry ?? SDK_STANDARD_RETRY });
    return runPool(launch, deps.clock, items, Math.max(1, items.length));
  };
}

async function runPool(
  launch: (item: LaunchItem) => Promise<LaunchOutcome>, clock: Clock, items: LaunchItem[], concurrency: number,
): Promise<FleetResult> {
  validate(items, concurrency);
  const startedAt = clock.now();
  const results: LaunchOutcome[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index]!;
      const itemStart = clock.now();
      try {
        results[index] = await launch(item);
      } catch (e) {
        // Not retryable (bad image, permissions...): this machine fails, the others go on.
        // `attempts` is a lower bound: throttled tries before the error are not known here.
        const error = e instanceof Error ? e.message : String(e);
        results[index] = {
          ok: false, key: item.key, error, instanceType: item.instanceType, attempts: 1, throttled: 0, failures: [error],
          startedAt: itemStart, launchedAt: null, retryable: false,
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const finishedAt = clock.now();
  const launched = results.filter((r) => r.ok);
  return {
    results,
    totals: {
      items: items.length,
      launched: launched.length,
      failed: items.length - launched.length,
      fellBack: results.filter((r, i) => r.ok && r.instanceType !== items[i]!.instanceType).length,
      attempts: results.reduce((n, r) => n + r.attempts, 0),
      throttled: results.reduce((n, r) => n + r.throttled, 0),
      startedAt,
      finishedAt,
      elapsedMs: finishedAt - startedAt,
    },
  };
}

function validate(items: LaunchItem[], concurrency: number): void {
  const issues: Issue[] = [];
  if (!Number.isInteger(concurrency) || concurrency < 1) issues.push({ path: 'concurrency', message: `must be an integer >= 1, got ${concurrency}` });
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (!item.key) issues.push({ path: `items[${i}].key`, message: 'must not be empty' });
    else if (seen.has(item.key)) issues.push({ path: `items[${i}].key`, message: `duplicate key ${item.key}: two items would share an idempotency token` });
    seen.add(item.key);
    if (!item.instanceType) issues.push({ path: `items[${i}].instanceType`, message: 'must not be empty' });
  });
  if (issues.length) throw new ValidationError('launch fleet', issues);
}
