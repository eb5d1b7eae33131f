import type { CoverageReport, GroupReadiness, RpoSample, RpoState } from '../protection/model.ts';

/**
 * Protection state in the state table: RPO breach state per machine (`RPO#<machineId>` / `STATE`,
 * conditional writes so each transition is announced once), achieved-RPO history per group
 * (`RPO#GROUP#<group>` / `HISTORY`, a bounded list), the latest readiness report per group
 * (`READINESS#<group>` / `LATEST`) and the latest coverage report (`COVERAGE` / `LATEST`).
 */
export interface ProtectionStore {
  getRpoState(machineId: string): Promise<RpoState | null>;
  /** Every machine's RPO state (the console's breach badges). */
  listRpoStates(): Promise<RpoState[]>;
  /**
   * Open a breach unless one is open: `opened` is true only for the call whose conditional write
   * took effect. Sets a pending start notice.
   */
  openRpoBreach(machineId: string, breach: { group: string; since: string; reason: string; last: NonNullable<RpoState['last']> }): Promise<{ opened: boolean }>;
  /** Close the open breach: `closed` is true only for the call that closed it. Sets a pending end notice. */
  closeRpoBreach(machineId: string, end: { group: string; endedAt: string; last: NonNullable<RpoState['last']> }): Promise<{ closed: boolean }>;
  /** Record an observation without a transition (creates the state when there is none). */
  observeRpo(machineId: string, observation: { group: string; last: NonNullable<RpoState['last']>; reason?: string }): Promise<void>;
  /** Record a DRS stall change at `at`; false (nothing changed) when a later change is already recorded. */
  setReplicationStalled(machineId: string, change: { group: string; stalled: boolean; at: string }): Promise<boolean>;
  /** The notice set at `noticeAt` went out. */
  markRpoNoticeSent(machineId: string, noticeAt: string): Promise<void>;
  /** Take over the unsent notice set at `noticeAt` (re-dated `at`): true for exactly one caller. */
  claimRpoNotice(machineId: string, noticeAt: string, at: string): Promise<boolean>;
  /** Append a sample unless the last one is younger than `minIntervalMs`; keeps the newest `keep`. */
  appendRpoSample(group: string, sample: RpoSample, options: { keep: number; minIntervalMs: number }): Promise<boolean>;
  /** Oldest first. */
  getRpoHistory(group: string): Promise<RpoSample[]>;
  /** Replace the group's latest readiness report; returns the one it replaced. */
  putReadiness(report: GroupReadiness): Promise<{ previous: GroupReadiness | null }>;
  getReadiness(group: string): Promise<GroupReadiness | null>;
  /**
   * Record a coverage report: `changed` only for the call that stored a fingerprint different from
   * the last one; `first` when there was no report before.
   */
  recordCoverage(report: CoverageReport & { fingerprint: string }): Promise<{ changed: boolean; first: boolean }>;
  getCoverage(): Promise<(CoverageReport & { fingerprint: string }) | null>;
}
