import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { retimeFinding } from '../../local/finding-retime.ts';
import { startLocalSystem, type LocalSystem, type LocalSystemOptions } from '../../local/system.ts';

/**
 * The whole local system (runtime + demo estate + HTTP server on a free port) for one test
 * file, in memory and sped up: virtual time ×600, 10 s boots, 20 s status checks.
 */
export async function startTestSystem(overrides: Partial<LocalSystemOptions> = {}): Promise<LocalSystem> {
  return startLocalSystem({
    port: 0, dataDir: null, speed: 600, inventoryFile: path.resolve('examples/inventory.yaml'),
    ec2: { bootMs: 10_000, statusCheckMs: 20_000 }, seed: { days: 3 }, ...overrides,
  });
}

/**
 * examples/inventory.yaml with a one-day approval deadline for every group: at ×600 the
 * example's 60 minutes pass in 6 wall seconds, too short for a test that starts a browser.
 */
export function inventoryWithLongDeadlines(): string {
  const inventory = parse(readFileSync('examples/inventory.yaml', 'utf8')) as { groups: { approval?: Record<string, unknown> }[] };
  for (const g of inventory.groups) g.approval = { ...g.approval, timeoutMinutes: 24 * 60 };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'cleanpoint-')), 'inventory.yaml');
  writeFileSync(file, stringify(inventory));
  return file;
}

export const RANSOMWARE_FILE = path.resolve('examples/findings/ransomware-payments-db.json');

/** The example ransomware finding, re-timed to the system's virtual now and with a fresh id (a copy). */
export async function ransomwareEvent(system: LocalSystem): Promise<Record<string, unknown>> {
  const { now } = (await (await fetch(`${system.url}/local/status`)).json()) as { now: string };
  return retimeFinding(JSON.parse(readFileSync(RANSOMWARE_FILE, 'utf8')), { nowMs: Date.parse(now) }) as Record<string, unknown>;
}

/** The same finding about another machine (its instance id and its `cleanpoint:machine` tag). */
export function aboutMachine<T>(event: T, instanceId: string, machineId: string): T {
  const copy = structuredClone(event) as { detail: { resource: { instanceDetails: { instanceId: string; tags: { key: string; value: string }[] } } } };
  copy.detail.resource.instanceDetails.instanceId = instanceId;
  copy.detail.resource.instanceDetails.tags = [{ key: 'Name', value: machineId }, { key: 'cleanpoint:machine', value: machineId }];
  return copy as T;
}

/** `cleanpoint ARGV --url <system>` in process: its exit code and what it wrote. */
export async function cliAgainst(system: LocalSystem, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../../cli/main.ts');
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...argv, '--url', system.url], { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), readStdin: async () => '' });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

export async function postJson(system: LocalSystem, pathName: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${system.url}${pathName}`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

export async function getJson(system: LocalSystem, pathName: string) {
  const res = await fetch(`${system.url}${pathName}`);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

export async function until<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Everything a refused request must leave as it was: stored incidents and approvals, faults, bus and outbox. */
export async function storedState(system: LocalSystem) {
  const incidents = await system.stores.incidents.listIncidents();
  const approvals = await system.stores.approvals.listApprovals();
  return {
    incidents: incidents.map((i) => ({ id: i.incidentId, status: i.status, version: i.version })),
    approvals: approvals.map((a) => ({ id: a.approvalId, status: a.status, version: a.version, decisions: a.decisions.length })),
    audit: Object.fromEntries(await Promise.all(incidents.map(async (i) => [i.incidentId, (await system.stores.audit.list(i.incidentId)).length]))),
    faults: system.rt.sim.faults(),
    deliveries: system.rt.deliveries.length,
    outbox: system.rt.outbox.length,
    executions: system.rt.engine.executions.size,
  };
}
