import { DeleteSnapshotCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.ts';
import type { RecoveryPoint } from '../../domain/recovery-points/index.ts';
import { approvalLink, formFields, guardDutyEvent, httpGet, httpPostForm, inventoryWithGroups, startSeededRuntime, until } from '../helpers/local-runtime.ts';

/**
 * Issue 16, item 7: snapshots deleted in EC2 (a retention policy) while the catalogue still
 * lists their points as available. Each test has a one-machine group of its own.
 */
const FALLBACK = { name: 'wiki', machineId: 'wiki-web-1', instanceId: 'i-0dd000000000a0101' };

let rt: LocalRuntime;

beforeAll(async () => {
  rt = await startSeededRuntime({ speed: 120, inventoryFile: inventoryWithGroups([FALLBACK]), ssmParameterLimit: 'off' });
}, 120_000);
afterAll(async () => { await rt?.close(); });

async function stores() {
  const { stateStores, catalogStore } = await import('../../functions/shared/wiring.ts');
  return { ...stateStores({ STATE_TABLE: rt.tables.state }, rt.platform), catalog: catalogStore({ CATALOG_TABLE: rt.tables.catalog }, rt.platform) };
}

async function pointsOf(machineId: string): Promise<RecoveryPoint[]> {
  const { catalog } = await stores();
  const out: RecoveryPoint[] = [];
  for await (const p of catalog.pointsAtOrBefore(machineId, new Date(rt.clock.now()).toISOString())) out.push(p);
  return out;
}

/** A page's text without its style sheet and tags (for failure messages). */
const textOf = (html: string) => html.replace(/<style>[^]*?<\/style>/, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 600);

describe('a failover whose chosen point lost its snapshots in EC2', () => {
  it('falls back to the next eligible point before the deciders are asked, audited, and recovers with one approval', async () => {
    // Prepare: every restorable point of the last two hours loses its snapshots in EC2 (as a
    // retention policy would delete them), with no DeleteSnapshot event: the catalogue still says available
    const since = rt.clock.now() - 2 * 60 * 60_000;
    const deleted = (await pointsOf(FALLBACK.machineId)).filter((p) => Date.parse(p.capturedAt) >= since && p.status === 'available');
    expect(deleted.length).toBeGreaterThanOrEqual(3);
    for (const p of deleted) for (const s of p.snapshots) await rt.clients.ec2.send(new DeleteSnapshotCommand({ SnapshotId: s.snapshotId }));
    const deletedIds = new Set(deleted.map((p) => p.pointId));

    // Act: a finding on the machine; the decider approves the proposal from the e-mailed link
    const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId: FALLBACK.instanceId, minutesAgo: 30 }));
    expect(delivery?.status, delivery?.error).toBe('delivered');
    const incidentId = (delivery!.result as { incidentId: string }).incidentId;
    const link = await approvalLink(rt, 'dana@example.com', incidentId);
    const page = await httpGet(rt, link);
    const approved = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
    // Without the fallback the scan before launch cannot scan the deleted snapshot: the decider is refused ("unverified").
    expect(approved.statusCode, textOf(approved.body)).toBe(200);
    const execution = await until('the incident execution', () => rt.executionFor(incidentId));
    const { approvals, audit, incidents } = await stores();
    // Without the fallback the launch stops on the deleted point and the deciders are asked again.
    const outcome = await Promise.race([
      execution.done.then((d) => `execution ${d.status}${d.error ? ` (${d.error}: ${d.cause})` : ''}`),
      until('a second approval request', async () => (await approvals.listApprovals({ incidentId })).length > 1 ? 'the deciders were asked again' : undefined, 60_000),
    ]);

    // Assess: recovered from an older point whose snapshots exist, with the one approval given
    expect(outcome).toBe('execution SUCCEEDED');
    expect((await incidents.getIncident(incidentId))?.status).toBe('recovered');
    expect(await approvals.listApprovals({ incidentId })).toHaveLength(1);
    const entries = await audit.list(incidentId);
    const selected = entries.find((e) => e.type === 'points.selected')!.data as { chosen: { machineId: string; pointId: string; capturedAt: string }[] };
    const chosen = selected.chosen.find((c) => c.machineId === FALLBACK.machineId)!;
    expect(deletedIds.has(chosen.pointId)).toBe(false);
    expect(Date.parse(chosen.capturedAt)).toBeLessThan(since);
    // Every point the selection gave up is audited with where it went and why; the last hop lands on the chosen point
    const fallbacks = entries.filter((e) => e.type === 'point.fallback').map((e) => e.data as { machineId: string; from: string; to: string | null; why: string });
    expect(fallbacks.length).toBeGreaterThanOrEqual(1);
    for (const f of fallbacks) {
      expect(deletedIds.has(f.from), f.from).toBe(true);
      expect(f.why).toMatch(/snapshot\(s\) snap-[0-9a-f]+ no longer exists/);
    }
    expect(fallbacks.at(-1)!.to).toBe(chosen.pointId);
    // The points found without their snapshots are expired in the catalogue (the next selection skips them without asking EC2)
    const now = new Map((await pointsOf(FALLBACK.machineId)).map((p) => [p.pointId, p.status]));
    for (const f of fallbacks) expect(now.get(f.from), f.from).toBe('expired');
    const launched = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } }).filter((r) => r.type === 'instance');
    expect(launched).toHaveLength(1);
  }, 90_000);
});
