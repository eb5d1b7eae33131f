import type { Drill, DrillResult } from './drill.ts';
import type { Incident, IncidentStatus } from '../incidents/model.ts';
import type { Group } from '../inventory/index.ts';
import { toIso } from '../shared/index.ts';

/**
 * The DR lifecycle of an application group and of each of its machines, as the console, the
 * CLI and the daily check show it:
 *
 *   Never Tested      no drill has finished for it yet
 *   Tested Recently   the last finished drill passed, within `drills.maxDaysBetweenDrills` (default 7)
 *   Test Overdue      the last passing drill is older than that
 *   Drill Failed      the last finished drill failed (until a later one passes)
 * and, while an incident holds the group, the incident's state instead:
 *   Failing Over · Recovered · Failover Failed · Failback Pending
 *
 * Pure: a function of the group, its drills, the incidents and the time, so it changes as the
 * clock moves past the window with nothing written (the stored drills are the facts).
 * Aborted and still-running drills do not count as tests.
 */
export const DRILL_STATES = ['Never Tested', 'Tested Recently', 'Test Overdue', 'Drill Failed'] as const;
export type DrillState = (typeof DRILL_STATES)[number];
export const INCIDENT_STATES = ['Failing Over', 'Recovered', 'Failover Failed', 'Failback Pending'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];
export type LifecycleState = DrillState | IncidentState;
/** A machine outside an incident: whether it has a clean point a failover could restore from. */
export const PROTECTION_STATES = ['Protected', 'Not Protected'] as const;
export type ProtectionState = (typeof PROTECTION_STATES)[number];
/** A machine's lifecycle label: its protection, or the state of the incident holding it. */
export type MachineLifecycleLabel = ProtectionState | IncidentState;

export const DEFAULT_MAX_DAYS_BETWEEN_DRILLS = 7;
const DAY_MS = 86_400_000;

/** The incident state a group or machine shows while an incident of this status holds it (none: not held). */
export const INCIDENT_STATE_BY_STATUS: Readonly<Partial<Record<IncidentStatus, IncidentState>>> = {
  approved: 'Failing Over', 'failing-over': 'Failing Over', recovered: 'Recovered', 'failover-failed': 'Failover Failed',
  'failback-pending': 'Failback Pending', 'failing-back': 'Failback Pending',
};

export type DrillFacts = Pick<Drill, 'drillId' | 'group' | 'status' | 'startedAt' | 'machines' | 'checks'> & Partial<Pick<Drill, 'result' | 'finishedAt' | 'error' | 'cleanup'>>;
export type IncidentFacts = Pick<Incident, 'incidentId' | 'status' | 'groups'> & Partial<Pick<Incident, 'mode' | 'updatedAt' | 'createdAt'>>;

export interface MachineLifecycle {
  machineId: string;
  state: DrillState;
  lastTestedAt: string | null;
  lastDrillId: string | null;
  /** The machine's own outcome in that drill. */
  lastResult: 'pass' | 'fail' | null;
}

export interface GroupLifecycle {
  group: string;
  state: LifecycleState;
  /** The drill state even while an incident state is shown. */
  drillState: DrillState;
  maxDaysBetweenDrills: number;
  lastDrill: { drillId: string; startedAt: string; finishedAt: string | null; result: DrillResult | null } | null;
  lastPassedAt: string | null;
  /** When the group becomes overdue (null: never tested or failed). */
  dueBy: string | null;
  overdueByDays: number | null;
  runningDrillId: string | null;
  incident: { incidentId: string; status: IncidentStatus; testMode: boolean } | null;
  /** Drills whose cleanup left resources behind (an alarm is open for each). */
  cleanupIncomplete: string[];
  machines: MachineLifecycle[];
  /** One sentence for a person. */
  reason: string;
}

const finishedAt = (d: DrillFacts) => d.finishedAt ?? d.startedAt;
const newestFirst = (a: DrillFacts, b: DrillFacts) => (finishedAt(a) < finishedAt(b) ? 1 : finishedAt(a) > finishedAt(b) ? -1 : 0);
const passed = (d: DrillFacts) => d.result === 'pass' || d.result === 'warn';

