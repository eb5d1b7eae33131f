import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Every module specifier a TypeScript source imports, re-exports, imports dynamically or requires. */
export function moduleSpecifiers(source: string): string[] {
  const patterns = [
    /\bimport\s+(?:type\s+)?[\w*{}\s,$]*?\s*from\s*['"]([^'"]+)['"]/g, // import x from '...', import type { X } from '...'
    /\bimport\s*['"]([^'"]+)['"]/g, // import '...'
    /\bexport\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s*from\s*['"]([^'"]+)['"]/g, // export ... from '...'
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('...')
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // require('...')
  ];
  const found: string[] = [];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** The TypeScript and JavaScript source files below `dir`. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(m|c)?[tj]s$/.test(entry.name) ? [full] : [];
  });
}

/**
 * The import circles among the files below `dir`: every strongly connected component of more
 * than one file (or a file importing itself), as paths relative to `dir`, sorted. Type-only
 * imports count too: a circle of types is still a circle a reader has to untangle.
 */
export function importCycles(dir: string): string[][] {
  const files = sourceFiles(dir).map((f) => path.resolve(f));
  const known = new Set(files);
  const edges = new Map(files.map((f) => [f, moduleSpecifiers(readFileSync(f, 'utf8'))
    .filter((s) => s.startsWith('.'))
    .map((s) => path.resolve(path.dirname(f), s))
    .filter((t) => known.has(t))]));
  // Tarjan's strongly connected components.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter); low.set(v, counter); counter++;
    stack.push(v); onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(component.map((f) => path.relative(dir, f)).sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** The relative imports of `file`, resolved to absolute paths. */
function relativeImports(file: string): string[] {
  return moduleSpecifiers(readFileSync(file, 'utf8'))
    .filter((s) => s.startsWith('.'))
    .map((s) => path.resolve(path.dirname(file), s));
}

/**
 * Where `file` sits among the capability folders of `domainDir`: its capability (the folder
 * right below domain/) and its path inside that folder; null outside every capability.
 */
function capabilityOf(domainDir: string, file: string): { capability: string; inside: string } | null {
  const rel = path.relative(domainDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const [capability, ...rest] = rel.split(path.sep);
  if (!capability || rest.length === 0) return null;
  return { capability, inside: rest.join('/') };
}

/**
 * The capability boundaries below `root` (a tree with a domain/ folder of capability folders):
 *
 * - a production file (everything below `dirs`, e.g. domain, functions, local, cli, bench) reaches
 *   another capability only through its `index.ts` or `model.ts`, never one of its inner files;
 * - a port file (domain/ports/*) or a model file (a capability's `model.ts` and the files it
 *   re-exports) imports no other capability's `index.ts` (its use cases), except those of the
 *   `entityOnly` capabilities (shared/ and inventory/, which hold only entities and utilities).
 *
 * Returns each violation as `from → to: rule`, paths relative to `root`, sorted. Test files are
 * not passed in: a unit test may import the module it tests.
 */
export function boundaryViolations(root: string, dirs: readonly string[], entityOnly: readonly string[] = ['shared', 'inventory']): string[] {
  const domainDir = path.join(path.resolve(root), 'domain');
  const capabilities = readdirSync(domainDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const modelFiles = new Set<string>();
  for (const capability of capabilities) {
    const model = path.join(domainDir, capability, 'model.ts');
    let reexported: string[];
    try { reexported = relativeImports(model); } catch { continue; }
    modelFiles.add(model);
    for (const target of reexported) if (capabilityOf(domainDir, target)?.capability === capability) modelFiles.add(target);
  }
  const files = dirs.flatMap((d) => {
    const dir = path.join(path.resolve(root), d);
    try { return sourceFiles(dir); } catch { return []; }
  });
  const violations: string[] = [];
  for (const file of files) {
    const from = capabilityOf(domainDir, file);
    const entitySide = modelFiles.has(file) || from?.capability === 'ports';
    for (const target of relativeImports(file)) {
      const to = capabilityOf(domainDir, target);
      if (!to || to.capability === from?.capability) continue;
      const arrow = `${path.relative(root, file)} → ${path.relative(root, target)}`;
      if (to.inside !== 'index.ts' && to.inside !== 'model.ts') {
        violations.push(`${arrow}: reaches inside ${to.capability}/ (import its index.ts or model.ts)`);
      } else if (entitySide && to.inside === 'index.ts' && !entityOnly.includes(to.capability)) {
        violations.push(`${arrow}: a ${from?.capability === 'ports' ? 'port' : 'model'} file imports ${to.capability}/ use cases (import its model.ts)`);
      }
    }
  }
  return violations.sort();
}
