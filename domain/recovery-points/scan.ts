/** A malware scan of a chosen point before launch, as the proposal keeps it (scan before launch, docs/scanning.md). */
export type ScanStatus = 'RUNNING' | 'COMPLETED' | 'COMPLETED_WITH_ISSUES' | 'FAILED' | 'SKIPPED';
export type ScanResult = 'NO_THREATS_FOUND' | 'THREATS_FOUND';
export interface ScanThreat { name: string; path?: string }

/**
 * One machine's scan before launch: the point now proposed and what its scan said. `verdict`
 * is what a decider is shown: `pending` while it runs, `unverified` when it could not say
 * (skipped, failed, completed with issues, or the budget ran out).
 */
export interface PointScan {
  pointId: string;
  /** Absent only when no scan was started (`NOT_STARTED`: the budget was spent when the point was chosen). */
  scanId?: string;
  status: ScanStatus | 'NOT_STARTED';
  result?: ScanResult;
  threats: ScanThreat[];
  reason?: string;
  verdict: 'pending' | 'clean' | 'infected' | 'unverified';
  startedAt: string;
  finishedAt?: string;
  /** Earlier points of this machine whose scan found threats (newest first): the steps back. */
  steppedBack?: { pointId: string; capturedAt: string; scanId: string; threats: ScanThreat[] }[];
}
