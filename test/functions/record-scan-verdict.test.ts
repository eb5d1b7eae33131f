import { DescribeImagesCommand, EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../domain/shared/index.ts';
import type { ImageDirectory } from '../../domain/ports/index.ts';
import type { RecoveryPoint } from '../../domain/recovery-points/index.ts';
import { MemoryAuditLog, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import { loadSharedFixture, loadTestEvent, makePoint } from '../helpers/fixtures.ts';
import {
  auditTypes, CATALOG_TABLE, EVENT_BUS, inventoryIndex, issuePaths, lambdaContext, MIDDY_API, middyApi, NOW, RecordingEvents, rejectionOf,
  rememberWrites, removeTempFiles, STATE_TABLE, stubHandlerEnv, writeInventorySource,
} from './support.ts';

type Module = typeof import('../../functions/record-scan-verdict/handler.ts');
let mod: Module;
type Json = Record<string, any>;

const SNAPSHOT = 'snap-0a1b2c3d4e5f60001';
const IMAGE_SNAPSHOT = 'snap-0a1b2c3d4e5f60003';
const index = inventoryIndex();
const point = (snapshotId = SNAPSHOT, pointId = 'p-0800'): RecoveryPoint =>
  makePoint({ pointId, capturedAt: '2024-05-01T08:00:00.000Z', scan: 'unscanned', snapshots: [{ deviceName: '/dev/xvda', snapshotId }] });
const malware = (name: 'snapshot' | 'ami'): Json => loadTestEvent('guardduty', `malware-backup-${name}`);

beforeAll(async () => {
  stubHandlerEnv({ CATALOG_TABLE, STATE_TABLE, EVENT_BUS_NAME: EVENT_BUS, INVENTORY_SOURCE: writeInventorySource() });
  mod = await import('../../functions/record-scan-verdict/handler.ts');
});

afterAll(() => removeTempFiles());

describe('record-scan-verdict handler (factory, in-memory fakes)', () => {
  function world(points: RecoveryPoint[]) {
    const catalog = new MemoryRecoveryPointCatalog(points);
    const events = new RecordingEvents();
    const images: ImageDirectory = { imageSnapshots: async () => null };
    const handle = mod.makeHandler(async () => ({ catalog, images, audit: new MemoryAuditLog(), events, index, clock: fixedClock(NOW) }));
    return { catalog, events, handle };
  }

  it('marks the point of the malicious snapshot infected and returns what changed', async () => {
    // Prepare
    const w = world([point()]);
    // Act
    const out = await w.handle(malware('snapshot'));
    // Assess
    expect(out).toMatchObject({ source: 'guardduty-malware-finding', verdict: 'infected', unmapped: null, points: [{ machineId: 'payments-db', pointId: 'p-0800', outcome: 'verdict-changed', scan: 'infected' }] });
    expect((await w.catalog.getPoint('payments-db', 'p-0800'))!.scan).toBe('infected');
    expect(w.events.published.map((e) => e.detailType)).toEqual(['Recovery Point Verdict Changed']);
  });

  it('returns an unknown point for the shared THREATS_FOUND sample (its instance is not protected) without failing', async () => {
    // Prepare
    const w = world([point()]);
    // Act
    const out = await w.handle(loadSharedFixture('eventbridge/backup/awsdocs-backup_Scan-Job-State-Change_COMPLETED_THREATS_FOUND.json'));
    // Assess
    expect(out.unmapped).toBe('instance i-0515aee7de03f58e1 is not a protected machine');
    expect(out.points).toEqual([]);
  });

  it.each([
    ['a GuardDuty finding about a machine', () => loadSharedFixture('guardduty/findings/o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json'), 'UnsupportedEventError'],
    ['a Backup job event', () => loadSharedFixture('eventbridge/backup/awsdocs-backup_Backup-Job-State-Change_COMPLETED.json'), 'UnsupportedEventError'],
    ['something that is not an event at all', () => 'snap-0a1b2c3d4e5f60001', 'ValidationError'],
  ])('refuses %s and changes nothing', async (_what, event, name) => {
    // Prepare
    const w = world([point()]);
    // Act
    const error = await rejectionOf(w.handle(event()));
    // Assess
    expect(error.name).toBe(name);
    expect((await w.catalog.getPoint('payments-db', 'p-0800'))!.scan).toBe('unscanned');
  });

  it('names the offending path of a malformed scan job event', async () => {
    // Prepare
    const w = world([point()]);
    const event = loadSharedFixture<Json>('eventbridge/backup/awsdocs-backup_Scan-Job-State-Change_FAILED.json');
    delete event['detail']['scanJobId'];
    // Act
    const error = await rejectionOf(w.handle(event));
    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['detail.scanJobId']);
  });
});

describe('record-scan-verdict handler (wrapped, aws-sdk-client-mock)', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const ec2 = mockClient(EC2Client);
  const eventBridge = mockClient(EventBridgeClient);
  let store: ReturnType<typeof rememberWrites>;

  /** A catalogue point as the DynamoDB adapter stores it: the item, its pointer and its snapshot lookup. */
  function seedPoint(p: RecoveryPoint) {
    const sk = `${p.capturedAt}#${p.pointId}`;
    store.seed(CATALOG_TABLE, { ...p, sk });
    store.seed(CATALOG_TABLE, { machineId: p.machineId, sk: `POINT#${p.pointId}`, pointId: p.pointId, capturedAt: p.capturedAt });
    for (const s of p.snapshots) {
      ddb.on(QueryCommand, { TableName: CATALOG_TABLE, ExpressionAttributeValues: { ':s': `SNAP#${s.snapshotId}` } })
        .resolves({ Items: [{ machineId: `SNAP#${s.snapshotId}`, sk: `POINT#${p.machineId}#${p.pointId}`, snapshotId: s.snapshotId, pointMachineId: p.machineId, pointId: p.pointId }] });
    }
    return sk;
  }

  beforeEach(() => {
    ddb.reset();
    ec2.reset();
    eventBridge.reset();
    store = rememberWrites(ddb);
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  });

  afterAll(() => {
    ddb.restore();
    ec2.restore();
    eventBridge.restore();
  });

  it('exports the middy-wrapped handler, not the bare factory', () => {
    // Act
    const api = middyApi(mod.handler);
    // Assess
    expect(api).toEqual(MIDDY_API);
  });

  it('finds the point through the snapshot lookup, audits, publishes on the Cleanpoint bus and writes the verdict', async () => {
    // Prepare
    const sk = seedPoint(point());
    // Act
    const out = await mod.handler(malware('snapshot'), lambdaContext());
    // Assess
    expect(out.points).toEqual([{ machineId: 'payments-db', pointId: 'p-0800', outcome: 'verdict-changed', scan: 'infected' }]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { TableName: CATALOG_TABLE, KeyConditionExpression: 'machineId = :s', ExpressionAttributeValues: { ':s': `SNAP#${SNAPSHOT}` }, ConsistentRead: true });
    expect(auditTypes(ddb)).toEqual(['point.verdict-changed']);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, { TableName: STATE_TABLE, Item: expect.objectContaining({ pk: 'AUDIT#catalog:payments-db', actor: 'guardduty' }) });
    expect(eventBridge).toHaveReceivedCommandExactlyOnceWith(PutEventsCommand, {
      Entries: [{
        EventBusName: EVENT_BUS, Source: 'cleanpoint', DetailType: 'Recovery Point Verdict Changed',
        Detail: JSON.stringify({ machineId: 'payments-db', pointId: 'p-0800', verdict: 'infected', source: 'guardduty-malware-finding', scanId: '0f6e5d4c3b2a19087f6e5d4c3b2a1908' }),
      }],
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { TableName: CATALOG_TABLE, Key: { machineId: 'payments-db', sk }, ExpressionAttributeValues: expect.objectContaining({ ':scan': 'infected' }) });
    expect(store.get(CATALOG_TABLE, { machineId: 'payments-db', sk })).toMatchObject({ scan: 'infected', scanRecord: { source: 'guardduty-malware-finding', status: 'THREATS_FOUND' } });
  });

  it('writes, audits and publishes nothing when the same finding is delivered again', async () => {
    // Prepare
    seedPoint(point());
    await mod.handler(malware('snapshot'), lambdaContext());
    ddb.resetHistory();
    eventBridge.resetHistory();
    // Act
    const again = await mod.handler(malware('snapshot'), lambdaContext());
    // Assess
    expect(again.points.map((p) => p.outcome)).toEqual(['unchanged']);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('resolves an AMI finding through DescribeImages to the point holding its snapshot', async () => {
    // Prepare
    seedPoint(point(IMAGE_SNAPSHOT, 'p-ami'));
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-0a1b2c3d4e5f60002', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: IMAGE_SNAPSHOT } }, { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' }] }] });
    // Act
    const out = await mod.handler(malware('ami'), lambdaContext());
    // Assess
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(DescribeImagesCommand, { ImageIds: ['ami-0a1b2c3d4e5f60002'] });
    expect(out.points.map((p) => [p.pointId, p.scan])).toEqual([['p-ami', 'infected']]);
  });

  it('reports a deregistered AMI as an unknown point instead of failing', async () => {
    // Prepare
    ec2.on(DescribeImagesCommand).rejects(new EC2ServiceException({ name: 'InvalidAMIID.NotFound', message: "The image id '[ami-0a1b2c3d4e5f60002]' does not exist", $fault: 'client', $metadata: { httpStatusCode: 400 } }));
    // Act
    const out = await mod.handler(malware('ami'), lambdaContext());
    // Assess
    expect(out.unmapped).toBe('image ami-0a1b2c3d4e5f60002 does not exist (any more): its snapshots are unknown');
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('fails (to be retried) when EventBridge keeps refusing the verdict event, leaving the point unwritten', async () => {
    // Prepare
    const sk = seedPoint(point());
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });
    // Act
    const error = await rejectionOf(mod.handler(malware('snapshot'), lambdaContext()));
    // Assess: the retry finds the point still unscanned and publishes again
    expect(error.name).toBe('TransientError');
    expect(store.get(CATALOG_TABLE, { machineId: 'payments-db', sk })!['scan']).toBe('unscanned');
  });
});
