import { backoffMs, DEFAULT_RETRY, ValidationError, type Clock, type Issue, type RetryPolicy } from '../../domain/shared/index.ts';
import { launchOne, TokenBucketPacer, type LaunchItem, type LaunchOneDeps, type LaunchOutcome } from '../../domain/failover/index.ts';
import type { ComputeProvider } from '../../domain/ports/index.ts';

/**
 * Fleet launchers for the benchmarks: the paced one (the production launchOne, many at once,
 * sharing one pacer) and the naive one (every request at once, retried like the SDK's standard
 * strategy) it is measured against. Production launches one machine per Step Functions Map item
 * (launch-machine), so none of this runs in a deployed function.
 */

/** The domain's retry policy (with its optional larger base for throttling errors, as the SDK has). */
export type LaunchRetryPolicy = RetryPolicy;

/** The paced launcher's retries (the domain's default): the pacer already spaces calls, backoff only de-synchronises. */
export const PACED_RETRY: LaunchRetryPolicy = DEFAULT_RETRY;

/**
 * The AWS SDK's "standard" strategy as documented: 3 attempts, exponential backoff from 100 ms
 * capped at 20 s, full jitter. (SDK releases tune the bases; set `throttlingBaseMs` to model one.)
 */
export const SDK_STANDARD_RETRY: LaunchRetryPolicy = { maxAttempts: 3, baseMs: 100, capMs: 20_000, random: Math.random };

/** Full-jitter exponential backoff for the attempt that just failed (0-based): the domain's. */
export const launchBackoffMs = (policy: LaunchRetryPolicy, attempt: number, throttled: boolean): number => backoffMs(policy, attempt, throttled);

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
