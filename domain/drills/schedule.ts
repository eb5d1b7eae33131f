import { toIso, ValidationError, type Clock } from '../shared/index.ts';
import { drillRecipients, requestDrill } from './runs.ts';
import { OPEN_STATUSES } from '../incidents/model.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import { lifecycleOf, needsAttention, type GroupLifecycle } from './lifecycle.ts';
import type { DrillStore, IncidentStore, Notifier, WorkflowEngine } from '../ports/index.ts';

/**
 * Drill schedules as the inventory writes them: EventBridge Scheduler expressions, `rate(N unit)`
 * or a six-field `cron(minutes hours day-of-month month day-of-week year)`, evaluated in UTC.
 *
 * Deployed, one scheduled function (check-drill-schedule) ticks every hour and asks, per group,
 * "is a drill due?" (dueSlot). One rule per group would need a deployment for every inventory
 * change; one tick that reads the inventory follows it at once. The price is resolution: a
 * drill starts at the first tick at or after its slot (up to an hour late with an hourly tick).
 *
 * Supported cron syntax: `*`, `?`, lists `a,b`, ranges `a-b`, steps `*\/n` and `a/n`, month
 * names JAN-DEC, weekday names SUN-SAT (1 = SUN as in AWS), `L` (last day of the month) in
 * day-of-month and `d#n` (n-th weekday of the month) in day-of-week. `W` and `nL` are refused
 * with a ValidationError naming them. As in AWS, one of day-of-month and day-of-week must be `?`.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export type Schedule =
  | { kind: 'rate'; text: string; everyMs: number }
  | { kind: 'cron'; text: string; cron: CronSpec };

interface CronSpec {
  minutes: Set<number>;
  hours: Set<number>;
  /** null: `?` (day-of-week decides). */
  daysOfMonth: { days: Set<number>; last: boolean } | null;
  months: Set<number>;
  /** null: `?` (day-of-month decides). `nth`: weekday (1-7) → occurrence in the month (1-5). */
  daysOfWeek: { days: Set<number>; nth: { day: number; n: number }[] } | null;
  years: Set<number> | null;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

export function parseSchedule(text: string, where = 'drills.schedule'): Schedule {
  const fail = (message: string): never => { throw new ValidationError('drill schedule', [{ path: where, message: `${JSON.stringify(text)}: ${message}` }]); };
  const rate = text.match(/^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/);
  if (rate) {
    const n = Number(rate[1]);
    if (n < 1) fail('the rate must be at least 1');
    const unit = rate[2]!.startsWith('minute') ? MINUTE : rate[2]!.startsWith('hour') ? HOUR : DAY;
    if ((n === 1) !== !rate[2]!.endsWith('s')) fail(`write rate(1 ${rate[2]!.replace(/s$/, '')}) and rate(N ${rate[2]!.replace(/s?$/, 's')})`);
    return { kind: 'rate', text, everyMs: n * unit };
  }
  const cron = text.match(/^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/);
  if (!cron) return fail('must be rate(N unit) or cron(minutes hours day-of-month month day-of-week year)');
  const [minutes, hours, dom, month, dow, year] = cron.slice(1) as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) fail('exactly one of day-of-month and day-of-week must be "?"');
  const field = (value: string, name: string, min: number, max: number, names: string[] = [], nameBase = 1): Set<number> => {
    const out = new Set<number>();
    for (const part of value.split(',')) {
      const m = part.match(/^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/);
      if (!m) fail(`${name}: cannot read "${part}" (supported: * ? , - / and names)`);
      const num = (s: string): number => {
        const i = names.indexOf(s.toUpperCase());
        const v = i >= 0 ? i + nameBase : /^\d+$/.test(s) ? Number(s) : NaN;
        if (!Number.isInteger(v) || v < min || v > max) fail(`${name}: ${s} is not in ${min}-${max}${names.length ? ` or ${names[0]}-${names.at(-1)}` : ''}`);
        return v;
      };
      const [range, stepText] = [m![1]!, m![2]];
      const [from, to] = range === '*' ? [min, max] : range.includes('-') ? range.split('-').map(num) as [number, number] : [num(range), stepText ? max : num(range)];
      const step = stepText ? Number(stepText) : 1;
      if (step < 1) fail(`${name}: step must be at least 1`);
      if (from > to) fail(`${name}: range ${range} runs backwards`);
      for (let v = from; v <= to; v += step) out.add(v);
    }
    return out;
  };
  let daysOfMonth: CronSpec['daysOfMonth'] = null;
  if (dom !== '?') {
    if (/W/i.test(dom)) fail('day-of-month: "W" (nearest weekday) is not supported');
    const parts = dom.split(',');
    const last = parts.includes('L');
    const rest = parts.filter((p) => p !== 'L');
    daysOfMonth = { days: rest.length ? field(rest.join(','), 'day-of-month', 1, 31) : new Set(), last };
  }
  let daysOfWeek: CronSpec['daysOfWeek'] = null;
  if (dow !== '?') {
    if (/\dL$|^L$/i.test(dow)) fail('day-of-week: "L" is not supported');
    const nth: { day: number; n: number }[] = [];
    const plain: string[] = [];
    for (const part of dow.split(',')) {
      const h = part.match(/^([A-Za-z0-9]+)#([1-5])$/);
      if (h) nth.push({ day: [...field(h[1]!, 'day-of-week', 1, 7, WEEKDAYS)][0]!, n: Number(h[2]) });
      else plain.push(part);
    }
    daysOfWeek = { days: plain.length ? field(plain.join(','), 'day-of-week', 1, 7, WEEKDAYS) : new Set(), nth };
  }
  return {
    kind: 'cron', text,
    cron: {
      minutes: field(minutes, 'minutes', 0, 59), hours: field(hours, 'hours', 0, 23), daysOfMonth,
      months: field(month, 'month', 1, 12, MONTHS), daysOfWeek, years: year === '*' ? null : field(year, 'year', 1970, 2199),
    },
  };
}

