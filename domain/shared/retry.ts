import type { Clock } from './clock.ts';

/**
 * The one retry policy and the one retry loop of the domain: exponential backoff with full
 * jitter, in the injected clock's time (so the local runtime and the benchmarks run it on
 * virtual time). Step Functions retries whole tasks on top of this; this loop only absorbs
 * what one invocation can wait out.
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  capMs: number;
  random: () => number;
  /** Backoff base after a throttle (default: baseMs), as the AWS SDK has. */
  throttlingBaseMs?: number;
}

/** Launches and their image registration: 8 attempts, 500 ms doubling, capped at 20 s. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseMs: 500, capMs: 20_000, random: Math.random };

/** Full-jitter exponential backoff after the attempt that just failed (0-based). */
export function backoffMs(policy: RetryPolicy, attempt: number, throttled = false): number {
  const base = throttled ? (policy.throttlingBaseMs ?? policy.baseMs) : policy.baseMs;
  return Math.floor(policy.random() * Math.min(policy.capMs, base * 2 ** attempt));
}

export type Attempted<T> = { ok: true; value: T; attempts: number } | { ok: false; error: Error; attempts: number };

/**
 * retrying(policy, clock)(call, options)
 *
 * Calls `call` until it succeeds, throws an error `retryable` does not accept (rethrown as it
 * is), or `maxAttempts` is spent (the last error is returned, so the caller decides what an
 * exhausted retry means). `onFailure` hears about every retryable failure, the last one included (e.g. to count throttles).
 */
export function retrying(policy: RetryPolicy, clock: Pick<Clock, 'sleep'>) {
  return async <T>(call: () => Promise<T>, options: {
    retryable: (e: unknown) => boolean; throttled?: (e: unknown) => boolean; onFailure?: (e: unknown) => void;
  }): Promise<Attempted<T>> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return { ok: true, value: await call(), attempts: attempt + 1 };
      } catch (e) {
        if (!options.retryable(e)) throw e;
        options.onFailure?.(e);
        if (attempt + 1 >= policy.maxAttempts) return { ok: false, error: e as Error, attempts: attempt + 1 };
        await clock.sleep(backoffMs(policy, attempt, options.throttled?.(e) ?? false));
      }
    }
  };
}
