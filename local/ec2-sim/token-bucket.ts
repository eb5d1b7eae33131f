import type { Clock } from '../../domain/shared/index.ts';

export interface TokenBucketOptions {
  /** Maximum number of tokens (the burst). The bucket starts full. */
  capacity: number;
  /** Tokens added per second of clock time, continuously (fractions accumulate). */
  refillPerSecond: number;
  clock: Clock;
}

/** Guards against float dust (e.g. 0.9999999999 tokens after 500 ms at 2/s). */
const EPSILON = 1e-9;

/**
 * A token bucket refilled continuously by a Clock, like the ones EC2 uses to throttle API requests.
 * `tryTake(n)` is all-or-nothing: a request that cannot be served consumes nothing.
 */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  private readonly clock: Clock;
  private tokens: number;
  private refilledAt: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.capacity >= 0) || !(options.refillPerSecond >= 0)) {
      throw new RangeError('TokenBucket: capacity and refillPerSecond must be >= 0');
    }
    this.capacity = options.capacity;
    this.refillPerSecond = options.refillPerSecond;
    this.clock = options.clock;
    this.tokens = options.capacity;
    this.refilledAt = options.clock.now();
  }

  /** Tokens available now (may be fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** True when `count` tokens are available now; does not consume. */
  canTake(count = 1): boolean {
    return this.available() + EPSILON >= count;
  }

  /** Take `count` tokens if all are available; otherwise take nothing and return false. */
  tryTake(count = 1): boolean {
    if (!this.canTake(count)) return false;
    this.tokens = Math.max(0, this.tokens - count);
    return true;
  }

  /** Milliseconds until `count` tokens will be available (0 if already; Infinity if never). */
  msUntil(count = 1): number {
    const missing = count - this.available();
    if (missing <= EPSILON) return 0;
    if (count > this.capacity || this.refillPerSecond === 0) return Infinity;
    return (missing * 1000) / this.refillPerSecond;
  }

  /** Refill to capacity and restart the refill clock. */
  reset(): void {
    this.tokens = this.capacity;
    this.refilledAt = this.clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.refilledAt;
    this.refilledAt = now;
    if (elapsed <= 0) return;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.refillPerSecond) / 1000);
  }
}
