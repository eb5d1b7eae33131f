/**
 * The recovery-point catalogue. Its read side, RecoveryPointCatalog, is declared with the
 * selection that reads it (recovery-points/catalogue.ts, a model file, which may not import a
 * port) and re-exported here; the write side, the lookup by id and the reverse lookup by
 * snapshot are declared here. One adapter implements them all (memory, DynamoDB), applying
 * the rules below the same way.
 */
import { ValidationError } from '../shared/index.ts';
import { POINT_STATUSES, SCAN_VERDICTS, scanRecordSchema, type RecoveryPoint, type ScanRecord } from '../recovery-points/model.ts';

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

/**
 * Catalogue times are ISO-8601 UTC with milliseconds: fixed width, so string order is time
 * order (the DynamoDB sort key relies on it). Years outside 0000–9999 are refused.
 */
export function catalogTime(value: string, what = 'capturedAt'): string {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError('recovery point', [{ path: what, message: `${JSON.stringify(value)} is not a timestamp` }]);
  const iso = new Date(ms).toISOString();
  if (iso.length !== 24) throw new ValidationError('recovery point', [{ path: what, message: `${value} is outside the years 0000-9999` }]);
  return iso;
}

/** markPoint may only set known statuses and verdicts. */
export function checkPointChange(change: PointChange): void {
  if (change.status !== undefined && !(POINT_STATUSES as readonly string[]).includes(change.status)) {
    throw new ValidationError('recovery point change', [{ path: 'status', message: `must be one of ${POINT_STATUSES.join(', ')}` }]);
  }
  if (change.scan !== undefined && !(SCAN_VERDICTS as readonly string[]).includes(change.scan)) {
    throw new ValidationError('recovery point change', [{ path: 'scan', message: `must be one of ${SCAN_VERDICTS.join(', ')}` }]);
  }
  if (change.scanRecord !== undefined) {
    const parsed = scanRecordSchema.safeParse(change.scanRecord);
    if (!parsed.success) throw new ValidationError('recovery point change', parsed.error.issues.map((i) => ({ path: ['scanRecord', ...i.path].join('.'), message: i.message })));
  }
}

/** What putPoint stores: the point at its normalised time; nextCapturedAt is the catalogue's to compute. */
export function storablePoint(point: RecoveryPoint): Omit<RecoveryPoint, 'nextCapturedAt'> {
  const { nextCapturedAt: _computed, ...rest } = point;
  return { ...rest, capturedAt: catalogTime(point.capturedAt) };
}
