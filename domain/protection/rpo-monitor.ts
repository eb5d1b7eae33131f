import { mapLimit } from '../shared/index.ts';
import { z } from 'zod';
import { DRS_SOURCE_SERVER_ARN, idSchema, isIsoTimestamp, minutesBetween, parseWith, toIso, type Clock, type Notification } from '../shared/index.ts';
import { peopleInRole, type Group, type InventoryIndex, type Machine } from '../inventory/index.ts';
import type { EventPublisher, Notifier, ProtectionStore } from '../ports/index.ts';
import { ineligibility, type RecoveryPointCatalog } from '../recovery-points/model.ts';
import type { NewestPoint, RpoObservation, RpoSample, RpoState } from './rpo.ts';
export type { RpoState, RpoSample } from './rpo.ts';
export type { NewestPoint, RpoObservation } from './rpo.ts';

/**
 * RPO monitoring: per machine, how old is the newest recovery point Cleanpoint could restore
 * from (available, not infected) compared with the group's `objectives.rpoMinutes`? If a
 * disaster struck now, that age is the data the group would lose.
 *
 * A breach starts when the age passes the objective, when there is no usable point at all, or
 * at once when AWS Elastic Disaster Recovery reports the machine's replication as stalled. It
 * ends when a fresh enough point exists and replication is not stalled. Each start and each end
 * is one `RPO Breach Started` / `RPO Breach Ended` event and one notification: the state per
 * machine lives in the state table (`RPO#<machineId>`) and only the invocation whose
 * conditional write moved it announces the change.
 *
 * Groups without objectives are observed (the age is reported) but never in breach.
 */

/** The newest restorable point is looked for among at most this many points (newest first). */
export const MAX_POINTS_SCANNED = 500;
/** A notice whose send failed is re-sent by a later run, at most this often. */
export const NOTICE_RETRY_MS = 5 * 60_000;
/** Achieved-RPO history: at most one sample per group per hour, two weeks kept. */
export const HISTORY_INTERVAL_MS = 60 * 60_000;
export const HISTORY_KEEP = 24 * 14;

/** The newest point of a machine that could be restored from now (available, not infected). */
export async function newestRestorablePoint(catalog: RecoveryPointCatalog, machineId: string, atOrBefore: string): Promise<NewestPoint | null> {
  let scanned = 0;
  for await (const p of catalog.pointsAtOrBefore(machineId, atOrBefore, { pageSize: 10 })) {
    if (!ineligibility(p)) return { pointId: p.pointId, capturedAt: p.capturedAt };
    if (++scanned >= MAX_POINTS_SCANNED) break;
  }
  return null;
}

/**
 * rpoStatusOf(input)
 *
 * Pure: the RPO state of one machine at `now` from its newest restorable point and whether
 * DRS reports its replication stalled.
 */
export function rpoStatusOf(input: { machine: Pick<Machine, 'id'>; group: Pick<Group, 'name' | 'objectives'>; newestPoint: NewestPoint | null; stalled: boolean; now: number }): RpoObservation {
  const objective = input.group.objectives?.rpoMinutes ?? null;
  const age = input.newestPoint ? Math.max(0, minutesBetween(input.now, Date.parse(input.newestPoint.capturedAt))) : null;
  let reason: string | null = null;
  if (objective !== null) {
    if (input.stalled) reason = 'AWS Elastic Disaster Recovery reports its data replication as stalled';
    else if (age === null) reason = 'it has no available, non-infected recovery point';
    else if (age > objective) reason = `its newest restorable recovery point is ${formatMinutes(age)} old, more than the ${formatMinutes(objective)} objective`;
  }
  return {
    machineId: input.machine.id, group: input.group.name, objectiveMinutes: objective, newestPoint: input.newestPoint,
    ageMinutes: age, stalled: input.stalled, breached: reason !== null, reason, at: toIso(input.now),
  };
}

export function formatMinutes(m: number): string {
  if (m < 120) return `${Math.round(m)} min`;
  if (m < 48 * 60) return `${Math.round((m / 60) * 10) / 10} h`;
  return `${Math.round((m / 1440) * 10) / 10} days`;
}

