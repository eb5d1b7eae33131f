/**
 * The recovery-point catalogue on DynamoDB (table layout in tables.ts).
 *
 * Read: "points of machine M at or before T, newest first" is one descending Query from T;
 * the generator asks for the next page only when the consumer wants more, so a selection
 * that takes the first eligible point costs one request whatever the history's size.
 *
 * Write: no transactions, so `putPoint` keeps `nextCapturedAt` current with single-item
 * conditional writes that are safe to repeat and to interleave:
 *   1. the point item, with `nextCapturedAt` = the next newer point (consistent read);
 *   2. the older neighbour's `nextCapturedAt` is lowered to this point's time (only lowered:
 *      a concurrent insert between the two keeps the smaller, i.e. correct, value);
 *   3. the newer neighbour is read again and this point's own value lowered if one arrived
 *      meanwhile (closes the race of two inserts that each missed the other in step 1);
 *   4. the pointer item `POINT#id` (where the point lives) is set with a compare-and-set;
 *      when it named another capturedAt (a corrected time), that older item is deleted and its
 *      neighbour's `nextCapturedAt` repaired.
 *   0. before all of that, one lookup item per snapshot (`machineId` = `SNAP#<snapshotId>`,
 *      sk = `POINT#<machineId>#<pointId>`) so `findPointsBySnapshot` finds the point from a
 *      scan verdict that names only a snapshot. Written first, so a point is never visible
 *      without its lookups; a lookup whose point no longer holds the snapshot (the point was
 *      re-put with other snapshots) is stale and is filtered out on read, never trusted.
 * A new point costs 5–6 requests plus one per snapshot. While a point moves, a reader may list it at both times
 * for a moment (and, if the writer dies in between, until the put is retried); a reader
 * racing a writer may see a stale nextCapturedAt for a moment: the domain only uses it to
 * describe how coarse the choice was.
 */
import { ConflictError, NotFoundError } from '../../../../domain/shared/index.ts';
import {
  catalogTime, checkPointChange, storablePoint, type PointChange, type RecoveryPointLookup, type RecoveryPointSnapshotIndex, type RecoveryPointWriter,
} from '../../../../domain/ports/index.ts';
import { scanRecordSchema, type RecoveryPoint, type RecoveryPointCatalog } from '../../../../domain/recovery-points/index.ts';
import { checkSnapshotId } from '../memory/recovery-point-catalog.ts';
import { DynamoTable, isConditionFailed, sleep, type DynamoAdapterOptions, type Item, type RequestStats } from './client.ts';

const POINTER_PREFIX = 'POINT#';
/** Partition of a snapshot's lookup items (no machine id starts like this: inventory ids are kebab-case). */
const SNAPSHOT_PREFIX = 'SNAP#';
/** First page: what the consumer hinted, else 4 (the chosen point and a few alternatives). */
const DEFAULT_FIRST_PAGE = 4;
/** Later pages grow ×4 up to this. */
const MAX_PAGE = 100;
/** Compare-and-set rounds: each round at least one concurrent writer of the point wins. */
const MAX_PUT_ATTEMPTS = 20;

const sortKey = (capturedAt: string, pointId: string) => `${capturedAt}#${pointId}`;
const pointerKey = (pointId: string) => `${POINTER_PREFIX}${pointId}`;
const snapshotPartition = (snapshotId: string) => `${SNAPSHOT_PREFIX}${snapshotId}`;
const snapshotRefKey = (machineId: string, pointId: string) => `${POINTER_PREFIX}${machineId}#${pointId}`;

interface Pointer { capturedAt: string }

export class DynamoRecoveryPointCatalog implements RecoveryPointCatalog, RecoveryPointWriter, RecoveryPointLookup, RecoveryPointSnapshotIndex {
  private readonly table: DynamoTable;

  constructor(options: DynamoAdapterOptions) {
    this.table = new DynamoTable(options);
  }

  /** Requests sent and capacity consumed since construction (or the last reset). */
  stats(): RequestStats {
    return this.table.stats();
  }

  resetStats(): void {
    this.table.resetStats();
  }

