import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Clock } from '../domain/shared/index.ts';

/**
 * Virtual time for tests, the local runtime and benchmarks.
 *
 * Two modes:
 * - discrete-event (no `speed`): time stands still while there is work to do. `sleep(ms)` registers a
 *   timer; a driver waits until the process is otherwise quiescent (one `setImmediate` turn, i.e. after all
 *   microtasks have drained), then jumps `now` to the earliest due time and resolves every timer due then.
 *   Ten thousand virtual seconds of polling finish in milliseconds of wall time.
 * - real-time scaled (`speed: k`): virtual time runs k times faster than wall time:
 *   `now() = startMs + wallElapsed * k`, and `sleep(ms)` resolves after `ms / k` wall milliseconds.
 *
 * Timers always resolve in (due time, registration order), so runs are deterministic.
 *
 * With `persistTo`, the clock never goes backwards across restarts, clean or not (kill -9): see
 * VirtualClockOptions.persistTo.
 */
export interface VirtualClockOptions {
  /** Virtual epoch milliseconds at construction. */
  startMs: number;
  /** Undefined: discrete-event (jump instantly). k > 0: virtual time runs k times faster than wall time. */
  speed?: number;
  /**
   * Discrete mode only. Default true: the driver advances time by itself whenever sleepers are waiting.
   * False: time moves only through `advance` / `advanceAsync` (useful for step-by-step tests).
   */
  autoAdvance?: boolean;
  /**
   * Discrete mode only. How many consecutive `setImmediate` turns the driver waits before each jump
   * (default 1). Raise it when code under test takes several macrotasks between two sleeps.
   */
  settleTurns?: number;
  /**
   * A file that keeps the clock's high-water mark, so that a clock started again over it never
   * reads earlier than anything this one returned, even when the process was killed without
   * closing. The clock starts at max(startMs, the mark in the file). It writes (atomically: a
   * temporary file, then a rename) a lease ahead of the current time, `now + leaseMs`, and renews
   * it before `now()` can pass it: on a wall-clock interval of `persistEveryMs` in scaled mode,
   * and at the latest when `now()` is read past the lease. A restart after a crash may therefore
   * start up to one lease ahead of where the clock stopped, never behind. `dispose()` writes the
   * exact time, so a clean restart resumes where it stopped.
   */
  persistTo?: string;
  /** Scaled mode: wall milliseconds between lease renewals (default 1000). */
  persistEveryMs?: number;
}

/** The high-water mark a `persistTo` file holds. */
interface PersistedMark { virtualNowMs: number; writtenAt: string }

interface Timer {
  due: number;
  seq: number;
  resolve: () => void;
}

/** Binary min-heap ordered by (due, seq): O(log n) per timer, so thousands of sleepers stay cheap. */
class TimerHeap {
  private readonly items: Timer[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Timer | undefined {
    return this.items[0];
  }

  push(timer: Timer): void {
    this.items.push(timer);
    this.siftUp(this.items.length - 1);
  }

  pop(): Timer | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    this.siftDown(0);
    return top;
  }

  /** Take a pending timer out (a cancelled sleep). O(n) to find it; cancelling is rare. */
  remove(timer: Timer): boolean {
    const items = this.items;
    const i = items.indexOf(timer);
    if (i < 0) return false;
    const last = items.pop()!;
    if (i < items.length) {
      items[i] = last;
      this.siftDown(i);
      this.siftUp(i);
    }
    return true;
  }

  private siftUp(start: number): void {
    const items = this.items;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      swap(items, i, parent);
      i = parent;
    }
  }

  private siftDown(start: number): void {
    const items = this.items;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === i) break;
      swap(items, i, smallest);
      i = smallest;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

function swap(items: Timer[], i: number, j: number): void {
  const t = items[i]!;
  items[i] = items[j]!;
  items[j] = t;
}

/** setTimeout cannot wait longer than 2^31-1 ms; longer waits are re-armed. */
const MAX_REAL_DELAY_MS = 2_147_483_647;

