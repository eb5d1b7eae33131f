import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, type ScalarTag, type CollectionTag } from 'yaml';

/**
 * Reads the deployable definition — serverless.yml and the ASL files it includes — so the
 * local runtime uses the same functions, event rules, schedules and state machines as AWS.
 * Nothing here is a copy: change serverless.yml and the local runtime follows.
 */
export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** CloudFormation short-form tags (!Ref, !GetAtt, …) become their long-form objects. */
function cfnTags(): (ScalarTag | CollectionTag)[] {
  const names = ['Ref', 'GetAtt', 'Sub', 'Join', 'Select', 'Split', 'If', 'Equals', 'Not', 'And', 'Or', 'FindInMap', 'ImportValue', 'Base64', 'Condition', 'GetAZs', 'Cidr'];
  const tags: (ScalarTag | CollectionTag)[] = [];
  for (const name of names) {
    const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
    tags.push({ tag: `!${name}`, resolve: (v: string) => ({ [key]: name === 'GetAtt' ? v.split('.') : v }) } as ScalarTag);
    tags.push({ tag: `!${name}`, collection: 'seq', resolve: (v: unknown) => ({ [key]: (v as { toJSON(): unknown }).toJSON() }) } as unknown as CollectionTag);
    tags.push({ tag: `!${name}`, collection: 'map', resolve: (v: unknown) => ({ [key]: (v as { toJSON(): unknown }).toJSON() }) } as unknown as CollectionTag);
  }
  return tags;
}

export interface FunctionSpec {
  /** Key in serverless.yml, e.g. `assess-finding`. */
  name: string;
  /** `functions/assess-finding/handler.handler` */
  handler: string;
  environment: Record<string, unknown>;
  events: Record<string, unknown>[];
}

export interface ServerlessDefinition {
  raw: Record<string, unknown>;
  functions: Map<string, FunctionSpec>;
  /** State machine key → parsed ASL definition. */
  stateMachines: Map<string, { name: string; definition: Record<string, unknown>; file: string }>;
}

let cached: ServerlessDefinition | undefined;

export function loadServerlessDefinition(root = ROOT): ServerlessDefinition {
  if (cached && root === ROOT) return cached;
  const raw = parse(readFileSync(path.join(root, 'serverless.yml'), 'utf8'), { customTags: cfnTags(), merge: true }) as Record<string, unknown>;
  const functions = new Map<string, FunctionSpec>();
  for (const [name, spec] of Object.entries((raw['functions'] ?? {}) as Record<string, Record<string, unknown>>)) {
    functions.set(name, {
      name,
      handler: String(spec['handler']),
      environment: (spec['environment'] ?? {}) as Record<string, unknown>,
      events: (spec['events'] ?? []) as Record<string, unknown>[],
    });
  }
  const stateMachines = new Map<string, { name: string; definition: Record<string, unknown>; file: string }>();
  const machines = ((raw['stepFunctions'] as Record<string, unknown> | undefined)?.['stateMachines'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const [key, spec] of Object.entries(machines)) {
    const ref = String(spec['definition'] ?? '');
    const m = ref.match(/^\$\{file\((.+)\)\}$/);
    if (!m) throw new Error(`state machine ${key}: definition must be \${file(...)} (got ${ref.slice(0, 40)})`);
    const file = path.join(root, m[1]!);
    stateMachines.set(key, { name: String(spec['name'] ?? key), definition: JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, file });
  }
  const def = { raw, functions, stateMachines };
  if (root === ROOT) cached = def;
  return def;
}

/** EventBridge rules declared on functions: pattern → function. */
export function eventRules(def: ServerlessDefinition): { functionName: string; pattern: Record<string, unknown>; eventBus?: unknown }[] {
  const rules: { functionName: string; pattern: Record<string, unknown>; eventBus?: unknown }[] = [];
  for (const fn of def.functions.values()) {
    for (const ev of fn.events) {
      const eb = ev['eventBridge'] as Record<string, unknown> | undefined;
      if (eb?.['pattern']) rules.push({ functionName: fn.name, pattern: eb['pattern'] as Record<string, unknown>, ...(eb['eventBus'] !== undefined ? { eventBus: eb['eventBus'] } : {}) });
    }
  }
  return rules;
}

/** HTTP API routes declared on functions. */
export function httpRoutes(def: ServerlessDefinition): { functionName: string; method: string; path: string }[] {
  const routes: { functionName: string; method: string; path: string }[] = [];
  for (const fn of def.functions.values()) {
    for (const ev of fn.events) {
      const h = ev['httpApi'] as Record<string, unknown> | string | undefined;
      if (!h) continue;
      if (typeof h === 'string') { const [method, p] = h.split(' '); routes.push({ functionName: fn.name, method: method!.toUpperCase(), path: p! }); }
      else routes.push({ functionName: fn.name, method: String(h['method']).toUpperCase(), path: String(h['path']) });
    }
  }
  return routes;
}

/** Scheduled events declared on functions (rate/cron expressions). */
export function schedules(def: ServerlessDefinition): { functionName: string; rate: string; input?: unknown }[] {
  const out: { functionName: string; rate: string; input?: unknown }[] = [];
  for (const fn of def.functions.values()) {
    for (const ev of fn.events) {
      const s = ev['schedule'] as Record<string, unknown> | string | undefined;
      if (!s) continue;
      if (typeof s === 'string') out.push({ functionName: fn.name, rate: s });
      else for (const rate of [s['rate']].flat()) out.push({ functionName: fn.name, rate: String(rate), ...(s['input'] !== undefined ? { input: s['input'] } : {}) });
    }
  }
  return out;
}
