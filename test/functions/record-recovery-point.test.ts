import { DescribeSnapshotsCommand, EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SnapshotInfo } from '../../domain/recovery-points/index.ts';
import { MemoryAuditLog, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import { loadSharedFixture, makeEvent, makeInventory } from '../helpers/fixtures.ts';
import {
  CATALOG_TABLE, EVENT_BUS, fixedClock, FixedSnapshots, inventoryIndex, issuePaths, itExportsTheWrappedHandler, lambdaContext,
  memoryAdapters, NOW, RecordingEvents, rejectionOf, removeTempFiles, STATE_TABLE, stubHandlerEnv, wrapped, writeInventorySource,
  type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/record-recovery-point/handler.ts');
let mod: Module;

const EBS_MULTI = 'eventbridge/ebs/awsdocs_ebs_createSnapshots_succeeded.json';
const EBS_MULTI_FAILED = 'eventbridge/ebs/awsdocs_ebs_createSnapshots_failed.json';
const DRS_PIT = 'eventbridge/drs/awsdocs-drs_DRS-PIT-Snapshot-Taken_PIT-Snapshot-Taken.json';

/** makeInventory() with ledger-db replicated by the DRS source server of the shared DRS sample. */
function inventoryWithDrs() {
  const raw = makeInventory();
  const ledgerDb = raw.groups.find((g) => g.name === 'ledger')!.machines.find((m) => m.id === 'ledger-db')!;
  ledgerDb['drsSourceServerId'] = 's-12345678901234567';
  return raw;
}
const index = inventoryIndex(inventoryWithDrs());

/** The two volumes of the EBS multi-volume sample, tagged as payments-db's root and data disks. */
const ebsSnapshots: SnapshotInfo[] = [
  { snapshotId: 'snap-01234567', state: 'completed', startTime: '2024-05-01T08:00:00.000Z', volumeId: 'vol-01234567', volumeSize: 50, tags: { 'cleanpoint:machine': 'payments-db', 'cleanpoint:device': '/dev/xvda' } },
  { snapshotId: 'snap-012345678', state: 'completed', startTime: '2024-05-01T08:00:01.000Z', volumeId: 'vol-012345678', volumeSize: 500, tags: { 'cleanpoint:machine': 'payments-db', 'cleanpoint:device': '/dev/sdf' } },
];

beforeAll(async () => {
  stubHandlerEnv({ CATALOG_TABLE, STATE_TABLE, EVENT_BUS_NAME: EVENT_BUS, INVENTORY_SOURCE: writeInventorySource(inventoryWithDrs()) });
  mod = await import('../../functions/record-recovery-point/handler.ts');
});

afterAll(() => removeTempFiles());

describe('record-recovery-point handler (factory, in-memory fakes)', () => {
  function world(infos: SnapshotInfo[] = ebsSnapshots) {
    const writer = new MemoryRecoveryPointCatalog();
    const snapshots = new FixedSnapshots(infos);
    const audit = new MemoryAuditLog();
    const events = new RecordingEvents();
    const handle = mod.makeHandler(async () => ({ snapshots, writer, index, audit, events, clock: fixedClock(NOW) }));
    return { writer, snapshots, audit, events, handle };
  }

  /** A DeleteSnapshot call as CloudTrail reports it on the default bus. */
  const deleteCall = (snapshotId: string, errorCode?: string) => ({
    version: '0', id: 'c0ffee00-0000-4000-8000-000000000001', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.ec2', account: '111122223333',
    time: '2024-05-01T10:00:00Z', region: 'eu-west-1', resources: [],
    detail: {
      eventVersion: '1.08', eventTime: '2024-05-01T10:00:00Z', eventSource: 'ec2.amazonaws.com', eventName: 'DeleteSnapshot', awsRegion: 'eu-west-1',
      requestParameters: { snapshotId }, responseElements: { _return: !errorCode }, ...(errorCode ? { errorCode } : {}),
    },
  });

  it('expires every point that needs a deleted snapshot, audits it and announces the change; a redelivery changes nothing more', async () => {
    // Prepare: the multi-volume point of payments-db is in the catalogue
    const w = world();
    await w.handle(loadSharedFixture(EBS_MULTI));

    // Act: its data-disk snapshot is deleted (and the event delivered twice)
    const out = await w.handle(deleteCall('snap-012345678'));
    const again = await w.handle(deleteCall('snap-012345678'));

    // Assess
    expect(out.expired).toEqual([{ machineId: 'payments-db', pointId: 'ebs-snap-01234567' }]);
    expect(w.writer.all('payments-db')[0]!.status).toBe('expired');
    expect(w.events.published).toEqual([{ detailType: 'Recovery Point Status Changed', detail: { machineId: 'payments-db', pointId: 'ebs-snap-01234567', status: 'expired', snapshotId: 'snap-012345678' } }]);
    expect((await w.audit.list('catalog:payments-db')).map((e) => e.type)).toEqual(['point.expired']);
    expect(again.expired).toEqual([]);
  });

  it('captures the source machine (arm64, UEFI, devices by volume) and assembles per-volume snapshots into one point, incomplete until every volume is in', async () => {
    // Prepare: payments-db is an arm64 UEFI machine with a root and a data volume, snapshotted one volume at a time
    const facts = {
      instanceId: 'i-0123456789abcdef0', readAt: '2024-05-01T10:00:00.000Z', architecture: 'arm64' as const, bootMode: 'uefi' as const, enaSupport: true,
      platform: 'linux' as const, usageOperation: 'RunInstances', rootDeviceName: '/dev/xvda',
      blockDevices: [{ deviceName: '/dev/xvda', volumeId: 'vol-0aaaaaaaa' }, { deviceName: '/dev/sdf', volumeId: 'vol-0bbbbbbbb' }],
    };
    const root: SnapshotInfo = { snapshotId: 'snap-0aaaaaaaa', state: 'completed', startTime: '2024-05-01T08:00:00.000Z', volumeId: 'vol-0aaaaaaaa', volumeSize: 8, tags: { 'cleanpoint:machine': 'payments-db' } };
    const data: SnapshotInfo = { snapshotId: 'snap-0bbbbbbbb', state: 'pending', startTime: '2024-05-01T08:00:40.000Z', volumeId: 'vol-0bbbbbbbb', volumeSize: 100, tags: { 'cleanpoint:machine': 'payments-db' } };
    const writer = new MemoryRecoveryPointCatalog();
    const around = [root, data];
    const machines = { describeMachine: async () => facts, snapshotsOfVolumes: async () => around };
    const handle = mod.makeHandler(async () => ({ snapshots: new FixedSnapshots(around), machines, writer, index, audit: new MemoryAuditLog(), events: new RecordingEvents(), clock: fixedClock(NOW) }));
    const single = (id: string) => ({ ...loadSharedFixture('eventbridge/ebs/awsdocs_ebs_createSnapshot_succeeded.json') as Record<string, unknown>, detail: { event: 'createSnapshot', result: 'succeeded', snapshot_id: `arn:aws:ec2::us-west-2:snapshot/${id}`, source: 'arn:aws:ec2::us-west-2:volume/vol-0aaaaaaaa' } });

    // Act: the root volume's event arrives while the data volume's snapshot is still pending
    await handle(single('snap-0aaaaaaaa'));
    const first = writer.all('payments-db').map((p) => [p.pointId, p.status]);
    // ...then the data volume's snapshot completes and its event arrives
    around[1] = { ...data, state: 'completed' };
    await handle(single('snap-0bbbbbbbb'));

    // Assess: one point, root first at the source's device names, with the machine's facts; incomplete before
    expect(first).toEqual([['ebs-snap-0aaaaaaaa', 'incomplete']]);
    const points = writer.all('payments-db');
    expect(points.map((p) => [p.pointId, p.status])).toEqual([['ebs-snap-0aaaaaaaa', 'available']]);
    expect(points[0]!.snapshots.map((x) => [x.deviceName, x.snapshotId])).toEqual([['/dev/xvda', 'snap-0aaaaaaaa'], ['/dev/sdf', 'snap-0bbbbbbbb']]);
    expect(points[0]!.machine).toMatchObject({ architecture: 'arm64', bootMode: 'uefi', rootDeviceName: '/dev/xvda' });
  });

  it('ignores a DeleteSnapshot call that failed, and refuses a malformed one naming the path', async () => {
    // Prepare
    const w = world();
    await w.handle(loadSharedFixture(EBS_MULTI));
    const bad = deleteCall('snap-012345678');
    (bad.detail.requestParameters as { snapshotId: string }).snapshotId = 'vol-1234';

    // Act
    const failed = await w.handle(deleteCall('snap-012345678', 'Client.InvalidSnapshot.InUse'));
    const error = await rejectionOf(w.handle(bad));

    // Assess
    expect(failed.expired).toEqual([]);
    expect(w.writer.all('payments-db')[0]!.status).toBe('available');
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['detail.requestParameters.snapshotId']);
  });

  it('records the shared EBS multi-volume sample as one crash-consistent point of the tagged machine', async () => {
    // Prepare
    const w = world();

    // Act
    const out = await w.handle(loadSharedFixture(EBS_MULTI));

    // Assess
    expect(out).toEqual({ recorded: [{ machineId: 'payments-db', pointId: 'ebs-snap-01234567', capturedAt: '2024-05-01T08:00:00.000Z' }], ignored: [] });
    expect(w.writer.all('payments-db')).toMatchObject([{
      pointId: 'ebs-snap-01234567', status: 'available', scan: 'unscanned', source: 'ebs',
      snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-01234567', volumeSize: 50 }, { deviceName: '/dev/sdf', snapshotId: 'snap-012345678', volumeSize: 500 }],
    }]);
  });

  it('records the shared DRS PIT sample for the machine its source server replicates, at the event time', async () => {
    // Prepare
    const w = world([
      { snapshotId: 'snap-445566', state: 'completed', startTime: '2016-08-22T20:10:00.000Z', tags: {} },
      { snapshotId: 'snap-778899', state: 'completed', startTime: '2016-08-22T20:10:00.000Z', tags: {} },
    ]);

    // Act
    const out = await w.handle(loadSharedFixture(DRS_PIT));

    // Assess
    expect(out.recorded).toEqual([{ machineId: 'ledger-db', pointId: 'drs-112233', capturedAt: '2016-08-22T20:12:19.000Z' }]);
    expect(w.snapshots.asked).toEqual([['snap-445566', 'snap-778899']]);
  });

  it('ignores snapshots that carry no machine tag and says why', async () => {
    // Prepare
    const w = world(ebsSnapshots.map((s) => ({ ...s, tags: {} })));

    // Act
    const out = await w.handle(loadSharedFixture(EBS_MULTI));

    // Assess
    expect(out).toEqual({
      recorded: [],
      ignored: [
        { snapshotId: 'snap-01234567', reason: 'no cleanpoint:machine tag' },
        { snapshotId: 'snap-012345678', reason: 'no cleanpoint:machine tag' },
      ],
    });
  });

  it.each([
    ['a failed multi-volume snapshot', () => loadSharedFixture(EBS_MULTI_FAILED)],
    ['a GuardDuty finding', () => makeEvent()],
    ['something that is not an event at all', () => 'snap-01234567'],
  ])('refuses %s with UnsupportedEventError and records nothing', async (_what, event) => {
    // Prepare
    const w = world();

    // Act
    const error = await rejectionOf(w.handle(event()));

    // Assess
    expect(error.name).toBe('UnsupportedEventError');
    expect(w.writer.all('payments-db')).toEqual([]);
  });

  it('refuses a snapshot notification whose snapshot id is not an EBS snapshot ARN, naming the path', async () => {
    // Prepare
    const w = world();
    const event = loadSharedFixture<{ detail: { snapshots: { snapshot_id: string }[] } }>(EBS_MULTI);
    event.detail.snapshots[0]!.snapshot_id = 'arn:aws:ec2::us-east-1:volume/vol-01234567';

    // Act
    const error = await rejectionOf(w.handle(event));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['detail.snapshots[0].snapshot_id']);
    expect(w.snapshots.asked).toEqual([]);
  });
});

