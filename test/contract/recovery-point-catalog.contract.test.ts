/**
 * Contract: RecoveryPointCatalog + RecoveryPointWriter. One suite, run against the in-memory
 * fake and the DynamoDB adapter on an embedded dynalite; then the DynamoDB-only request-cost
 * guarantees the selection's performance rests on.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../domain/shared/index.ts';
import type { RecoveryPointLookup, RecoveryPointSnapshotIndex, RecoveryPointWriter } from '../../domain/ports/index.ts';
import type { RecoveryPoint, RecoveryPointCatalog } from '../../domain/recovery-points/index.ts';
import type { RequestStats } from '../../functions/shared/adapters/dynamodb/client.ts';
import { DynamoRecoveryPointCatalog } from '../../functions/shared/adapters/dynamodb/recovery-point-catalog.ts';
import { catalogTableDefinition, ensureTables } from '../../functions/shared/adapters/dynamodb/tables.ts';
import { MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { embeddedDynamoBackends } from '../helpers/dynamo-backends.ts';
import { freshTableName } from '../helpers/dynamo.ts';
import { makePoint } from '../helpers/fixtures.ts';
import { minutesFrom, take, thrown, unique } from './contract-fixtures.ts';

type Catalog = RecoveryPointCatalog & RecoveryPointWriter & RecoveryPointLookup & RecoveryPointSnapshotIndex;

/** A snapshot id no other test uses (the snapshot lookup spans every machine of a table). */
const uniqueSnapshot = () => `snap-${randomBytes(9).toString('hex').slice(0, 17)}`;

/** Deterministic shuffle (a linear congruential generator), so failures reproduce. */
function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const times = (points: RecoveryPoint[]) => points.map((p) => p.capturedAt);

/** Every point of a machine as the catalogue returns it, newest first. */
const everything = (catalog: Catalog, machineId: string) => take(catalog.pointsAtOrBefore(machineId, '9999-12-31T23:59:59.999Z'));

/** For points listed newest first: each one's nextCapturedAt must be the time listed before it. */
function expectNextChain(points: RecoveryPoint[]): void {
  const expected = points.map((_, i) => (i === 0 ? null : points[i - 1]!.capturedAt));
  expect(points.map((p) => p.nextCapturedAt)).toEqual(expected);
}

interface CostProbe<C> {
  /** Requests sent so far, for implementations that pay per request. */
  stats(catalog: C): RequestStats;
}