/** Does the UTC calendar day that contains `dayStartMs` match the cron's date fields? */
function dayMatches(c: CronSpec, dayStartMs: number): boolean {
  const d = new Date(dayStartMs);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + 1;
  const date = d.getUTCDate();
  if (c.years && !c.years.has(year)) return false;
  if (!c.months.has(month)) return false;
  if (c.daysOfMonth) {
    const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
    return c.daysOfMonth.days.has(date) || (c.daysOfMonth.last && date === lastDay);
  }
  const weekday = d.getUTCDay() + 1; // AWS: 1 = Sunday
  const w = c.daysOfWeek!;
  return w.days.has(weekday) || w.nth.some((x) => x.day === weekday && Math.ceil(date / 7) === x.n);
}

const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);

/** The latest cron occurrence at or before `atOrBeforeMs`, searching back at most `maxDays` days. */
export function previousOccurrence(schedule: Schedule & { kind: 'cron' }, atOrBeforeMs: number, maxDays = 400): number | null {
  const c = schedule.cron;
  const hours = sorted(c.hours).reverse();
  const minutes = sorted(c.minutes).reverse();
  let day = Math.floor(atOrBeforeMs / DAY) * DAY;
  for (let i = 0; i <= maxDays; i++, day -= DAY) {
    if (!dayMatches(c, day)) continue;
    for (const h of hours) for (const m of minutes) {
      const t = day + h * HOUR + m * MINUTE;
      if (t <= atOrBeforeMs) return t;
    }
  }
  return null;
}

/** The first cron occurrence strictly after `afterMs`, searching ahead at most `maxDays` days. */
export function nextOccurrence(schedule: Schedule & { kind: 'cron' }, afterMs: number, maxDays = 400 * 5): number | null {
  const c = schedule.cron;
  const hours = sorted(c.hours);
  const minutes = sorted(c.minutes);
  let day = Math.floor(afterMs / DAY) * DAY;
  for (let i = 0; i <= maxDays; i++, day += DAY) {
    if (!dayMatches(c, day)) continue;
    for (const h of hours) for (const m of minutes) {
      const t = day + h * HOUR + m * MINUTE;
      if (t > afterMs) return t;
    }
  }
  return null;
}

export interface DueQuery {
  now: number;
  /** The slot of the last drill this schedule started (null: never). */
  lastSlotMs: number | null;
  /** How often the tick runs: a slot counts as reached within half a tick, and missed cron slots are caught up within two. */
  tickMs: number;
}

