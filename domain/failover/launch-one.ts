import { createHash } from 'node:crypto';
import { DEFAULT_RETRY, InsufficientCapacityError, retrying, ThrottledError, TransientError, type Clock, type RetryPolicy } from '../shared/index.ts';
import type { Pacer } from './pacing.ts';
import type { ComputeProvider, LaunchRequest } from '../ports/index.ts';

/**
 * Launching one machine against EC2's RunInstances token bucket (burst 5, then 2 requests per
 * second per account and region): ask the Pacer for a token before every RunInstances call,
 * retry throttling and transient errors with jittered backoff in clock time (the domain's one
 * retry loop, retry.ts), and move to the next fallback instance type when EC2 has no capacity.
 * The fleet launchers the benchmarks compare (paced and naive) live in bench/lib/fleet.ts.
 */

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
  retry?: RetryPolicy;
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
  const retry = deps.retry ?? DEFAULT_RETRY;
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
      const out = await retrying(retry, deps.clock)(async () => {
        if (deps.pacer) await deps.pacer.acquire();
        // Evidence may have moved while this launch waited for a token or backed off.
        if (beforeAttempt) await beforeAttempt();
        attempts++;
        return deps.compute.runInstance({ ...request, instanceType, clientToken: tokenFor(instanceType) });
      }, {
        retryable: (e) => e instanceof ThrottledError || e instanceof TransientError,
        throttled: (e) => e instanceof ThrottledError,
        onFailure: (e) => { if (e instanceof ThrottledError) { throttled++; deps.pacer?.penalise(); } },
      }).catch((e: unknown) => {
        if (e instanceof InsufficientCapacityError) return 'no-capacity' as const;
        throw e;
      });
      if (out === 'no-capacity') {
        failures.push(`${instanceType}: no capacity`);
        continue types;
      }
      if (out.ok) return { ok: true, key, instanceId: out.value.instanceId, instanceType, attempts, throttled, failures, startedAt, launchedAt: deps.clock.now() };
      failures.push(`${instanceType}: ${out.error.message}`);
      return { ok: false, key, error: failures.join('; '), instanceType, attempts, throttled, failures, startedAt, launchedAt: null, retryable: true };
    }
    return { ok: false, key, error: failures.join('; '), instanceType: lastType, attempts, throttled, failures, startedAt, launchedAt: null, retryable: false };
  };
}
