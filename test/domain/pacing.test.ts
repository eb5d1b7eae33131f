import { describe, expect, it } from 'vitest';
import { EC2_RUN_INSTANCES_BUCKET, TokenBucketPacer } from '../../domain/failover/index.ts';
import { TokenBucket } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

const START = Date.UTC(2025, 0, 1);

/** Acquire `n` tokens at once; resolves to the clock time (relative to START) each was granted. */
function grantTimes(pacer: TokenBucketPacer, clock: VirtualClock, n: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, () => pacer.acquire().then(() => clock.now() - START)));
}

/** Let pending continuations run (and record their times) before a test moves the clock. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TokenBucketPacer', () => {
  it('models the RunInstances request bucket: burst 5, then 2 per second', () => {
    // Assess
    expect(EC2_RUN_INSTANCES_BUCKET).toEqual({ capacity: 5, refillPerSecond: 2 });
  });

  it('grants five tokens at once and then one every 500 ms', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });
    const pacer = new TokenBucketPacer({ clock });

    // Act
    const times = await grantTimes(pacer, clock, 9);

    // Assess
    expect(times).toEqual([0, 0, 0, 0, 0, 500, 1000, 1500, 2000]);
    expect(pacer.stats()).toEqual({ granted: 9, penalties: 0, waitedMs: 500 + 1000 + 1500 + 2000 });
  });

  it('grants nothing before the next token is due', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, autoAdvance: false });
    const pacer = new TokenBucketPacer({ clock });
    await grantTimes(pacer, clock, 5);
    let sixth = false;
    void pacer.acquire().then(() => { sixth = true; });

    // Act
    await clock.advanceAsync(499);
    const before = sixth;
    await clock.advanceAsync(1);

    // Assess
    expect(before).toBe(false);
    expect(sixth).toBe(true);
    expect(pacer.waiting()).toBe(0);
  });

  it('serves concurrent waiters first come, first served', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });
    const pacer = new TokenBucketPacer({ clock });
    const order: number[] = [];

    // Act
    await Promise.all(Array.from({ length: 20 }, (_, i) => pacer.acquire().then(() => order.push(i))));
    const late = await grantTimes(pacer, clock, 1);

    // Assess
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(late).toEqual([8000]);
  });

  it('does not store more than the burst while idle', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, autoAdvance: false });
    const pacer = new TokenBucketPacer({ clock });
    await grantTimes(pacer, clock, 5);
    clock.advance(60_000);

    // Act
    const available = pacer.available();
    const times = grantTimes(pacer, clock, 6);
    await flush();
    await clock.advanceAsync(500);

    // Assess
    expect(available).toBe(5);
    expect(await times).toEqual([60_000, 60_000, 60_000, 60_000, 60_000, 60_500]);
  });

  it('after a throttle it drains the local bucket so the next call waits a full refill interval', async () => {
    // Prepare: two tokens saved up that another client has in fact spent
    const clock = new VirtualClock({ startMs: START, autoAdvance: false });
    const pacer = new TokenBucketPacer({ clock });
    await grantTimes(pacer, clock, 5);
    clock.advance(1_000);

    // Act
    pacer.penalise();
    const times = grantTimes(pacer, clock, 2);
    await flush();
    await clock.advanceAsync(1_000);

    // Assess
    expect(await times).toEqual([1_500, 2_000]);
    expect(pacer.stats().penalties).toBe(1);
  });

  it('a throttle while callers wait pushes the next grant a full interval out', async () => {
    // Prepare: the sixth caller is due at 500 ms
    const clock = new VirtualClock({ startMs: START, autoAdvance: false });
    const pacer = new TokenBucketPacer({ clock });
    const times = grantTimes(pacer, clock, 6);
    await flush();
    await clock.advanceAsync(250);

    // Act
    pacer.penalise();
    await clock.advanceAsync(1_000);

    // Assess
    expect(await times).toEqual([0, 0, 0, 0, 0, 750]);
  });

  it('never calls faster than EC2 admits: a server-side bucket on the same clock refuses none of its grants', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });
    const pacer = new TokenBucketPacer({ clock });
    const server = new TokenBucket({ ...EC2_RUN_INSTANCES_BUCKET, clock });
    let refused = 0;

    // Act
    await Promise.all(Array.from({ length: 200 }, () => pacer.acquire().then(() => { if (!server.tryTake(1)) refused++; })));

    // Assess
    expect(refused).toBe(0);
    expect(clock.now() - START).toBe(((200 - 5) / 2) * 1000);
  });

  it('is deterministic: the same calls give the same grant times on every run', async () => {
    // Prepare
    const scenario = async (): Promise<number[]> => {
      const clock = new VirtualClock({ startMs: START });
      const pacer = new TokenBucketPacer({ clock });
      const first = await grantTimes(pacer, clock, 7);
      pacer.penalise();
      const second = await grantTimes(pacer, clock, 3);
      return [...first, ...second];
    };

    // Act
    const runs = [await scenario(), await scenario()];

    // Assess
    expect(runs[0]).toEqual([0, 0, 0, 0, 0, 500, 1000, 1500, 2000, 2500]);
    expect(runs[1]).toEqual(runs[0]);
  });

  it('refuses a bucket that can never grant a token', () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });

    // Act / Assess
    expect(() => new TokenBucketPacer({ clock, bucket: { capacity: 0, refillPerSecond: 2 } })).toThrow(RangeError);
    expect(() => new TokenBucketPacer({ clock, bucket: { capacity: 5, refillPerSecond: 0 } })).toThrow(RangeError);
  });
});