/**
 * The slot a drill is due for now, or null. The slot (not the tick time) is what is recorded,
 * so a `rate(7 days)` schedule does not drift by the tick's lateness every week, and a drill
 * started for a slot is never started twice (the execution name is derived from the slot).
 *
 * - rate: due at lastSlot + rate (within half a tick); never drilled → due now. After a long
 *   gap (more than one period behind) the next slot is now, not a burst of catch-up drills.
 * - cron: the latest occurrence at or before now, if it is newer than the last slot and at
 *   most two ticks old (a missed tick still starts the drill; a week-old slot does not).
 */
export function dueSlot(schedule: Schedule, q: DueQuery): number | null {
  const nowMinute = Math.floor(q.now / MINUTE) * MINUTE;
  if (schedule.kind === 'rate') {
    if (q.lastSlotMs === null) return nowMinute;
    const nominal = q.lastSlotMs + schedule.everyMs;
    if (q.now + q.tickMs / 2 < nominal) return null;
    return q.now - nominal > schedule.everyMs ? nowMinute : nominal;
  }
  const prev = previousOccurrence(schedule, q.now);
  if (prev === null || q.now - prev > 2 * q.tickMs) return null;
  if (q.lastSlotMs !== null && prev <= q.lastSlotMs) return null;
  return prev;
}

/** When the next scheduled drill will start (for the console): the next slot, not the next tick. */
export function nextSlot(schedule: Schedule, lastSlotMs: number | null, now: number): number | null {
  if (schedule.kind === 'rate') return lastSlotMs === null ? now : Math.max(now, lastSlotMs + schedule.everyMs);
  return nextOccurrence(schedule, now);
}

// ---------------------------------------------------------------------------------------------
// The tick (check-drill-schedule): start due drills; once a day, tell people about overdue groups

export interface ScheduleDeps {
  index: InventoryIndex;
  drills: DrillStore;
  incidents: IncidentStore;
  workflows: WorkflowEngine;
  notifier: Notifier;
  clock: Clock;
}

export type ScheduleDecision =
  | { group: string; action: 'started'; drillId: string; slot: string; alreadyStarted: boolean }
  | { group: string; action: 'not-due'; next: string | null }
  | { group: string; action: 'skipped'; reason: string }
  | { group: string; action: 'invalid-schedule'; reason: string };

/** A drill still running after this long is not "running" for the scheduler any more (it will have timed out). */
const STALE_RUNNING_MS = 12 * HOUR;

/**
 * startDueDrills(deps)({ tickMinutes })
 *
 * For every group with `drills.schedule`: skip it while an open incident holds it or a drill
 * of it is still running; else start a drill for the due slot (execution named after the slot,
 * so two ticks, or a redelivered tick, start it once) and remember the slot. A group whose
 * expression cannot be read is reported, not fatal for the others.
 */
