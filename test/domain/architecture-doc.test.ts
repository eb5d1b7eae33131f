import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * docs/architecture.md is the map of the tree: every path it names exists, and every
 * capability folder of domain/ and every function folder is on it.
 */
const doc = readFileSync(path.resolve('docs/architecture.md'), 'utf8');

/** Repository paths the page names in backticks (`domain/failover/`, `functions/shared/compose.ts`, …). */
export function namedPaths(markdown: string): string[] {
  const found = [...markdown.matchAll(/`((?:domain|functions|local|cli|bench|test|statemachines)\/[\w./-]*)`/g)].map((m) => m[1]!);
  return [...new Set(found)];
}

/** A path as the page writes it, relative to its folder context: `functions/post-decision`, `domain/ports/`. */
const exists = (p: string) => existsSync(path.resolve(p.replace(/\/$/, '')));

describe('docs/architecture.md', () => {
  it('names only paths that exist', () => {
    const named = namedPaths(doc);
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((p) => !exists(p))).toEqual([]);
  });

  it('has every capability folder of domain/ in its layout table', () => {
    const folders = readdirSync(path.resolve('domain'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `domain/${d.name}/`);
    expect(folders.filter((f) => !doc.includes(`\`${f}\``))).toEqual([]);
  });

  it('finds the paths a page names, so a missing one would be reported', () => {
    expect(namedPaths('see `domain/nowhere/` and `functions/shared/compose.ts`, not `README.md`')).toEqual(['domain/nowhere/', 'functions/shared/compose.ts']);
    expect(exists('domain/nowhere/')).toBe(false);
  });
});
