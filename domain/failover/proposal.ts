import type { PointScan, Selection } from '../recovery-points/model.ts';
import type { FailoverPlan } from './plan.ts';

/** The proposal shown to deciders (selection + plan), one per incident, replaced on re-selection. */
export interface StoredProposal {
  incidentId: string;
  createdAt: string;
  cutoff: string;
  groupCutoffs?: Record<string, string>;
  /**
   * The incident's cutoff per group when the points were selected: evidence that moves one
   * earlier afterwards makes this proposal out of date before anybody is asked.
   */
  basis?: Record<string, string>;
  selection: Selection;
  plan: FailoverPlan;
  /** Malware scans of the chosen points (scan before launch, docs/scanning.md), by machine id. */
  scans?: Record<string, PointScan>;
  /** When the first scan of this proposal started: the scan budget is counted from here. */
  scansStartedAt?: string;
}
