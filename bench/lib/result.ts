/**
 * What every benchmark hands back: figures, each with its unit and (where the issue sets one) its
 * target and whether the measured value met it. A figure without a target is a reference value
 * (the naive baseline, a raw count) and is reported, not judged.
 */

export type Comparison = '<=' | '>=' | '==';

export interface Target {
  op: Comparison;
  value: number;
}

export interface Figure {
  /** Case within the benchmark, e.g. `paced, 1 wave × 1,000`. */
  case: string;
  /** What is measured, e.g. `makespan / floor`. */
  metric: string;
  /** null when the figure could not be measured (see `note`). */
  value: number | null;
  /** `s`, `ms`, `ratio`, `count`, `/s`, `bytes`, `MB`, `RCU`. */
  unit: string;
  target?: Target;
  /** true/false against the target (false when the value is missing); null for a reference figure. */
  pass: boolean | null;
  note?: string;
}

export interface BenchmarkResult {
  /** Module name, as given to `--only`. */
  name: string;
  title: string;
  figures: Figure[];
  /** How the figures were obtained, in a sentence or two each (copied into the report). */
  method: string[];
  /** Raw per-case data for the JSON file. */
  details: Record<string, unknown>;
  /** Wall-clock milliseconds the benchmark took. */
  wallMs: number;
}

export interface BenchmarkOptions {
  quick: boolean;
}

export interface Benchmark {
  name: string;
  title: string;
  run(options: BenchmarkOptions): Promise<Omit<BenchmarkResult, 'name' | 'title' | 'wallMs'>>;
}

/** Relative slack for `==` on non-integers (float dust in ratios). */
const EQUAL_EPSILON = 1e-9;

export function meets(value: number, target: Target): boolean {
  switch (target.op) {
    case '<=': return value <= target.value;
    case '>=': return value >= target.value;
    case '==': return Math.abs(value - target.value) <= EQUAL_EPSILON * Math.max(1, Math.abs(target.value));
  }
}

/** A figure, judged against its target when it has one. */
export function figure(
  caseName: string, metric: string, value: number | null, unit: string, target?: Target, note?: string,
): Figure {
  // A target that could not be measured is a target not met.
  const pass = target === undefined ? null : value !== null && Number.isFinite(value) && meets(value, target);
  return { case: caseName, metric, value, unit, ...(target ? { target } : {}), pass, ...(note ? { note } : {}) };
}

export const atMost = (value: number): Target => ({ op: '<=', value });
export const atLeast = (value: number): Target => ({ op: '>=', value });
export const exactly = (value: number): Target => ({ op: '==', value });
