import type { Clock } from '../../domain/shared/index.ts';
import { TokenBucket } from './token-bucket.ts';

export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

/** EC2 API request throttling: one set of token buckets per account per region. */
export interface ThrottlingConfig {
  /** RunInstances request-rate bucket. */
  runInstancesRequests: BucketSpec;
  /** RunInstances resource-rate bucket: one token per instance requested (MaxCount). */
  runInstancesResources: BucketSpec;
  /** Every other mutating (non-Describe/Get/List) action. */
  mutating: BucketSpec;
  /** Describe*, Get*, List*, Search* actions. */
  describe: BucketSpec;
}

export type BucketName = keyof ThrottlingConfig;

/** The documented EC2 defaults (AWS EC2 API reference, "Request throttling"). */
export const EC2_DEFAULT_THROTTLING: ThrottlingConfig = {
  runInstancesRequests: { capacity: 5, refillPerSecond: 2 },
  runInstancesResources: { capacity: 1000, refillPerSecond: 2 },
  mutating: { capacity: 50, refillPerSecond: 5 },
  describe: { capacity: 100, refillPerSecond: 20 },
};

export type ActionCategory = 'run-instances' | 'describe' | 'mutating';

export function actionCategory(command: string): ActionCategory {
  if (command === 'RunInstances') return 'run-instances';
  if (/^(Describe|Get|List|Search)/.test(command)) return 'describe';
  return 'mutating';
}

/** Admits or rejects calls against the buckets. Disabled (always admits) when built with `false`. */
export class Throttler {
  private readonly buckets: Record<BucketName, TokenBucket> | undefined;

  constructor(clock: Clock, config: Partial<ThrottlingConfig> | false = {}) {
    if (config === false) return;
    const spec = { ...EC2_DEFAULT_THROTTLING, ...config };
    const make = (s: BucketSpec): TokenBucket => new TokenBucket({ ...s, clock });
    this.buckets = {
      runInstancesRequests: make(spec.runInstancesRequests),
      runInstancesResources: make(spec.runInstancesResources),
      mutating: make(spec.mutating),
      describe: make(spec.describe),
    };
  }

  /** Take the tokens `command` needs (all-or-nothing). `instanceCount` matters for RunInstances only. */
  admit(command: string, instanceCount: number): boolean {
    const b = this.buckets;
    if (b === undefined) return true;
    switch (actionCategory(command)) {
      case 'run-instances': {
        const count = Math.max(1, instanceCount);
        if (!b.runInstancesRequests.canTake(1) || !b.runInstancesResources.canTake(count)) return false;
        b.runInstancesRequests.tryTake(1);
        b.runInstancesResources.tryTake(count);
        return true;
      }
      case 'describe':
        return b.describe.tryTake(1);
      case 'mutating':
        return b.mutating.tryTake(1);
    }
  }

  /** Tokens currently available per bucket (Infinity everywhere when throttling is disabled). */
  levels(): Record<BucketName, number> {
    const b = this.buckets;
    if (b === undefined) {
      return { runInstancesRequests: Infinity, runInstancesResources: Infinity, mutating: Infinity, describe: Infinity };
    }
    return {
      runInstancesRequests: b.runInstancesRequests.available(),
      runInstancesResources: b.runInstancesResources.available(),
      mutating: b.mutating.available(),
      describe: b.describe.available(),
    };
  }

  /** Refill every bucket. */
  reset(): void {
    if (this.buckets === undefined) return;
    for (const bucket of Object.values(this.buckets)) bucket.reset();
  }
}

export interface CallStatsSnapshot {
  /** Calls received, per command (including throttled and failed ones). */
  requests: Record<string, number>;
  /** Calls rejected with RequestLimitExceeded by the token buckets, per command. */
  throttled: Record<string, number>;
  /** Calls admitted by the token buckets, per command. */
  accepted: Record<string, number>;
  /** Admitted calls that ended in an error (validation, injected fault, not found...), per command. */
  failed: Record<string, number>;
  totals: { requests: number; throttled: number; accepted: number; failed: number };
}

type Counter = keyof Omit<CallStatsSnapshot, 'totals'>;

export class CallStats {
  private data: Record<Counter, Record<string, number>> = { requests: {}, throttled: {}, accepted: {}, failed: {} };

  count(counter: Counter, command: string): void {
    const table = this.data[counter];
    table[command] = (table[command] ?? 0) + 1;
  }

  snapshot(): CallStatsSnapshot {
    const sum = (t: Record<string, number>): number => Object.values(t).reduce((a, b) => a + b, 0);
    const copy = structuredClone(this.data);
    return {
      ...copy,
      totals: {
        requests: sum(copy.requests),
        throttled: sum(copy.throttled),
        accepted: sum(copy.accepted),
        failed: sum(copy.failed),
      },
    };
  }

  reset(): void {
    this.data = { requests: {}, throttled: {}, accepted: {}, failed: {} };
  }
}
