/**
 * The inventory and the policy are SSM parameters on AWS (docs/deploy.md), whose values hold at
 * most 4 KB (Standard tier) or 8 KB (Advanced tier) (Systems Manager API Reference,
 * PutParameter). Locally they are files, so the local runtime, `npm start` and the CLI commands
 * that validate an inventory refuse a file no parameter could hold, naming the file, its size
 * and the limit, and say when a file needs the Advanced tier.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { main } from '../../cli/main.ts';
import {
  ADVANCED_PARAMETER_BYTES, parameterSizeRefusal, parameterTier, parameterTierNote, STANDARD_PARAMETER_BYTES,
} from '../../functions/shared/parameter-limits.ts';
import { parameterNotes, parseStartArgs, StartUsageError } from '../../local/main.ts';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-parameter-limits-'));
const EXAMPLE = readFileSync('examples/inventory.yaml', 'utf8');

/** examples/inventory.yaml padded with a trailing YAML comment to exactly `bytes` bytes. */
function inventoryOf(bytes: number, name: string): string {
  const pad = bytes - Buffer.byteLength(EXAMPLE) - 3;
  expect(pad).toBeGreaterThanOrEqual(0);
  const file = path.join(dir, name);
  writeFileSync(file, `${EXAMPLE}# ${'x'.repeat(pad)}\n`);
  expect(Buffer.byteLength(readFileSync(file))).toBe(bytes);
  return file;
}

/** A valid inventory of `bytes` without padding tricks: the example with copies of its groups, as an estate grows. */
function grownInventory(copies: number, name: string): string {
  const inventory = parse(EXAMPLE) as { groups: { name: string; machines: { id: string; instanceId: string }[] }[] };
  const originals = inventory.groups.slice();
  for (let c = 0; c < copies; c++) {
    const g = structuredClone(originals[c % originals.length]!);
    g.name = `${g.name}-copy${c}`;
    g.machines = g.machines.map((m, i) => ({ ...m, id: `${g.name}-${i}`, instanceId: `i-0f${String(c).padStart(2, '0')}${m.instanceId.slice(6)}` }));
    delete (g as Record<string, unknown>)['checks'];
    inventory.groups.push(g);
  }
  const file = path.join(dir, name);
  writeFileSync(file, stringify(inventory));
  return file;
}

describe('parameterTier', () => {
  it('takes up to 4,096 bytes as Standard, up to 8,192 as Advanced, and nothing larger', () => {
    expect([STANDARD_PARAMETER_BYTES, ADVANCED_PARAMETER_BYTES]).toEqual([4096, 8192]);
    expect(parameterTier('x'.repeat(4096))).toBe('Standard');
    expect(parameterTier('x'.repeat(4097))).toBe('Advanced');
    expect(parameterTier('x'.repeat(8192))).toBe('Advanced');
    expect(parameterTier('x'.repeat(8193))).toBeNull();
  });

  it('counts UTF-8 bytes: 4,096 two-byte characters need the Advanced tier', () => {
    expect(parameterTier('é'.repeat(2048))).toBe('Standard');
    expect(parameterTier('é'.repeat(2049))).toBe('Advanced');
    expect(parameterTier('é'.repeat(4097))).toBeNull();
  });

  it('refuses naming the file, its size, the limit and what to do; notes the Advanced tier', () => {
    const refusal = parameterSizeRefusal('inventory', 'big.yaml', 'x'.repeat(9000));
    expect(refusal).toMatch(/^big\.yaml: the inventory is 9000 bytes, more than the 8192 bytes \(8 KB, Advanced tier\) an SSM parameter holds/);
    expect(refusal).toMatch(/Make it smaller: drop comments/);
    expect(parameterSizeRefusal('policy', 'p.yaml', 'x'.repeat(8192))).toBeUndefined();
    expect(parameterTierNote('inventory', 'mid.yaml', 'x'.repeat(5000))).toMatch(/^mid\.yaml: the inventory is 5000 bytes, over the 4096 bytes of a Standard SSM parameter: store it with --tier Advanced/);
    expect(parameterTierNote('inventory', 'small.yaml', 'x'.repeat(4096))).toBeUndefined();
  });

  it('examples/inventory.yaml fits a Standard parameter', () => {
    expect(parameterTier(EXAMPLE)).toBe('Standard');
  });
});

