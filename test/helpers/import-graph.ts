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
