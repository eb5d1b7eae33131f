import { describe, expect, it } from 'vitest';
import { fixedClock, ValidationError } from '../../domain/shared/index.ts';
import { dueSlot, nextOccurrence, nextSlot, parseSchedule, previousOccurrence, startDueDrills, type Schedule } from '../../domain/drills/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import { MemoryDrillStore } from '../../functions/shared/adapters/memory/drill-store.ts';
import { MemoryIncidentStore } from '../../functions/shared/adapters/memory/incident-store.ts';
import { DAY, demoIndex, makeDrill, MINUTE, RecordingNotifier, RecordingWorkflows, T0 } from './support.ts';

const HOUR = 60 * MINUTE;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const cron = (text: string) => parseSchedule(text) as Schedule & { kind: 'cron' };

describe('parseSchedule', () => {
  it('reads rate expressions in minutes, hours and days', () => {
    expect(parseSchedule('rate(7 days)')).toMatchObject({ kind: 'rate', everyMs: 7 * DAY });
    expect(parseSchedule('rate(1 hour)')).toMatchObject({ kind: 'rate', everyMs: HOUR });
    expect(parseSchedule('rate(30 minutes)')).toMatchObject({ kind: 'rate', everyMs: 30 * MINUTE });
  });

  it.each([
    ['rate(1 days)', /rate\(1 day\)/],
    ['rate(0 days)', /at least 1/],
    ['cron(0 3 * * * *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 3 ? * ? *)', /exactly one of day-of-month and day-of-week/],
    ['cron(61 3 ? * SUN *)', /minutes: 61 is not in 0-59/],
    ['cron(0 3 15W * ? *)', /"W".*not supported/],
    ['cron(0 3 ? * 6L *)', /"L" is not supported/],
    ['cron(0 3 ? * FUNDAY *)', /day-of-week: FUNDAY/],
    ['every sunday', /must be rate\(N unit\) or cron/],
  ])('refuses %s, saying why', (text, why) => {
    const error = (() => { try { parseSchedule(text); } catch (e) { return e; } })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(why);
  });
});

describe('cron occurrences (UTC, AWS day-of-week numbering 1 = SUN)', () => {
  it('finds the Sunday 03:00 slot before and after a Monday', () => {
    const s = cron('cron(0 3 ? * SUN *)');
    expect(iso(previousOccurrence(s, at('2025-03-03T10:00:00Z')))).toBe('2025-03-02T03:00:00.000Z');
    expect(iso(nextOccurrence(s, at('2025-03-03T10:00:00Z')))).toBe('2025-03-09T03:00:00.000Z');
    expect(iso(nextOccurrence(s, at('2025-03-02T03:00:00Z')))).toBe('2025-03-09T03:00:00.000Z');
    expect(iso(previousOccurrence(s, at('2025-03-02T03:00:00Z')))).toBe('2025-03-02T03:00:00.000Z');
  });

  it('reads "every day" as day-of-month ? and day-of-week *', () => {
    expect(iso(nextOccurrence(cron('cron(0 3 ? * * *)'), at('2025-03-03T04:00:00Z')))).toBe('2025-03-04T03:00:00.000Z');
  });

  it('agrees that 1 and SUN are the same day', () => {
    expect(iso(nextOccurrence(cron('cron(0 3 ? * 1 *)'), at('2025-03-03T00:00:00Z')))).toBe('2025-03-09T03:00:00.000Z');
  });

  it('steps, ranges and weekday ranges: every 15 minutes in office hours, Monday to Friday', () => {
    const s = cron('cron(0/15 9-17 ? * MON-FRI *)');
    expect(iso(nextOccurrence(s, at('2025-03-07T17:50:00Z')))).toBe('2025-03-10T09:00:00.000Z'); // Friday evening ▶ Monday
    expect(iso(nextOccurrence(s, at('2025-03-10T09:00:00Z')))).toBe('2025-03-10T09:15:00.000Z');
  });

  it('L is the last day of the month, leap years included', () => {
    const s = cron('cron(0 3 L * ? *)');
    expect(iso(nextOccurrence(s, at('2025-02-10T00:00:00Z')))).toBe('2025-02-28T03:00:00.000Z');
    expect(iso(nextOccurrence(s, at('2024-02-10T00:00:00Z')))).toBe('2024-02-29T03:00:00.000Z');
  });

  it('d#n is the n-th weekday of the month', () => {
    expect(iso(nextOccurrence(cron('cron(30 2 ? * MON#1 *)'), at('2025-03-02T00:00:00Z')))).toBe('2025-03-03T02:30:00.000Z');
    expect(iso(nextOccurrence(cron('cron(30 2 ? * 2#2 *)'), at('2025-03-04T00:00:00Z')))).toBe('2025-03-10T02:30:00.000Z');
  });

  it('honours month names and the year field', () => {
    expect(iso(nextOccurrence(cron('cron(0 0 1 JAN ? 2027)'), at('2025-03-01T00:00:00Z')))).toBe('2027-01-01T00:00:00.000Z');
    expect(nextOccurrence(cron('cron(0 0 1 JAN ? 2020)'), at('2025-03-01T00:00:00Z'))).toBeNull();
  });
});