describe('record-recovery-point handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for EC2)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const ec2 = mockClient(EC2Client);

  beforeEach(() => {
    ec2.reset();
    stores = memoryAdapters();
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: ebsSnapshots.map((s) => ({
        SnapshotId: s.snapshotId, State: 'completed', StartTime: new Date(s.startTime), VolumeId: s.volumeId, VolumeSize: s.volumeSize,
        Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
      })),
    });
  });

  afterAll(() => {
    ec2.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  /** The machine's points in the catalogue, newest first. */
  async function pointsOf(machineId: string) {
    const out = [];
    for await (const p of stores.catalog.pointsAtOrBefore(machineId, '9999-12-31T23:59:59.999Z')) out.push(p);
    return out;
  }

  it('looks up the EBS sample\'s snapshots and writes the point to the catalogue, found by its id too', async () => {
    // Act
    const out = await handler(loadSharedFixture(EBS_MULTI), lambdaContext());

    // Assess
    expect(out.recorded).toEqual([{ machineId: 'payments-db', pointId: 'ebs-snap-01234567', capturedAt: '2024-05-01T08:00:00.000Z' }]);
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(DescribeSnapshotsCommand, { SnapshotIds: ['snap-01234567', 'snap-012345678'] });
    const stored = {
      machineId: 'payments-db', pointId: 'ebs-snap-01234567', capturedAt: '2024-05-01T08:00:00.000Z', status: 'available',
      snapshots: [
        { deviceName: '/dev/xvda', snapshotId: 'snap-01234567', volumeSize: 50, volumeId: 'vol-01234567' },
        { deviceName: '/dev/sdf', snapshotId: 'snap-012345678', volumeSize: 500, volumeId: 'vol-012345678' },
      ],
    };
    expect(await pointsOf('payments-db')).toEqual([expect.objectContaining(stored)]);
    expect(await stores.catalog.getPoint('payments-db', 'ebs-snap-01234567')).toMatchObject(stored);
  });

  it('never records a multi-volume point as available when one snapshot of the set no longer exists', async () => {
    // Prepare: EC2 refuses the batch because one id is unknown; asked one by one, only the root volume is found
    ec2.on(DescribeSnapshotsCommand, { SnapshotIds: ['snap-01234567', 'snap-012345678'] })
      .rejects(new EC2ServiceException({ name: 'InvalidSnapshot.NotFound', message: "The snapshot 'snap-012345678' does not exist.", $fault: 'client', $metadata: { httpStatusCode: 400 } }));
    ec2.on(DescribeSnapshotsCommand, { SnapshotIds: ['snap-012345678'] })
      .rejects(new EC2ServiceException({ name: 'InvalidSnapshot.NotFound', message: "The snapshot 'snap-012345678' does not exist.", $fault: 'client', $metadata: { httpStatusCode: 400 } }));
    ec2.on(DescribeSnapshotsCommand, { SnapshotIds: ['snap-01234567'] }).resolves({
      Snapshots: [{ SnapshotId: 'snap-01234567', State: 'completed', StartTime: new Date('2024-05-01T08:00:00.000Z'), VolumeSize: 50, Tags: [{ Key: 'cleanpoint:machine', Value: 'payments-db' }] }],
    });

    // Act
    await handler(loadSharedFixture(EBS_MULTI), lambdaContext());

    // Assess: a point without its data volume would restore payments-db without its data
    const available = (await pointsOf('payments-db')).filter((p) => p.pointId === 'ebs-snap-01234567' && p.status === 'available');
    expect(available).toEqual([]);
  });
});
