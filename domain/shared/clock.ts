/**
 * Time is a dependency. Every use case that reads the time or waits takes a Clock, so
 * tests and the local runtime can run on virtual time (the EC2 simulator's clock).
 */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Resolve after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** Wall-clock time: what Lambda and the CLI use. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** A clock that stands still unless moved: for unit tests of pure rules. */
export function fixedClock(startMs: number): Clock & { advance(ms: number): void; set(ms: number): void } {
  let t = startMs;
  return {
    now: () => t,
    sleep: async (ms) => { t += Math.max(0, ms); },
    advance: (ms) => { t += ms; },
    set: (ms) => { t = ms; },
  };
}
