import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../domain/shared/index.ts';
import { lifecycleOf, reportDrillLifecycle } from '../../domain/drills/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import { MemoryDrillStore } from '../../functions/shared/adapters/memory/drill-store.ts';
import { MemoryIncidentStore } from '../../functions/shared/adapters/memory/incident-store.ts';
import { DAY, demoIndex, makeDrill, MINUTE, passedDrill, RecordingNotifier, T0 } from './support.ts';

const index = demoIndex();
const payments = index.groupByName.get('payments')!;
const crm = index.groupByName.get('crm')!;

describe('lifecycleOf', () => {
  it('is Never Tested before any drill finished, machine by machine too', () => {
    const life = lifecycleOf(payments, [], [], T0);
    expect(life).toMatchObject({ state: 'Never Tested', drillState: 'Never Tested', lastDrill: null, lastPassedAt: null, dueBy: null, maxDaysBetweenDrills: 7 });
    expect(life.machines.map((m) => m.state)).toEqual(['Never Tested', 'Never Tested', 'Never Tested']);
  });

  it('is Tested Recently within maxDaysBetweenDrills of a passing drill and Test Overdue once the clock moves past it', () => {
    // Prepare: a passing drill finished at T0 + 10 min; the clock is injected
    const clock = fixedClock(T0);
    const drills = [passedDrill('drill-payments-1', T0)];
    const finished = T0 + 10 * MINUTE;

    // Act + Assess, as time passes
    clock.set(finished + DAY);
    expect(lifecycleOf(payments, drills, [], clock.now())).toMatchObject({ state: 'Tested Recently', dueBy: new Date(finished + 7 * DAY).toISOString(), overdueByDays: null });
    clock.set(finished + 7 * DAY);
    expect(lifecycleOf(payments, drills, [], clock.now()).state).toBe('Tested Recently');
    clock.advance(1);
    const overdue = lifecycleOf(payments, drills, [], clock.now());
    expect(overdue.state).toBe('Test Overdue');
    expect(overdue.machines.map((m) => m.state)).toEqual(['Test Overdue', 'Test Overdue', 'Test Overdue']);
    clock.set(finished + 9.5 * DAY);
    expect(lifecycleOf(payments, drills, [], clock.now()).overdueByDays).toBe(2.5);
  });

  it('uses each group\'s own window (crm allows 14 days)', () => {
    const drills = [passedDrill('drill-crm-1', T0, 'crm', ['crm-db-1', 'crm-app-1'])];
    expect(lifecycleOf(crm, drills, [], T0 + 10 * DAY).state).toBe('Tested Recently');
    expect(lifecycleOf(crm, drills, [], T0 + 15 * DAY).state).toBe('Test Overdue');
  });

  it('is Drill Failed when the last finished drill failed, even after an earlier pass, and names the failing machine', () => {
    const earlier = passedDrill('drill-payments-1', T0);
    const failed = passedDrill('drill-payments-2', T0 + DAY);
    failed.result = 'fail';
    failed.error = 'acceptance checks failed';
    failed.checks = [{ name: 'api-health', type: 'http', machineId: 'payments-api-1', instanceId: 'i-1', runnerMachineId: 'payments-api-2', passed: false, detail: 'HTTP 503', attempts: 12, startedAt: '', finishedAt: '', durationSeconds: 60, timeoutSeconds: 60 }];

    const life = lifecycleOf(payments, [failed, earlier], [], T0 + 2 * DAY);

    expect(life.state).toBe('Drill Failed');
    expect(life.reason).toContain('acceptance checks failed');
    expect(life.dueBy).toBeNull();
    expect(Object.fromEntries(life.machines.map((m) => [m.machineId, [m.state, m.lastDrillId]]))).toEqual({
      'payments-db-1': ['Tested Recently', 'drill-payments-2'],
      'payments-api-1': ['Drill Failed', 'drill-payments-2'],
      'payments-api-2': ['Tested Recently', 'drill-payments-2'],
    });
    // A later pass clears it.
    expect(lifecycleOf(payments, [passedDrill('drill-payments-3', T0 + 3 * DAY), failed, earlier], [], T0 + 4 * DAY).state).toBe('Tested Recently');
  });

  it('does not count aborted or running drills as tests, but shows the running one and drills that left resources', () => {
    const aborted = makeDrill({ drillId: 'drill-payments-a', status: 'aborted', result: 'fail', cleanup: { status: 'incomplete', at: '', terminated: [], deregistered: [], remaining: ['instance i-1'] } });
    const running = makeDrill({ drillId: 'drill-payments-r', status: 'running', startedAt: new Date(T0 + DAY).toISOString() });

    const life = lifecycleOf(payments, [running, aborted], [], T0 + DAY);

    expect(life).toMatchObject({ state: 'Never Tested', runningDrillId: 'drill-payments-r', cleanupIncomplete: ['drill-payments-a'] });
  });

  it('shows the incident state while an incident holds the group, and keeps the drill state beside it', () => {
    const incidents = [
      { incidentId: 'inc-old', status: 'closed', groups: ['payments'], updatedAt: '2025-03-01T00:00:00Z' },
      { incidentId: 'inc-now', status: 'failing-over', groups: ['payments'], mode: 'recovery', updatedAt: '2025-03-02T05:00:00Z' },
      { incidentId: 'inc-crm', status: 'recovered', groups: ['crm'], updatedAt: '2025-03-02T05:00:00Z' },
    ] as Incident[];

    const life = lifecycleOf(payments, [passedDrill('drill-payments-1', T0)], incidents, T0 + DAY);

    expect(life).toMatchObject({ state: 'Failing Over', drillState: 'Tested Recently', incident: { incidentId: 'inc-now', status: 'failing-over', testMode: false } });
    expect(lifecycleOf(crm, [], incidents, T0).state).toBe('Recovered');
  });
});

describe('reportDrillLifecycle (the daily check)', () => {
  it('tells the executors about groups never tested, overdue or failed, at most once a day, as the clock moves', async () => {
    // Prepare: payments passed a drill at T0; crm and intranet never drilled
    const clock = fixedClock(T0 + DAY);
    const drills = new MemoryDrillStore();
    await drills.createDrill(passedDrill('drill-payments-1', T0));
    const notifier = new RecordingNotifier();
    const report = reportDrillLifecycle({ index, drills, incidents: new MemoryIncidentStore(), notifier, clock });

    // Act: day 1
    const day1 = await report();
    // Assess: payments is fine; the never-tested groups are reported to their executors (intranet has only a decider)
    expect(day1).toEqual([
      { group: 'payments', state: 'Tested Recently', notified: false },
      { group: 'crm', state: 'Never Tested', notified: true },
      { group: 'intranet', state: 'Never Tested', notified: true },
    ]);
    expect(notifier.sent.map((n) => [n.subject, n.recipients])).toEqual([
      ['Drills of crm: Never Tested', ['eve']],
      ['Drills of intranet: Never Tested', ['dev']],
    ]);

    // Act: later the same day, nothing is repeated
    clock.advance(6 * 60 * MINUTE);
    expect((await report()).some((r) => r.notified)).toBe(false);

    // Act: eight days after the drill payments is overdue
    clock.set(T0 + 8 * DAY);
    const day8 = await report();
    expect(day8[0]).toEqual({ group: 'payments', state: 'Test Overdue', notified: true });
    const notice = notifier.sent.find((n) => n.subject === 'Drills of payments: Test Overdue')!;
    expect(notice.recipients).toEqual(['eve']);
    expect(notice.text).toMatch(/Overdue by 0\.\d day\(s\)/);
    expect(notice.text).toContain('cleanpoint drills run payments');
  });
});
