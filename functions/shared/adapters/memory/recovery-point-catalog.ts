/**
 * In-memory catalogue with the write side: domain's InMemoryRecoveryPointCatalog plus
 * RecoveryPointWriter, with the DynamoDB adapter's semantics (normalised capturedAt, points
 * at the same instant ordered by pointId, callers never share stored objects).
 */
import { isId, NotFoundError, SNAPSHOT_ID, ValidationError } from '../../../../domain/shared/index.ts';
import {
  catalogTime, checkPointChange, storablePoint, type PointChange, type RecoveryPointLookup, type RecoveryPointSnapshotIndex, type RecoveryPointWriter,
} from '../../../../domain/ports/index.ts';
import { InMemoryRecoveryPointCatalog, scanRecordSchema, type RecoveryPoint } from '../../../../domain/recovery-points/index.ts';

export class MemoryRecoveryPointCatalog extends InMemoryRecoveryPointCatalog implements RecoveryPointWriter, RecoveryPointLookup, RecoveryPointSnapshotIndex {
  /** Machines with at least one point (the base class keeps its map private). */
  private readonly machines = new Set<string>();

  constructor(points: Iterable<RecoveryPoint> = []) {
    super();
    for (const p of points) this.place(storablePoint(p));
  }

  override put(point: RecoveryPoint): void {
    this.place(storablePoint(point));
  }

  override all(machineId: string): RecoveryPoint[] {
    return structuredClone(super.all(machineId));
  }

  override async *pointsAtOrBefore(machineId: string, atOrBefore: string, _options?: { pageSize?: number }): AsyncGenerator<RecoveryPoint> {
    catalogTime(atOrBefore, 'atOrBefore'); // an unparseable cutoff is an error, not "everything"
    for await (const p of super.pointsAtOrBefore(machineId, atOrBefore)) yield structuredClone(p);
  }

  async putPoint(point: RecoveryPoint): Promise<void> {
    this.place(storablePoint(point));
  }

  override async getPoint(machineId: string, pointId: string): Promise<RecoveryPoint | null> {
    return structuredClone(await super.getPoint(machineId, pointId));
  }

  /** Every machine's points are looked at: fine for the sizes the fake holds (tests, CLI files). */
  async findPointsBySnapshot(snapshotId: string): Promise<RecoveryPoint[]> {
    checkSnapshotId(snapshotId);
    const found: RecoveryPoint[] = [];
    for (const machineId of [...this.machines].sort()) {
      const list = super.all(machineId);
      list.forEach((p, i) => {
        if (p.snapshots.some((s) => s.snapshotId === snapshotId)) found.push(structuredClone({ ...p, nextCapturedAt: list[i + 1]?.capturedAt ?? null }));
      });
    }
    return found;
  }

  async markPoint(machineId: string, pointId: string, change: PointChange): Promise<void> {
    checkPointChange(change);
    const current = super.all(machineId).find((p) => p.pointId === pointId);
    if (!current) throw new NotFoundError(`recovery point ${machineId}/${pointId} does not exist`);
    const next = { ...current };
    if (change.status !== undefined) next.status = change.status;
    if (change.scan !== undefined) next.scan = change.scan;
    if (change.scanRecord !== undefined) next.scanRecord = scanRecordSchema.parse(change.scanRecord);
    this.place(next);
  }

  /**
   * Store a copy, then restore pointId order among points at the same instant (the base class
   * appends a new point after its equals; DynamoDB's sort key `${capturedAt}#${pointId}`
   * orders them by pointId). Re-putting a point moves it to the end of its equals, so putting
   * the equals again in pointId order leaves them sorted.
   */
  private place(point: Omit<RecoveryPoint, 'nextCapturedAt'>): void {
    this.machines.add(point.machineId);
    super.put(structuredClone(point));
    const equals = super.all(point.machineId)
      .filter((p) => p.capturedAt === point.capturedAt)
      .sort((a, b) => (a.pointId < b.pointId ? -1 : a.pointId > b.pointId ? 1 : 0));
    if (equals.length > 1) for (const p of equals) super.put(p);
  }
}

/** The snapshot-lookup argument is an EBS snapshot id (both catalogue adapters refuse anything else). */
export function checkSnapshotId(snapshotId: string): void {
  if (!isId(SNAPSHOT_ID, snapshotId)) {
    throw new ValidationError('snapshot lookup', [{ path: 'snapshotId', message: `${JSON.stringify(snapshotId)} is not a snapshot id like snap-0123abcd` }]);
  }
}
