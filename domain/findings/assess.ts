import { earliestEvidenceMs, isBackupMalwareFinding, type Finding } from './finding.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import { NEVER_FAILOVER_PURPOSES, safetyMarginMinutes, type Policy } from './policy.ts';
import { MINUTE_MS, toIso } from '../shared/index.ts';

export type Action = 'failover-proposal' | 'notify' | 'ignore';
export type Mode = 'recovery' | 'test';

export interface Assessment {
  finding: Pick<Finding,
    'id' | 'type' | 'threatPurpose' | 'severity' | 'severityLabel' | 'sample' | 'resourceType' |
    'instanceIds' | 'firstSeen' | 'lastSeen' | 'region' | 'accountId'>;
  action: Action;
  mode: Mode | null;
  /** Touched machine ids, in inventory order. */
  machines: string[];
  /** Groups of the touched machines, in inventory order. */
  groups: string[];
  /** Estimated start of corruption (ISO), when machines are touched. */
  suspectedSince: string | null;
  /** Earliest evidence of the threat (ISO): the earlier of first-seen and createdAt. */
  evidenceAt: string;
  reasons: string[];
  policyVersion: string;
}

/** The machine tag a finding may carry to name a protected machine directly. */
export const MACHINE_TAG = 'cleanpoint:machine';

/**
 * assessFinding(policy, inventory)(finding)
 *
 * Input: a normalised finding. Output: what Cleanpoint should do about it and why.
 * 1. Find the protected machines the finding touches (instance id or `cleanpoint:machine`
 *    tag, and only for machine resource types).
 * 2. Archived findings are ignored.
 * 3. A touched machine + a compromise purpose + severity ≥ failoverMinSeverity proposes a
 *    failover; Recon/Discovery/Policy/PenTest/Stealth never do.
 * 4. Otherwise severity ≥ notifyMinSeverity notifies, below it is ignored.
 * 5. Sample findings may only ever propose test mode.
 *    Malware Protection for Backup findings (a verdict on a backup) are ignored whatever the
 *    policy says: the rule does not send them here, and if one arrives anyway it touches no machine.
 * 6. suspectedSince = earliest evidence − safety margin (per threat purpose).
 */
export function assessFinding(policy: Policy, index: InventoryIndex) {
  return (finding: Finding): Assessment => {
    const reasons: string[] = [];
    const touched = touchedMachines(policy, index, finding, reasons);
    const machineIds = new Set(touched);
    const machines: string[] = [];
    const groups: string[] = [];
    for (const g of index.inventory.groups) {
      let hit = false;
      for (const m of g.machines) if (machineIds.has(m.id)) { machines.push(m.id); hit = true; }
      if (hit) groups.push(g.name);
    }

    let action: Action;
    const purpose = finding.threatPurpose;
    const never = (NEVER_FAILOVER_PURPOSES as readonly string[]).includes(purpose);
    if (isBackupMalwareFinding(finding)) {
      action = 'ignore';
      reasons.push(`${finding.type} is a malware verdict on a backup, not a compromise of a protected machine (the catalogue records it)`);
    } else if (finding.archived) {
      action = 'ignore';
      reasons.push('the finding is archived');
    } else if (machines.length > 0 && !never && policy.failoverPurposes.includes(purpose) && finding.severity >= policy.failoverMinSeverity) {
      action = 'failover-proposal';
      reasons.push(`${purpose} is a compromise purpose and severity ${finding.severity} (${finding.severityLabel}) is at least ${policy.failoverMinSeverity}`);
    } else {
      if (machines.length > 0) {
        if (never) reasons.push(`${purpose} findings never propose a failover`);
        else if (!policy.failoverPurposes.includes(purpose)) reasons.push(`${purpose} is not a purpose that proposes a failover`);
        else reasons.push(`severity ${finding.severity} is below the failover threshold ${policy.failoverMinSeverity}`);
      }
      if (finding.severity >= policy.notifyMinSeverity) {
        action = 'notify';
        reasons.push(`severity ${finding.severity} (${finding.severityLabel}) is at least ${policy.notifyMinSeverity}: notify`);
      } else {
        action = 'ignore';
        reasons.push(`severity ${finding.severity} (${finding.severityLabel}) is below ${policy.notifyMinSeverity}`);
      }
    }

    let mode: Mode | null = null;
    if (action === 'failover-proposal') {
      mode = finding.sample ? 'test' : 'recovery';
      if (finding.sample) reasons.push('sample finding: test mode only, never a recovery-mode failover');
    }

    let suspectedSince: string | null = null;
    if (machines.length > 0) {
      const margin = safetyMarginMinutes(policy, purpose);
      suspectedSince = toIso(earliestEvidenceMs(finding) - margin * MINUTE_MS);
      reasons.push(`data may be corrupted since ${suspectedSince} (earliest evidence minus ${margin} min)`);
    }

    return {
      finding: {
        id: finding.id, type: finding.type, threatPurpose: purpose, severity: finding.severity,
        severityLabel: finding.severityLabel, sample: finding.sample, resourceType: finding.resourceType,
        instanceIds: finding.instanceIds, firstSeen: finding.firstSeen, lastSeen: finding.lastSeen,
        region: finding.region, accountId: finding.accountId,
      },
      action, mode, machines, groups, suspectedSince, evidenceAt: toIso(earliestEvidenceMs(finding)), reasons, policyVersion: policy.version,
    };
  };
}

function touchedMachines(policy: Policy, index: InventoryIndex, finding: Finding, reasons: string[]): string[] {
  if (isBackupMalwareFinding(finding)) return []; // it names a backup; even a tagged instance in it is not touched
  if (!policy.machineResourceTypes.includes(finding.resourceType)) {
    reasons.push(`resource type ${finding.resourceType} touches no protected machine`);
    return [];
  }
  const hits = new Set<string>();
  for (const instanceId of finding.instanceIds) {
    const entry = index.machineByInstanceId.get(instanceId);
    if (entry) hits.add(entry.machine.id);
  }
  const tagged = finding.tags[MACHINE_TAG];
  if (tagged && index.machineById.has(tagged)) hits.add(tagged);
  if (hits.size === 0) {
    const ids = finding.instanceIds.join(', ') || 'no instance id';
    reasons.push(`${finding.resourceType} ${ids} is not a protected machine in the inventory`);
  } else {
    reasons.push(`touches protected machine(s) ${[...hits].join(', ')}`);
  }
  return [...hits];
}

/**
 * Corruption start for an incident made of several findings: the earliest suspectedSince.
 * Later findings can only move the estimate earlier, never later.
 */
export function combineSuspectedSince(values: readonly (string | null)[]): string | null {
  let min: number | null = null;
  for (const v of values) if (v) { const t = Date.parse(v); if (min === null || t < min) min = t; }
  return min === null ? null : toIso(min);
}
