import { createHash } from 'node:crypto';
import { toIso, type Clock } from '../shared/index.ts';
import { peopleInRole, TAG, type InventoryIndex, type InstanceState } from '../inventory/index.ts';
import type { EventPublisher, Notifier, ProtectionStore, RecoveryEnvironment, RecoveryPointCatalog } from '../ports/index.ts';
import { mapLimit } from '../shared/index.ts';
import type { ObservedInstance, CoverageGapKind, CoverageGap, CoverageReport } from './coverage-report.ts';
export type { ObservedInstance, CoverageGapKind, CoverageGap, CoverageReport } from './coverage-report.ts';

/**
 * Protection coverage: is everything that should be protected in the plan, and does the plan
 * still describe machines that exist? Three kinds of gap:
 *
 *   unprotected-instance  a running (or stopped) instance tagged `cleanpoint:group` that the
 *                         inventory does not list: it would not be recovered
 *   group-mismatch        the tag names another group than the inventory does
 *   missing-instance      an inventory machine whose instance no longer exists (terminated or
 *                         deleted): the plan points at nothing
 *   no-recovery-point     an inventory machine with no recovery point at all in the catalogue
 *
 * Instances Cleanpoint launched itself (tagged `cleanpoint:incident`: recovery and drill
 * machines) are never gaps.
 */

/** The tag that says "this instance belongs to application group X". */
export const GROUP_TAG = 'cleanpoint:group';

const GONE: ReadonlySet<InstanceState> = new Set(['shutting-down', 'terminated']);

/**
 * coverageOf(index, instances, machinesWithPoints, now)
 *
 * Pure. `instances`: what EC2 answered for the tag and for the inventory's instance ids (any
 * state; terminated ones count as gone). `machinesWithPoints`: machine ids with at least one
 * recovery point, or null when the catalogue was not consulted (that gap kind is skipped).
 * Gaps are sorted by group, kind and id so the same estate always gives the same report.
 */
export function coverageOf(index: InventoryIndex, instances: readonly ObservedInstance[], machinesWithPoints: ReadonlySet<string> | null, now: number): CoverageReport {
  const gaps: CoverageGap[] = [];
  const live = new Map(instances.filter((i) => !GONE.has(i.state)).map((i) => [i.instanceId, i]));
  const tagged = [...live.values()].filter((i) => i.tags[GROUP_TAG] !== undefined && i.tags[TAG.incident] === undefined);
  for (const instance of tagged) {
    const tagGroup = instance.tags[GROUP_TAG]!;
    const listed = index.machineByInstanceId.get(instance.instanceId);
    if (!listed) {
      const known = index.groupByName.has(tagGroup);
      gaps.push({
        kind: 'unprotected-instance', group: tagGroup, instanceId: instance.instanceId, machineId: null,
        message: known
          ? `instance ${instance.instanceId} (${instance.state}) is tagged ${GROUP_TAG}=${tagGroup} but is not in the inventory, so it would not be recovered: add it to the machines of group ${tagGroup}, or remove the tag`
          : `instance ${instance.instanceId} (${instance.state}) is tagged ${GROUP_TAG}=${tagGroup}, a group the inventory does not have: add group ${tagGroup} to the inventory, or fix the tag`,
      });
    } else if (listed.group.name !== tagGroup) {
      gaps.push({
        kind: 'group-mismatch', group: listed.group.name, instanceId: instance.instanceId, machineId: listed.machine.id,
        message: `instance ${instance.instanceId} is tagged ${GROUP_TAG}=${tagGroup} but the inventory lists it as machine ${listed.machine.id} of group ${listed.group.name}: fix the tag or the inventory`,
      });
    }
  }
  for (const group of index.inventory.groups) {
    for (const machine of group.machines) {
      if (!live.has(machine.instanceId)) {
        const seen = instances.find((i) => i.instanceId === machine.instanceId);
        gaps.push({
          kind: 'missing-instance', group: group.name, instanceId: machine.instanceId, machineId: machine.id,
          message: `machine ${machine.id} of group ${group.name}: instance ${machine.instanceId} ${seen ? `is ${seen.state}` : 'does not exist'}: update its instanceId in the inventory, or remove the machine`,
        });
      }
      if (machinesWithPoints && !machinesWithPoints.has(machine.id)) {
        gaps.push({
          kind: 'no-recovery-point', group: group.name, instanceId: machine.instanceId, machineId: machine.id,
          message: `machine ${machine.id} of group ${group.name} has no recovery point at all: tag its EBS snapshots ${TAG.machine}=${machine.id} (or set drsSourceServerId) and check that snapshots are being taken`,
        });
      }
    }
  }
  const order: CoverageGapKind[] = ['unprotected-instance', 'group-mismatch', 'missing-instance', 'no-recovery-point'];
  gaps.sort((a, b) => a.group.localeCompare(b.group) || order.indexOf(a.kind) - order.indexOf(b.kind) || a.instanceId.localeCompare(b.instanceId));
  return { checkedAt: toIso(now), machines: index.machineById.size, taggedInstances: tagged.length, gaps, pointsChecked: machinesWithPoints !== null };
}