  async *pointsAtOrBefore(machineId: string, atOrBefore: string, options?: { pageSize?: number }): AsyncGenerator<RecoveryPoint> {
    // `sk < "<cutoff>$"` takes every `<cutoff>#<pointId>` ('$' follows '#') and nothing later;
    // pointer items (`POINT#…`) sort after every timestamp and never match.
    const upper = `${catalogTime(atOrBefore, 'atOrBefore')}$`;
    let limit = Math.max(1, Math.floor(options?.pageSize ?? DEFAULT_FIRST_PAGE));
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.query({
        KeyConditionExpression: 'machineId = :m AND sk < :upper',
        ExpressionAttributeValues: { ':m': machineId, ':upper': upper },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: start,
      });
      for (const item of page.Items ?? []) yield toPoint(item);
      start = page.LastEvaluatedKey;
      limit = Math.max(limit, Math.min(limit * 4, MAX_PAGE));
    } while (start);
  }

  async putPoint(input: RecoveryPoint): Promise<void> {
    const point = storablePoint(input);
    const { machineId, pointId, capturedAt } = point;
    // Idempotent plain puts (a redelivery rewrites the same items); see step 0 above.
    await Promise.all([...new Set(point.snapshots.map((s) => s.snapshotId))].map((snapshotId) => this.table.put({
      Item: { machineId: snapshotPartition(snapshotId), sk: snapshotRefKey(machineId, pointId), entity: 'snapshot-ref', snapshotId, pointMachineId: machineId, pointId },
    })));
    await this.insertAt(point);
    // Point the pointer at the new item. Whoever replaces the pointer's value deletes the item
    // of the value it replaced (that item was written before its pointer), so once every put
    // has returned exactly one item per point is left: the one the pointer names.
    let previous: string | null = null;
    for (let attempt = 0; attempt < MAX_PUT_ATTEMPTS; attempt++) {
      try {
        await this.table.put({
          Item: { machineId, sk: pointerKey(pointId), pointId, capturedAt },
          ConditionExpression: previous === null ? 'attribute_not_exists(sk) OR capturedAt = :mine' : 'capturedAt = :previous',
          ExpressionAttributeValues: previous === null ? { ':mine': capturedAt } : { ':previous': previous },
        });
        if (previous !== null) await this.removeAt(machineId, previous, pointId);
        return;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      previous = (await this.getPointer(machineId, pointId))?.capturedAt ?? null;
      if (previous === capturedAt) return; // a concurrent put of the same point and time did it
      await sleep(Math.random() * Math.min(2 ** attempt, 20));
    }
    throw new ConflictError(`recovery point ${machineId}/${pointId} kept changing while it was being written`);
  }

  /** Pointer, then the item it names (both consistent reads). */
  async getPoint(machineId: string, pointId: string): Promise<RecoveryPoint | null> {
    const pointer = await this.getPointer(machineId, pointId);
    if (!pointer) return null;
    const out = await this.table.get({ Key: { machineId, sk: sortKey(pointer.capturedAt, pointId) }, ConsistentRead: true });
    return out.Item ? toPoint(out.Item) : null;
  }

  /**
   * The snapshot's lookup items (one consistent query), then each named point by id; a point
   * that no longer holds the snapshot (stale lookup) is left out.
   */
  async findPointsBySnapshot(snapshotId: string): Promise<RecoveryPoint[]> {
    checkSnapshotId(snapshotId);
    const refs = await this.table.queryAll({
      KeyConditionExpression: 'machineId = :s',
      ExpressionAttributeValues: { ':s': snapshotPartition(snapshotId) },
      ConsistentRead: true,
    });
    const points = await Promise.all(refs.map((r) => this.getPoint(r['pointMachineId'] as string, r['pointId'] as string)));
    return points
      .filter((p): p is RecoveryPoint => p !== null && p.snapshots.some((s) => s.snapshotId === snapshotId))
      .sort((a, b) => compare(a.machineId, b.machineId) || compare(a.capturedAt, b.capturedAt) || compare(a.pointId, b.pointId));
  }

  async markPoint(machineId: string, pointId: string, change: PointChange): Promise<void> {
    checkPointChange(change);
    for (let attempt = 0; attempt < MAX_PUT_ATTEMPTS; attempt++) {
      const pointer = await this.getPointer(machineId, pointId);
      if (!pointer) throw new NotFoundError(`recovery point ${machineId}/${pointId} does not exist`);
      const sets: string[] = [];
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      if (change.status !== undefined) { sets.push('#status = :status'); names['#status'] = 'status'; values[':status'] = change.status; }
      if (change.scan !== undefined) { sets.push('#scan = :scan'); names['#scan'] = 'scan'; values[':scan'] = change.scan; }
      if (change.scanRecord !== undefined) { sets.push('scanRecord = :record'); values[':record'] = scanRecordSchema.parse(change.scanRecord); }
      if (sets.length === 0) return;
      try {
        await this.table.update({
          Key: { machineId, sk: sortKey(pointer.capturedAt, pointId) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        });
        return;
      } catch (error) {
        if (!isConditionFailed(error)) throw error; // moved meanwhile: read the pointer again
      }
    }
    throw new ConflictError(`recovery point ${machineId}/${pointId} kept moving while it was being marked`);
  }

  private async getPointer(machineId: string, pointId: string): Promise<Pointer | null> {
    const out = await this.table.get({ Key: { machineId, sk: pointerKey(pointId) }, ConsistentRead: true });
    return out.Item ? { capturedAt: out.Item['capturedAt'] as string } : null;
  }

  /** The nearest point item on one side of `sk` (consistent read), or null. */
  private async neighbour(machineId: string, sk: string, side: 'older' | 'newer'): Promise<Item | null> {
    const out = await this.table.query({
      KeyConditionExpression: `machineId = :m AND sk ${side === 'older' ? '<' : '>'} :sk`,
      ExpressionAttributeValues: { ':m': machineId, ':sk': sk },
      ScanIndexForward: side === 'newer',
      Limit: 1,
      ConsistentRead: true,
    });
    const item = out.Items?.[0];
    if (!item || (item['sk'] as string).startsWith(POINTER_PREFIX)) return null;
    return item;
  }

  private async insertAt(point: Omit<RecoveryPoint, 'nextCapturedAt'>): Promise<void> {
    const { machineId, capturedAt } = point;
    const sk = sortKey(capturedAt, point.pointId);
    const newer = await this.neighbour(machineId, sk, 'newer');
    const written = (newer?.['capturedAt'] as string | undefined) ?? null;
    await this.table.put({ Item: { ...point, sk, nextCapturedAt: written ?? undefined } });

    const older = await this.neighbour(machineId, sk, 'older');
    const olderNext = (older?.['nextCapturedAt'] as string | undefined) ?? null;
    if (older && (olderNext === null || olderNext > capturedAt)) await this.lowerNext(machineId, older['sk'] as string, capturedAt);

    const newerNow = await this.neighbour(machineId, sk, 'newer');
    const now = (newerNow?.['capturedAt'] as string | undefined) ?? null;
    if (now === written) return;
    if (now !== null && (written === null || now < written)) await this.lowerNext(machineId, sk, now);
    else await this.replaceNext(machineId, sk, written, now); // the newer one we saw moved away
  }

  /** Set nextCapturedAt to `to` unless it already is that early or the item is gone. */
  private async lowerNext(machineId: string, sk: string, to: string): Promise<void> {
    try {
      await this.table.update({
        Key: { machineId, sk },
        UpdateExpression: 'SET nextCapturedAt = :to',
        ConditionExpression: 'attribute_exists(sk) AND (attribute_not_exists(nextCapturedAt) OR nextCapturedAt > :to)',
        ExpressionAttributeValues: { ':to': to },
      });
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /**
   * Delete the point item at `capturedAt` and give its older neighbour the next newer time
   * instead (only if that neighbour still pointed at the deleted one). Safe to repeat.
   */
  private async removeAt(machineId: string, capturedAt: string, pointId: string): Promise<void> {
    const sk = sortKey(capturedAt, pointId);
    await this.table.delete({ Key: { machineId, sk } });
    const older = await this.neighbour(machineId, sk, 'older');
    if (!older || older['nextCapturedAt'] !== capturedAt) return;
    const newer = await this.neighbour(machineId, sk, 'newer');
    const replacement = (newer?.['capturedAt'] as string | undefined) ?? null;
    if (replacement !== capturedAt) await this.replaceNext(machineId, older['sk'] as string, capturedAt, replacement);
  }

  /** Change nextCapturedAt from `was` to `to` (null: none), unless somebody changed it first. */
  private async replaceNext(machineId: string, sk: string, was: string | null, to: string | null): Promise<void> {
    const values: Record<string, unknown> = {};
    if (was !== null) values[':was'] = was;
    if (to !== null) values[':to'] = to;
    try {
      await this.table.update({
        Key: { machineId, sk },
        UpdateExpression: to === null ? 'REMOVE nextCapturedAt' : 'SET nextCapturedAt = :to',
        ConditionExpression: `attribute_exists(sk) AND ${was === null ? 'attribute_not_exists(nextCapturedAt)' : 'nextCapturedAt = :was'}`,
        ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
      });
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // a concurrent insert set a better value
    }
  }
}

function toPoint(item: Item): RecoveryPoint {
  const { sk: _sk, nextCapturedAt, ...point } = item;
  return { ...(point as Omit<RecoveryPoint, 'nextCapturedAt'>), nextCapturedAt: (nextCapturedAt as string | undefined) ?? null };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
