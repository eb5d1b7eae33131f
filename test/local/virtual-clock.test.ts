import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock, sleepUnlessAborted } from '../../local/virtual-clock.ts';

const START = Date.UTC(2025, 0, 1);

describe('VirtualClock in discrete-event mode', () => {
  it('stands still at startMs while nothing sleeps', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });

    // Act
    await new Promise((resolve) => setTimeout(resolve, 5));

    // Assess
    expect(clock.now()).toBe(START);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('jumps straight to the due time of a long sleep without waiting in real time', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });
    const wallStart = performance.now();

    // Act
    await clock.sleep(6 * 3_600_000);

    // Assess
    expect(clock.now()).toBe(START + 6 * 3_600_000);
    expect(performance.now() - wallStart).toBeLessThan(1_000);
  });

  it('resolves sleepers by due time, then by registration order', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });
    const order: string[] = [];
    const sleeper = (name: string, ms: number) => clock.sleep(ms).then(() => order.push(`${name}@${clock.now() - START}`));

    // Act
    await Promise.all([sleeper('c', 30), sleeper('a', 10), sleeper('b1', 20), sleeper('b2', 20), sleeper('zero', 0)]);

    // Assess
    expect(order).toEqual(['zero@0', 'a@10', 'b1@20', 'b2@20', 'c@30']);
  });

  it('lets continuations register new sleeps before time moves on', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });
    const seen: Array<[string, number]> = [];
    const chain = async () => {
      await clock.sleep(10);
      await Promise.resolve(); // a few microtask hops, like an SDK call
      await Promise.resolve();
      await clock.sleep(5);
      seen.push(['chain', clock.now() - START]);
    };
    const late = clock.sleep(20).then(() => seen.push(['late', clock.now() - START]));

    // Act
    await Promise.all([chain(), late]);

    // Assess
    expect(seen).toEqual([['chain', 15], ['late', 20]]);
  });

  it('wakes ten thousand concurrent sleepers each at its own due time, in order', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });
    const delays = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 5_000);
    const woke: Array<{ delay: number; at: number; index: number }> = [];

    // Act
    await Promise.all(delays.map((delay, index) => clock.sleep(delay).then(() => woke.push({ delay, at: clock.now() - START, index }))));

    // Assess
    expect(woke).toHaveLength(10_000);
    expect(woke.every((w) => w.at === w.delay)).toBe(true);
    const sorted = [...woke].sort((a, b) => a.delay - b.delay || a.index - b.index);
    expect(woke).toEqual(sorted);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('counts pending sleepers and reports the next due time', () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, autoAdvance: false });

    // Act
    void clock.sleep(50);
    void clock.sleep(10);

    // Assess
    expect(clock.pendingTimers()).toBe(2);
    expect(clock.nextTimerAt()).toBe(START + 10);
  });

  it('moves time with advance and fires only the timers that fall due', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, autoAdvance: false });
    const fired: number[] = [];
    void clock.sleep(100).then(() => fired.push(100));
    void clock.sleep(300).then(() => fired.push(300));

    // Act
    clock.advance(150);
    await Promise.resolve();

    // Assess
    expect(clock.now()).toBe(START + 150);
    expect(fired).toEqual([100]);
    expect(clock.pendingTimers()).toBe(1);
  });

  it('steps through each timer with advanceAsync so continuations see their own due time', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, autoAdvance: false });
    const seen: number[] = [];
    const poller = async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(1_000);
        seen.push(clock.now() - START);
      }
    };
    const done = poller();

    // Act
    await clock.advanceAsync(2_500);

    // Assess
    expect(seen).toEqual([1_000, 2_000]);
    expect(clock.now()).toBe(START + 2_500);
    clock.advance(500);
    await done;
    expect(seen).toEqual([1_000, 2_000, 3_000]);
  });

  it('does not let time jump while held, and resumes when released', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });
    const release = clock.hold();
    let woke = false;
    void clock.sleep(1_000).then(() => (woke = true));

    // Act
    await new Promise((resolve) => setTimeout(resolve, 10));
    const whileHeld = { woke, now: clock.now() };
    release();
    release(); // idempotent
    await new Promise((resolve) => setTimeout(resolve, 10));

    // Assess
    expect(whileHeld).toEqual({ woke: false, now: START });
    expect(woke).toBe(true);
    expect(clock.now()).toBe(START + 1_000);
  });

  it('rejects invalid options and sleeps', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START });

    // Act + Assess
    expect(() => new VirtualClock({ startMs: Number.NaN })).toThrow(RangeError);
    expect(() => new VirtualClock({ startMs: START, speed: 0 })).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    await expect(clock.sleep(Infinity)).rejects.toThrow(RangeError);
  });
});