export class VirtualClock implements Clock {
  readonly speed: number | undefined;
  private readonly autoAdvance: boolean;
  private readonly settleTurns: number;
  private readonly timers = new TimerHeap();
  private seq = 0;
  private holds = 0;
  /** Discrete mode: the current virtual time. Scaled mode: virtual time at `wallAnchor`. */
  private base: number;
  private readonly wallAnchor: number;
  private immediate: NodeJS.Immediate | undefined;
  private immediateTurns = 0;
  private realTimeout: NodeJS.Timeout | undefined;
  private readonly persist: { file: string; leaseMs: number; mark: number; renew?: NodeJS.Timeout } | undefined;

  /** The mark a `persistTo` file holds, or undefined when there is none (missing or unreadable). */
  static readPersisted(file: string): number | undefined {
    if (!existsSync(file)) return undefined;
    try {
      const mark = (JSON.parse(readFileSync(file, 'utf8')) as Partial<PersistedMark>).virtualNowMs;
      return typeof mark === 'number' && Number.isFinite(mark) ? mark : undefined;
    } catch {
      return undefined;
    }
  }

  constructor(options: VirtualClockOptions) {
    if (!Number.isFinite(options.startMs)) throw new RangeError('VirtualClock: startMs must be a finite number');
    if (options.speed !== undefined && !(options.speed > 0 && Number.isFinite(options.speed))) {
      throw new RangeError('VirtualClock: speed must be a positive finite number');
    }
    const settleTurns = options.settleTurns ?? 1;
    if (!Number.isInteger(settleTurns) || settleTurns < 1) {
      throw new RangeError('VirtualClock: settleTurns must be an integer >= 1');
    }
    this.speed = options.speed;
    this.autoAdvance = options.autoAdvance ?? true;
    this.settleTurns = settleTurns;
    const everyMs = options.persistEveryMs ?? 1000;
    if (!(everyMs > 0 && Number.isFinite(everyMs))) throw new RangeError('VirtualClock: persistEveryMs must be a positive finite number');
    const persisted = options.persistTo === undefined ? undefined : VirtualClock.readPersisted(options.persistTo);
    this.base = Math.max(options.startMs, persisted ?? -Infinity);
    this.wallAnchor = performance.now();
    if (options.persistTo !== undefined) {
      // Scaled: two renewal intervals of virtual time. Discrete: time moves in jumps, each
      // written when it is first read past the lease; a minute of lease spares the small ones.
      const leaseMs = this.speed === undefined ? 60_000 : 2 * everyMs * this.speed;
      this.persist = { file: options.persistTo, leaseMs, mark: -Infinity };
      this.writeMark(this.base + leaseMs);
      if (this.speed !== undefined) {
        this.persist.renew = setInterval(() => {
          const t = this.now();
          if (t + leaseMs / 2 > this.persist!.mark) this.writeMark(t + leaseMs);
        }, everyMs);
        this.persist.renew.unref();
      }
    }
  }

  now(): number {
    const t = this.speed === undefined ? this.base : this.base + (performance.now() - this.wallAnchor) * this.speed;
    if (this.persist !== undefined && t > this.persist.mark) this.writeMark(t + this.persist.leaseMs);
    return t;
  }

  /** Write the exact current time to the `persistTo` file now (dispose does it too). */
  flush(): void {
    if (this.persist === undefined) return;
    const t = this.speed === undefined ? this.base : this.base + (performance.now() - this.wallAnchor) * this.speed;
    this.writeMark(t);
  }