export function startDueDrills(deps: ScheduleDeps) {
  return async (input: { tickMinutes: number }): Promise<ScheduleDecision[]> => {
    const now = deps.clock.now();
    // Every incident, not a page of the newest: an older one may still hold a group. A failed
    // read throws, so no drill starts on this tick (fail closed; the next tick tries again).
    const incidents = await deps.incidents.listIncidents();
    const decisions: ScheduleDecision[] = [];
    for (const group of deps.index.inventory.groups) {
      const text = group.drills?.schedule;
      if (!text) continue;
      let schedule: Schedule;
      try {
        schedule = parseSchedule(text, `groups.${group.name}.drills.schedule`);
      } catch (e) {
        decisions.push({ group: group.name, action: 'invalid-schedule', reason: (e as Error).message });
        continue;
      }
      const status = await deps.drills.getGroupStatus(group.name);
      const lastSlotMs = status?.lastScheduledSlot ? Date.parse(status.lastScheduledSlot) : null;
      const slot = dueSlot(schedule, { now, lastSlotMs, tickMs: input.tickMinutes * MINUTE });
      if (slot === null) {
        const next = nextSlot(schedule, lastSlotMs, now);
        decisions.push({ group: group.name, action: 'not-due', next: next === null ? null : toIso(next) });
        continue;
      }
      const holding = incidents.find((i) => OPEN_STATUSES.includes(i.status) && i.groups.includes(group.name));
      if (holding) { decisions.push({ group: group.name, action: 'skipped', reason: `open incident ${holding.incidentId} (${holding.status})` }); continue; }
      const [latest] = await deps.drills.listDrills(group.name, { limit: 1 });
      if (latest?.status === 'running' && now - Date.parse(latest.startedAt) < STALE_RUNNING_MS) {
        decisions.push({ group: group.name, action: 'skipped', reason: `drill ${latest.drillId} is still running` });
        continue;
      }
      if (!group.networks?.test) { decisions.push({ group: group.name, action: 'skipped', reason: 'no isolated test network (networks.test)' }); continue; }
      const started = await requestDrill({ index: deps.index, workflows: deps.workflows, clock: deps.clock })({
        group: group.name, point: 'latest', trigger: 'schedule', requestedBy: 'schedule', slotMs: slot,
      });
      await deps.drills.putGroupStatus({ ...(status ?? { group: group.name }), group: group.name, lastScheduledSlot: toIso(slot), lastScheduledDrillId: started.drillId, updatedAt: toIso(now) });
      decisions.push({ group: group.name, action: 'started', drillId: started.drillId, slot: toIso(slot), alreadyStarted: started.alreadyStarted });
    }
    return decisions;
  };
}

/** The daily notice about a group is not repeated within this time (the tick may run more often). */
const NOTICE_INTERVAL_MS = 20 * HOUR;

/**
 * reportDrillLifecycle(deps)()
 *
 * Every group's lifecycle (lifecycleOf over its recent drills and the incidents); for each one
 * that is Never Tested, Test Overdue, Drill Failed or has a drill whose cleanup left resources
 * behind, one notification to its executors, at most once a day.
 */
export function reportDrillLifecycle(deps: Omit<ScheduleDeps, 'workflows'>) {
  return async (): Promise<{ group: string; state: string; notified: boolean }[]> => {
    const now = deps.clock.now();
    const incidents = await deps.incidents.listIncidents({ limit: 200 });
    const out: { group: string; state: string; notified: boolean }[] = [];
    for (const group of deps.index.inventory.groups) {
      const drills = await deps.drills.listDrills(group.name, { limit: 50 });
      const life = lifecycleOf(group, drills, incidents, now);
      let notified = false;
      if (needsAttention(life)) {
        const status = await deps.drills.getGroupStatus(group.name);
        if (!status?.lastNoticeAt || now - Date.parse(status.lastNoticeAt) >= NOTICE_INTERVAL_MS) {
          await deps.notifier.send({ kind: 'drill', subject: lifecycleSubject(life), text: lifecycleText(life), recipients: drillRecipients(group) });
          await deps.drills.putGroupStatus({ ...(status ?? { group: group.name }), group: group.name, lastNoticeAt: toIso(now), updatedAt: toIso(now) });
          notified = true;
        }
      }
      out.push({ group: group.name, state: life.state, notified });
    }
    return out;
  };
}

function lifecycleSubject(l: GroupLifecycle): string {
  if (l.cleanupIncomplete.length && l.drillState !== 'Drill Failed') return `ALARM: drills of ${l.group} left resources behind`;
  return `Drills of ${l.group}: ${l.drillState}`;
}

function lifecycleText(l: GroupLifecycle): string {
  const lines = [`${l.group} is ${l.drillState}: ${l.reason}.`];
  if (l.overdueByDays !== null) lines.push(`Overdue by ${l.overdueByDays} day(s) (a drill is due every ${l.maxDaysBetweenDrills} days).`);
  const untested = l.machines.filter((m) => m.state !== 'Tested Recently').map((m) => `${m.machineId} (${m.state})`);
  if (untested.length) lines.push(`Machines not tested recently: ${untested.join(', ')}.`);
  if (l.cleanupIncomplete.length) lines.push(`Drills whose cleanup left resources behind: ${l.cleanupIncomplete.join(', ')}.`);
  lines.push(`Run one now: cleanpoint drills run ${l.group}`);
  return lines.join('\n');
}
