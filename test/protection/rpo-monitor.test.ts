import { describe, expect, it } from 'vitest';
import { fixedClock, ValidationError } from '../../domain/shared/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import {
  achievedRpo, monitorRpo, newestRestorablePoint, NOTICE_RETRY_MS, replicationStallChanged, rpoBadgeOf, rpoStatusOf, sampleOf, type RpoSample,
} from '../../domain/protection/index.ts';
import { MemoryProtectionStore } from '../../functions/shared/adapters/memory/protection-store.ts';
import { loadSharedFixture } from '../helpers/fixtures.ts';
import { demoIndex, iso, MINUTE, point, RecordingEvents, RecordingNotifier, T0 } from './support.ts';

const STALLED = 'eventbridge/drs/awsdocs-drs_DRS-Source-Server-Data-Replication-Stalled-Change_STALLED.json';
const NOT_STALLED = 'eventbridge/drs/awsdocs-drs_DRS-Source-Server-Data-Replication-Stalled-Change_NOT_STALLED.json';
/** The fixtures' source server. */
const SOURCE_SERVER = 's-12345678901234567';
const PAYMENTS = ['payments-db-1', 'payments-api-1', 'payments-api-2'];

describe('rpoStatusOf', () => {
  const payments = demoIndex().groupByName.get('payments')!; // RPO 60 min

  it('is within the objective while the newest restorable point is young enough', () => {
    const o = rpoStatusOf({ machine: { id: 'payments-db-1' }, group: payments, newestPoint: { pointId: 'p', capturedAt: iso(T0 - 60 * MINUTE) }, stalled: false, now: T0 });
    expect(o).toMatchObject({ ageMinutes: 60, objectiveMinutes: 60, breached: false, reason: null, at: iso(T0) });
  });

  it('is in breach once the point is older than the objective, and says how old', () => {
    const o = rpoStatusOf({ machine: { id: 'payments-db-1' }, group: payments, newestPoint: { pointId: 'p', capturedAt: iso(T0 - 61 * MINUTE) }, stalled: false, now: T0 });
    expect(o.breached).toBe(true);
    expect(o.reason).toBe('its newest restorable recovery point is 61 min old, more than the 60 min objective');
  });

  it('is in breach without any restorable point, and at once when replication is stalled', () => {
    expect(rpoStatusOf({ machine: { id: 'x' }, group: payments, newestPoint: null, stalled: false, now: T0 }).reason).toBe('it has no available, non-infected recovery point');
    const stalled = rpoStatusOf({ machine: { id: 'x' }, group: payments, newestPoint: { pointId: 'p', capturedAt: iso(T0 - MINUTE) }, stalled: true, now: T0 });
    expect(stalled).toMatchObject({ breached: true, ageMinutes: 1, reason: 'AWS Elastic Disaster Recovery reports its data replication as stalled' });
  });

  it('never breaches a group without objectives, but still reports the age', () => {
    const o = rpoStatusOf({ machine: { id: 'x' }, group: { name: 'free', objectives: undefined }, newestPoint: null, stalled: true, now: T0 });
    expect(o).toMatchObject({ objectiveMinutes: null, ageMinutes: null, breached: false });
  });
});

describe('newestRestorablePoint', () => {
  it('skips infected, quarantined and incomplete points and ignores points after the time asked', async () => {
    const catalog = new InMemoryRecoveryPointCatalog([
      point('db', T0 + MINUTE),
      point('db', T0 - 1 * MINUTE, { scan: 'infected' }),
      point('db', T0 - 2 * MINUTE, { status: 'quarantined' }),
      point('db', T0 - 3 * MINUTE, { status: 'incomplete' }),
      point('db', T0 - 4 * MINUTE, { scan: 'unscanned' }),
    ]);
    expect(await newestRestorablePoint(catalog, 'db', iso(T0))).toEqual({ pointId: `rp-db-${T0 - 4 * MINUTE}`, capturedAt: iso(T0 - 4 * MINUTE) });
    expect(await newestRestorablePoint(catalog, 'other', iso(T0))).toBeNull();
  });
});

