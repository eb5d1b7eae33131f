import { RegisterImageCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryPoint } from '../../domain/recovery-points/index.ts';
import type { LocalSystem } from '../../local/system.ts';
import { loadSharedFixture, loadTestEvent } from '../helpers/fixtures.ts';
import { startTestSystem } from '../helpers/local-system.ts';

/**
 * Malware verdicts on recovery points arriving on the bus, in the local runtime: a GuardDuty
 * Malware Protection for Backup finding on an EBS snapshot or on an AMI, and an AWS Backup scan
 * job, each delivered by its rule in serverless.yml to record-scan-verdict, which runs with its
 * own role (the catalogue, the audit stream, ec2:DescribeImages for an AMI, PutEvents).
 */
type Json = Record<string, any>;
let system: LocalSystem;

beforeAll(async () => { system = await startTestSystem(); }, 60_000);
afterAll(async () => { await system?.close(); });

/** The newest seeded point of a machine not known to be infected (the demo estate seeds three days of points, the newest infected). */
async function newestPoint(machineId: string): Promise<RecoveryPoint> {
  for await (const p of system.stores.catalog.pointsAtOrBefore(machineId, new Date(system.rt.clock.now()).toISOString())) if (p.scan !== 'infected') return p;
  throw new Error(`no point for ${machineId}`);
}

/** A point by id, as the catalogue holds it now. */
async function pointNow(machineId: string, pointId: string): Promise<RecoveryPoint | undefined> {
  for await (const p of system.stores.catalog.pointsAtOrBefore(machineId, new Date(system.rt.clock.now()).toISOString())) if (p.pointId === pointId) return p;
  return undefined;
}


/** The test event with its ARNs pointed at this account's resources. */
function retarget(event: Json, from: Record<string, string>): Json {
  let text = JSON.stringify(event).replaceAll('eu-west-1', 'us-east-1').replaceAll('111122223333', '000000000000');
  for (const [a, b] of Object.entries(from)) text = text.replaceAll(a, b);
  return JSON.parse(text) as Json;
}

describe('scan verdicts on the bus: record-scan-verdict in the local runtime', () => {
  it('marks the point of a snapshot GuardDuty found malware in as infected, audits it and says so on the bus', async () => {
    // Prepare
    const point = await newestPoint('payments-db-1');
    const snapshotId = point.snapshots[0]!.snapshotId;
    const event = retarget(loadTestEvent('guardduty', 'malware-backup-snapshot'), { 'snap-0a1b2c3d4e5f60001': snapshotId });
    const auditBefore = (await system.stores.audit.list('catalog:payments-db-1')).length;

    // Act
    const deliveries = await system.rt.putEvent(event);

    // Assess
    const d = deliveries.find((x) => x.functionName === 'record-scan-verdict');
    expect(d, 'the guardduty-backup-malware rule delivers it').toBeDefined();
    expect(d!.status, d!.error).toBe('delivered');
    expect((await pointNow('payments-db-1', point.pointId))!.scan).toBe('infected');
    expect((await system.stores.audit.list('catalog:payments-db-1')).length).toBeGreaterThan(auditBefore);
    expect(system.rt.deliveries.some((x) => (x.event as Json)['detail-type'] === 'Recovery Point Verdict Changed')).toBe(true);
  });

  it('maps a finding on an AMI through the image\'s snapshots (ec2:DescribeImages) to the point', async () => {
    // Prepare: an image of the point's snapshots, as AWS Backup or an operator would register it
    const point = await newestPoint('crm-db-1');
    const snapshotId = point.snapshots[0]!.snapshotId;
    const image = await system.rt.clients.ec2.send(new RegisterImageCommand({
      Name: `scan-test-${point.pointId}`, RootDeviceName: '/dev/xvda', VirtualizationType: 'hvm', Architecture: 'x86_64',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId } }],
    }));
    const event = retarget(loadTestEvent('guardduty', 'malware-backup-ami'), {
      'ami-0a1b2c3d4e5f60002': image.ImageId!, 'snap-0a1b2c3d4e5f60003': snapshotId,
    });

    // Act
    const deliveries = await system.rt.putEvent(event);

    // Assess
    const d = deliveries.find((x) => x.functionName === 'record-scan-verdict')!;
    expect(d.status, d.error).toBe('delivered');
    expect((await pointNow('crm-db-1', point.pointId))!.scan).toBe('infected');
  });

  it('takes AWS Backup\'s scan job about an unprotected instance as "not a protected machine", changing nothing', async () => {
    // Prepare
    const event = loadSharedFixture('eventbridge/backup/awsdocs-backup_Scan-Job-State-Change_COMPLETED_THREATS_FOUND.json') as Json;

    // Act
    const deliveries = await system.rt.putEvent(event);

    // Assess
    const d = deliveries.find((x) => x.functionName === 'record-scan-verdict')!;
    expect(d.status, d.error).toBe('delivered');
    expect(d.result).toMatchObject({ unmapped: expect.stringMatching(/is not a protected machine/), points: [] });
  });
});
