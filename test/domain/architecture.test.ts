import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { boundaryViolations, importCycles } from '../helpers/import-graph.ts';

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

/**
 * The capability folders of domain/ are reached through their front doors: from outside a
 * capability, only its index.ts (its public surface) or model.ts (its entities); port and model
 * files import entities only (another capability's model.ts, or shared/ and inventory/, which
 * hold nothing else). Test files may import the module they test, so test/ is not checked.
 */
const PRODUCTION = ['domain', 'functions', 'local', 'cli', 'bench'];

describe('capability boundaries', () => {
  it('production code reaches other capabilities only through index.ts or model.ts, and ports and models import no use cases', () => {
    expect(boundaryViolations(path.resolve('.'), PRODUCTION)).toEqual([]);
  });

  it('reports planted violations: an inner file imported from outside, a model or port file importing use cases', () => {
    // Prepare
    const dir = tree({
      'domain/shared/index.ts': 'export const id = 1;\n',
      'domain/inventory/index.ts': "import { id } from '../shared/index.ts';\nexport const tag = id;\n",
      'domain/x/index.ts': "export * from './model.ts';\nexport * from './use-case.ts';\n",
      'domain/x/model.ts': "export * from './entity.ts';\n",
      'domain/x/entity.ts': "import { id } from '../shared/index.ts';\nimport { tag } from '../inventory/index.ts';\nimport { act } from '../y/index.ts';\nexport const e = [id, tag, act];\n",
      'domain/x/use-case.ts': "import { act } from '../y/index.ts';\nimport { inner } from '../y/inner.ts';\nimport { e } from './entity.ts';\nexport const use = [act, inner, e];\n",
      'domain/y/index.ts': "export * from './model.ts';\nexport const act = 1;\n",
      'domain/y/model.ts': 'export type Y = { y: number };\n',
      'domain/y/inner.ts': 'export const inner = 1;\n',
      'domain/ports/index.ts': "export * from './store.ts';\n",
      'domain/ports/store.ts': "import type { Y } from '../y/model.ts';\nimport { act } from '../y/index.ts';\nexport interface Store { get(): Y }\nexport const a = act;\n",
      'functions/handler.ts': "import { use } from '../domain/x/use-case.ts';\nimport { e } from '../domain/x/index.ts';\nimport type { Store } from '../domain/ports/index.ts';\nexport type T = import('../domain/y/inner.ts').X;\n",
      'local/ok.ts': "import type { Y } from '../domain/y/model.ts';\nimport { act } from '../domain/y/index.ts';\n",
      'test/x.test.ts': "import { use } from '../domain/x/use-case.ts';\n",
    });

    // Act
    const violations = boundaryViolations(dir, PRODUCTION);

    // Assess
    expect(violations).toEqual([
      'domain/ports/store.ts → domain/y/index.ts: a port file imports y/ use cases (import its model.ts)',
      'domain/x/entity.ts → domain/y/index.ts: a model file imports y/ use cases (import its model.ts)',
      'domain/x/use-case.ts → domain/y/inner.ts: reaches inside y/ (import its index.ts or model.ts)',
      'functions/handler.ts → domain/x/use-case.ts: reaches inside x/ (import its index.ts or model.ts)',
      'functions/handler.ts → domain/y/inner.ts: reaches inside y/ (import its index.ts or model.ts)',
    ]);
  });

  it('reports nothing for a tree that keeps to the boundaries', () => {
    const dir = tree({
      'domain/x/index.ts': "export * from './model.ts';\nexport * from './use-case.ts';\n",
      'domain/x/model.ts': "export * from './entity.ts';\n",
      'domain/x/entity.ts': "import type { Y } from '../y/model.ts';\nexport type E = Y;\n",
      'domain/x/use-case.ts': "import { act } from '../y/index.ts';\nimport type { E } from './entity.ts';\nexport const use = act;\n",
      'domain/y/index.ts': "export * from './model.ts';\nexport const act = 1;\n",
      'domain/y/model.ts': 'export type Y = { y: number };\n',
      'domain/ports/store.ts': "import type { E } from '../x/model.ts';\nexport interface Store { get(): E }\n",
      'functions/handler.ts': "import { use } from '../domain/x/index.ts';\nimport type { Store } from '../domain/ports/index.ts';\n",
      'cli/main.ts': "import type { Y } from '../domain/y/model.ts';\n",
    });
    expect(boundaryViolations(dir, PRODUCTION)).toEqual([]);
  });
});