export function recoveryPointCatalogContract<C extends Catalog>(name: string, makeAdapter: () => Promise<C>, costs?: CostProbe<C>): void {
  describe(`RecoveryPointCatalog contract: ${name}`, () => {
    describe('with a history of 200 points of one machine', () => {
      // Seeded once (30 writers at a time) and only read by these tests.
      const machineId = 'long-history-db';
      const at = minutesFrom('2024-04-01T00:00:00.000Z', 200, 10);
      let catalog: C;
      beforeAll(async () => {
        catalog = await makeAdapter();
        for (let i = 0; i < at.length; i += 30) {
          await Promise.all(at.slice(i, i + 30).map((capturedAt) => catalog.putPoint(makePoint({ machineId, capturedAt }))));
        }
      });

      it('reads every point newest first across growing pages, starting from a page of one', async () => {
        // Act
        const listed = await take(catalog.pointsAtOrBefore(machineId, at[199]!, { pageSize: 1 }));
        // Assess
        expect(times(listed)).toEqual([...at].reverse());
        expectNextChain(listed);
      });

      it('starts a read in the middle of the history at the newest point before the cutoff', async () => {
        // Act
        const listed = await take(catalog.pointsAtOrBefore(machineId, '2024-04-02T00:05:00.000Z'), 3);
        // Assess
        expect(times(listed)).toEqual(['2024-04-02T00:00:00.000Z', '2024-04-01T23:50:00.000Z', '2024-04-01T23:40:00.000Z']);
        expect(listed[0]!.nextCapturedAt).toBe('2024-04-02T00:10:00.000Z');
      });

      if (costs) {
        it('costs exactly one read request when the consumer stops after the first point', async () => {
          // Prepare
          const before = costs.stats(catalog);
          // Act
          const first = await take(catalog.pointsAtOrBefore(machineId, '2024-04-02T00:05:00.000Z'), 1);
          // Assess
          const after = costs.stats(catalog);
          expect(first.map((p) => p.capturedAt)).toEqual(['2024-04-02T00:00:00.000Z']);
          expect(after.requests - before.requests).toBe(1);
          expect(after.consumedRcu).toBeGreaterThan(before.consumedRcu);
        });

        it('reads all 200 points in at most five growing pages', async () => {
          // Prepare
          const before = costs.stats(catalog);
          // Act: pages of 4, 16, 64, 100 and the last 16
          const listed = await take(catalog.pointsAtOrBefore(machineId, at[199]!, { pageSize: 4 }));
          // Assess
          expect(listed).toHaveLength(200);
          expect(costs.stats(catalog).queries - before.queries).toBeLessThanOrEqual(5);
        });
      }
    });

    it('lists one machine\'s points newest first from the cutoff down, and no other machine\'s', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      const at = ['2024-05-01T06:00:00.000Z', '2024-05-01T07:00:00.000Z', '2024-05-01T08:00:00.000Z', '2024-05-01T09:00:00.000Z', '2024-05-01T10:00:00.000Z'];
      for (const capturedAt of shuffled(at)) await catalog.putPoint(makePoint({ machineId, capturedAt }));
      await catalog.putPoint(makePoint({ machineId: `${machineId}-other`, capturedAt: '2024-05-01T08:30:00.000Z' }));
      // Act
      const listed = await take(catalog.pointsAtOrBefore(machineId, '2024-05-01T08:45:00.000Z'));
      // Assess
      expect(times(listed)).toEqual([at[2], at[1], at[0]]);
      expect(new Set(listed.map((p) => p.machineId))).toEqual(new Set([machineId]));
    });

    it('includes a point captured exactly at the cutoff and excludes one a millisecond later', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T08:00:00.000Z' }));
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T08:00:00.001Z' }));
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T07:59:59.999Z' }));
      // Act
      const listed = await take(catalog.pointsAtOrBefore(machineId, '2024-05-01T08:00:00.000Z'));
      // Assess
      expect(times(listed)).toEqual(['2024-05-01T08:00:00.000Z', '2024-05-01T07:59:59.999Z']);
    });

    it('accepts a cutoff with a zone offset or without milliseconds as the same instant', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T08:00:00.000Z' }));
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T08:00:01.000Z' }));
      // Act
      const withOffset = await take(catalog.pointsAtOrBefore(machineId, '2024-05-01T10:00:00+02:00'));
      // Assess
      expect(times(withOffset)).toEqual(['2024-05-01T08:00:00.000Z']);
    });

    it('yields nothing for an unknown machine or when every point is after the cutoff', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T08:00:00.000Z' }));
      // Act
      const early = await take(catalog.pointsAtOrBefore(machineId, '2024-05-01T07:59:59.999Z'));
      const unknown = await take(catalog.pointsAtOrBefore(unique('nobody'), '2024-05-01T09:00:00.000Z'));
      // Assess
      expect(early).toEqual([]);
      expect(unknown).toEqual([]);
    });

    it('rejects a cutoff that is not a timestamp instead of listing everything', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      await catalog.putPoint(makePoint({ machineId }));
      // Act
      const error = await thrown(() => take(catalog.pointsAtOrBefore(machineId, 'yesterday')));
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
    });

    it('keeps nextCapturedAt of every point current when points arrive out of order', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      const at = minutesFrom('2024-05-01T00:00:00.000Z', 12, 7);
      // Act
      for (const capturedAt of shuffled(at, 11)) await catalog.putPoint(makePoint({ machineId, capturedAt }));
      // Assess
      const listed = await everything(catalog, machineId);
      expect(times(listed)).toEqual([...at].reverse());
      expectNextChain(listed);
    });

    it('keeps nextCapturedAt correct when 30 points of one machine are put concurrently', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      const at = minutesFrom('2024-05-01T00:00:00.000Z', 30, 3);
      // Act
      await Promise.all(shuffled(at, 3).map((capturedAt) => catalog.putPoint(makePoint({ machineId, capturedAt }))));
      // Assess
      const listed = await everything(catalog, machineId);
      expect(times(listed)).toEqual([...at].reverse());
      expectNextChain(listed);
    });

    it('gives the newest point before the cutoff the time of the first point after it', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T10:00:00.000Z' }));
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T08:00:00.000Z' }));
      // Act: a point in between arrives late
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T09:00:00.000Z' }));
      const [first] = await take(catalog.pointsAtOrBefore(machineId, '2024-05-01T08:30:00.000Z'), 1);
      // Assess
      expect(first!.capturedAt).toBe('2024-05-01T08:00:00.000Z');
      expect(first!.nextCapturedAt).toBe('2024-05-01T09:00:00.000Z');
    });

    it('stores a re-put of the same point once, with the latest content', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      const point = makePoint({ machineId, capturedAt: '2024-05-01T08:00:00.000Z', status: 'incomplete' });
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T07:00:00.000Z' }));
      await catalog.putPoint(point);
      // Act
      await catalog.putPoint(point);
      await catalog.putPoint({ ...point, status: 'available' });
      // Assess
      const listed = await everything(catalog, machineId);
      expect(listed).toHaveLength(2);
      expect(listed[0]).toEqual({ ...point, status: 'available', nextCapturedAt: null });
      expect(listed[1]!.nextCapturedAt).toBe('2024-05-01T08:00:00.000Z');
    });

    it('moves a point re-put with a corrected capturedAt, leaving no duplicate and fixing its neighbours', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      for (const capturedAt of ['2024-05-01T06:00:00.000Z', '2024-05-01T07:00:00.000Z', '2024-05-01T09:00:00.000Z']) {
        await catalog.putPoint(makePoint({ machineId, capturedAt }));
      }
      const moving = makePoint({ machineId, pointId: 'moving', capturedAt: '2024-05-01T06:30:00.000Z' });
      await catalog.putPoint(moving);
      // Act
      await catalog.putPoint({ ...moving, capturedAt: '2024-05-01T08:00:00.000Z' });
      // Assess
      const listed = await everything(catalog, machineId);
      expect(listed.map((p) => [p.capturedAt, p.pointId === 'moving'])).toEqual([
        ['2024-05-01T09:00:00.000Z', false],
        ['2024-05-01T08:00:00.000Z', true],
        ['2024-05-01T07:00:00.000Z', false],
        ['2024-05-01T06:00:00.000Z', false],
      ]);
      expectNextChain(listed);
    });

    it('moves the newest point back in time and clears the old neighbour\'s nextCapturedAt', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T06:00:00.000Z' }));
      const newest = makePoint({ machineId, pointId: 'newest', capturedAt: '2024-05-01T09:00:00.000Z' });
      await catalog.putPoint(newest);
      // Act
      await catalog.putPoint({ ...newest, capturedAt: '2024-05-01T05:00:00.000Z' });
      // Assess
      const listed = await everything(catalog, machineId);
      expect(listed.map((p) => [p.capturedAt, p.nextCapturedAt])).toEqual([
        ['2024-05-01T06:00:00.000Z', null],
        ['2024-05-01T05:00:00.000Z', '2024-05-01T06:00:00.000Z'],
      ]);
    });

    it('normalises capturedAt to UTC with milliseconds', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      // Act
      await catalog.putPoint(makePoint({ machineId, pointId: 'a', capturedAt: '2024-05-01T10:00:00+02:00' }));
      await catalog.putPoint(makePoint({ machineId, pointId: 'b', capturedAt: '2024-05-01T09:00:00Z' }));
      // Assess
      expect(times(await everything(catalog, machineId))).toEqual(['2024-05-01T09:00:00.000Z', '2024-05-01T08:00:00.000Z']);
    });

    it('orders points captured at the same instant by pointId', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      const capturedAt = '2024-05-01T08:00:00.000Z';
      // Act
      for (const pointId of ['b', 'c', 'a']) await catalog.putPoint(makePoint({ machineId, pointId, capturedAt }));
      // Assess
      const listed = await everything(catalog, machineId);
      expect(listed.map((p) => p.pointId)).toEqual(['c', 'b', 'a']);
      expect(listed.map((p) => p.nextCapturedAt)).toEqual([null, capturedAt, capturedAt]);
    });

    it('ignores a nextCapturedAt the writer supplies and computes its own', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      // Act
      await catalog.putPoint(makePoint({ machineId, nextCapturedAt: '2030-01-01T00:00:00.000Z' }));
      // Assess
      const [only] = await everything(catalog, machineId);
      expect(only!.nextCapturedAt).toBeNull();
    });

    it('marks a point quarantined and infected, keeping everything else', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      const point = makePoint({ machineId });
      await catalog.putPoint(point);
      // Act
      await catalog.markPoint(machineId, point.pointId, { status: 'quarantined' });
      await catalog.markPoint(machineId, point.pointId, { scan: 'infected' });
      // Assess
      expect(await everything(catalog, machineId)).toEqual([{ ...point, status: 'quarantined', scan: 'infected', nextCapturedAt: null }]);
    });

    it('keeps a verdict with its evidence and returns the point by id as it is now', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      const older = makePoint({ machineId, pointId: 'p-old', capturedAt: '2026-11-01T08:00:00.000Z' });
      const newer = makePoint({ machineId, pointId: 'p-new', capturedAt: '2026-11-01T09:00:00.000Z' });
      await catalog.putPoint(older);
      await catalog.putPoint(newer);
      const scanRecord = { verdict: 'infected' as const, source: 'guardduty-scan' as const, scanId: 'scan-1', at: '2026-11-01T10:00:00Z', status: 'COMPLETED', threats: [{ name: 'EICAR-Test-File', path: '/var/lib/db/x' }] };
      // Act
      await catalog.markPoint(machineId, 'p-old', { scan: 'infected', scanRecord });
      const got = await catalog.getPoint(machineId, 'p-old');
      const none = await catalog.getPoint(machineId, 'p-missing');
      const bad = await thrown(() => catalog.markPoint(machineId, 'p-new', { scanRecord: { ...scanRecord, at: 'yesterday' } }));
      // Assess
      expect(got).toEqual({ ...older, scan: 'infected', scanRecord: { ...scanRecord, at: '2026-11-01T10:00:00.000Z' }, nextCapturedAt: '2026-11-01T09:00:00.000Z' });
      expect(none).toBeNull();
      expect(bad).toBeInstanceOf(ValidationError);
      expect((await catalog.getPoint(machineId, 'p-new'))!.scanRecord).toBeUndefined();
    });

    it('finds every point of every machine that holds a snapshot, as it is now, and nothing for an unknown snapshot', async () => {
      // Prepare: a shared data volume in two points of one machine, and a root volume in another machine's point
      const catalog = await makeAdapter();
      const [db, app] = [unique('db'), unique('app')];
      const [root, data, other] = [uniqueSnapshot(), uniqueSnapshot(), uniqueSnapshot()];
      const first = makePoint({ machineId: db, pointId: 'p1', capturedAt: '2026-11-01T08:00:00.000Z', snapshots: [{ deviceName: '/dev/xvda', snapshotId: root }, { deviceName: '/dev/xvdf', snapshotId: data }] });
      const second = makePoint({ machineId: db, pointId: 'p2', capturedAt: '2026-11-01T09:00:00.000Z', snapshots: [{ deviceName: '/dev/xvda', snapshotId: other }, { deviceName: '/dev/xvdf', snapshotId: data }] });
      const elsewhere = makePoint({ machineId: app, pointId: 'p3', capturedAt: '2026-11-01T07:00:00.000Z', snapshots: [{ deviceName: '/dev/xvda', snapshotId: root }] });
      await Promise.all([first, second, elsewhere].map((p) => catalog.putPoint(p)));
      await catalog.markPoint(db, 'p2', { scan: 'infected' });
      // Act
      const byData = await catalog.findPointsBySnapshot(data);
      const byRoot = await catalog.findPointsBySnapshot(root);
      const none = await catalog.findPointsBySnapshot(uniqueSnapshot());
      // Assess
      expect(byData).toEqual([{ ...first, nextCapturedAt: '2026-11-01T09:00:00.000Z' }, { ...second, scan: 'infected', nextCapturedAt: null }]);
      expect(byRoot.map((p) => [p.machineId, p.pointId]).sort()).toEqual([[app, 'p3'], [db, 'p1']].sort());
      expect(none).toEqual([]);
    });

    it('stops finding a point by a snapshot it no longer holds, and finds a moved point once', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      const [dropped, kept] = [uniqueSnapshot(), uniqueSnapshot()];
      const point = makePoint({ machineId, pointId: 'p', capturedAt: '2026-11-01T08:00:00.000Z', snapshots: [{ deviceName: '/dev/xvda', snapshotId: kept }, { deviceName: '/dev/xvdf', snapshotId: dropped }] });
      await catalog.putPoint(point);
      // Act: re-put without the data volume, and at a corrected time
      await catalog.putPoint({ ...point, capturedAt: '2026-11-01T08:05:00.000Z', snapshots: [{ deviceName: '/dev/xvda', snapshotId: kept }] });
      await catalog.putPoint({ ...point, capturedAt: '2026-11-01T08:05:00.000Z', snapshots: [{ deviceName: '/dev/xvda', snapshotId: kept }] });
      // Assess
      expect(await catalog.findPointsBySnapshot(dropped)).toEqual([]);
      expect((await catalog.findPointsBySnapshot(kept)).map((p) => [p.pointId, p.capturedAt])).toEqual([['p', '2026-11-01T08:05:00.000Z']]);
    });

    it('refuses a snapshot lookup by something that is not a snapshot id', async () => {
      // Prepare
      const catalog = await makeAdapter();
      // Act
      const bad = await thrown(() => catalog.findPointsBySnapshot('arn:aws:ec2:eu-west-1::snapshot/snap-0123456789abcdef0'));
      // Assess
      expect(bad).toBeInstanceOf(ValidationError);
    });

    it('refuses to mark an unknown point, or to set an unknown status', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      const point = makePoint({ machineId });
      await catalog.putPoint(point);
      // Act
      const missing = await thrown(() => catalog.markPoint(machineId, 'no-such-point', { status: 'expired' }));
      const invalid = await thrown(() => catalog.markPoint(machineId, point.pointId, { status: 'gone' as RecoveryPoint['status'] }));
      // Assess
      expect(missing).toBeInstanceOf(NotFoundError);
      expect(invalid).toBeInstanceOf(ValidationError);
      expect((await everything(catalog, machineId))[0]!.status).toBe('available');
    });

    it('does not let callers change stored points through objects they passed or received', async () => {
      // Prepare
      const catalog = await makeAdapter();
      const machineId = unique('db');
      const point = makePoint({ machineId });
      await catalog.putPoint(point);
      // Act
      point.snapshots[0]!.snapshotId = 'snap-0000000000000000f';
      const [read] = await everything(catalog, machineId);
      read!.snapshots.push({ deviceName: '/dev/xvdb', snapshotId: 'snap-0ffffffffffffffff' });
      read!.status = 'expired';
      // Assess
      const [again] = await everything(catalog, machineId);
      expect(again!.snapshots).toEqual([{ deviceName: '/dev/xvda', snapshotId: 'snap-0123456789abcdef0', volumeSize: 100 }]);
      expect(again!.status).toBe('available');
    });
  });
}