export interface RpoMonitorDeps {
  index: InventoryIndex;
  catalog: RecoveryPointCatalog;
  store: ProtectionStore;
  notifier: Notifier;
  events: EventPublisher;
  clock: Clock;
  /** Parallel catalogue reads (default 8). */
  concurrency?: number;
}

export interface RpoRun {
  at: string;
  machines: (RpoObservation & { transition: 'started' | 'ended' | null })[];
  started: string[];
  ended: string[];
  /** Notices of earlier runs whose sending had failed, sent now. */
  resent: string[];
}

/**
 * monitorRpo(deps)(input)
 *
 * Input: optionally the machines to look at (default: every machine of the inventory).
 * Output: each machine's observation and the transitions this run made.
 * 1. Per machine (bounded parallelism): the newest restorable point, one descending read.
 * 2. With the stored state (stall flag), compute the observation (rpoStatusOf).
 * 3. In breach but not recorded so: open the breach (conditional write); recorded but no
 *    longer in breach: close it (conditional write). Only the invocation whose write took
 *    effect publishes the event and notifies, so a breach is announced once and its end once
 *    however many runs and events overlap. Otherwise just record the observation.
 * 4. Re-send notices an earlier run recorded but failed to send (claimed conditionally).
 * 5. On a full run, append one achieved-RPO sample per group (at most hourly, bounded list).
 */
export function monitorRpo(deps: RpoMonitorDeps) {
  return async (input: { machineIds?: string[] } = {}): Promise<RpoRun> => {
    const now = deps.clock.now();
    const at = toIso(now);
    const ids = input.machineIds ?? [...deps.index.machineById.keys()];
    const entries = ids.map((id) => deps.index.machineById.get(id)).filter((e): e is NonNullable<typeof e> => e !== undefined);
    const run: RpoRun = { at, machines: [], started: [], ended: [], resent: [] };
    const results = await mapLimit(entries, deps.concurrency ?? 8, async ({ machine, group }) => {
      const [newestPoint, state] = await Promise.all([newestRestorablePoint(deps.catalog, machine.id, at), deps.store.getRpoState(machine.id)]);
      const obs = rpoStatusOf({ machine, group, newestPoint, stalled: state?.stalled ?? false, now });
      const last = { at, ageMinutes: obs.ageMinutes, objectiveMinutes: obs.objectiveMinutes, newestPoint: obs.newestPoint };
      let transition: 'started' | 'ended' | null = null;
      if (obs.breached && !state?.inBreach) {
        const { opened } = await deps.store.openRpoBreach(machine.id, { group: group.name, since: at, reason: obs.reason!, last });
        if (opened) transition = 'started';
      } else if (!obs.breached && state?.inBreach) {
        const { closed } = await deps.store.closeRpoBreach(machine.id, { group: group.name, endedAt: at, last });
        if (closed) transition = 'ended';
      } else {
        await deps.store.observeRpo(machine.id, { group: group.name, last, ...(obs.reason ? { reason: obs.reason } : {}) });
      }
      if (transition) await announce(deps, group, obs, transition, state?.breachSince ?? null, at);
      else if (state?.notice && !state.notice.sent && now - Date.parse(state.notice.at) >= NOTICE_RETRY_MS) {
        if (await deps.store.claimRpoNotice(machine.id, state.notice.at, at)) {
          await announce(deps, group, obs, state.notice.kind === 'start' ? 'started' : 'ended', state.breachSince ?? null, at);
          run.resent.push(machine.id);
        }
      }
      return { ...obs, transition };
    });
    run.machines = results;
    run.started = results.filter((r) => r.transition === 'started').map((r) => r.machineId);
    run.ended = results.filter((r) => r.transition === 'ended').map((r) => r.machineId);
    if (!input.machineIds) {
      for (const group of deps.index.inventory.groups) {
        await deps.store.appendRpoSample(group.name, sampleOf(group, results.filter((r) => r.group === group.name), at), { keep: HISTORY_KEEP, minIntervalMs: HISTORY_INTERVAL_MS });
      }
    }
    return run;
  };
}

