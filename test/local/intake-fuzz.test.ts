import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/system.ts';
import { seededRandom } from '../../bench/lib/stats.ts';
import { toJsonText } from '../../local/json-text.ts';
import { ransomwareEvent, startTestSystem } from '../helpers/local-system.ts';

/**
 * Fuzzing the local runtime's finding intake (issue 15, item 4): thousands of findings mutated
 * from the real GuardDuty samples (../shared/fixtures/guardduty/findings) and the example
 * ransomware finding — nesting thousands of levels deep, strings of hundreds of kilobytes, wrong
 * types, missing members, broken JSON — are sent to POST /local/findings as
 * `cleanpoint findings send` sends them. Not one answer may be a 5xx, the runtime must stay up,
 * and no refused finding may leave anything behind: no incident opened or joined, no delivery
 * that any function accepted. The mutations are seeded, so a failure names the seed and the case to replay.
 */
const CASES = 2_000;
const SEED = Number(process.env['CLEANPOINT_FUZZ_SEED'] ?? 20261204);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a member of `v` (objects' keys and arrays' indices), the root excluded. */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([...at, i]); paths(x, [...at, i], out); });
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push([...at, k]); paths(x, [...at, k], out); }
  return out;
}

function setAt(root: Json, at: (string | number)[], value: Json | undefined): void {
  let cur = root as Record<string | number, Json>;
  for (const key of at.slice(0, -1)) cur = cur[key] as Record<string | number, Json>;
  const last = at[at.length - 1]!;
  if (value === undefined) { if (Array.isArray(cur)) cur.splice(Number(last), 1); else delete cur[last]; } else cur[last] = value;
}

function nested(depth: number, leaf: Json, asArray: boolean): Json {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

interface Case { kind: string; at: string; body: string }

function mutate(samples: Json[], next: () => number): Case {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const sample = structuredClone(pick(samples));
  const all = paths(sample);
  const at = pick(all);
  const kinds = ['deep-array', 'deep-object', 'huge-string', 'wrong-type', 'missing', 'long-key', 'control-chars', 'numbers', 'text'] as const;
  const kind = pick(kinds);
  const where = at.join('.');
  switch (kind) {
    case 'deep-array': setAt(sample, at, nested(20 + Math.floor(next() * 6_000), 1, true)); break;
    case 'deep-object': setAt(sample, at, nested(20 + Math.floor(next() * 3_000), 'x', false)); break;
    case 'huge-string': setAt(sample, at, pick(['a', 'é', '\u{1F600}', 'i-0']).repeat(1_000 + Math.floor(next() * 300_000))); break;
    case 'wrong-type': setAt(sample, at, pick<Json>([null, true, 0, -1, 1.5, '', 'x', [], {}, [1, 2], { k: 'v' }, 1e308])); break;
    case 'missing': setAt(sample, at, undefined); break;
    case 'long-key': setAt(sample, [...at.slice(0, -1), 'k'.repeat(1 + Math.floor(next() * 100_000))], 1); break;
    case 'control-chars': setAt(sample, at, '\u0000\u0007\u001b[31m\r\n\u202e\ud800'); break;
    case 'numbers': setAt(sample, at, pick<Json>([Number.MAX_SAFE_INTEGER + 2, -0, 1e-320, 12345678901234567890])); break;
    case 'text': {
      const text = toJsonText(sample);
      const cut = Math.floor(next() * text.length);
      return { kind, at: `byte ${cut}`, body: pick([text.slice(0, cut), `${text.slice(0, cut)}\u0000${text.slice(cut)}`, `${text}${text}`, text.replace(/"/g, "'"), `[${text}]`]) };
    }
  }
  return { kind, at: where, body: toJsonText(sample) };
}

/** The incidents stored, by id: a refused finding must neither open one nor join one. */
async function incidents(system: LocalSystem): Promise<string> {
  const all = await system.stores.incidents.listIncidents();
  return JSON.stringify(all.map((i) => [i.incidentId, [...i.findingIds].sort()]).sort());
}

let system: LocalSystem;
beforeAll(async () => { system = await startTestSystem(); }, 60_000);
afterAll(async () => { await system?.close(); });

describe(`intake fuzz: ${CASES} mutated findings (seed ${SEED})`, () => {
  it('answers every one with a 2xx or a 4xx that names what is wrong, stays up, and stores nothing for a refused one', async () => {
    // Prepare: the real samples and the example ransomware finding (about a protected machine)
    const dir = path.resolve('../shared/fixtures/guardduty/findings');
    const samples: Json[] = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Json);
    samples.push(await ransomwareEvent(system) as Json, await ransomwareEvent(system) as Json);
    const next = seededRandom(SEED);
    const statuses = new Map<number, number>();
    const serverErrors: string[] = [];
    const unnamed: string[] = [];
    const leftovers: string[] = [];
    let accepted = 0;
    let known = await incidents(system);

    // Act
    for (let i = 0; i < CASES; i++) {
      const c = mutate(samples, next);
      const deliveredBefore = system.rt.deliveries.length;
      const res = await fetch(`${system.url}/local/findings?wait=0`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: c.body });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const label = `case ${i} (${c.kind} at ${c.at}): ${res.status} ${text.slice(0, 160)}`;
      if (res.status >= 500) serverErrors.push(label);
      if (res.status < 400) {
        // An accepted finding (a harmless mutation) may open or join an incident.
        accepted += 1;
        known = await incidents(system);
        continue;
      }
      const error = res.status < 500 ? (JSON.parse(text) as { error?: unknown }).error : undefined;
      // A refusal is one readable sentence, never a dependency's internal message or a stack.
      if (typeof error !== 'string' || error.length === 0 || error.length > 2_100 || /Maximum call stack|hashkey|ValidationException|\n\s+at /.test(error)) unnamed.push(label);
      // Nothing of it was stored: no incident opened or joined, and every delivery of it failed
      // (the bus's deliveries are recorded in order; the workflows of earlier findings add none).
      const now = await incidents(system);
      const deliveredNow = system.rt.deliveries.slice(deliveredBefore).filter((d) => d.status !== 'failed' && d.functionName === 'assess-finding');
      if (now !== known || deliveredNow.length > 0) { leftovers.push(label); known = now; }
    }

    // Assess
    process.stdout.write(`intake fuzz (seed ${SEED}): ${accepted} accepted, answers ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    expect(serverErrors, 'no answer is a 5xx').toEqual([]);
    expect(unnamed, 'every refusal names what is wrong in a sentence of its own').toEqual([]);
    expect(leftovers, 'a refused finding opened or joined no incident and no function accepted it').toEqual([]);
    expect((await fetch(`${system.url}/local/status`)).status, 'the runtime is still up').toBe(200);
    // Both kinds were exercised: refusals of every sort, and findings that got through.
    expect(accepted, `answers ${JSON.stringify(Object.fromEntries(statuses))}`).toBeGreaterThan(0);
    expect(CASES - accepted).toBeGreaterThan(CASES / 2);
  }, 300_000);
});
