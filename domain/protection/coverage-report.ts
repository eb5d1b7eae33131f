/** What the coverage check reports (the ProtectionStore port's data). */
import type { InstanceState } from '../inventory/index.ts';

/** An EC2 instance as the coverage check sees it. */
export interface ObservedInstance {
  instanceId: string;
  state: InstanceState;
  tags: Record<string, string>;
}

export type CoverageGapKind = 'unprotected-instance' | 'group-mismatch' | 'missing-instance' | 'no-recovery-point';

export interface CoverageGap {
  kind: CoverageGapKind;
  /** The group concerned (the tag's group for an unprotected instance). */
  group: string;
  instanceId: string;
  machineId: string | null;
  /** One sentence: what is wrong and what to do about it. */
  message: string;
}

export interface CoverageReport {
  checkedAt: string;
  /** Inventory machines / tagged instances looked at. */
  machines: number;
  taggedInstances: number;
  gaps: CoverageGap[];
  /** Machines whose catalogue was not read (the check ran without a catalogue). */
  pointsChecked: boolean;
}