/** The group's achieved RPO at one moment: its worst machine. */
export function sampleOf(group: Pick<Group, 'name' | 'objectives'>, observations: readonly RpoObservation[], at: string): RpoSample {
  let worst: RpoObservation | null = null;
  for (const o of observations) {
    if (!worst || o.ageMinutes === null || (worst.ageMinutes !== null && o.ageMinutes > worst.ageMinutes)) worst = o;
    if (worst.ageMinutes === null) break;
  }
  return {
    at, worstAgeMinutes: worst?.ageMinutes ?? null, worstMachineId: worst?.machineId ?? null, objectiveMinutes: group.objectives?.rpoMinutes ?? null,
    machines: observations.length, machinesInBreach: observations.filter((o) => o.breached).length,
  };
}

/** Achieved RPO over a period, for the drill report: from the samples taken in [from, to]. */
export interface AchievedRpo {
  group: string;
  from: string;
  to: string;
  samples: number;
  /** The worst sample (null: no sample, or a machine had no restorable point at some sample). */
  worstMinutes: number | null;
  medianMinutes: number | null;
  /** Share of samples within the objective (null without an objective or samples). */
  withinObjectivePercent: number | null;
  samplesInBreach: number;
}

export function achievedRpo(group: string, samples: readonly RpoSample[], from: string, to: string): AchievedRpo {
  const inRange = samples.filter((s) => s.at >= from && s.at <= to);
  const ages = inRange.map((s) => s.worstAgeMinutes);
  const known = ages.filter((a): a is number => a !== null).sort((a, b) => a - b);
  const objective = inRange.at(-1)?.objectiveMinutes ?? null;
  const within = objective === null ? null : inRange.filter((s) => s.worstAgeMinutes !== null && s.worstAgeMinutes <= objective).length;
  return {
    group, from, to, samples: inRange.length,
    worstMinutes: inRange.length === 0 || ages.includes(null) ? null : known.at(-1)!,
    medianMinutes: known.length ? known[Math.floor((known.length - 1) / 2)]! : null,
    withinObjectivePercent: within === null || inRange.length === 0 ? null : Math.round((within / inRange.length) * 1000) / 10,
    samplesInBreach: inRange.filter((s) => s.machinesInBreach > 0).length,
  };
}

async function announce(deps: RpoMonitorDeps, group: Group, obs: RpoObservation, transition: 'started' | 'ended', since: string | null, at: string): Promise<void> {
  const detail = {
    machineId: obs.machineId, group: obs.group, objectiveMinutes: obs.objectiveMinutes, ageMinutes: obs.ageMinutes,
    newestPointAt: obs.newestPoint?.capturedAt ?? null, stalled: obs.stalled, at, ...(transition === 'started' ? { reason: obs.reason } : { since }),
  };
  await deps.events.publish([{ detailType: transition === 'started' ? 'RPO Breach Started' : 'RPO Breach Ended', detail }]);
  await deps.notifier.send(breachNotification(group, obs, transition, since));
  // Only now is the notice known to be out; a failure above leaves it pending for a later run.
  await deps.store.markRpoNoticeSent(obs.machineId, at);
}

function breachNotification(group: Group, obs: RpoObservation, transition: 'started' | 'ended', since: string | null): Notification {
  const recipients = [...new Set([...peopleInRole(group, 'executor'), ...peopleInRole(group, 'analyst')])];
  const newest = obs.newestPoint ? `${obs.newestPoint.pointId} captured ${obs.newestPoint.capturedAt}` : 'none';
  if (transition === 'started') {
    return {
      kind: 'alarm', recipients,
      subject: `RPO breach: ${obs.machineId} (${obs.group})`,
      text: [
        `${obs.machineId} of group ${obs.group} is outside its recovery point objective of ${formatMinutes(obs.objectiveMinutes ?? 0)}: ${obs.reason}.`,
        `Newest restorable recovery point: ${newest}.`,
        'If a disaster struck now, the group would lose more data than its plan allows. Check the snapshot schedule or DRS replication of this machine.',
      ].join('\n'),
    };
  }
  return {
    kind: 'alarm', recipients,
    subject: `RPO breach over: ${obs.machineId} (${obs.group})`,
    text: `${obs.machineId} of group ${obs.group} is within its recovery point objective again (newest restorable point ${obs.ageMinutes === null ? 'unknown' : `${formatMinutes(obs.ageMinutes)} old`}: ${newest})${since ? `; the breach began ${since}` : ''}.`,
  };
}

