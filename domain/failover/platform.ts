import type { InventoryIndex, Machine } from '../inventory/index.ts';
import {
  instanceTypeMismatch, needsLicensedBase, platformLabel, type Architecture, type MachineFacts,
} from '../recovery-points/machine-facts.ts';
import type { Blocker, ChosenPoint, Selection } from '../recovery-points/model.ts';

/**
 * How one machine comes back on EC2 (docs/platforms.md):
 * - `register-image`: RegisterImage over the point's snapshots with the captured architecture,
 *   boot mode, TPM, ENA and device names, then RunInstances. Linux/UNIX without a billing code,
 *   and every point recorded before facts were captured (the old behaviour: x86_64, first
 *   snapshot as root; only Linux/x86 machines were protected then).
 * - `root-swap`: Windows and billing-coded Linux (RHEL, SLES, Marketplace). RunInstances from an
 *   AMI of the same platform (the inventory's baseImageId, else the AMI the source was launched
 *   from) so that the instance carries the platform and its billing code, stop it, replace its
 *   root volume and data volumes by volumes created from the point's snapshots at the original
 *   device names, start it. CreateReplaceRootVolumeTask cannot do this: it restores only from
 *   snapshots taken of that instance's own root volume.
 */
export type RestorePlan =
  | { path: 'register-image' }
  | { path: 'root-swap'; baseImageId: string; rootDeviceName: string };

/** The default instance type of a machine with no instanceType in the inventory, by architecture. */
export const DEFAULT_INSTANCE_TYPES: Record<Architecture, string> = { x86_64: 't3.medium', arm64: 't4g.medium', i386: 't3.medium' };

export function defaultInstanceType(facts: Pick<MachineFacts, 'architecture'> | undefined): string {
  return DEFAULT_INSTANCE_TYPES[facts?.architecture ?? 'x86_64'];
}

/**
 * The restore plan of a chosen point, or why no available path can restore it (a blocker).
 * Checked before anyone approves: an instance type of the other architecture (RunInstances
 * refuses it), a legacy-BIOS machine on a UEFI-only Graviton type (it does not boot), a Windows
 * or billing-coded machine without an AMI of its platform to start from.
 */
export function restorePlanFor(machine: Pick<Machine, 'instanceType' | 'fallbackInstanceTypes' | 'baseImageId'>, facts: MachineFacts | undefined): RestorePlan | { blocked: string } {
  if (!facts) return { path: 'register-image' };
  for (const type of [machine.instanceType, ...machine.fallbackInstanceTypes].filter((t): t is string => !!t)) {
    const why = instanceTypeMismatch(type, facts);
    if (why) return { blocked: `${why}: the inventory's instance types must match the machine (${platformLabel(facts)})` };
  }
  if (!needsLicensedBase(facts)) return { path: 'register-image' };
  const baseImageId = machine.baseImageId ?? facts.imageId;
  if (!baseImageId) {
    return {
      blocked: `${platformLabel(facts)} cannot be restored from snapshots alone (an AMI registered from a Windows snapshot does not launch; a billing-coded one loses its code) ` +
        'and neither the source\'s own AMI nor a baseImageId is known: set baseImageId in the inventory',
    };
  }
  return { path: 'root-swap', baseImageId, rootDeviceName: facts.rootDeviceName };
}

/**
 * withPlatformBlockers(index)(selection): the chosen machines no available path can restore move
 * to the blockers, named with the reason, so the approval page and `cleanpoint plan` show them
 * before anyone approves (and a drill fails before it launches anything).
 */
export function withPlatformBlockers(index: InventoryIndex) {
  return (selection: Selection): Selection => {
    const machines: ChosenPoint[] = [];
    const blockers: Blocker[] = [...selection.blockers];
    for (const chosen of selection.machines) {
      const entry = index.machineById.get(chosen.machineId);
      const plan = entry ? restorePlanFor(entry.machine, chosen.machine) : { path: 'register-image' as const };
      if ('blocked' in plan) {
        blockers.push({ machineId: chosen.machineId, group: chosen.group, reason: `point ${chosen.pointId}: ${plan.blocked}`, skipped: chosen.skipped, skippedCount: chosen.skippedCount });
      } else {
        machines.push(chosen);
      }
    }
    if (blockers.length === selection.blockers.length) return selection;
    const groups = selection.groups.map((g) => ({
      ...g,
      chosen: machines.filter((m) => m.group === g.group).length,
      blocked: blockers.filter((b) => b.group === g.group).length,
    }));
    return { machines, blockers, groups };
  };
}

/**
 * The platform part of a planned machine: its facts and restore plan. A machine no path can
 * restore is a problem of the plan (withPlatformBlockers normally moved it to the blockers first).
 */
export function plannedPlatform(chosen: Pick<ChosenPoint, 'machineId' | 'pointId' | 'machine'>, machine: Pick<Machine, 'instanceType' | 'fallbackInstanceTypes' | 'baseImageId'>, problems: string[]): { machine?: MachineFacts; restore?: RestorePlan } {
  const plan = restorePlanFor(machine, chosen.machine);
  if ('blocked' in plan) {
    problems.push(`${chosen.machineId}: point ${chosen.pointId}: ${plan.blocked}`);
    return chosen.machine ? { machine: chosen.machine } : {};
  }
  return { ...(chosen.machine ? { machine: chosen.machine } : {}), restore: plan };
}
