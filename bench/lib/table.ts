import type { BenchmarkResult, Figure, Target } from './result.ts';

/**
 * The shared printer: one Markdown table per benchmark (case, figure, value, target, result),
 * the same text `npm run bench` prints and docs/performance.md records.
 */

const THOUSANDS = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });

/** A number as the table shows it, with its unit. */
export function formatValue(value: number | null, unit: string): string {
  if (value === null) return 'n/a';
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'ratio': return value.toFixed(3);
    case 's': return `${value.toFixed(1)} s`;
    case 'ms': return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
    case 'MB': return `${value.toFixed(2)} MB`;
    case 'RCU': return `${Number.isInteger(value) ? value : value.toFixed(2)} RCU`;
    case '/s': return `${THOUSANDS.format(value)} /s`;
    case 'count': return Number.isInteger(value) ? THOUSANDS.format(value) : value.toFixed(2);
    case 'bytes': return `${THOUSANDS.format(value)} B`;
    default: return `${Number.isInteger(value) ? THOUSANDS.format(value) : value.toFixed(2)} ${unit}`;
  }
}

export function formatTarget(target: Target | undefined, unit: string): string {
  if (!target) return '—';
  const op = target.op === '<=' ? '≤' : target.op === '>=' ? '≥' : '=';
  return `${op} ${formatValue(target.value, unit)}`;
}

export function formatPass(f: Figure): string {
  if (f.pass === null) return 'reference';
  return f.pass ? 'met' : '**missed**';
}

/** Escape what would break a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A Markdown table from a header and rows of cells. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function figuresTable(figures: readonly Figure[]): string {
  return markdownTable(
    ['Case', 'Figure', 'Value', 'Target', 'Result'],
    figures.map((f) => [f.case, f.note ? `${f.metric} (${f.note})` : f.metric, formatValue(f.value, f.unit), formatTarget(f.target, f.unit), formatPass(f)]),
  );
}

/** Every benchmark as a headed section with its table. */
export function report(results: readonly BenchmarkResult[]): string {
  return results.map((r) => `### ${r.title}\n\n${figuresTable(r.figures)}\n`).join('\n');
}

/** `N of M targets met` over all results; `missed` lists the figures that were not. */
export function summary(results: readonly BenchmarkResult[]): { targets: number; met: number; missed: string[] } {
  const judged = results.flatMap((r) => r.figures.filter((f) => f.pass !== null).map((f) => ({ r, f })));
  return {
    targets: judged.length,
    met: judged.filter(({ f }) => f.pass).length,
    missed: judged.filter(({ f }) => !f.pass).map(({ r, f }) => `${r.title}: ${f.case}: ${f.metric} = ${formatValue(f.value, f.unit)} (target ${formatTarget(f.target, f.unit)})`),
  };
}
