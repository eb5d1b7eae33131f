/**
 * The recovery-point catalogue. Its read side, RecoveryPointCatalog, is declared with the
 * selection that reads it (recovery-points/catalogue.ts, a model file, which may not import a
 * port) and re-exported here; the write side, the lookup by id and the reverse lookup by
 * snapshot are declared here. One adapter implements them all (memory, DynamoDB).
 */
import type { RecoveryPoint, ScanRecord } from '../recovery-points/model.ts';

export type { RecoveryPointCatalog } from '../recovery-points/model.ts';

/** Write side of the catalogue (fed by EBS/DRS events and reconciliation). */
export interface RecoveryPointWriter {
  /**
   * Insert or update one point (idempotent by machineId + pointId). Keeps `nextCapturedAt`
   * of the neighbouring points current so a reader never needs a second query.
   */
  putPoint(point: RecoveryPoint): Promise<void>;
  /** Change status/scan (e.g. quarantine, or a malware scan's verdict with its evidence). */
  markPoint(machineId: string, pointId: string, change: PointChange): Promise<void>;
}

/** What markPoint may change: the status, the verdict and the verdict's evidence. */
export type PointChange = Partial<Pick<RecoveryPoint, 'status' | 'scan'>> & { scanRecord?: ScanRecord };

/** One point by id, as the catalogue holds it now (re-validation before a launch). */
export interface RecoveryPointLookup {
  getPoint(machineId: string, pointId: string): Promise<RecoveryPoint | null>;
}

/**
 * Reverse lookup of the catalogue: the points that contain a snapshot. Malware-scan verdicts
 * name a snapshot (or an AMI / AWS Backup recovery point that resolves to snapshots), never a
 * catalogue point, so they are mapped through this.
 */
export interface RecoveryPointSnapshotIndex {
  /**
   * Every point, of any machine, whose `snapshots` include `snapshotId`, as the catalogue holds
   * it now (ordered by machineId, then capturedAt, then pointId); [] when none does.
   */
  findPointsBySnapshot(snapshotId: string): Promise<RecoveryPoint[]>;
}