describe('the local runtime', () => {
  const started: LocalRuntime[] = [];
  afterAll(async () => { await Promise.all(started.map((rt) => rt.close())); });
  const start = (inventoryFile: string, extra: { policyFile?: string; ssmParameterLimit?: 'on' | 'off' } = {}) =>
    startLocalRuntime({ dataDir: null, inventoryFile, speed: 600, publicBaseUrl: 'http://127.0.0.1:8787', ...extra }).then((rt) => { started.push(rt); return rt; });

  it('refuses to start with an inventory no SSM parameter holds, naming the file and its size', async () => {
    const file = grownInventory(6, 'grown.yaml');
    const bytes = Buffer.byteLength(readFileSync(file));
    expect(bytes).toBeGreaterThan(ADVANCED_PARAMETER_BYTES);
    await expect(start(file)).rejects.toThrow(`${file}: the inventory is ${bytes} bytes, more than the 8192 bytes`);
  });

  it('refuses an oversized policy file the same way', async () => {
    const policy = path.join(dir, 'policy.yaml');
    writeFileSync(policy, `version: big\n# ${'x'.repeat(ADVANCED_PARAMETER_BYTES)}\n`);
    await expect(start(path.resolve('examples/inventory.yaml'), { policyFile: policy })).rejects.toThrow(/policy\.yaml: the policy is \d+ bytes/);
  });

  it('starts with an inventory of exactly 8 KB, and with a larger one only when told the limit is off', async () => {
    await expect(start(inventoryOf(ADVANCED_PARAMETER_BYTES, 'exactly-8k.yaml'))).resolves.toBeDefined();
    await expect(start(grownInventory(6, 'grown-off.yaml'), { ssmParameterLimit: 'off' })).resolves.toBeDefined();
  });
});

describe('npm start', () => {
  it('refuses --inventory over 8 KB as a usage error naming the file', () => {
    const file = inventoryOf(ADVANCED_PARAMETER_BYTES + 1, 'start-big.yaml');
    expect(() => parseStartArgs(['--inventory', file])).toThrow(StartUsageError);
    expect(() => parseStartArgs(['--inventory', file])).toThrow(`--inventory ${file}: the inventory is 8193 bytes, more than the 8192 bytes`);
  });

  it('notes when the inventory needs the Advanced tier, and says nothing for a Standard one', () => {
    const file = inventoryOf(5000, 'start-mid.yaml');
    expect(parseStartArgs(['--inventory', file])).toMatchObject({ inventoryFile: file });
    expect(parameterNotes({ inventoryFile: file })).toEqual([expect.stringMatching(/^note: .*start-mid\.yaml: the inventory is 5000 bytes, over the 4096 bytes of a Standard SSM parameter/)]);
    expect(parameterNotes({ inventoryFile: 'examples/inventory.yaml' })).toEqual([]);
  });
});

describe('cleanpoint commands that validate an inventory', () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), readStdin: async () => '' });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const FINDING = 'examples/findings/ransomware-payments-db.json';

  it('assess refuses an inventory over 8 KB with exit code 2 and the reason', async () => {
    const file = inventoryOf(9000, 'cli-big.yaml');
    const r = await run(['assess', FINDING, '--inventory', file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}: the inventory is 9000 bytes, more than the 8192 bytes`);
  });

  it('assess works with a 5 KB inventory and notes the Advanced tier on stderr', async () => {
    const file = inventoryOf(5000, 'cli-mid.yaml');
    const r = await run(['assess', FINDING, '--inventory', file, '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/note: .*cli-mid\.yaml: the inventory is 5000 bytes, .*--tier Advanced/);
    expect(() => JSON.parse(r.out)).not.toThrow(); // stdout stays machine-readable
  });

  it('inventory diff refuses a new inventory over 8 KB', async () => {
    const r = await run(['inventory', 'diff', 'examples/inventory.yaml', inventoryOf(8500, 'diff-big.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/diff-big\.yaml: the inventory is 8500 bytes/);
  });
});
