/**
 * Contract: ApprovalStore. One suite, run against the in-memory fake and the DynamoDB
 * adapter on an embedded dynalite (a fresh table per test, so listings see only that test's
 * requests).
 */
import { describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/shared/index.ts';
import type { ApprovalStore } from '../../domain/ports/index.ts';
import { DynamoApprovalStore } from '../../functions/shared/adapters/dynamodb/approval-store.ts';
import { MemoryApprovalStore } from '../../functions/shared/adapters/memory/approval-store.ts';
import { embeddedDynamoBackends } from '../helpers/dynamo-backends.ts';
import { makeApproval, minutesFrom, thrown, unique } from './contract-fixtures.ts';

const decision = (personId: string): ApprovalRequest['decisions'][number] => ({
  personId, decision: 'approve', at: '2024-05-01T10:00:00.000Z', channel: 'web', source: '203.0.113.7',
});

export function approvalStoreContract(name: string, makeAdapter: () => Promise<ApprovalStore>): void {
  describe(`ApprovalStore contract: ${name}`, () => {
    it('reads back a created request exactly, task token included (server side)', async () => {
      // Prepare
      const store = await makeAdapter();
      const request = await makeApproval();
      // Act
      await store.createApproval(request);
      // Assess
      const stored = await store.getApproval(request.approvalId);
      expect(stored).toEqual(request);
      expect(stored!.taskToken).toBe(request.taskToken);
    });

    it('refuses a second create with the same id and keeps the first request', async () => {
      // Prepare
      const store = await makeAdapter();
      const request = await makeApproval();
      await store.createApproval(request);
      // Act
      const error = await thrown(() => store.createApproval({ ...request, taskToken: 'another-token' }));
      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect((await store.getApproval(request.approvalId))!.taskToken).toBe(request.taskToken);
    });

    it('returns null for a request that does not exist', async () => {
      // Prepare
      const store = await makeAdapter();
      // Act
      const found = await store.getApproval(unique('apr-missing'));
      // Assess
      expect(found).toBeNull();
    });

    it('records a decision made from the current version and increments the version', async () => {
      // Prepare
      const store = await makeAdapter();
      const request = await makeApproval();
      await store.createApproval(request);
      // Act
      const updated = await store.updateApproval(request.approvalId, 1, { decisions: [decision('alice')], groupCutoffs: { payments: '2024-05-01T08:00:00.000Z' } });
      // Assess
      const expected = { ...request, decisions: [decision('alice')], groupCutoffs: { payments: '2024-05-01T08:00:00.000Z' }, version: 2 };
      expect(updated).toEqual(expected);
      expect(await store.getApproval(request.approvalId)).toEqual(expected);
    });

    it('refuses a decision from a stale version with ConflictError and keeps the first decision', async () => {
      // Prepare
      const store = await makeAdapter();
      const request = await makeApproval();
      await store.createApproval(request);
      await store.updateApproval(request.approvalId, 1, { decisions: [decision('alice')] });
      // Act
      const error = await thrown(() => store.updateApproval(request.approvalId, 1, { decisions: [decision('bob')], status: 'approved' }));
      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect(await store.getApproval(request.approvalId)).toMatchObject({ status: 'pending', decisions: [decision('alice')], version: 2 });
    });

    it('lets exactly one of two concurrent decisions from the same version win', async () => {
      // Prepare
      const store = await makeAdapter();
      const request = await makeApproval();
      await store.createApproval(request);
      // Act
      const results = await Promise.allSettled(['alice', 'bob'].map((p) => store.updateApproval(request.approvalId, 1, { decisions: [decision(p)] })));
      // Assess
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason)).toEqual([expect.any(ConflictError)]);
      expect((await store.getApproval(request.approvalId))!.decisions).toHaveLength(1);
    });

    it('throws NotFoundError when updating a request that does not exist', async () => {
      // Prepare
      const store = await makeAdapter();
      // Act
      const error = await thrown(() => store.updateApproval(unique('apr-missing'), 1, { status: 'expired' }));
      // Assess
      expect(error).toBeInstanceOf(NotFoundError);
    });

    it('refuses changes to the approval id or the version', async () => {
      // Prepare
      const store = await makeAdapter();
      const request = await makeApproval();
      await store.createApproval(request);
      // Act
      const idChange = await thrown(() => store.updateApproval(request.approvalId, 1, { approvalId: 'x' } as Partial<ApprovalRequest>));
      const versionChange = await thrown(() => store.updateApproval(request.approvalId, 1, { version: 5 } as Partial<ApprovalRequest>));
      // Assess
      expect(idChange).toBeInstanceOf(ValidationError);
      expect(versionChange).toBeInstanceOf(ValidationError);
      expect(await store.getApproval(request.approvalId)).toEqual(request);
    });

    it('lists requests newest first, filtered by incident, by status or both, up to a limit', async () => {
      // Prepare
      const store = await makeAdapter();
      const created = minutesFrom('2024-05-01T09:00:00.000Z', 6);
      const specs: [string, ApprovalRequest['status']][] = [
        ['inc-a', 'approved'], ['inc-b', 'pending'], ['inc-a', 'pending'], ['inc-b', 'rejected'], ['inc-a', 'pending'], ['inc-c', 'expired'],
      ];
      const requests = await Promise.all(specs.map(([incidentId, status], i) => makeApproval({ incidentId, status, createdAt: created[i]! })));
      for (const r of requests) await store.createApproval(r);
      const ids = (list: ApprovalRequest[]) => list.map((r) => r.approvalId);
      const newestFirst = (...indexes: number[]) => indexes.map((i) => requests[i]!.approvalId);
      // Act
      const all = await store.listApprovals();
      const ofA = await store.listApprovals({ incidentId: 'inc-a' });
      const pending = await store.listApprovals({ status: 'pending' });
      const pendingOfA = await store.listApprovals({ incidentId: 'inc-a', status: 'pending' });
      const newestPendingOfA = await store.listApprovals({ incidentId: 'inc-a', status: 'pending', limit: 1 });
      const newestTwo = await store.listApprovals({ limit: 2 });
      // Assess
      expect(ids(all)).toEqual(newestFirst(5, 4, 3, 2, 1, 0));
      expect(all[0]).toEqual(requests[5]);
      expect(ids(ofA)).toEqual(newestFirst(4, 2, 0));
      expect(ids(pending)).toEqual(newestFirst(4, 2, 1));
      expect(ids(pendingOfA)).toEqual(newestFirst(4, 2));
      expect(ids(newestPendingOfA)).toEqual(newestFirst(4));
      expect(ids(newestTwo)).toEqual(newestFirst(5, 4));
    });

    it('finds matching requests that lie beyond the first page of newer ones', async () => {
      // Prepare
      const store = await makeAdapter();
      const created = minutesFrom('2024-05-01T00:00:00.000Z', 110);
      const old = await makeApproval({ incidentId: 'inc-old', createdAt: created[0]! });
      await store.createApproval(old);
      const newer = await Promise.all(created.slice(1).map((createdAt) => makeApproval({ incidentId: 'inc-busy', createdAt })));
      for (let i = 0; i < newer.length; i += 30) await Promise.all(newer.slice(i, i + 30).map((r) => store.createApproval(r)));
      // Act
      const found = await store.listApprovals({ incidentId: 'inc-old', limit: 5 });
      // Assess
      expect(found.map((r) => r.approvalId)).toEqual([old.approvalId]);
    });

    it('does not let callers change a stored request through objects they passed or received', async () => {
      // Prepare
      const store = await makeAdapter();
      const request = await makeApproval();
      await store.createApproval(request);
      // Act
      request.eligibleDeciders.push('mallory');
      (await store.getApproval(request.approvalId))!.decisions.push(decision('mallory'));
      // Assess
      const stored = await store.getApproval(request.approvalId);
      expect(stored!.eligibleDeciders).toEqual(['alice', 'bob']);
      expect(stored!.decisions).toEqual([]);
    });
  });
}

approvalStoreContract('MemoryApprovalStore', async () => new MemoryApprovalStore());

const backends = embeddedDynamoBackends();
for (const backend of backends.all) {
  approvalStoreContract(`DynamoApprovalStore on ${backend.name}`, async () => new DynamoApprovalStore({ client: backend.db().docClient, tableName: await backend.freshTable('state') }));
}
