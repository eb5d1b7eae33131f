import type { Assessment, Mode, Policy } from '../findings/model.ts';
import { isIsoTimestamp, toIso, ValidationError } from '../shared/index.ts';
import type { Group, InventoryIndex, Machine, Network } from '../inventory/index.ts';
import { selectRecoveryPoints, type RecoveryPointCatalog, type Selection } from '../recovery-points/model.ts';
import type { LaunchSettings } from './run.ts';

/** One machine's launch instructions. */
export interface PlannedMachine {
  machineId: string;
  group: string;
  wave: number;
  pointId: string;
  capturedAt: string;
  snapshots: Selection['machines'][number]['snapshots'];
  instanceType: string | null;
  fallbackInstanceTypes: string[];
  network: Network | null;
  launch: LaunchSettings;
}

/**
 * What the launch of a machine takes from the inventory, per mode:
 * - key: the machine's kmsKeyId, else its group's, else the inventory's (none: the deployment's key);
 * - instance profile: recovery mode the machine's own; test mode only the group's
 *   testInstanceProfileArn. A drill machine runs in an isolated network, but an instance
 *   profile's credentials work from anywhere that reaches the AWS APIs: a restored copy of a
 *   production machine (its cron jobs, its agents, malware in the point) holding the production
 *   role could act on production. So test mode never gets the production profile;
 * - private IP: recovery mode with preservePrivateIp, the address captured with the point. Test
 *   mode never (an isolated network, and the source still holds the address);
 * - user data: always the machine's.
 */
export function launchSettingsFor(entry: { machine: Machine; group: Group }, inventoryKmsKeyId: string | undefined, mode: Mode, capturedPrivateIp?: string): LaunchSettings {
  const kmsKeyId = entry.machine.kmsKeyId ?? entry.group.kmsKeyId ?? inventoryKmsKeyId;
  const instanceProfileArn = mode === 'recovery' ? entry.machine.instanceProfileArn : entry.group.testInstanceProfileArn;
  const privateIpAddress = mode === 'recovery' && entry.machine.preservePrivateIp ? capturedPrivateIp : undefined;
  return {
    ...(kmsKeyId ? { kmsKeyId } : {}),
    ...(instanceProfileArn ? { instanceProfileArn } : {}),
    ...(privateIpAddress ? { privateIpAddress } : {}),
    ...(entry.machine.userData !== undefined ? { userData: entry.machine.userData } : {}),
  };
}

export interface FailoverPlan {
  mode: Mode;
  waves: { wave: number; machines: string[] }[];
  machines: PlannedMachine[];
  estimatedRtoMinutes: number;
  /** Reasons the plan cannot run as is (e.g. blockers, missing test network). Empty when ready. */
  problems: string[];
  /** What the launch will do differently from what the inventory asks, without blocking (e.g. a private IP that cannot be kept). */
  notes?: string[];
}

/** EC2's RunInstances request bucket: 5 at once, then 2 per second (one machine per request). */
export const RUN_INSTANCES_BURST = 5;
export const RUN_INSTANCES_REFILL_PER_SECOND = 2;

/**
 * Minutes to get `n` launch requests past the RunInstances request bucket: the first 5 go at
 * once, the rest at 2 per second.
 */
export function launchPacingMinutes(n: number): number {
  return Math.max(0, n - RUN_INSTANCES_BURST) / RUN_INSTANCES_REFILL_PER_SECOND / 60;
}

/**
 * buildFailoverPlan(policy, index)({ mode, selection })
 *
 * 1. Every chosen machine goes into its inventory wave; waves run in ascending order.
 * 2. The target network is the group's network for the mode (test mode needs an isolated one).
 * 3. RTO estimate = Σ over waves (register image + launch pacing + boot + status checks
 *    + acceptance checks when the wave has any), rounded up to whole minutes.
 */