/** Same gaps (whatever the time of the check) ⇔ same fingerprint: a changed report is notified, a repeated one is not. */
export function coverageFingerprint(report: Pick<CoverageReport, 'gaps'>): string {
  const keys = report.gaps.map((g) => `${g.kind}|${g.group}|${g.instanceId}|${g.machineId ?? ''}`).sort();
  return createHash('sha256').update(keys.join('\n')).digest('hex');
}

/** Far enough in the future that "at or before" means "any point at all". */
const END_OF_TIME = '9999-12-31T23:59:59.999Z';

/** Machine ids that have at least one recovery point (whatever its state): one read per machine. */
export async function machinesWithAnyPoint(catalog: RecoveryPointCatalog, machineIds: readonly string[], concurrency = 8): Promise<Set<string>> {
  const has = await mapLimit(machineIds, concurrency, async (id) => {
    for await (const _point of catalog.pointsAtOrBefore(id, END_OF_TIME, { pageSize: 1 })) return true;
    return false;
  });
  return new Set(machineIds.filter((_, i) => has[i]));
}

export interface CoverageDeps {
  index: InventoryIndex;
  environment: Pick<RecoveryEnvironment, 'findInstances'>;
  catalog: RecoveryPointCatalog;
  store: Pick<ProtectionStore, 'recordCoverage'>;
  notifier: Notifier;
  events: EventPublisher;
  clock: Clock;
}

export interface CoverageRun {
  report: CoverageReport;
  /** The gaps differ from the last recorded check (and so were notified). */
  changed: boolean;
  notified: boolean;
}

/**
 * checkCoverage(deps)()
 *
 * Input: none (the whole estate). Output: the report, and whether it was news.
 * 1. Ask EC2 for the instances tagged `cleanpoint:group` and for the inventory's instance ids.
 * 2. Ask the catalogue, per machine, whether it has any recovery point.
 * 3. Build the report (coverageOf).
 * 4. Record it; the store's conditional write says whether its gaps differ from the last
 *    report. Scheduled runs and instance state-change events run this concurrently and
 *    EventBridge delivers at least once: only the run that records a change notifies, so the
 *    same gaps are announced once (and their disappearance once).
 * 5. On a change: a `Protection Coverage Changed` event and a notification to the executors
 *    of the groups concerned (the configured channel when a group is unknown). A first check
 *    that finds no gap is recorded silently.
 */
export function checkCoverage(deps: CoverageDeps) {
  return async (): Promise<CoverageRun> => {
    const now = deps.clock.now();
    const instanceIds = [...deps.index.machineByInstanceId.keys()];
    const [instances, withPoints] = await Promise.all([
      deps.environment.findInstances({ tagKey: GROUP_TAG, instanceIds }),
      machinesWithAnyPoint(deps.catalog, [...deps.index.machineById.keys()]),
    ]);
    const report = coverageOf(deps.index, instances, withPoints, now);
    const fingerprint = coverageFingerprint(report);
    const { changed, first } = await deps.store.recordCoverage({ ...report, fingerprint });
    // Nothing to announce: the same gaps as last time, or a first check that found none.
    if (!changed || (first && report.gaps.length === 0)) return { report, changed, notified: false };
    await deps.events.publish([{
      detailType: 'Protection Coverage Changed',
      detail: { checkedAt: report.checkedAt, gaps: report.gaps.length, byKind: countByKind(report.gaps), groups: [...new Set(report.gaps.map((g) => g.group))] },
    }]);
    await deps.notifier.send(coverageNotification(deps.index, report));
    return { report, changed, notified: true };
  };
}

function countByKind(gaps: readonly CoverageGap[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of gaps) out[g.kind] = (out[g.kind] ?? 0) + 1;
  return out;
}

function coverageNotification(index: InventoryIndex, report: CoverageReport) {
  const groups = [...new Set(report.gaps.map((g) => g.group))];
  const recipients = [...new Set(groups.flatMap((name) => {
    const group = index.groupByName.get(name);
    return group ? peopleInRole(group, 'executor') : [];
  }))];
  if (report.gaps.length === 0) {
    return { kind: 'alarm' as const, subject: 'Protection coverage: no gaps left', text: `Every inventory machine exists and has recovery points, and every tagged instance is in the inventory (checked ${report.checkedAt}).`, recipients };
  }
  return {
    kind: 'alarm' as const,
    subject: `Protection coverage: ${report.gaps.length} gap(s) in ${groups.join(', ')}`,
    text: [`Checked ${report.checkedAt}:`, ...report.gaps.slice(0, 50).map((g) => `- ${g.message}`), ...(report.gaps.length > 50 ? [`... and ${report.gaps.length - 50} more`] : [])].join('\n'),
    recipients,
  };
}

/** Text for the CLI and logs. */
export function renderCoverage(report: CoverageReport): string {
  const lines = [`Coverage checked ${report.checkedAt}: ${report.machines} inventory machine(s), ${report.taggedInstances} instance(s) tagged ${GROUP_TAG}`];
  if (!report.pointsChecked) lines.push('(the recovery point catalogue was not checked)');
  if (report.gaps.length === 0) lines.push('No gaps: every machine exists and every tagged instance is in the inventory.');
  for (const g of report.gaps) lines.push(`  ${g.kind.padEnd(20)} ${g.message}`);
  return lines.join('\n');
}
