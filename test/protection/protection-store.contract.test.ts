/**
 * Contract: ProtectionStore. One suite against the in-memory fake and the DynamoDB adapter on
 * an embedded dynalite (a fresh table per test): the conditional transitions that make a breach
 * announced once, the bounded history, readiness and coverage reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProtectionStore } from '../../domain/ports/index.ts';
import type { GroupReadiness, RpoSample } from '../../domain/protection/index.ts';
import { DynamoProtectionStore } from '../../functions/shared/adapters/dynamodb/protection-store.ts';
import { ensureTables } from '../../functions/shared/adapters/dynamodb/tables.ts';
import { MemoryProtectionStore } from '../../functions/shared/adapters/memory/protection-store.ts';
import { freshTableName, startDynalite, type EmbeddedDynamo } from '../helpers/dynamo.ts';
import { iso, MINUTE, T0 } from './support.ts';

const last = (ms: number, age: number | null = 10) => ({ at: iso(ms), ageMinutes: age, objectiveMinutes: 60, newestPoint: age === null ? null : { pointId: 'rp-1', capturedAt: iso(ms - age * MINUTE) } });
const sample = (ms: number, worst: number | null = 10): RpoSample => ({ at: iso(ms), worstAgeMinutes: worst, worstMachineId: 'db', objectiveMinutes: 60, machines: 2, machinesInBreach: 0 });
const readiness = (group: string, ready: boolean): GroupReadiness => ({ group, ready, checkedAt: iso(T0), items: [{ check: 'drill', status: ready ? 'pass' : 'fail', messages: ready ? [] : ['run a drill'] }], problems: ready ? [] : ['run a drill'] });

function protectionStoreContract(name: string, make: () => Promise<ProtectionStore>): void {
  describe(`ProtectionStore contract: ${name}`, () => {
    it('opens a breach once and closes it once, whoever else tries at the same time', async () => {
      const store = await make();
      const open = () => store.openRpoBreach('payments-db-1', { group: 'payments', since: iso(T0), reason: 'too old', last: last(T0, 70) });
      const [a, b] = await Promise.all([open(), open()]);
      expect([a.opened, b.opened].sort()).toEqual([false, true]);
      expect(await store.getRpoState('payments-db-1')).toMatchObject({
        machineId: 'payments-db-1', group: 'payments', inBreach: true, breachSince: iso(T0), reason: 'too old', stalled: false,
        notice: { kind: 'start', at: iso(T0), sent: false },
      });
      const close = () => store.closeRpoBreach('payments-db-1', { group: 'payments', endedAt: iso(T0 + MINUTE), last: last(T0 + MINUTE, 1) });
      const [c, d] = await Promise.all([close(), close()]);
      expect([c.closed, d.closed].sort()).toEqual([false, true]);
      const state = (await store.getRpoState('payments-db-1'))!;
      expect(state).toMatchObject({ inBreach: false, breachSince: iso(T0), breachEndedAt: iso(T0 + MINUTE), notice: { kind: 'end', sent: false } });
      expect(state).not.toHaveProperty('reason');
      expect((await store.closeRpoBreach('never-seen', { group: 'crm', endedAt: iso(T0), last: last(T0) })).closed).toBe(false);
    });

    it('records observations without touching the breach, and lists every machine', async () => {
      const store = await make();
      await store.observeRpo('crm-db-1', { group: 'crm', last: last(T0, 5) });
      await store.openRpoBreach('payments-db-1', { group: 'payments', since: iso(T0), reason: 'old', last: last(T0, 70) });
      await store.observeRpo('payments-db-1', { group: 'payments', last: last(T0 + MINUTE, 71), reason: 'older' });
      expect(await store.getRpoState('crm-db-1')).toMatchObject({ inBreach: false, stalled: false, last: last(T0, 5) });
      expect(await store.getRpoState('payments-db-1')).toMatchObject({ inBreach: true, reason: 'older', last: last(T0 + MINUTE, 71) });
      expect((await store.listRpoStates()).map((s) => s.machineId).sort()).toEqual(['crm-db-1', 'payments-db-1']);
      expect(await store.getRpoState('missing')).toBeNull();
    });

    it('keeps the latest replication stall change, whatever order the events arrive in', async () => {
      const store = await make();
      expect(await store.setReplicationStalled('crm-db-1', { group: 'crm', stalled: true, at: iso(T0 + 2 * MINUTE) })).toBe(true);
      expect(await store.setReplicationStalled('crm-db-1', { group: 'crm', stalled: false, at: iso(T0) })).toBe(false);
      expect(await store.setReplicationStalled('crm-db-1', { group: 'crm', stalled: true, at: iso(T0 + 2 * MINUTE) })).toBe(false);
      expect(await store.getRpoState('crm-db-1')).toMatchObject({ stalled: true, stalledChangedAt: iso(T0 + 2 * MINUTE), inBreach: false });
      expect(await store.setReplicationStalled('crm-db-1', { group: 'crm', stalled: false, at: iso(T0 + 3 * MINUTE) })).toBe(true);
      expect((await store.getRpoState('crm-db-1'))!.stalled).toBe(false);
    });

    it('marks a notice sent only if it is still the current one, and lets exactly one caller take over an unsent one', async () => {
      const store = await make();
      await store.openRpoBreach('db', { group: 'payments', since: iso(T0), reason: 'old', last: last(T0) });
      const claims = await Promise.all([store.claimRpoNotice('db', iso(T0), iso(T0 + 5 * MINUTE)), store.claimRpoNotice('db', iso(T0), iso(T0 + 5 * MINUTE))]);
      expect(claims.sort()).toEqual([false, true]);
      await store.markRpoNoticeSent('db', iso(T0)); // stale: the notice was re-dated
      expect((await store.getRpoState('db'))!.notice).toEqual({ kind: 'start', at: iso(T0 + 5 * MINUTE), sent: false });
      await store.markRpoNoticeSent('db', iso(T0 + 5 * MINUTE));
      expect((await store.getRpoState('db'))!.notice).toEqual({ kind: 'start', at: iso(T0 + 5 * MINUTE), sent: true });
      expect(await store.claimRpoNotice('db', iso(T0 + 5 * MINUTE), iso(T0 + 10 * MINUTE))).toBe(false);
    });

    it('appends history samples at most once per interval and keeps the newest ones', async () => {
      const store = await make();
      const opts = { keep: 3, minIntervalMs: 60 * MINUTE };
      expect(await store.appendRpoSample('payments', sample(T0), opts)).toBe(true);
      expect(await store.appendRpoSample('payments', sample(T0 + 30 * MINUTE), opts)).toBe(false);
      for (let h = 1; h <= 3; h++) expect(await store.appendRpoSample('payments', sample(T0 + h * 60 * MINUTE, h), opts)).toBe(true);
      expect((await store.getRpoHistory('payments')).map((s) => s.worstAgeMinutes)).toEqual([1, 2, 3]);
      expect(await store.getRpoHistory('crm')).toEqual([]);
    });

    it('replaces the readiness report and returns the one it replaced', async () => {
      const store = await make();
      expect(await store.putReadiness(readiness('payments', false))).toEqual({ previous: null });
      expect(await store.putReadiness(readiness('payments', true))).toEqual({ previous: readiness('payments', false) });
      expect(await store.getReadiness('payments')).toEqual(readiness('payments', true));
      expect(await store.getReadiness('crm')).toBeNull();
    });

    it('says a coverage report changed only when its fingerprint differs from the last one', async () => {
      const store = await make();
      const report = { checkedAt: iso(T0), machines: 6, taggedInstances: 6, gaps: [], pointsChecked: true, fingerprint: 'a' };
      expect(await store.recordCoverage(report)).toEqual({ changed: true, first: true });
      expect(await store.recordCoverage({ ...report, checkedAt: iso(T0 + MINUTE) })).toEqual({ changed: false, first: false });
      expect(await store.getCoverage()).toEqual({ ...report, checkedAt: iso(T0 + MINUTE) });
      expect(await store.recordCoverage({ ...report, fingerprint: 'b' })).toEqual({ changed: true, first: false });
    });
  });
}

protectionStoreContract('in memory', async () => new MemoryProtectionStore());

let dynamo: EmbeddedDynamo;
beforeAll(async () => { dynamo = await startDynalite(); });
afterAll(async () => { await dynamo?.close(); });

protectionStoreContract('DynamoDB', async () => {
  const tableName = freshTableName('protection');
  await ensureTables(dynamo.client, { state: tableName });
  return new DynamoProtectionStore({ client: dynamo.docClient, tableName });
});
