/**
 * Contract: DrillStore. One suite against the in-memory fake and the DynamoDB adapter on an
 * embedded dynalite (a fresh table per test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Drill } from '../../domain/drills/index.ts';
import { ConflictError, NotFoundError } from '../../domain/shared/index.ts';
import type { DrillStore } from '../../domain/ports/index.ts';
import { DynamoDrillStore } from '../../functions/shared/adapters/dynamodb/drill-store.ts';
import { DynamoIncidentStore } from '../../functions/shared/adapters/dynamodb/incident-store.ts';
import { ensureTables } from '../../functions/shared/adapters/dynamodb/tables.ts';
import { MemoryDrillStore } from '../../functions/shared/adapters/memory/drill-store.ts';
import { freshTableName, startDynalite, type EmbeddedDynamo } from '../helpers/dynamo.ts';
import { makeDrill, passedDrill, T0 } from './support.ts';

const thrown = async (fn: () => Promise<unknown>) => { try { await fn(); } catch (e) { return e; } return undefined; };

function drillStoreContract(name: string, make: () => Promise<DrillStore>): void {
  describe(`DrillStore contract: ${name}`, () => {
    it('reads back a created drill exactly; a second create returns the first unchanged', async () => {
      const store = await make();
      const drill = passedDrill('drill-payments-1', T0);
      expect(await store.createDrill(drill)).toEqual({ created: true, drill });
      expect(await store.getDrill('drill-payments-1')).toEqual(drill);
      expect(await store.createDrill({ ...drill, requestedBy: 'someone else' })).toEqual({ created: false, drill });
      expect(await store.getDrill('drill-missing')).toBeNull();
    });

    it('sets and removes attributes, never the identity or the start time', async () => {
      const store = await make();
      await store.createDrill(makeDrill({ drillId: 'drill-x', status: 'running', error: 'temporary' }));
      const updated = await store.updateDrill('drill-x', { status: 'finished', result: 'warn', reasons: ['no checks'], error: undefined, ...({ group: 'crm', startedAt: 'x' } as object) });
      expect(updated).toMatchObject({ drillId: 'drill-x', group: 'payments', startedAt: makeDrill({ drillId: 'y' }).startedAt, status: 'finished', result: 'warn', reasons: ['no checks'] });
      expect(updated).not.toHaveProperty('error');
      expect(await store.getDrill('drill-x')).toEqual(updated);
    });

    it('updates on a status condition, and says who won when it does not hold', async () => {
      const store = await make();
      await store.createDrill(makeDrill({ drillId: 'drill-x', status: 'finished' }));
      const error = await thrown(() => store.updateDrill('drill-x', { status: 'aborted' }, { ifStatusIn: ['running'] }));
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as Error).message).toContain('finished');
      expect((await store.getDrill('drill-x'))!.status).toBe('finished');
      expect(await thrown(() => store.updateDrill('drill-missing', { status: 'aborted' }))).toBeInstanceOf(NotFoundError);
    });

    it('lists a group\'s drills newest first, bounded, and only that group\'s', async () => {
      const store = await make();
      const at = (h: number) => new Date(T0 + h * 3_600_000).toISOString();
      for (const [id, h, group] of [['drill-a', 1, 'payments'], ['drill-c', 3, 'payments'], ['drill-b', 2, 'payments'], ['drill-crm', 4, 'crm']] as const) {
        await store.createDrill(makeDrill({ drillId: id, group, startedAt: at(h) }));
      }
      expect((await store.listDrills('payments')).map((d: Drill) => d.drillId)).toEqual(['drill-c', 'drill-b', 'drill-a']);
      expect((await store.listDrills('payments', { limit: 2 })).map((d) => d.drillId)).toEqual(['drill-c', 'drill-b']);
      expect(await store.listDrills('intranet')).toEqual([]);
    });

    it('keeps one drill status per group, replaced as a whole', async () => {
      const store = await make();
      expect(await store.getGroupStatus('payments')).toBeNull();
      const status = { group: 'payments', lastScheduledSlot: '2025-03-02T03:00:00.000Z', machines: { 'payments-db-1': { lastTestedAt: 'x', result: 'pass' as const, drillId: 'd' } }, updatedAt: 'y' };
      await store.putGroupStatus(status);
      await store.putGroupStatus({ ...status, lastNoticeAt: 'z' });
      expect(await store.getGroupStatus('payments')).toEqual({ ...status, lastNoticeAt: 'z' });
    });
  });
}

drillStoreContract('in-memory fake', async () => new MemoryDrillStore());

let dynamo: EmbeddedDynamo;
beforeAll(async () => { dynamo = await startDynalite(); });
afterAll(async () => { await dynamo?.close(); });

drillStoreContract('DynamoDB adapter (dynalite)', async () => {
  const tableName = freshTableName('drills');
  await ensureTables(dynamo.docClient, { state: tableName });
  return new DynamoDrillStore({ client: dynamo.docClient, tableName });
});

describe('DynamoDB layout', () => {
  it('keeps the group\'s drill status beside the incident lock of the same group', async () => {
    const tableName = freshTableName('drills-layout');
    await ensureTables(dynamo.docClient, { state: tableName });
    const drills = new DynamoDrillStore({ client: dynamo.docClient, tableName });
    const incidents = new DynamoIncidentStore({ client: dynamo.docClient, tableName });
    await drills.putGroupStatus({ group: 'payments', updatedAt: 'now' });
    expect(await incidents.claimGroup('payments', 'inc-1')).toBe('inc-1');
    expect(await drills.getGroupStatus('payments')).toEqual({ group: 'payments', updatedAt: 'now' });
    await incidents.releaseGroup('payments', 'inc-1');
    expect(await drills.getGroupStatus('payments')).toEqual({ group: 'payments', updatedAt: 'now' });
  });
});
