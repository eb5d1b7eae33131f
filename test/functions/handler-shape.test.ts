import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Handlers stay thin: each function's handler module exports makeHandler(deps) (parse ▶ call the
 * domain ▶ map the result) and compose(env, overrides?), and makeHandler is at most 40 lines.
 * Rules live in domain/, helpers in functions/shared/.
 */
const MAX_LINES = 40;

/** The lines of `export function makeHandler` up to its closing brace at column 0, or null. */
export function makeHandlerLines(source: string): number | null {
  const lines = source.split('\n');
  const start = lines.findIndex((l) => l.startsWith('export function makeHandler'));
  if (start < 0) return null;
  const end = lines.findIndex((l, i) => i > start && l.startsWith('}'));
  return end < 0 ? null : end - start + 1;
}

const functionsDir = path.resolve('functions');
const handlers = readdirSync(functionsDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'shared')
  .map((d) => path.join(functionsDir, d.name, 'handler.ts'))
  .filter((f) => existsSync(f));

describe('handler modules', () => {
  it('are found (a scan that finds nothing checks nothing)', () => {
    expect(handlers.length).toBeGreaterThan(25);
  });

  it.each(handlers.map((f) => [path.relative(functionsDir, f), f]))('%s exports makeHandler (at most 40 lines) and compose', (_name, file) => {
    const source = readFileSync(file, 'utf8');
    expect(source).toMatch(/^export (function compose\(|\{ compose \})/m);
    const length = makeHandlerLines(source);
    expect(length).not.toBeNull();
    expect(length!).toBeLessThanOrEqual(MAX_LINES);
  });

  it('measures a makeHandler that is too long, and one that is missing', () => {
    const long = ['export function makeHandler(deps) {', ...Array.from({ length: 45 }, () => '  step();'), '}'].join('\n');
    expect(makeHandlerLines(long)).toBe(47);
    expect(makeHandlerLines('export const handler = () => 1;\n')).toBeNull();
  });
});
