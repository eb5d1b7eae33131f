/**
 * Contract: IncidentStore (incidents, finding deliveries, group claims). One suite, run
 * against the in-memory fake and the DynamoDB adapter on an embedded dynalite (a fresh table
 * per test, so listings see only that test's incidents).
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/shared/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import type { FindingRecord, IncidentStore } from '../../domain/ports/index.ts';
import { DynamoIncidentStore } from '../../functions/shared/adapters/dynamodb/incident-store.ts';
import { ensureTables } from '../../functions/shared/adapters/dynamodb/tables.ts';
import { MemoryIncidentStore } from '../../functions/shared/adapters/memory/incident-store.ts';
import { embeddedDynamoBackends } from '../helpers/dynamo-backends.ts';
import { freshTableName } from '../helpers/dynamo.ts';
import { makeDomainFinding, makeIncident, thrown, unique } from './contract-fixtures.ts';

/** The port plus the finding lookup both implementations offer (not in the port yet). */
type Store = IncidentStore & { getFindingRecord(findingId: string): Promise<FindingRecord | null> };

export function incidentStoreContract(name: string, makeAdapter: () => Promise<Store>): void {
  describe(`IncidentStore contract: ${name}`, () => {
    describe('incidents', () => {
      it('creates an incident and reads it back exactly as it was written', async () => {
        // Prepare
        const store = await makeAdapter();
        const incident = makeIncident();
        // Act
        const result = await store.createIncident(incident);
        // Assess
        expect(result).toEqual({ created: true, incident });
        expect(await store.getIncident(incident.incidentId)).toEqual(incident);
      });

      it('answers a second create of the same id with created false and the original incident', async () => {
        // Prepare
        const store = await makeAdapter();
        const original = makeIncident();
        await store.createIncident(original);
        // Act
        const second = await store.createIncident({ ...original, status: 'notified', groups: [] });
        // Assess
        expect(second).toEqual({ created: false, incident: original });
        expect(await store.getIncident(original.incidentId)).toEqual(original);
      });

      it('returns null for an incident that does not exist', async () => {
        // Prepare
        const store = await makeAdapter();
        // Act
        const found = await store.getIncident(unique('inc-missing'));
        // Assess
        expect(found).toBeNull();
      });

      it('applies an update made from the current version and increments the version', async () => {
        // Prepare
        const store = await makeAdapter();
        const incident = makeIncident();
        await store.createIncident(incident);
        // Act
        const updated = await store.updateIncident(incident.incidentId, 1, {
          status: 'awaiting-approval', updatedAt: '2024-05-01T10:00:00.000Z', findingIds: [...incident.findingIds, 'f-2'],
        });
        // Assess
        const expected = { ...incident, status: 'awaiting-approval', updatedAt: '2024-05-01T10:00:00.000Z', findingIds: [...incident.findingIds, 'f-2'], version: 2 };
        expect(updated).toEqual(expected);
        expect(await store.getIncident(incident.incidentId)).toEqual(expected);
      });

      it('refuses an update from a stale version with ConflictError and keeps the winner\'s change', async () => {
        // Prepare
        const store = await makeAdapter();
        const incident = makeIncident();
        await store.createIncident(incident);
        await store.updateIncident(incident.incidentId, 1, { status: 'awaiting-approval' });
        // Act
        const error = await thrown(() => store.updateIncident(incident.incidentId, 1, { status: 'closed' }));
        // Assess
        expect(error).toBeInstanceOf(ConflictError);
        expect(await store.getIncident(incident.incidentId)).toMatchObject({ status: 'awaiting-approval', version: 2 });
      });

      it('lets exactly one of two concurrent updates from the same version win', async () => {
        // Prepare
        const store = await makeAdapter();
        const incident = makeIncident();
        await store.createIncident(incident);
        // Act
        const results = await Promise.allSettled([
          store.updateIncident(incident.incidentId, 1, { status: 'awaiting-approval' }),
          store.updateIncident(incident.incidentId, 1, { status: 'closed' }),
        ]);
        // Assess
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost.map((r) => r.reason)).toEqual([expect.any(ConflictError)]);
        expect((await store.getIncident(incident.incidentId))!.version).toBe(2);
      });

      it('throws NotFoundError when updating an incident that does not exist', async () => {
        // Prepare
        const store = await makeAdapter();
        // Act
        const error = await thrown(() => store.updateIncident(unique('inc-missing'), 1, { status: 'closed' }));
        // Assess
        expect(error).toBeInstanceOf(NotFoundError);
      });

      it('refuses changes to the incident id or the version', async () => {
        // Prepare
        const store = await makeAdapter();
        const incident = makeIncident();
        await store.createIncident(incident);
        // Act
        const idChange = await thrown(() => store.updateIncident(incident.incidentId, 1, { incidentId: 'other' } as Partial<Incident>));
        const versionChange = await thrown(() => store.updateIncident(incident.incidentId, 1, { version: 9 } as Partial<Incident>));
        // Assess
        expect(idChange).toBeInstanceOf(ValidationError);
        expect(versionChange).toBeInstanceOf(ValidationError);
        expect(await store.getIncident(incident.incidentId)).toEqual(incident);
      });

      it('removes an optional field that an update sets to undefined', async () => {
        // Prepare
        const store = await makeAdapter();
        const incident = makeIncident();
        await store.createIncident(incident);
        // Act
        const updated = await store.updateIncident(incident.incidentId, 1, { outcome: undefined });
        // Assess
        expect(updated).not.toHaveProperty('outcome');
        expect(await store.getIncident(incident.incidentId)).not.toHaveProperty('outcome');
      });

      it('lists incidents newest first and honours the limit', async () => {
        // Prepare
        const store = await makeAdapter();
        const created = ['2024-05-01T09:00:00.000Z', '2024-05-03T09:00:00.000Z', '2024-05-02T09:00:00.000Z'];
        const incidents = created.map((createdAt) => makeIncident({ createdAt }));
        for (const incident of incidents) await store.createIncident(incident);
        // Act
        const all = await store.listIncidents();
        const newestTwo = await store.listIncidents({ limit: 2 });
        // Assess
        expect(all.map((i) => i.createdAt)).toEqual(['2024-05-03T09:00:00.000Z', '2024-05-02T09:00:00.000Z', '2024-05-01T09:00:00.000Z']);
        expect(all[0]).toEqual(incidents[1]);
        expect(newestTwo.map((i) => i.incidentId)).toEqual([incidents[1]!.incidentId, incidents[2]!.incidentId]);
      });

      it('does not let callers change a stored incident through objects they passed or received', async () => {
        // Prepare
        const store = await makeAdapter();
        const incident = makeIncident();
        const { incident: returned } = await store.createIncident(incident);
        // Act
        incident.groups.push('mutated-after-create');
        returned.machines.push('mutated-returned');
        (await store.getIncident(incident.incidentId))!.findingIds.push('mutated-read');
        // Assess
        const stored = await store.getIncident(incident.incidentId);
        expect(stored!.groups).not.toContain('mutated-after-create');
        expect(stored!.machines).not.toContain('mutated-returned');
        expect(stored!.findingIds).not.toContain('mutated-read');
      });
    });

    describe('finding deliveries', () => {
      it('records a finding as new, a redelivery as duplicate, and a later updatedAt as update', async () => {
        // Prepare
        const store = await makeAdapter();
        const findingId = unique('finding');
        const first = makeDomainFinding({ id: findingId, updatedAt: '2024-05-01T09:47:00.000Z' });
        const later = makeDomainFinding({ id: findingId, updatedAt: '2024-05-01T10:47:00.000Z' });
        // Act
        const deliveries = [
          await store.recordFinding('inc-a', first),
          await store.recordFinding('inc-a', first),
          await store.recordFinding('inc-a', later),
          await store.recordFinding('inc-a', later),
        ];
        // Assess
        expect(deliveries).toEqual(['new', 'duplicate', 'update', 'duplicate']);
        expect(await store.getFindingRecord(findingId)).toEqual({ findingId, incidentId: 'inc-a', updatedAt: '2024-05-01T10:47:00.000Z' });
      });

      it('treats a delivery with an older updatedAt as a duplicate and keeps the newer time', async () => {
        // Prepare
        const store = await makeAdapter();
        const findingId = unique('finding');
        await store.recordFinding('inc-a', makeDomainFinding({ id: findingId, updatedAt: '2024-05-01T10:00:00.000Z' }));
        // Act
        const delivery = await store.recordFinding('inc-a', makeDomainFinding({ id: findingId, updatedAt: '2024-05-01T09:59:59.000Z' }));
        // Assess
        expect(delivery).toBe('duplicate');
        expect((await store.getFindingRecord(findingId))!.updatedAt).toBe('2024-05-01T10:00:00.000Z');
      });

      it('keeps the incident a finding was first recorded under when another incident records it', async () => {
        // Prepare
        const store = await makeAdapter();
        const findingId = unique('finding');
        await store.recordFinding('inc-first', makeDomainFinding({ id: findingId, updatedAt: '2024-05-01T09:00:00.000Z' }));
        // Act
        const delivery = await store.recordFinding('inc-second', makeDomainFinding({ id: findingId, updatedAt: '2024-05-01T11:00:00.000Z' }));
        // Assess
        expect(delivery).toBe('update');
        expect((await store.getFindingRecord(findingId))!.incidentId).toBe('inc-first');
      });

      it('counts exactly one of 10 concurrent first deliveries as new', async () => {
        // Prepare
        const store = await makeAdapter();
        const finding = makeDomainFinding({ id: unique('finding') });
        // Act
        const deliveries = await Promise.all(Array.from({ length: 10 }, (_, i) => store.recordFinding(`inc-${i}`, finding)));
        // Assess
        expect(deliveries.filter((d) => d === 'new')).toHaveLength(1);
        expect(deliveries.filter((d) => d === 'duplicate')).toHaveLength(9);
        expect((await store.getFindingRecord(finding.id))!.incidentId).toBe(`inc-${deliveries.indexOf('new')}`);
      });

      it('knows nothing about a finding never recorded', async () => {
        // Prepare
        const store = await makeAdapter();
        // Act
        const record = await store.getFindingRecord(unique('finding'));
        // Assess
        expect(record).toBeNull();
      });
    });

    describe('group claims', () => {
      it('gives a free group to the first claimant, again to it, and names it to everyone else', async () => {
        // Prepare
        const store = await makeAdapter();
        const group = unique('payments');
        // Act
        const first = await store.claimGroup(group, 'inc-a');
        const again = await store.claimGroup(group, 'inc-a');
        const other = await store.claimGroup(group, 'inc-b');
        // Assess
        expect([first, again, other]).toEqual(['inc-a', 'inc-a', 'inc-a']);
      });

      it('lets only the owner release a group, after which another incident can claim it', async () => {
        // Prepare
        const store = await makeAdapter();
        const group = unique('payments');
        await store.claimGroup(group, 'inc-a');
        // Act
        await store.releaseGroup(group, 'inc-b');
        const afterForeignRelease = await store.claimGroup(group, 'inc-b');
        await store.releaseGroup(group, 'inc-a');
        const afterOwnRelease = await store.claimGroup(group, 'inc-b');
        // Assess
        expect(afterForeignRelease).toBe('inc-a');
        expect(afterOwnRelease).toBe('inc-b');
      });

      it('releases a group nobody holds without error', async () => {
        // Prepare
        const store = await makeAdapter();
        const group = unique('payments');
        // Act
        await store.releaseGroup(group, 'inc-a');
        const owner = await store.claimGroup(group, 'inc-c');
        // Assess
        expect(owner).toBe('inc-c');
      });

      it('leaves exactly one owner when 20 incidents claim a group at once', async () => {
        // Prepare
        const store = await makeAdapter();
        const group = unique('payments');
        const claimants = Array.from({ length: 20 }, (_, i) => `inc-${i}`);
        // Act
        const owners = await Promise.all(claimants.map((id) => store.claimGroup(group, id)));
        // Assess
        const distinct = new Set(owners);
        expect(distinct.size).toBe(1);
        expect(claimants).toContain(owners[0]);
        expect(await store.claimGroup(group, 'inc-late')).toBe(owners[0]);
      });
    });
  });
}

incidentStoreContract('MemoryIncidentStore', async () => new MemoryIncidentStore());

const backends = embeddedDynamoBackends();
/** dynalite, for the adapter-specific tests below. */
const dynamo = () => backends.dynalite.db();

for (const backend of backends.all) {
  incidentStoreContract(`DynamoIncidentStore on ${backend.name}`, async () => new DynamoIncidentStore({ client: backend.db().docClient, tableName: await backend.freshTable('state') }));
}

describe('DynamoIncidentStore on dynalite with a plain DynamoDBClient', () => {
  it('works when given the plain client instead of a document client', async () => {
    // Prepare
    const tableName = freshTableName('state');
    await ensureTables(dynamo().client, { state: tableName });
    const store = new DynamoIncidentStore({ client: dynamo().client, tableName });
    const incident = makeIncident({ executionArn: undefined });
    // Act
    await store.createIncident(incident);
    // Assess
    expect(await store.getIncident(incident.incidentId)).toEqual(incident);
  });
});