export function buildFailoverPlan(policy: Policy, index: InventoryIndex) {
  return ({ mode, selection }: { mode: Mode; selection: Selection }): FailoverPlan => {
    const problems: string[] = [];
    for (const b of selection.blockers) problems.push(`${b.machineId} (${b.group}): ${b.reason}`);
    const machines: PlannedMachine[] = [];
    const missingNetwork = new Set<string>();
    const notes: string[] = [];
    for (const chosen of selection.machines) {
      const entry = index.machineById.get(chosen.machineId);
      if (!entry) throw new ValidationError('selection', [{ path: 'machines', message: `unknown machine ${chosen.machineId}` }]);
      const network = entry.group.networks?.[mode] ?? null;
      if (!network) missingNetwork.add(entry.group.name);
      machines.push({
        machineId: chosen.machineId, group: entry.group.name, wave: entry.machine.wave,
        pointId: chosen.pointId, capturedAt: chosen.capturedAt, snapshots: chosen.snapshots,
        instanceType: entry.machine.instanceType ?? null, fallbackInstanceTypes: entry.machine.fallbackInstanceTypes,
        network, launch: launchSettingsFor(entry, index.inventory.kmsKeyId, mode, chosen.machine?.privateIpAddress),
      });
      if (mode === 'recovery' && entry.machine.preservePrivateIp && !chosen.machine?.privateIpAddress) {
        notes.push(`${chosen.machineId}: preservePrivateIp is set but point ${chosen.pointId} has no captured private IP; EC2 assigns a new address`);
      }
    }
    for (const g of missingNetwork) {
      problems.push(mode === 'test'
        ? `group ${g} has no isolated test network: a test-mode launch needs networks.test`
        : `group ${g} has no recovery network: networks.recovery is required for recovery mode`);
    }
    const waveNumbers = [...new Set(machines.map((m) => m.wave))].sort((a, b) => a - b);
    const waves = waveNumbers.map((wave) => ({ wave, machines: machines.filter((m) => m.wave === wave).map((m) => m.machineId) }));
    const r = policy.rto;
    let minutes = 0;
    for (const w of waves) {
      const hasChecks = w.machines.some((id) => {
        const e = index.machineById.get(id)!;
        return e.machine.checks.length > 0 || e.group.checks.length > 0;
      });
      minutes += r.registerImageMinutes + launchPacingMinutes(w.machines.length) + r.bootMinutes + r.statusCheckMinutes +
        (hasChecks ? r.acceptanceCheckMinutes : 0);
    }
    return { mode, waves, machines, estimatedRtoMinutes: Math.ceil(minutes), problems, ...(notes.length ? { notes } : {}) };
  };
}

export interface ProposalOptions {
  /** Override the cutoff for every group (ISO). */
  before?: string;
  /** Per-group cutoff overrides picked by a decider (ISO). */
  groupCutoffs?: Record<string, string>;
  scope?: 'groups' | 'machines';
  alternatives?: number;
}

export interface Proposal {
  assessment: Assessment;
  cutoff: string;
  selection: Selection;
  plan: FailoverPlan;
}

/**
 * proposeFailover(deps)(assessment, options)
 *
 * 1. The cutoff is the assessment's suspectedSince unless overridden (`before`, or per group).
 * 2. Scope `groups` restores every machine of each affected group, `machines` only the touched ones.
 * 3. Select points with one cutoff per group, then build the wave plan in the assessed mode.
 */
export function proposeFailover(deps: { policy: Policy; index: InventoryIndex; catalog: RecoveryPointCatalog }) {
  const select = selectRecoveryPoints({ catalog: deps.catalog });
  const plan = buildFailoverPlan(deps.policy, deps.index);
  return async (assessment: Assessment, options: ProposalOptions = {}): Promise<Proposal> => {
    const base = options.before ?? assessment.suspectedSince;
    if (!base) {
      throw new ValidationError('proposal', [{ path: 'suspectedSince', message: 'the finding touches no protected machine, so there is nothing to restore' }]);
    }
    for (const [where, value] of [['before', base], ...Object.entries(options.groupCutoffs ?? {}).map(([g, v]) => [`groupCutoffs.${g}`, v])] as const) {
      if (!isIsoTimestamp(value)) throw new ValidationError('proposal', [{ path: where, message: 'must be an ISO-8601 timestamp with a time zone' }]);
    }
    const cutoff = toIso(Date.parse(base));
    const scope = options.scope ?? deps.policy.scope;
    const touched = new Set(assessment.machines);
    const groups = assessment.groups.map((name) => {
      const group = deps.index.groupByName.get(name);
      if (!group) throw new ValidationError('proposal', [{ path: 'groups', message: `unknown group ${name}` }]);
      const groupCutoff = options.groupCutoffs?.[name];
      return {
        group: name,
        cutoff: groupCutoff ? toIso(Date.parse(groupCutoff)) : cutoff,
        machines: group.machines.filter((m) => scope === 'groups' || touched.has(m.id)).map((m) => m.id),
      };
    });
    const selection = await select({ groups, evidenceAt: assessment.evidenceAt, ...(options.alternatives !== undefined ? { alternatives: options.alternatives } : {}) });
    return { assessment, cutoff, selection, plan: plan({ mode: assessment.mode ?? 'test', selection }) };
  };
}