/** A status badge for the console and the approval page (tones as the console's `badge`). */
export interface Badge {
  text: string;
  tone: 'ok' | 'warn' | 'bad' | 'muted';
  /** One sentence for a tooltip. */
  title: string;
}

/** The RPO badge of one machine from its stored state (ProtectionStore.getRpoState / listRpoStates). */
export function rpoBadgeOf(state: RpoState | null | undefined): Badge {
  if (!state?.last) return { text: 'RPO not checked', tone: 'muted', title: 'the RPO monitor has not looked at this machine yet' };
  const age = state.last.ageMinutes === null ? 'no restorable point' : `newest restorable point ${formatMinutes(state.last.ageMinutes)} old`;
  const objective = state.last.objectiveMinutes === null ? 'no objective' : `objective ${formatMinutes(state.last.objectiveMinutes)}`;
  if (state.inBreach) return { text: 'RPO breach', tone: 'bad', title: `${state.reason ?? age} (since ${state.breachSince ?? 'unknown'}; ${objective})` };
  if (state.stalled) return { text: 'replication stalled', tone: 'warn', title: `DRS reports replication stalled; ${age}, ${objective}` };
  return { text: 'RPO ok', tone: 'ok', title: `${age}, ${objective} (checked ${state.last.at})` };
}

// ---------------------------------------------------------------------------------------------
// DRS "Data Replication Stalled Change"

const stalledEvent = z.looseObject({
  source: z.literal('aws.drs'),
  'detail-type': z.literal('DRS Source Server Data Replication Stalled Change'),
  time: z.string().refine(isIsoTimestamp, 'must be an ISO-8601 timestamp'),
  resources: z.array(idSchema(DRS_SOURCE_SERVER_ARN)).min(1),
  detail: z.looseObject({ state: z.enum(['STALLED', 'NOT_STALLED']) }),
});

export interface StallResult {
  sourceServerId: string;
  stalled: boolean;
  /** Null when the source server is not a machine of the inventory. */
  machineId: string | null;
  /** False when a later stall change was already recorded (out-of-order delivery). */
  applied: boolean;
  run: RpoRun | null;
}

/**
 * replicationStallChanged(deps)(event)
 *
 * A DRS "Data Replication Stalled Change" raises the breach at once (STALLED) or lets it end
 * when the points are fresh again (NOT_STALLED):
 * 1. Validate the event; find the machine by `drsSourceServerId` (unknown servers are ignored).
 * 2. Record the flag with the event's time; an older event than the one recorded changes nothing.
 * 3. Evaluate that machine now (monitorRpo for one machine), which announces any transition.
 */
export function replicationStallChanged(deps: RpoMonitorDeps) {
  return async (event: unknown): Promise<StallResult> => {
    const ev = parseWith(stalledEvent, event, 'DRS replication stalled event');
    const arn = ev.resources[0]!;
    const sourceServerId = arn.slice(arn.lastIndexOf('/') + 1);
    const stalled = ev.detail.state === 'STALLED';
    const entry = [...deps.index.machineById.values()].find((m) => m.machine.drsSourceServerId === sourceServerId);
    if (!entry) return { sourceServerId, stalled, machineId: null, applied: false, run: null };
    const applied = await deps.store.setReplicationStalled(entry.machine.id, { group: entry.group.name, stalled, at: new Date(ev.time).toISOString() });
    const run = await monitorRpo(deps)({ machineIds: [entry.machine.id] });
    return { sourceServerId, stalled, machineId: entry.machine.id, applied, run };
  };
}