recoveryPointCatalogContract('MemoryRecoveryPointCatalog', async () => new MemoryRecoveryPointCatalog());

const backends = embeddedDynamoBackends();
/** dynalite, for the adapter-specific tests below. */
const dynamo = () => backends.dynalite.db();
const freshDynamoCatalog = async () => new DynamoRecoveryPointCatalog({ client: dynamo().docClient, tableName: await backends.dynalite.freshTable('catalog') });

for (const backend of backends.all) {
  recoveryPointCatalogContract(`DynamoRecoveryPointCatalog on ${backend.name}`, async () => new DynamoRecoveryPointCatalog({ client: backend.db().docClient, tableName: await backend.freshTable('catalog') }), { stats: (catalog) => catalog.stats() });
}

describe('DynamoRecoveryPointCatalog on dynalite: writes and tables', () => {
  it('spends at most 6 requests on a new point, plus one lookup item per snapshot', async () => {
    // Prepare
    const catalog = await freshDynamoCatalog();
    const machineId = unique('db');
    await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T07:00:00.000Z' }));
    catalog.resetStats();
    // Act
    await catalog.putPoint(makePoint({ machineId, capturedAt: '2024-05-01T08:00:00.000Z' }));
    // Assess
    expect(catalog.stats().requests).toBeLessThanOrEqual(6 + 1); // makePoint has one snapshot
  });

  /** A catalogue on a fresh table whose client delays every request by 0–40 ms (longer than the request queue), so concurrent writers interleave in many orders. */
  async function jitteryCatalog(seed: number): Promise<{ catalog: DynamoRecoveryPointCatalog; close(): void }> {
    const jittery = new DynamoDBClient({
      endpoint: dynamo().endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 3,
    });
    let state = seed;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    jittery.middlewareStack.add((next) => async (args) => {
      await new Promise((resolve) => setTimeout(resolve, random() * 40));
      return next(args);
    }, { step: 'finalizeRequest', name: 'randomDelay' });
    const tableName = freshTableName('catalog');
    await ensureTables(dynamo().client, { catalog: tableName });
    return { catalog: new DynamoRecoveryPointCatalog({ client: jittery, tableName }), close: () => jittery.destroy() };
  }

  it('keeps nextCapturedAt correct when concurrent writers\' requests are delayed at random', async () => {
    // Prepare
    const { catalog, close } = await jitteryCatalog(42);
    const machineId = unique('db');
    const at = minutesFrom('2024-05-01T00:00:00.000Z', 40, 5);
    try {
      // Act
      await Promise.all(shuffled(at, 5).map((capturedAt) => catalog.putPoint(makePoint({ machineId, capturedAt }))));
      // Assess
      const listed = await everything(catalog, machineId);
      expect(times(listed)).toEqual([...at].reverse());
      expectNextChain(listed);
    } finally {
      close();
    }
  });

  it('leaves one copy of a point that concurrent writers put with different capturedAt', async () => {
    // Prepare
    const { catalog, close } = await jitteryCatalog(7);
    const machineId = unique('db');
    const neighbours = minutesFrom('2024-05-01T00:00:00.000Z', 5, 30);
    for (const capturedAt of neighbours) await catalog.putPoint(makePoint({ machineId, capturedAt }));
    const versions = minutesFrom('2024-05-01T00:05:00.000Z', 8, 17).map((capturedAt) => makePoint({ machineId, pointId: 'contested', capturedAt }));
    try {
      // Act
      await Promise.all(versions.map((p) => catalog.putPoint(p)));
      // Assess
      const listed = await everything(catalog, machineId);
      const copies = listed.filter((p) => p.pointId === 'contested');
      expect(copies).toHaveLength(1);
      expect(times(versions)).toContain(copies[0]!.capturedAt);
      expect(listed).toHaveLength(neighbours.length + 1);
      expectNextChain(listed);
    } finally {
      close();
    }
  });

  it('creates its table idempotently and refuses an existing table with another key schema', async () => {
    // Prepare
    const tableName = freshTableName('catalog');
    await ensureTables(dynamo().client, { catalog: tableName });
    // Act
    const again = ensureTables(dynamo().docClient, { catalog: tableName });
    const clash = ensureTables(dynamo().client, { state: tableName });
    // Assess
    await expect(again).resolves.toBeUndefined();
    await expect(clash).rejects.toThrow(/does not match/);
    expect(catalogTableDefinition(tableName).BillingMode).toBe('PAY_PER_REQUEST');
  });
});
