import { DescribeImagesCommand, EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../domain/shared/index.ts';
import type { ImageDirectory } from '../../domain/ports/index.ts';
import type { RecoveryPoint } from '../../domain/recovery-points/index.ts';
import { MemoryAuditLog, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import { loadSharedFixture, loadTestEvent, makePoint } from '../helpers/fixtures.ts';
import {
  auditTypesOf, CATALOG_TABLE, EVENT_BUS, inventoryIndex, issuePaths, lambdaContext, memoryAdapters, MIDDY_API, middyApi, NOW, RecordingEvents, rejectionOf,
  removeTempFiles, STATE_TABLE, stubHandlerEnv, wrapped, writeInventorySource, type WrappedHandler,
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

describe('record-scan-verdict handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for EC2 and EventBridge)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const ec2 = mockClient(EC2Client);
  const eventBridge = mockClient(EventBridgeClient);
  /** A catalogue point (with its snapshot lookup, as the catalogue stores every point). */
  async function seedPoint(p: RecoveryPoint) {
    await stores.catalog.putPoint(p);
    stores.reset();
    return p.pointId;
  }

  beforeEach(() => {
    ec2.reset();
    eventBridge.reset();
    stores = memoryAdapters();
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  });

  afterAll(() => {
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
    const pointId = await seedPoint(point());
    // Act
    const out = await handler(malware('snapshot'), lambdaContext());
    // Assess
    expect(out.points).toEqual([{ machineId: 'payments-db', pointId: 'p-0800', outcome: 'verdict-changed', scan: 'infected' }]);
    expect(stores.log).toContainEqual({ call: 'catalog.findPointsBySnapshot', args: [SNAPSHOT] });
    expect(await auditTypesOf(stores.audit, 'catalog:payments-db')).toEqual(['point.verdict-changed']);
    expect((await stores.audit.list('catalog:payments-db'))[0]).toMatchObject({ actor: 'guardduty' });
    expect(eventBridge).toHaveReceivedCommandExactlyOnceWith(PutEventsCommand, {
      Entries: [{
        EventBusName: EVENT_BUS, Source: 'cleanpoint', DetailType: 'Recovery Point Verdict Changed',
        Detail: JSON.stringify({ machineId: 'payments-db', pointId: 'p-0800', verdict: 'infected', source: 'guardduty-malware-finding', scanId: '0f6e5d4c3b2a19087f6e5d4c3b2a1908' }),
      }],
    });
    expect(stores.calls).toContain('catalog.markPoint');
    expect(await stores.catalog.getPoint('payments-db', pointId)).toMatchObject({ scan: 'infected', scanRecord: { source: 'guardduty-malware-finding', status: 'THREATS_FOUND' } });
  });

  it('writes, audits and publishes nothing when the same finding is delivered again', async () => {
    // Prepare
    await seedPoint(point());
    await handler(malware('snapshot'), lambdaContext());
    stores.reset();
    eventBridge.resetHistory();
    // Act
    const again = await handler(malware('snapshot'), lambdaContext());
    // Assess
    expect(again.points.map((p) => p.outcome)).toEqual(['unchanged']);
    expect(stores.calls.filter((c) => ['catalog.markPoint', 'catalog.putPoint', 'audit.append'].includes(c))).toEqual([]);
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('resolves an AMI finding through DescribeImages to the point holding its snapshot', async () => {
    // Prepare
    await seedPoint(point(IMAGE_SNAPSHOT, 'p-ami'));
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-0a1b2c3d4e5f60002', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: IMAGE_SNAPSHOT } }, { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' }] }] });
    // Act
    const out = await handler(malware('ami'), lambdaContext());
    // Assess
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(DescribeImagesCommand, { ImageIds: ['ami-0a1b2c3d4e5f60002'] });
    expect(out.points.map((p) => [p.pointId, p.scan])).toEqual([['p-ami', 'infected']]);
  });

  it('reports a deregistered AMI as an unknown point instead of failing', async () => {
    // Prepare
    ec2.on(DescribeImagesCommand).rejects(new EC2ServiceException({ name: 'InvalidAMIID.NotFound', message: "The image id '[ami-0a1b2c3d4e5f60002]' does not exist", $fault: 'client', $metadata: { httpStatusCode: 400 } }));
    // Act
    const out = await handler(malware('ami'), lambdaContext());
    // Assess
    expect(out.unmapped).toBe('image ami-0a1b2c3d4e5f60002 does not exist (any more): its snapshots are unknown');
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('fails (to be retried) when EventBridge keeps refusing the verdict event, leaving the point unwritten', async () => {
    // Prepare
    const pointId = await seedPoint(point());
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });
    // Act
    const error = await rejectionOf(handler(malware('snapshot'), lambdaContext()));
    // Assess: the retry finds the point still unscanned and publishes again
    expect(error.name).toBe('TransientError');
    expect((await stores.catalog.getPoint('payments-db', pointId))?.scan).toBe('unscanned');
  });
});