/** The machine's own outcome in a finished drill: null when the drill never got to it. */
function machineOutcome(d: DrillFacts, machineId: string): 'pass' | 'fail' | null {
  const m = d.machines.find((x) => x.machineId === machineId);
  if (!m) return null;
  if (m.error || d.checks.some((c) => c.machineId === machineId && !c.passed)) return 'fail';
  return m.readyAt ? 'pass' : null;
}

export function lifecycleOf(group: Group, drills: readonly DrillFacts[], incidents: readonly IncidentFacts[], now: number): GroupLifecycle {
  const maxDays = group.drills?.maxDaysBetweenDrills ?? DEFAULT_MAX_DAYS_BETWEEN_DRILLS;
  const mine = drills.filter((d) => d.group === group.name);
  const finished = mine.filter((d) => d.status === 'finished').sort(newestFirst);
  const last = finished[0] ?? null;
  const lastPass = finished.find(passed) ?? null;
  const windowState = (testedAt: string): DrillState => (now - Date.parse(testedAt) <= maxDays * DAY_MS ? 'Tested Recently' : 'Test Overdue');

  let drillState: DrillState;
  let reason: string;
  if (!last) {
    drillState = 'Never Tested';
    reason = `no drill of ${group.name} has finished yet`;
  } else if (!passed(last)) {
    drillState = 'Drill Failed';
    reason = `the last drill (${last.drillId}) failed${last.error ? `: ${last.error}` : ''}`;
  } else {
    drillState = windowState(finishedAt(last));
    const days = Math.floor((now - Date.parse(finishedAt(last))) / DAY_MS);
    reason = drillState === 'Tested Recently'
      ? `passed a drill ${days} day(s) ago (window ${maxDays} days)`
      : `the last passing drill was ${days} day(s) ago, more than the ${maxDays} days allowed`;
  }
  const dueByMs = lastPass && drillState !== 'Drill Failed' ? Date.parse(finishedAt(lastPass)) + maxDays * DAY_MS : null;

  const machines = group.machines.map((m): MachineLifecycle => {
    for (const d of finished) {
      const outcome = machineOutcome(d, m.id);
      if (!outcome) continue;
      return {
        machineId: m.id, state: outcome === 'fail' ? 'Drill Failed' : windowState(finishedAt(d)),
        lastTestedAt: d.startedAt, lastDrillId: d.drillId, lastResult: outcome,
      };
    }
    return { machineId: m.id, state: 'Never Tested', lastTestedAt: null, lastDrillId: null, lastResult: null };
  });

  const byTime = (i: IncidentFacts) => i.updatedAt ?? i.createdAt ?? '';
  const holding = [...incidents].filter((i) => i.groups.includes(group.name) && INCIDENT_STATE_BY_STATUS[i.status])
    .sort((a, b) => (byTime(a) < byTime(b) ? 1 : byTime(a) > byTime(b) ? -1 : 0))[0];
  const incidentState = holding ? INCIDENT_STATE_BY_STATUS[holding.status]! : null;
  const running = mine.filter((d) => d.status === 'running').sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1))[0];

  return {
    group: group.name,
    state: incidentState ?? drillState,
    drillState,
    maxDaysBetweenDrills: maxDays,
    lastDrill: last ? { drillId: last.drillId, startedAt: last.startedAt, finishedAt: last.finishedAt ?? null, result: last.result ?? null } : null,
    lastPassedAt: lastPass ? finishedAt(lastPass) : null,
    dueBy: dueByMs === null ? null : toIso(dueByMs),
    overdueByDays: dueByMs !== null && now > dueByMs ? Math.floor((now - dueByMs) / DAY_MS * 10) / 10 : null,
    runningDrillId: running?.drillId ?? null,
    incident: holding ? { incidentId: holding.incidentId, status: holding.status, testMode: holding.mode === 'test' } : null,
    cleanupIncomplete: mine.filter((d) => d.cleanup?.status === 'incomplete').map((d) => d.drillId),
    machines,
    reason: incidentState ? `incident ${holding!.incidentId} is ${holding!.status}; drills: ${reason}` : reason,
  };
}

/** Lifecycle states that the daily check tells people about. */
export function needsAttention(l: GroupLifecycle): boolean {
  return l.drillState === 'Test Overdue' || l.drillState === 'Drill Failed' || l.drillState === 'Never Tested' || l.cleanupIncomplete.length > 0;
}
