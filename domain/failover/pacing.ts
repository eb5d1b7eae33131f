import type { Clock } from '../shared/index.ts';

/**
 * Client-side pacing for rate-limited APIs.
 *
 * EC2 throttles per account and region with token buckets (EC2 API reference, "Request
 * throttling"): RunInstances requests may burst to 5 and then refill at 2 per second; other
 * mutating calls burst to 50 and refill at 5 per second. Calling faster than that only buys
 * RequestLimitExceeded answers and backoff; modelling the bucket on the client and waiting for a
 * token before each call keeps throttling rare and the launch rate at the bucket's refill rate.
 */

export interface BucketSpec {
  /** Burst: tokens available to a full bucket. */
  capacity: number;
  /** Tokens added per second, continuously. */
  refillPerSecond: number;
}

/** RunInstances request-rate bucket (one token per call, whatever MaxCount). */
export const EC2_RUN_INSTANCES_BUCKET = { capacity: 5, refillPerSecond: 2 } as const satisfies BucketSpec;
/** Non-describe mutating calls (RegisterImage, TerminateInstances, DeregisterImage, CreateTags...). */
export const EC2_MUTATING_BUCKET = { capacity: 50, refillPerSecond: 5 } as const satisfies BucketSpec;

/** What a launcher needs from a pacer: wait for a token before a call; report a throttle after one. */
export interface Pacer {
  acquire(): Promise<void>;
  penalise(): void;
}

export interface PacerStats {
  /** Tokens handed out. */
  granted: number;
  /** Throttles reported through penalise(). */
  penalties: number;
  /** Sum over callers of the clock time spent waiting in acquire(). */
  waitedMs: number;
}

/** Guards against float dust (0.9999999999 tokens after 500 ms at 2/s). */
const EPSILON = 1e-9;

/**
 * A token bucket on the injected Clock, mirroring the server's bucket.
 *
 * - `acquire()` resolves at once while tokens are left (the burst), then one caller per refill
 *   interval (500 ms for RunInstances). Waiters are served strictly first come, first served,
 *   and only one timer is pending however many callers wait.
 * - `penalise()` is called after a throttle the model did not predict, which means somebody else
 *   (another Lambda container, another tool in the account) is spending the same account bucket.
 *   The server's bucket then holds less than one token, so the local one is emptied too: the next
 *   call waits a full refill interval, which is when the server has a token again. Each further
 *   throttle re-synchronises the model the same way.
 *
 * Deterministic: it reads time only from the Clock and draws no random numbers. Not shared across
 * processes: in Lambda each container paces itself (see launchOne).
 */
export class TokenBucketPacer implements Pacer {
  readonly capacity: number;
  readonly refillPerSecond: number;
  private readonly clock: Clock;
  private tokens: number;
  private refilledAt: number;
  /** FIFO of waiting callers; `head` avoids O(n) shifts with thousands of waiters. */
  private readonly queue: ({ resolve: () => void; since: number } | undefined)[] = [];
  private head = 0;
  private pumping = false;
  private readonly counters: PacerStats = { granted: 0, penalties: 0, waitedMs: 0 };

  constructor(options: { clock: Clock; bucket?: BucketSpec; initialTokens?: number }) {
    const bucket = options.bucket ?? EC2_RUN_INSTANCES_BUCKET;
    if (!(bucket.capacity >= 1) || !(bucket.refillPerSecond > 0) || !Number.isFinite(bucket.refillPerSecond)) {
      throw new RangeError('TokenBucketPacer: capacity must be >= 1 and refillPerSecond a positive number');
    }
    this.capacity = bucket.capacity;
    this.refillPerSecond = bucket.refillPerSecond;
    this.clock = options.clock;
    // EC2's buckets start full; a caller that knows better (a second container) may start lower.
    this.tokens = Math.min(this.capacity, Math.max(0, options.initialTokens ?? this.capacity));
    this.refilledAt = this.clock.now();
  }

  acquire(): Promise<void> {
    if (this.waiting() === 0 && this.tryTake()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.queue.push({ resolve, since: this.clock.now() });
      void this.pump();
    });
  }

  penalise(): void {
    this.refill();
    this.tokens = 0;
    this.counters.penalties++;
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Callers currently waiting in acquire(). */
  waiting(): number {
    return this.queue.length - this.head;
  }

  stats(): PacerStats {
    return { ...this.counters };
  }

  /** One loop serves every waiter in order; it sleeps only until the next token is due. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiting() > 0) {
        if (this.tryTake()) {
          const waiter = this.queue[this.head]!;
          this.queue[this.head++] = undefined;
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue.splice(0, this.head);
            this.head = 0;
          }
          this.counters.waitedMs += this.clock.now() - waiter.since;
          waiter.resolve();
          continue;
        }
        await this.clock.sleep(this.msUntilToken());
      }
    } finally {
      this.pumping = false;
    }
  }

  private tryTake(): boolean {
    this.refill();
    if (this.tokens + EPSILON < 1) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    this.counters.granted++;
    return true;
  }

  /** Whole milliseconds until one token is there, rounded up so we never arrive before the server has it. */
  private msUntilToken(): number {
    const missing = 1 - this.tokens;
    return Math.max(1, Math.ceil((missing * 1000) / this.refillPerSecond - EPSILON));
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.refilledAt;
    this.refilledAt = now;
    if (elapsed > 0) this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.refillPerSecond) / 1000);
  }
}