function world(points = PAYMENTS.map((m) => point(m, T0 - 10 * MINUTE)), change?: Parameters<typeof demoIndex>[0]) {
  const index = demoIndex(change);
  const catalog = new InMemoryRecoveryPointCatalog([...points, ...['crm-db-1', 'crm-app-1', 'intranet-web-1'].map((m) => point(m, T0 - 10 * MINUTE))]);
  const store = new MemoryProtectionStore();
  const notifier = new RecordingNotifier();
  const events = new RecordingEvents();
  const clock = fixedClock(T0);
  return { index, catalog, store, notifier, events, clock, deps: { index, catalog, store, notifier, events, clock } };
}

describe('monitorRpo', () => {
  it('opens a breach when the objective passes without a new point, announces it once, and ends it once when a point arrives', async () => {
    // Prepare: payments' points stop at T0 - 10 min (objective 60 min)
    const w = world();
    const monitor = monitorRpo(w.deps);
    expect((await monitor()).started).toEqual([]);

    // Act: 51 minutes later the points are 61 minutes old
    w.clock.set(T0 + 51 * MINUTE);
    const run = await monitor();
    const again = await monitor();

    // Assess
    expect(run.started.sort()).toEqual([...PAYMENTS].sort());
    expect(again.started).toEqual([]);
    expect(w.events.published.filter((e) => e.detailType === 'RPO Breach Started').map((e) => e.detail['machineId']).sort()).toEqual([...PAYMENTS].sort());
    const alarm = w.notifier.sent.find((n) => n.subject === 'RPO breach: payments-db-1 (payments)')!;
    expect(alarm).toMatchObject({ kind: 'alarm', recipients: ['eve', 'ana'] });
    expect(alarm.text).toContain('61 min old, more than the 60 min objective');
    expect(w.notifier.sent).toHaveLength(3);
    expect((await w.store.getRpoState('payments-db-1'))!.notice).toEqual({ kind: 'start', at: iso(T0 + 51 * MINUTE), sent: true });

    // Act: a point of payments-db-1 arrives
    w.clock.set(T0 + 55 * MINUTE);
    w.catalog.put(point('payments-db-1', T0 + 54 * MINUTE));
    const healed = await monitor();
    await monitor();

    // Assess: its breach ends, once; the others stay in breach
    expect(healed.ended).toEqual(['payments-db-1']);
    expect(w.events.published.filter((e) => e.detailType === 'RPO Breach Ended')).toEqual([
      { detailType: 'RPO Breach Ended', detail: expect.objectContaining({ machineId: 'payments-db-1', since: iso(T0 + 51 * MINUTE), ageMinutes: 1 }) },
    ]);
    expect(w.notifier.sent.map((n) => n.subject)).toContain('RPO breach over: payments-db-1 (payments)');
    expect(w.notifier.sent).toHaveLength(4);
    expect((await w.store.getRpoState('payments-api-1'))!.inBreach).toBe(true);
  });

  it('re-sends a notice whose first send failed, once, after the retry interval', async () => {
    const w = world();
    w.clock.set(T0 + 60 * MINUTE);
    w.notifier.failNext = 1;
    const first = await monitorRpo(w.deps)({ machineIds: ['payments-db-1'] }).catch((e: Error) => e);
    expect(first).toBeInstanceOf(Error); // the Lambda invocation fails and is retried by EventBridge
    expect((await w.store.getRpoState('payments-db-1'))!).toMatchObject({ inBreach: true, notice: { sent: false } });

    const tooSoon = await monitorRpo(w.deps)({ machineIds: ['payments-db-1'] });
    expect(tooSoon.resent).toEqual([]);
    w.clock.advance(NOTICE_RETRY_MS);
    const later = await monitorRpo(w.deps)({ machineIds: ['payments-db-1'] });
    const after = await monitorRpo(w.deps)({ machineIds: ['payments-db-1'] });

    expect(later.resent).toEqual(['payments-db-1']);
    expect(after.resent).toEqual([]);
    expect(w.notifier.sent.map((n) => n.subject)).toEqual(['RPO breach: payments-db-1 (payments)']);
  });

  it('records one achieved-RPO sample per group per hour on full runs only', async () => {
    const w = world();
    await monitorRpo(w.deps)();
    w.clock.advance(30 * MINUTE);
    await monitorRpo(w.deps)();
    await monitorRpo(w.deps)({ machineIds: ['payments-db-1'] });
    w.clock.advance(30 * MINUTE);
    await monitorRpo(w.deps)();
    const history = await w.store.getRpoHistory('payments');
    expect(history).toEqual([
      { at: iso(T0), worstAgeMinutes: 10, worstMachineId: 'payments-db-1', objectiveMinutes: 60, machines: 3, machinesInBreach: 0 },
      { at: iso(T0 + 60 * MINUTE), worstAgeMinutes: 70, worstMachineId: 'payments-db-1', objectiveMinutes: 60, machines: 3, machinesInBreach: 3 },
    ]);
  });
});

