import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.ts';
import { guardDutyEvent, startSeededRuntime } from '../helpers/local-runtime.ts';

let rt: LocalRuntime;

beforeAll(async () => {
  rt = await startSeededRuntime({ inventoryFile: path.resolve('test/fixtures/inventory-fast.yaml'), infected: {}, speed: 10 });
}, 120_000);
afterAll(async () => { await rt?.close(); });

async function incidents() {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  return stateStores({ STATE_TABLE: rt.tables.state }, rt.platform).incidents.listIncidents({ limit: 100 });
}

const incidentExecutions = () => [...rt.engine.executions.values()].filter((e) => e.name.startsWith('incident-'));

describe('assess-finding under at-least-once delivery', () => {
  it('turns 50 concurrent deliveries of one finding into exactly one incident and one execution', async () => {
    // Prepare
    const event = guardDutyEvent(rt, { instanceId: 'i-0dd0000000000db01', id: 'dup0000000000000000000000000001' });

    // Act: EventBridge delivers the same event 50 times at once
    const results = await Promise.all(Array.from({ length: 50 }, () => rt.invoke('assess-finding', event))) as { incidentId: string; created: boolean; delivery: string }[];

    // Assess
    expect(new Set(results.map((r) => r.incidentId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results.filter((r) => r.delivery === 'new')).toHaveLength(1);
    expect((await incidents()).filter((i) => i.incidentId === results[0]!.incidentId)).toHaveLength(1);
    expect(incidentExecutions().filter((e) => e.name.endsWith(results[0]!.incidentId))).toHaveLength(1);
  }, 60_000);

  it('folds other findings about the same group into the open incident instead of starting a second failover', async () => {
    // Prepare: two different findings about the ledger group's other machine, while the first incident is open
    const before = incidentExecutions().length;
    const a = guardDutyEvent(rt, { instanceId: 'i-0dd000000000a0101', id: 'other000000000000000000000000001', type: 'Trojan:EC2/DNSDataExfiltration', minutesAgo: 90 });
    const b = guardDutyEvent(rt, { instanceId: 'i-0dd000000000a0101', id: 'other000000000000000000000000002', type: 'Backdoor:EC2/C&CActivity.B' });

    // Act
    const [ra, rb] = await Promise.all([rt.invoke('assess-finding', a), rt.invoke('assess-finding', b)]) as { incidentId: string; correlated: boolean }[];

    // Assess: both joined the first incident; its corruption estimate moved earlier; no new execution
    const all = await incidents();
    const open = all.find((i) => i.findingIds.includes('dup0000000000000000000000000001'))!;
    expect(ra!.incidentId).toBe(open.incidentId);
    expect(rb!.incidentId).toBe(open.incidentId);
    expect(open.findingIds).toEqual(expect.arrayContaining(['other000000000000000000000000001', 'other000000000000000000000000002']));
    expect(Date.parse(open.suspectedSince!)).toBeLessThanOrEqual(Date.parse(a.detail.service.eventFirstSeen) - 60 * 60_000);
    expect(incidentExecutions().length).toBe(before);
  }, 60_000);
});
