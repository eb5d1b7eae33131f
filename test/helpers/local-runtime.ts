import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseInventoryText } from '../../domain/inventory/index.ts';
import { seedDemoEstate } from '../../local/demo-estate.ts';
import { invokeHttp } from '../../local/http-invoke.ts';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime.ts';

/**
 * One local runtime per test file (handlers are module singletons, as in a Lambda container):
 * in-memory DynamoDB, the EC2 simulator, the real ASL, sped up so a boot takes milliseconds.
 */
export async function startSeededRuntime(overrides: Partial<LocalRuntimeOptions> & { infected?: Record<string, number> } = {}): Promise<LocalRuntime> {
  const inventoryFile = overrides.inventoryFile ?? path.resolve('examples/inventory.yaml');
  const rt = await startLocalRuntime({
    dataDir: null, inventoryFile, speed: 600, publicBaseUrl: 'http://127.0.0.1:8787',
    ec2: { bootMs: 30_000, statusCheckMs: 60_000 }, ...overrides,
  });
  const { DynamoRecoveryPointCatalog } = await import('../../functions/shared/adapters/dynamodb/index.ts');
  const catalog = new DynamoRecoveryPointCatalog({ client: rt.clients.document, tableName: rt.tables.catalog });
  await seedDemoEstate(parseInventoryText(readFileSync(inventoryFile, 'utf8')), rt.sim, catalog, {
    nowMs: rt.clock.now(), days: 3, infectedForMinutes: overrides.infected ?? { 'payments-db-1': 100 },
  });
  return rt;
}

/** A GuardDuty EventBridge event against one instance, first seen `minutesAgo` before now. */
export function guardDutyEvent(rt: LocalRuntime, o: { instanceId: string; type?: string; severity?: number; minutesAgo?: number; sample?: boolean; id?: string }) {
  const now = rt.clock.now();
  const first = new Date(now - (o.minutesAgo ?? 30) * 60_000).toISOString();
  return {
    source: 'aws.guardduty', 'detail-type': 'GuardDuty Finding', region: 'us-east-1', account: '111122223333',
    detail: {
      schemaVersion: '2.0', accountId: '111122223333', region: 'us-east-1', id: o.id ?? `f${Math.random().toString(16).slice(2)}`,
      type: o.type ?? 'Impact:Runtime/MaliciousCommandExecuted',
      resource: { resourceType: 'Instance', instanceDetails: { instanceId: o.instanceId, tags: [] } },
      service: { archived: false, count: 1, eventFirstSeen: first, eventLastSeen: first, additionalInfo: { sample: o.sample ?? false } },
      severity: o.severity ?? 8.5, createdAt: new Date(now - 5 * 60_000).toISOString(), updatedAt: new Date(now).toISOString(),
      title: 'Ransomware-like activity',
    },
  };
}

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v as T;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The personal approval link sent to a person for an incident's pending request (from the local outbox). */
export async function approvalLink(rt: LocalRuntime, email: string, incidentId: string): Promise<URL> {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  const approvals = stateStores({ STATE_TABLE: rt.tables.state }, rt.platform).approvals;
  const approvalId = await until(`a pending approval request for ${incidentId}`, async () =>
    (await approvals.listApprovals({ incidentId, status: 'pending' }))[0]?.approvalId);
  const msg = await until(`approval e-mail to ${email}`, () =>
    [...rt.outbox].reverse().find((m) => m.to.includes(email) && m.text.includes(`/approvals/${approvalId}?`)));
  return new URL(msg.text.match(/https?:\/\/\S+\/approvals\/\S+/)![0]);
}

export async function httpGet(rt: LocalRuntime, url: URL) {
  return invokeHttp(rt, { method: 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams) });
}

export async function httpPostForm(rt: LocalRuntime, pathName: string, fields: Record<string, string>) {
  return invokeHttp(rt, {
    method: 'POST', path: pathName, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
  });
}

/** Hidden inputs of the first form on a page that posts to `action`. */
export function formFields(html: string, decision: 'approve' | 'reject'): Record<string, string> {
  const forms = html.split('<form').slice(1);
  const form = forms.find((f) => f.includes(`name="decision" value="${decision}"`));
  if (!form) throw new Error(`no ${decision} form on the page`);
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = m[2]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  return fields;
}

/**
 * examples/inventory.yaml plus one-machine groups shaped like the intranet group (so the demo
 * estate seeds them too), every approval window a day long: requests stay pending while a
 * test looks at them. Returns the file's path.
 */
export function inventoryWithGroups(extra: { name: string; machineId: string; instanceId: string }[]): string {
  const inventory = parseYaml(readFileSync('examples/inventory.yaml', 'utf8')) as { groups: Record<string, unknown>[] };
  const intranet = inventory.groups.find((g) => g['name'] === 'intranet')!;
  for (const x of extra) inventory.groups.push({ ...structuredClone(intranet), name: x.name, machines: [{ id: x.machineId, instanceId: x.instanceId, instanceType: 't3.medium' }] });
  for (const g of inventory.groups) g['approval'] = { ...(g['approval'] as object), timeoutMinutes: 24 * 60 };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'cleanpoint-inventory-')), 'inventory.yaml');
  writeFileSync(file, stringifyYaml(inventory));
  return file;
}

/**
 * examples/inventory.yaml plus copies of one of its groups under new names, with the same
 * networks, roles, objectives and approval window. A copy's machines are named after it
 * (`payments-db-1` becomes `<name>-db-1`, group checks follow) and its instance ids start with
 * `instanceIdPrefix` instead of the original's first characters. An open incident owns its
 * groups until it closes, so tests that each need a recovered incident of a group like this
 * one get a group each. Returns the file's path.
 */
export function inventoryWithCopiesOf(groupName: string, copies: { name: string; instanceIdPrefix: string }[]): string {
  const inventory = parseYaml(readFileSync('examples/inventory.yaml', 'utf8')) as { groups: Record<string, unknown>[] };
  const original = inventory.groups.find((g) => g['name'] === groupName);
  if (!original) throw new Error(`examples/inventory.yaml has no group ${groupName}`);
  for (const copy of copies) {
    const rename = (machineId: string) => machineId.startsWith(`${groupName}-`) ? `${copy.name}-${machineId.slice(groupName.length + 1)}` : `${copy.name}-${machineId}`;
    const group = structuredClone(original);
    group['name'] = copy.name;
    group['machines'] = (group['machines'] as Record<string, unknown>[]).map((m) => ({
      ...m, id: rename(String(m['id'])), instanceId: copy.instanceIdPrefix + String(m['instanceId']).slice(copy.instanceIdPrefix.length),
    }));
    if (Array.isArray(group['checks'])) {
      group['checks'] = (group['checks'] as Record<string, unknown>[]).map((c) => Array.isArray(c['machines']) ? { ...c, machines: (c['machines'] as string[]).map(rename) } : c);
    }
    inventory.groups.push(group);
  }
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'cleanpoint-inventory-')), 'inventory.yaml');
  writeFileSync(file, stringifyYaml(inventory));
  return file;
}
