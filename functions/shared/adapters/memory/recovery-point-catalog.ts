/**
 * In-memory catalogue with the write side: domain's InMemoryRecoveryPointCatalog plus
 * RecoveryPointWriter, with the DynamoDB adapter's semantics (normalised capturedAt, points
 * at the same instant ordered by pointId, callers never share stored objects).
 */
import { isId, NotFoundError, SNAPSHOT_ID, ValidationError } from '../../../../domain/shared/index.ts';
import {
  catalogTime, checkPointChange, storablePoint, type PointChange, type RecoveryPointLookup, type RecoveryPointSnapshotIndex, type RecoveryPointWriter,
} from '../../../../domain/ports/index.ts';
import { scanRecordSchema, type RecoveryPoint, type RecoveryPointCatalog } from '../../../../domain/recovery-points/index.ts';

/** An in-memory catalogue: the CLI's catalogue file, unit tests, and the contract-suite reference. */
export class InMemoryRecoveryPointCatalog implements RecoveryPointCatalog {
  private readonly byMachine = new Map<string, RecoveryPoint[]>(); // ascending capturedAt

  constructor(points: Iterable<RecoveryPoint> = []) {
    for (const p of points) this.put(p);
  }

  put(point: RecoveryPoint): void {
    const list = this.byMachine.get(point.machineId) ?? [];
    const i = list.findIndex((p) => p.pointId === point.pointId);
    if (i >= 0) list.splice(i, 1);
    // Normalise to UTC ISO so text order is time order, whatever offset the caller used.
    const stored = structuredClone({ ...point, capturedAt: new Date(point.capturedAt).toISOString() });
    const after = (p: RecoveryPoint) => p.capturedAt > stored.capturedAt || (p.capturedAt === stored.capturedAt && p.pointId > stored.pointId);
    let at = list.length;
    while (at > 0 && after(list[at - 1]!)) at--;
    list.splice(at, 0, stored);
    this.byMachine.set(point.machineId, list);
  }

  all(machineId: string): RecoveryPoint[] {
    return structuredClone(this.byMachine.get(machineId) ?? []);
  }

  /** One point by id as stored now, with the next newer point's time (null: none). */
  async getPoint(machineId: string, pointId: string): Promise<RecoveryPoint | null> {
    const list = this.byMachine.get(machineId) ?? [];
    const i = list.findIndex((p) => p.pointId === pointId);
    return i < 0 ? null : { ...structuredClone(list[i]!), nextCapturedAt: list[i + 1]?.capturedAt ?? null };
  }

  async *pointsAtOrBefore(machineId: string, atOrBefore: string): AsyncIterable<RecoveryPoint> {
    const list = this.byMachine.get(machineId) ?? [];
    const cutoff = Date.parse(atOrBefore);
    if (!Number.isFinite(cutoff)) throw new ValidationError('catalogue query', [{ path: 'atOrBefore', message: `${JSON.stringify(atOrBefore)} is not a timestamp` }]);
    let i = list.length - 1;
    while (i >= 0 && Date.parse(list[i]!.capturedAt) > cutoff) i--;
    for (let k = i; k >= 0; k--) {
      const next = list[k + 1];
      yield { ...structuredClone(list[k]!), nextCapturedAt: next ? next.capturedAt : null };
    }
  }
}

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