describe('replicationStallChanged', () => {
  const withDrs = (raw: Record<string, unknown>) => {
    const groups = raw['groups'] as { machines: Record<string, unknown>[] }[];
    groups[1]!.machines[0]!['drsSourceServerId'] = SOURCE_SERVER; // crm-db-1
  };

  it('raises the breach at once when DRS reports replication stalled, and ends it when replication resumes', async () => {
    // Prepare: crm-db-1's newest point is 10 minutes old (objective 240)
    const w = world(undefined, withDrs);
    const stalled = loadSharedFixture<Record<string, unknown>>(STALLED);
    stalled['time'] = iso(T0 - MINUTE);

    // Act
    const raised = await replicationStallChanged(w.deps)(stalled);

    // Assess
    expect(raised).toMatchObject({ sourceServerId: SOURCE_SERVER, stalled: true, machineId: 'crm-db-1', applied: true });
    expect(raised.run!.started).toEqual(['crm-db-1']);
    expect(w.notifier.sent.map((n) => n.subject)).toEqual(['RPO breach: crm-db-1 (crm)']);
    expect(w.notifier.sent[0]!.text).toContain('replication as stalled');

    // A redelivery changes nothing and announces nothing.
    expect((await replicationStallChanged(w.deps)(structuredClone(stalled))).applied).toBe(false);
    expect(w.notifier.sent).toHaveLength(1);

    // Act: replication resumes
    const resumed = loadSharedFixture<Record<string, unknown>>(NOT_STALLED);
    resumed['time'] = iso(T0);
    const ended = await replicationStallChanged(w.deps)(resumed);
    expect(ended.run!.ended).toEqual(['crm-db-1']);
    expect(w.notifier.sent.map((n) => n.subject)).toEqual(['RPO breach: crm-db-1 (crm)', 'RPO breach over: crm-db-1 (crm)']);
  });

  it('ignores an older NOT_STALLED delivered after a newer STALLED', async () => {
    const w = world(undefined, withDrs);
    const stalled = { ...loadSharedFixture<Record<string, unknown>>(STALLED), time: iso(T0) };
    const stale = { ...loadSharedFixture<Record<string, unknown>>(NOT_STALLED), time: iso(T0 - 5 * MINUTE) };
    await replicationStallChanged(w.deps)(stalled);
    const result = await replicationStallChanged(w.deps)(stale);
    expect(result.applied).toBe(false);
    expect((await w.store.getRpoState('crm-db-1'))).toMatchObject({ stalled: true, inBreach: true });
  });

  it('ignores source servers that are not in the inventory and refuses malformed events', async () => {
    const w = world();
    expect(await replicationStallChanged(w.deps)(loadSharedFixture(STALLED))).toEqual({ sourceServerId: SOURCE_SERVER, stalled: true, machineId: null, applied: false, run: null });
    const bad = loadSharedFixture<Record<string, unknown>>(STALLED);
    (bad['detail'] as Record<string, unknown>)['state'] = 'MAYBE';
    await expect(replicationStallChanged(w.deps)(bad)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('sampleOf and achievedRpo', () => {
  const group = { name: 'payments', objectives: { rpoMinutes: 60, rtoMinutes: 30 } };
  const obs = (machineId: string, age: number | null) => rpoStatusOf({ machine: { id: machineId }, group, newestPoint: age === null ? null : { pointId: 'p', capturedAt: iso(T0 - age * MINUTE) }, stalled: false, now: T0 });

  it('takes the worst machine, and a machine without a point as worst of all', () => {
    expect(sampleOf(group, [obs('a', 10), obs('b', 70)], iso(T0))).toEqual({ at: iso(T0), worstAgeMinutes: 70, worstMachineId: 'b', objectiveMinutes: 60, machines: 2, machinesInBreach: 1 });
    expect(sampleOf(group, [obs('a', 10), obs('b', null), obs('c', 90)], iso(T0))).toMatchObject({ worstAgeMinutes: null, worstMachineId: 'b', machinesInBreach: 2 });
  });

  it('summarises the samples of a period for the drill report', () => {
    const s = (h: number, worst: number | null, breach = 0): RpoSample => ({ at: iso(T0 + h * 3_600_000), worstAgeMinutes: worst, worstMachineId: 'a', objectiveMinutes: 60, machines: 2, machinesInBreach: breach });
    const samples = [s(0, 20), s(1, 50), s(2, 90, 1), s(3, 10), s(9, 500, 2)];
    expect(achievedRpo('payments', samples, iso(T0), iso(T0 + 3 * 3_600_000))).toEqual({
      group: 'payments', from: iso(T0), to: iso(T0 + 3 * 3_600_000), samples: 4, worstMinutes: 90, medianMinutes: 20, withinObjectivePercent: 75, samplesInBreach: 1,
    });
    expect(achievedRpo('payments', [s(0, null, 2)], iso(T0), iso(T0)).worstMinutes).toBeNull();
    expect(achievedRpo('payments', [], iso(T0), iso(T0))).toMatchObject({ samples: 0, worstMinutes: null, withinObjectivePercent: null });
  });
});

describe('rpoBadgeOf', () => {
  it('shows a breach, a stall, a healthy machine, and a machine not checked yet', async () => {
    const w = world();
    expect(rpoBadgeOf(null)).toMatchObject({ text: 'RPO not checked', tone: 'muted' });
    await monitorRpo(w.deps)({ machineIds: ['payments-db-1'] });
    expect(rpoBadgeOf(await w.store.getRpoState('payments-db-1'))).toEqual({ text: 'RPO ok', tone: 'ok', title: `newest restorable point 10 min old, objective 60 min (checked ${iso(T0)})` });
    await w.store.setReplicationStalled('crm-db-1', { group: 'crm', stalled: true, at: iso(T0) });
    await w.store.observeRpo('crm-db-1', { group: 'crm', last: { at: iso(T0), ageMinutes: 5, objectiveMinutes: null, newestPoint: null } });
    expect(rpoBadgeOf(await w.store.getRpoState('crm-db-1'))).toMatchObject({ text: 'replication stalled', tone: 'warn' });
    w.clock.set(T0 + 60 * MINUTE);
    await monitorRpo(w.deps)({ machineIds: ['payments-db-1'] });
    expect(rpoBadgeOf(await w.store.getRpoState('payments-db-1'))).toEqual({
      text: 'RPO breach', tone: 'bad', title: `its newest restorable recovery point is 70 min old, more than the 60 min objective (since ${iso(T0 + 60 * MINUTE)}; objective 60 min)`,
    });
  });
});