describe('dueSlot: what an hourly tick starts', () => {
  const tickMs = HOUR;

  it('starts a cron drill at the first tick after its slot, once per slot', () => {
    const s = parseSchedule('cron(0 3 ? * SUN *)');
    const slot = dueSlot(s, { now: at('2025-03-02T03:40:00Z'), lastSlotMs: null, tickMs });
    expect(iso(slot)).toBe('2025-03-02T03:00:00.000Z');
    expect(dueSlot(s, { now: at('2025-03-02T04:40:00Z'), lastSlotMs: slot, tickMs })).toBeNull();
  });

  it('catches up a missed tick but not a slot that is days old', () => {
    const s = parseSchedule('cron(0 3 ? * SUN *)');
    expect(iso(dueSlot(s, { now: at('2025-03-02T04:55:00Z'), lastSlotMs: null, tickMs }))).toBe('2025-03-02T03:00:00.000Z');
    expect(dueSlot(s, { now: at('2025-03-04T12:00:00Z'), lastSlotMs: null, tickMs })).toBeNull();
  });

  it('drills a never-drilled rate group at once, then every period from the slot, without drifting by the tick', () => {
    const s = parseSchedule('rate(7 days)');
    const first = dueSlot(s, { now: T0 + 17_000, lastSlotMs: null, tickMs })!;
    expect(first).toBe(T0);
    // The ticks run 50 minutes "late" relative to the slot: still exactly seven days apart.
    expect(dueSlot(s, { now: first + 7 * DAY - 31 * MINUTE, lastSlotMs: first, tickMs })).toBeNull();
    const second = dueSlot(s, { now: first + 7 * DAY - 29 * MINUTE, lastSlotMs: first, tickMs })!;
    expect(second - first).toBe(7 * DAY);
    const third = dueSlot(s, { now: second + 7 * DAY + 50 * MINUTE, lastSlotMs: second, tickMs })!;
    expect(third - second).toBe(7 * DAY);
  });

  it('after a long pause starts one drill now, not a burst of catch-up drills', () => {
    const s = parseSchedule('rate(1 day)');
    expect(dueSlot(s, { now: T0 + 10 * DAY, lastSlotMs: T0, tickMs })).toBe(T0 + 10 * DAY);
  });

  it('tells the console when the next one starts', () => {
    expect(iso(nextSlot(parseSchedule('rate(7 days)'), T0, T0 + DAY))).toBe(iso(T0 + 7 * DAY));
    expect(iso(nextSlot(parseSchedule('cron(0 3 ? * SUN *)'), null, T0))).toBe('2025-03-09T03:00:00.000Z');
  });
});

