import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { importCycles } from '../helpers/import-graph.ts';

/**
 * The domain has no import circles: a newcomer can read any file of it knowing only what it
 * imports. Port files import entity (model) files; use cases import ports; model files import
 * neither use cases nor ports.
 */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-graph-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), source);
  }
  return dir;
}

describe('domain/ import graph', () => {
  it('has no import circle between its files (type-only imports included)', () => {
    expect(importCycles(path.resolve('domain'))).toEqual([]);
  });

  it('finds a planted circle, also one made of type-only and inline type imports', () => {
    // Prepare: a ▶ b ▶ c ▶ a (a value import, a type import, an inline import type), and d alone
    const dir = tree({
      'a.ts': "import { b } from './b.ts';\nexport const a = b;\n",
      'b.ts': "import type { C } from './c.ts';\nexport const b = 1 as unknown as C;\n",
      'c.ts': "export type C = import('./a.ts').A;\n",
      'd.ts': "import { a } from './a.ts';\nexport const d = a;\n",
      'nested/e.ts': "export { d } from '../d.ts';\n",
    });

    // Act + Assess
    expect(importCycles(dir)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('finds a re-export circle through a folder index and a file importing itself', () => {
    const dir = tree({
      'x/index.ts': "export * from './model.ts';\n",
      'x/model.ts': "import { y } from '../y.ts';\nexport const m = y;\n",
      'y.ts': "import { m } from './x/index.ts';\nexport const y = 1; export const z = m;\n",
      'self.ts': "import { s } from './self.ts';\nexport const s = 1;\n",
    });
    expect(importCycles(dir)).toEqual([['self.ts'], ['x/index.ts', 'x/model.ts', 'y.ts']]);
  });

  it('reports nothing for a tree without circles', () => {
    const dir = tree({ 'a.ts': "import { b } from './b.ts';\n", 'b.ts': 'export const b = 1;\n' });
    expect(importCycles(dir)).toEqual([]);
  });
});