describe('VirtualClock in real-time-scaled mode', () => {
  it('resolves a sleep after ms/speed real milliseconds', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, speed: 1_000 });
    const wallStart = performance.now();

    // Act
    await clock.sleep(50_000); // 50 virtual seconds = 50 real ms

    // Assess
    const wall = performance.now() - wallStart;
    expect(wall).toBeGreaterThanOrEqual(45);
    expect(wall).toBeLessThan(2_000);
    expect(clock.now() - START).toBeGreaterThanOrEqual(50_000);
  });

  it('runs now() speed times faster than the wall clock', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, speed: 100 });
    const wallStart = performance.now();

    // Act
    await new Promise((resolve) => setTimeout(resolve, 30));

    // Assess
    const wall = performance.now() - wallStart;
    const virtual = clock.now() - START;
    expect(virtual).toBeGreaterThanOrEqual(30 * 100 * 0.9);
    expect(virtual).toBeLessThanOrEqual(wall * 100 + 100);
  });

  it('fires due timers at once when advanced', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, speed: 1 });
    const slept = clock.sleep(60_000);

    // Act
    clock.advance(60_000);
    await slept;

    // Assess
    expect(clock.now() - START).toBeGreaterThanOrEqual(60_000);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('VirtualClock: cancelled sleeps', () => {
  it('takes a sleeper off the clock when its signal aborts, so time does not jump to it', async () => {
    // Prepare: a timeout that is no longer needed, and a real sleeper after it
    const clock = new VirtualClock({ startMs: START });
    const cancel = new AbortController();
    const stale = clock.sleep(3_600_000, cancel.signal);
    const order: string[] = [];
    const later = clock.sleep(7_200_000).then(() => order.push(`later@${clock.now() - START}`));

    // Act
    cancel.abort();
    await expect(stale).rejects.toMatchObject({ name: 'AbortError' });
    await later;

    // Assess: the clock went straight to the remaining sleeper
    expect(order).toEqual(['later@7200000']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('keeps the other sleepers in order when one in the middle is cancelled', async () => {
    // Prepare
    const clock = new VirtualClock({ startMs: START, autoAdvance: false });
    const woke: number[] = [];
    const cancels = Array.from({ length: 50 }, () => new AbortController());
    const sleeps = cancels.map((c, i) => clock.sleep((i * 37) % 50 * 10, c.signal).then(() => woke.push((i * 37) % 50), () => undefined));

    // Act: cancel every third
    cancels.forEach((c, i) => { if (i % 3 === 0) c.abort(); });
    await clock.advanceAsync(1_000);
    await Promise.all(sleeps);

    // Assess
    const expected = cancels.map((_, i) => (i * 37) % 50).filter((_, i) => i % 3 !== 0).sort((a, b) => a - b);
    expect(woke).toEqual(expected);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rejects at once when the signal is already aborted, and sleepUnlessAborted reports it', async () => {
    const clock = new VirtualClock({ startMs: START });
    const done = new AbortController();
    done.abort();
    await expect(clock.sleep(10, done.signal)).rejects.toBeDefined();
    expect(clock.pendingTimers()).toBe(0);
    expect(await sleepUnlessAborted(clock, 10, done.signal)).toBe(false);
    expect(await sleepUnlessAborted(clock, 10, new AbortController().signal)).toBe(true);
  });
});

describe('VirtualClock: persistTo keeps time from going backwards across restarts', () => {
  const dirs: string[] = [];
  const clocks: VirtualClock[] = [];
  function markFile(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'clock-'));
    dirs.push(dir);
    return path.join(dir, 'virtual-clock.json');
  }
  function clockOver(file: string, options: { startMs?: number; speed?: number; persistEveryMs?: number } = {}): VirtualClock {
    const clock = new VirtualClock({ startMs: options.startMs ?? START, persistTo: file, ...(options.speed ? { speed: options.speed } : {}), ...(options.persistEveryMs ? { persistEveryMs: options.persistEveryMs } : {}) });
    clocks.push(clock);
    return clock;
  }
  afterEach(() => {
    for (const c of clocks.splice(0)) c.dispose();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a sped-up clock killed without closing restarts no earlier than anything it returned', async () => {
    // Prepare: 20× faster than the wall clock, as the local runtime runs
    const file = markFile();
    const first = clockOver(file, { speed: 20, persistEveryMs: 20 });
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 15));
      seen.push(first.now());
    }

    // Act: "kill -9": the first clock is never disposed; a new one starts from the wall clock's
    // time, which is behind the sped-up virtual time
    const restarted = clockOver(file, { startMs: START, speed: 20 });

    // Assess
    expect(Math.max(...seen)).toBeGreaterThan(START + 2_000);
    expect(restarted.now()).toBeGreaterThanOrEqual(Math.max(...seen));
  });

  it('a discrete clock that jumped hours ahead restarts no earlier than its last reading', async () => {
    // Prepare
    const file = markFile();
    const first = clockOver(file);
    await first.sleep(6 * 3_600_000);
    const last = first.now();
    first.advance(90_000);
    const afterAdvance = first.now();

    // Act: restarted without dispose
    const restarted = clockOver(file, { startMs: START });

    // Assess
    expect(last).toBe(START + 6 * 3_600_000);
    expect(restarted.now()).toBeGreaterThanOrEqual(afterAdvance);
  });

  it('resumes exactly where it stopped after a clean dispose', async () => {
    // Prepare
    const file = markFile();
    const first = new VirtualClock({ startMs: START, persistTo: file });
    await first.sleep(42_000);

    // Act
    first.dispose();
    const written = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const restarted = clockOver(file, { startMs: START });

    // Assess
    expect(written).toMatchObject({ virtualNowMs: START + 42_000 });
    expect(restarted.now()).toBe(START + 42_000);
  });

  it('starts at startMs when it is later than the mark, or when the file is missing or unreadable', () => {
    const file = markFile();
    writeFileSync(file, JSON.stringify({ virtualNowMs: START }));
    expect(clockOver(file, { startMs: START + 5_000 }).now()).toBe(START + 5_000);
    const broken = markFile();
    writeFileSync(broken, '{"virtualNowMs": ');
    expect(clockOver(broken, { startMs: START }).now()).toBe(START);
    expect(clockOver(markFile(), { startMs: START }).now()).toBe(START);
  });
});