  private writeMark(mark: number): void {
    const persist = this.persist!;
    persist.mark = mark;
    const body: PersistedMark = { virtualNowMs: mark, writtenAt: new Date().toISOString() };
    const tmp = `${persist.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(body));
    renameSync(tmp, persist.file);
  }

  /**
   * Resolve after `ms` of virtual time. With a `signal`, aborting it takes the sleeper off the
   * clock (it no longer counts as pending, so a discrete clock does not jump to it) and rejects
   * with the signal's reason, as `timers/promises` does.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const delay = Number.isNaN(ms) ? 0 : Math.max(0, ms);
    if (!Number.isFinite(delay)) return Promise.reject(new RangeError('VirtualClock.sleep: ms must be finite'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = { due: this.now() + delay, seq: this.seq++, resolve };
      if (signal) {
        const onAbort = (): void => {
          if (!this.timers.remove(timer)) return;
          this.schedule();
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        timer.resolve = () => { signal.removeEventListener('abort', onAbort); resolve(); };
      }
      this.timers.push(timer);
      this.schedule();
    });
  }

  /** Number of sleepers not yet resolved. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** Due time of the earliest pending sleeper, if any. */
  nextTimerAt(): number | undefined {
    return this.timers.peek()?.due;
  }

  /**
   * Move time forward by `ms` at once and resolve every timer now due, in (due, registration) order.
   * Continuations run afterwards and all observe the new time; use `advanceAsync` to step timer by timer.
   */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError('VirtualClock.advance: ms must be a finite number >= 0');
    this.base += ms;
    this.fireDue(this.now());
    this.schedule();
  }

  /**
   * Move time forward by `ms`, stopping at each pending timer's due time to resolve it and let the
   * continuations (and any timers they register within the window) run before going further.
   */
  async advanceAsync(ms: number): Promise<void> {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError('VirtualClock.advanceAsync: ms must be a finite number >= 0');
    }
    const target = this.now() + ms;
    for (;;) {
      const next = this.timers.peek();
      if (next === undefined || next.due > target) break;
      this.base += Math.max(0, next.due - this.now());
      this.fireDue(this.now());
      await settle(this.settleTurns);
    }
    this.base += Math.max(0, target - this.now());
    this.schedule();
  }

  /**
   * Keep time from jumping while some work that spans macrotasks (e.g. the SDK reading its config files
   * on a client's first call) is in flight. Returns an idempotent release function. Discrete mode only;
   * harmless otherwise.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.schedule();
    };
  }

  /** Cancel the driver's pending wake-ups (sleepers stay pending). Call `advance` or `sleep` to restart. */
  dispose(): void {
    if (this.persist?.renew !== undefined) clearInterval(this.persist.renew);
    if (this.persist !== undefined) delete this.persist.renew;
    this.flush();
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.realTimeout !== undefined) clearTimeout(this.realTimeout);
    this.immediate = undefined;
    this.realTimeout = undefined;
  }

  private fireDue(now: number): void {
    for (;;) {
      const next = this.timers.peek();
      if (next === undefined || next.due > now) return;
      this.timers.pop();
      next.resolve();
    }
  }

  private schedule(): void {
    if (this.speed === undefined) this.scheduleDiscrete();
    else this.scheduleScaled();
  }

  private scheduleDiscrete(): void {
    if (!this.autoAdvance || this.immediate !== undefined || this.holds > 0 || this.timers.size === 0) return;
    this.immediateTurns = 0;
    this.immediate = setImmediate(() => this.drive());
  }

  private drive(): void {
    this.immediate = undefined;
    if (this.holds > 0) return; // the last release reschedules
    if (++this.immediateTurns < this.settleTurns) {
      this.immediate = setImmediate(() => this.drive());
      return;
    }
    const next = this.timers.peek();
    if (next === undefined) return;
    if (next.due > this.base) this.base = next.due;
    this.fireDue(this.base);
    this.scheduleDiscrete();
  }

  private scheduleScaled(): void {
    if (this.realTimeout !== undefined) clearTimeout(this.realTimeout);
    this.realTimeout = undefined;
    const next = this.timers.peek();
    if (next === undefined) return;
    const wait = Math.max(0, (next.due - this.now()) / this.speed!);
    this.realTimeout = setTimeout(() => {
      this.realTimeout = undefined;
      this.fireDue(this.now());
      this.scheduleScaled();
    }, Math.min(Math.ceil(wait), MAX_REAL_DELAY_MS));
  }
}

function settle(turns: number): Promise<void> {
  return new Promise((resolve) => {
    let left = turns;
    const step = (): void => {
      if (--left <= 0) resolve();
      else setImmediate(step);
    };
    setImmediate(step);
  });
}

/** True when `clock` can be held still (a VirtualClock or anything with the same `hold`). */
export function isHoldableClock(clock: Clock): clock is Clock & { hold(): () => void } {
  return typeof (clock as { hold?: unknown }).hold === 'function';
}

/**
 * Sleep `ms` on `clock` unless `signal` aborts first: true when the time elapsed, false when it
 * was cancelled. A VirtualClock drops a cancelled sleeper at once; another Clock cannot cancel,
 * so its sleep runs out and then reports false.
 */
export function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (clock instanceof VirtualClock) return clock.sleep(ms, signal).then(() => true, () => false);
  return clock.sleep(ms).then(() => !signal.aborted);
}