describe('startDueDrills (the hourly tick)', () => {
  function world(now = T0) {
    const clock = fixedClock(now);
    const drills = new MemoryDrillStore();
    const incidents = new MemoryIncidentStore();
    const workflows = new RecordingWorkflows();
    const deps = { index: demoIndex(), drills, incidents, workflows, notifier: new RecordingNotifier(), clock };
    return { clock, drills, incidents, workflows, tick: () => startDueDrills(deps)({ tickMinutes: 60 }) };
  }

  it('starts the Sunday drill of payments and the never-drilled weekly crm drill, each once', async () => {
    // Prepare: Sunday 03:20, payments has cron(0 3 ? * SUN *), crm rate(7 days), intranet no schedule
    const w = world();
    // Act
    const first = await w.tick();
    w.clock.advance(HOUR);
    const second = await w.tick();
    // Assess
    expect(first).toEqual([
      { group: 'payments', action: 'started', drillId: 'drill-payments-20250302T0300', slot: '2025-03-02T03:00:00.000Z', alreadyStarted: false },
      { group: 'crm', action: 'started', drillId: 'drill-crm-20250302T0320', slot: '2025-03-02T03:20:00.000Z', alreadyStarted: false },
    ]);
    expect(w.workflows.started.map((s) => [s.machine, s.name, s.input])).toEqual([
      ['drill', 'drill-payments-20250302T0300', { action: 'run', drillId: 'drill-payments-20250302T0300', group: 'payments', point: 'latest', trigger: 'schedule', requestedBy: 'schedule' }],
      ['drill', 'drill-crm-20250302T0320', { action: 'run', drillId: 'drill-crm-20250302T0320', group: 'crm', point: 'latest', trigger: 'schedule', requestedBy: 'schedule' }],
    ]);
    expect(second.map((d) => d.action)).toEqual(['not-due', 'not-due']);
    expect(second[0]).toMatchObject({ next: '2025-03-09T03:00:00.000Z' });
    expect((await w.drills.getGroupStatus('crm'))?.lastScheduledSlot).toBe('2025-03-02T03:20:00.000Z');
  });

  it('skips a group an open incident holds, and a group whose drill is still running', async () => {
    const w = world();
    await w.incidents.createIncident({ incidentId: 'inc-00000000000000000001', status: 'failing-over', groups: ['crm'] } as Incident);
    await w.drills.createDrill(makeDrill({ drillId: 'drill-payments-earlier', status: 'running', startedAt: new Date(T0 - 30 * MINUTE).toISOString() }));

    const decisions = await w.tick();

    expect(decisions).toEqual([
      { group: 'payments', action: 'skipped', reason: 'drill drill-payments-earlier is still running' },
      { group: 'crm', action: 'skipped', reason: 'open incident inc-00000000000000000001 (failing-over)' },
    ]);
    expect(w.workflows.started).toEqual([]);
  });

  it('skips a group held by an open incident older than the newest 200 (issue 16, item 10)', async () => {
    // Prepare: crm's incident is still failing over; 250 closed incidents of payments came after it.
    const w = world();
    await w.incidents.createIncident({ incidentId: 'inc-old-open', status: 'failing-over', groups: ['crm'], createdAt: new Date(T0 - 40 * DAY).toISOString() } as Incident);
    for (let i = 0; i < 250; i++) {
      await w.incidents.createIncident({ incidentId: `inc-${i}`, status: 'closed', groups: ['payments'], createdAt: new Date(T0 - 10 * DAY + i * MINUTE).toISOString() } as Incident);
    }

    // Act
    const decisions = await w.tick();

    // Assess
    expect(decisions.find((d) => d.group === 'crm')).toEqual({ group: 'crm', action: 'skipped', reason: 'open incident inc-old-open (failing-over)' });
    expect(w.workflows.started.map((s) => s.name)).toEqual(['drill-payments-20250302T0300']);
  });

  it('starts no drill when the open-incident check cannot complete (fails closed)', async () => {
    // Prepare
    const w = world();
    w.incidents.listIncidents = async () => { throw new Error('ProvisionedThroughputExceededException'); };

    // Act / Assess
    await expect(w.tick()).rejects.toThrow(/ProvisionedThroughputExceededException/);
    expect(w.workflows.started).toEqual([]);
  });
});
