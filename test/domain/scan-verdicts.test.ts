import { describe, expect, it } from 'vitest';
import { assessFinding, BACKUP_MALWARE_FINDING_TYPES, DEFAULT_POLICY, parseFinding } from '../../domain/findings/index.ts';
import { fixedClock, UnsupportedEventError, ValidationError } from '../../domain/shared/index.ts';
import { indexInventory, parseInventory } from '../../domain/inventory/index.ts';
import type { DomainEvent, EventPublisher, ImageDirectory } from '../../domain/ports/index.ts';
import { catalogAuditStream, parseScanEvent, recordScanVerdict, VERDICT_CHANGED_EVENT, type RecoveryPoint } from '../../domain/recovery-points/index.ts';
import { MemoryAuditLog, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import { INSTANCES, listSharedFixtures, loadSharedFixture, loadTestEvent, makeInventory, makePoint } from '../helpers/fixtures.ts';

type Json = Record<string, any>;

const BACKUP_DIR = 'eventbridge/backup';
const scanSample = (state: string): Json => loadSharedFixture(`${BACKUP_DIR}/awsdocs-backup_Scan-Job-State-Change_${state}.json`);
const finding = (name: 'snapshot' | 'ami' | 'recovery-point'): Json => loadTestEvent('guardduty', `malware-backup-${name}`);

const ROOT = 'snap-0a1b2c3d4e5f60001';
const DATA = 'snap-0a1b2c3d4e5f600aa';
const NOW = Date.parse('2024-05-01T09:00:00.000Z');
const index = indexInventory(parseInventory(makeInventory()));

/** A Backup scan job event about one EBS snapshot of ours, built from the THREATS_FOUND sample. */
function backupScan(o: { snapshotId?: string; arn?: string; state?: string; result?: 'THREATS_FOUND' | 'NO_THREATS_FOUND' | null; scanId?: string; completedAt?: string } = {}): Json {
  const e = scanSample('COMPLETED_THREATS_FOUND');
  const arn = o.arn ?? `arn:aws:ec2:eu-west-1::snapshot/${o.snapshotId ?? ROOT}`;
  e['resources'] = [arn];
  Object.assign(e['detail'], { recoveryPointArn: arn, resourceArn: `arn:aws:ec2:eu-west-1:111122223333:volume/vol-0a1b2c3d4e5f60001`, resourceType: 'EBS', state: o.state ?? 'COMPLETED', completionDate: o.completedAt ?? '2024-05-01T08:30:00Z' });
  if (o.scanId) e['detail']['scanId'] = o.scanId;
  if (o.result === null) delete e['detail']['scanResult'];
  else e['detail']['scanResult'] = { scanResultStatus: o.result ?? 'THREATS_FOUND' };
  return e;
}

class Images implements ImageDirectory {
  constructor(private readonly images: Record<string, string[]>) {}
  async imageSnapshots(imageId: string) { return this.images[imageId] ?? null; }
}
class Events implements EventPublisher {
  readonly published: DomainEvent[] = [];
  async publish(events: DomainEvent[]) { this.published.push(...structuredClone(events)); }
}

function world(points: RecoveryPoint[], images: Record<string, string[]> = {}) {
  const catalog = new MemoryRecoveryPointCatalog(points);
  const audit = new MemoryAuditLog();
  const events = new Events();
  const record = recordScanVerdict({ catalog, images: new Images(images), audit, events, index, clock: fixedClock(NOW) });
  const point = async (pointId: string, machineId = 'payments-db') => (await catalog.getPoint(machineId, pointId))!;
  return { catalog, audit, events, record, point };
}

const rootPoint = () => makePoint({ pointId: 'p-0800', capturedAt: '2024-05-01T08:00:00.000Z', scan: 'unscanned', snapshots: [{ deviceName: '/dev/xvda', snapshotId: ROOT }] });
const otherPoint = () => makePoint({ pointId: 'p-0700', capturedAt: '2024-05-01T07:00:00.000Z', scan: 'unscanned', snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0a1b2c3d4e5f60700' }] });

describe('parseScanEvent', () => {
  // Every Scan Job State Change sample AWS documents, and what it means for a point.
  const expected: Record<string, { verdict: 'infected' | 'clean' | null; ignored: boolean; status: string }> = {
    'awsdocs-backup_Scan-Job-State-Change_CANCELED.json': { verdict: null, ignored: false, status: 'CANCELED' },
    'awsdocs-backup_Scan-Job-State-Change_COMPLETED_THREATS_FOUND.json': { verdict: 'infected', ignored: false, status: 'COMPLETED' },
    'awsdocs-backup_Scan-Job-State-Change_COMPLETED_WITH_ISSUES.json': { verdict: null, ignored: false, status: 'COMPLETED_WITH_ISSUES' },
    'awsdocs-backup_Scan-Job-State-Change_CREATED.json': { verdict: null, ignored: true, status: 'CREATED' },
    'awsdocs-backup_Scan-Job-State-Change_FAILED.json': { verdict: null, ignored: false, status: 'FAILED' },
    'awsdocs-backup_Scan-Job-State-Change_RUNNING.json': { verdict: null, ignored: true, status: 'RUNNING' },
  };

  it('reads every AWS Backup Scan Job State Change sample: threats found is infected, a partial clean scan is only evidence, created/running say nothing', () => {
    // Prepare
    const files = listSharedFixtures(BACKUP_DIR).filter((f) => f.includes('Scan-Job-State-Change'));
    expect(files.sort()).toEqual(Object.keys(expected).sort());
    for (const file of files) {
      // Act
      const report = parseScanEvent(loadSharedFixture(`${BACKUP_DIR}/${file}`));
      // Assess
      expect({ verdict: report.verdict, ignored: report.ignored !== undefined, status: report.record.status }, file).toEqual(expected[file]);
      expect(report.source, file).toBe('backup-scan');
      expect(report.record.scanId, file).toBe('43bc14a6-03e0-436a-abf5-8825d3aa6835');
      expect(report.target, file).toEqual({
        kind: 'vault-recovery-point', arn: 'arn:aws:backup:us-west-2:1112233445566:recovery-point:abcd1234-5678-abcd-9012-abcdef123456',
        instanceId: 'i-0515aee7de03f58e1', createdAt: '2025-12-12T12:12:00Z',
      });
    }
  });

  it('reads the three Malware Protection for Backup findings as infected verdicts on the snapshot, AMI or recovery point they name', () => {
    // Act
    const snapshot = parseScanEvent(finding('snapshot'));
    const ami = parseScanEvent(finding('ami'));
    const rp = parseScanEvent(finding('recovery-point'));
    // Assess
    expect(snapshot.target).toEqual({ kind: 'snapshot', arn: `arn:aws:ec2:eu-west-1::snapshot/${ROOT}`, snapshotId: ROOT });
    expect(ami.target).toEqual({ kind: 'image', arn: 'arn:aws:ec2:eu-west-1::image/ami-0a1b2c3d4e5f60002', imageId: 'ami-0a1b2c3d4e5f60002' });
    expect(rp.target).toEqual({ kind: 'snapshot', arn: 'arn:aws:ec2:eu-west-1::snapshot/snap-0a1b2c3d4e5f60004', snapshotId: 'snap-0a1b2c3d4e5f60004' });
    expect(snapshot.record).toEqual({
      verdict: 'infected', source: 'guardduty-malware-finding', scanId: '0f6e5d4c3b2a19087f6e5d4c3b2a1908', at: '2024-05-01T08:41:02.512Z', status: 'THREATS_FOUND',
      threats: [
        { name: 'Ransom:Linux/LockBit.A', path: '/var/lib/postgresql/.cache/lb3' },
        { name: 'Ransom:Linux/LockBit.A', path: '/tmp/.x/lb3.elf' },
        { name: 'EICAR-Test-File (not a virus)', path: '/home/ops/eicar.com' },
      ],
      detail: 'GuardDuty finding a4c8e2f06b1d4e3f9a7b5c3d1e0f2a41 (Execution:EC2/MaliciousFile!Snapshot)',
    });
    expect(rp.record.detail).toContain('in vault cleanpoint-vault');
    expect([snapshot, ami, rp].map((r) => r.verdict)).toEqual(['infected', 'infected', 'infected']);
  });

  it('refuses events that carry no malware-scan verdict as unsupported', () => {
    const others = [
      loadSharedFixture('guardduty/findings/o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json'),
      loadSharedFixture(`${BACKUP_DIR}/awsdocs-backup_Backup-Job-State-Change_COMPLETED.json`),
      loadSharedFixture('eventbridge/ebs/awsdocs_ebs_createSnapshot_succeeded.json'),
      { ...finding('snapshot'), detail: { ...finding('snapshot')['detail'], type: 'Execution:S3/MaliciousFile!RecoveryPoint' } },
    ];
    for (const event of others) expect(() => parseScanEvent(event)).toThrow(UnsupportedEventError);
  });

  it('refuses a malformed event with a ValidationError naming the offending path', () => {
    // Prepare
    const badArn = backupScan({ arn: 'arn:aws:s3:::not-a-backup' });
    const badResult = backupScan();
    badResult['detail']['scanResult'] = { scanResultStatus: 'MAYBE' };
    const noSnapshot = finding('snapshot');
    delete noSnapshot['detail']['resource']['ebsSnapshotDetails'];
    const badTime = finding('ami');
    badTime['detail']['createdAt'] = 'yesterday';
    // Act + Assess
    const paths = (e: unknown) => { try { parseScanEvent(e); } catch (err) { if (err instanceof ValidationError) return err.issues.map((i) => i.path); throw err; } throw new Error('no error'); };
    expect(paths(badArn)).toEqual(['detail.recoveryPointArn']);
    expect(paths(badResult)).toEqual(['detail.scanResult.scanResultStatus']);
    expect(paths(noSnapshot)).toEqual(['detail.resource.ebsSnapshotDetails.snapshotArn']);
    expect(paths(badTime)).toEqual(['detail.createdAt']);
  });
});

describe('recordScanVerdict', () => {
  it('marks the point holding a malicious snapshot infected with its evidence, audits it and publishes the verdict change', async () => {
    // Prepare
    const w = world([rootPoint(), otherPoint()]);
    // Act
    const out = await w.record(finding('snapshot'));
    // Assess
    expect(out.points).toEqual([{ machineId: 'payments-db', pointId: 'p-0800', outcome: 'verdict-changed', scan: 'infected' }]);
    expect(out.unmapped).toBeNull();
    const marked = await w.point('p-0800');
    expect(marked.scan).toBe('infected');
    expect(marked.scanRecord).toMatchObject({ source: 'guardduty-malware-finding', scanId: '0f6e5d4c3b2a19087f6e5d4c3b2a1908', status: 'THREATS_FOUND' });
    expect((await w.point('p-0700')).scan).toBe('unscanned');
    expect(w.events.published).toEqual([{ detailType: VERDICT_CHANGED_EVENT, detail: { machineId: 'payments-db', pointId: 'p-0800', verdict: 'infected', source: 'guardduty-malware-finding', scanId: '0f6e5d4c3b2a19087f6e5d4c3b2a1908' } }]);
    const audit = await w.audit.list(catalogAuditStream('payments-db'));
    expect(audit.map((a) => [a.type, a.actor, a.data['from'], a.data['to']])).toEqual([['point.verdict-changed', 'guardduty', 'unscanned', 'infected']]);
  });

  it('writes nothing more when the same event is delivered again', async () => {
    // Prepare
    const w = world([rootPoint()]);
    await w.record(finding('snapshot'));
    const before = await w.point('p-0800');
    // Act
    const again = await w.record(finding('snapshot'));
    // Assess
    expect(again.points.map((p) => p.outcome)).toEqual(['unchanged']);
    expect(await w.point('p-0800')).toEqual(before);
    expect(w.events.published).toHaveLength(1);
    expect(await w.audit.list(catalogAuditStream('payments-db'))).toHaveLength(1);
  });

  it('marks a point clean after a complete clean Backup scan, and infected after a later scan finds threats', async () => {
    // Prepare
    const w = world([rootPoint()]);
    // Act
    const clean = await w.record(backupScan({ result: 'NO_THREATS_FOUND', scanId: 'scan-clean', completedAt: '2024-05-01T08:20:00Z' }));
    const infected = await w.record(backupScan({ result: 'THREATS_FOUND', scanId: 'scan-dirty', completedAt: '2024-05-01T08:40:00Z' }));
    // Assess
    expect(clean.points.map((p) => [p.outcome, p.scan])).toEqual([['verdict-changed', 'clean']]);
    expect(infected.points.map((p) => [p.outcome, p.scan])).toEqual([['verdict-changed', 'infected']]);
    expect(w.events.published.map((e) => [e.detail['verdict'], e.detail['source'], e.detail['scanId']])).toEqual([['clean', 'backup-scan', 'scan-clean'], ['infected', 'backup-scan', 'scan-dirty']]);
    expect((await w.point('p-0800')).scanRecord).toMatchObject({ verdict: 'infected', scanId: 'scan-dirty', status: 'COMPLETED', at: '2024-05-01T08:40:00.000Z' });
  });

  it('keeps an infected point infected whatever clean scan arrives later (infected is sticky)', async () => {
    // Prepare
    const w = world([rootPoint()]);
    await w.record(finding('snapshot'));
    // Act
    const later = await w.record(backupScan({ result: 'NO_THREATS_FOUND', scanId: 'scan-newer', completedAt: '2024-05-02T08:00:00Z' }));
    // Assess
    expect(later.points.map((p) => [p.outcome, p.scan])).toEqual([['kept-infected', 'infected']]);
    expect((await w.point('p-0800')).scanRecord!.source).toBe('guardduty-malware-finding');
    expect(w.events.published).toHaveLength(1);
  });

  it('changes nothing for a RUNNING or CREATED event after COMPLETED, nor for a failed scan of a point with a verdict', async () => {
    // Prepare
    const w = world([rootPoint()]);
    await w.record(backupScan({ result: 'NO_THREATS_FOUND' }));
    const before = await w.point('p-0800');
    // Act
    const running = await w.record(backupScan({ state: 'RUNNING', result: null }));
    const created = await w.record(backupScan({ state: 'CREATED', result: null }));
    const failed = await w.record(backupScan({ state: 'FAILED', result: null, completedAt: '2024-05-01T09:00:00Z' }));
    // Assess
    expect([running.ignored, created.ignored]).toEqual(['scan job RUNNING: no result yet', 'scan job CREATED: no result yet']);
    expect(running.points).toEqual([]);
    expect(failed.points.map((p) => p.outcome)).toEqual(['unchanged']);
    expect(await w.point('p-0800')).toEqual(before);
    expect(w.events.published).toHaveLength(1);
  });

  it('records a failed, cancelled or partial scan of an unscanned point as evidence without a verdict, and publishes nothing', async () => {
    // Prepare
    const w = world([rootPoint()]);
    // Act
    const failed = await w.record(backupScan({ state: 'FAILED', result: null, completedAt: '2024-05-01T08:30:00Z' }));
    const partial = await w.record(backupScan({ state: 'COMPLETED_WITH_ISSUES', result: 'NO_THREATS_FOUND', completedAt: '2024-05-01T08:35:00Z' }));
    const olderCancel = await w.record(backupScan({ state: 'CANCELED', result: null, completedAt: '2024-05-01T08:10:00Z' }));
    // Assess
    expect([failed, partial, olderCancel].map((r) => r.verdict)).toEqual([null, null, null]);
    expect([failed, partial, olderCancel].map((r) => r.points[0]!.outcome)).toEqual(['evidence-updated', 'evidence-updated', 'unchanged']);
    const p = await w.point('p-0800');
    expect(p.scan).toBe('unscanned');
    expect(p.scanRecord).toMatchObject({ verdict: 'unscanned', status: 'COMPLETED_WITH_ISSUES', source: 'backup-scan' });
    expect(w.events.published).toEqual([]);
    expect((await w.audit.list(catalogAuditStream('payments-db'))).map((a) => a.type)).toEqual(['point.scan-evidence', 'point.scan-evidence']);
  });

  it('treats threats found by a partial scan as infected', async () => {
    // Prepare
    const w = world([rootPoint()]);
    // Act
    const out = await w.record(backupScan({ state: 'COMPLETED_WITH_ISSUES', result: 'THREATS_FOUND' }));
    // Assess
    expect(out.points.map((p) => p.scan)).toEqual(['infected']);
  });

  it('marks a multi-volume point infected from one malicious volume, but never clean from one clean volume', async () => {
    // Prepare
    const both = makePoint({ pointId: 'p-both', capturedAt: '2024-05-01T08:00:00.000Z', scan: 'unscanned', snapshots: [{ deviceName: '/dev/xvda', snapshotId: ROOT }, { deviceName: '/dev/xvdf', snapshotId: DATA }] });
    const w = world([both]);
    // Act
    const clean = await w.record(backupScan({ snapshotId: DATA, result: 'NO_THREATS_FOUND' }));
    const infected = await w.record(backupScan({ snapshotId: DATA, result: 'THREATS_FOUND' }));
    // Assess
    expect(clean.points.map((p) => [p.outcome, p.scan])).toEqual([['not-covered', 'unscanned']]);
    expect(infected.points.map((p) => [p.outcome, p.scan])).toEqual([['verdict-changed', 'infected']]);
  });

  it('resolves an AMI to its block-device snapshots: infected marks every point holding one, clean only the points it covers entirely', async () => {
    // Prepare
    const whole = makePoint({ pointId: 'p-whole', capturedAt: '2024-05-01T08:00:00.000Z', scan: 'unscanned', snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0a1b2c3d4e5f60003' }, { deviceName: '/dev/xvdf', snapshotId: DATA }] });
    const w = world([whole, otherPoint()], { 'ami-0a1b2c3d4e5f60002': ['snap-0a1b2c3d4e5f60003', DATA], 'ami-0a1b2c3d4e5f6000c': ['snap-0a1b2c3d4e5f60700'] });
    // Act
    const infected = await w.record(finding('ami'));
    const clean = await w.record(backupScan({ arn: 'arn:aws:ec2:eu-west-1::image/ami-0a1b2c3d4e5f6000c', result: 'NO_THREATS_FOUND' }));
    const gone = await w.record(backupScan({ arn: 'arn:aws:ec2:eu-west-1::image/ami-0a1b2c3d4e5f6000d', result: 'THREATS_FOUND' }));
    // Assess
    expect(infected.points.map((p) => [p.pointId, p.scan])).toEqual([['p-whole', 'infected']]);
    expect(clean.points.map((p) => [p.pointId, p.outcome, p.scan])).toEqual([['p-0700', 'verdict-changed', 'clean']]);
    expect(gone.points).toEqual([]);
    expect(gone.unmapped).toBe('image ami-0a1b2c3d4e5f6000d does not exist (any more): its snapshots are unknown');
  });

  it('maps a Backup vault recovery point through its instance and creation date to the nearest point (infected only), or reports an unknown point', async () => {
    // Prepare
    const w = world([rootPoint(), otherPoint()]);
    const vault = (result: 'THREATS_FOUND' | 'NO_THREATS_FOUND', instance: string = INSTANCES.paymentsDb) => {
      const e = scanSample('COMPLETED_THREATS_FOUND');
      Object.assign(e['detail'], { resourceArn: `arn:aws:ec2:eu-west-1:111122223333:instance/${instance}`, creationDate: '2024-05-01T08:04:00Z', scanResult: { scanResultStatus: result } });
      return e;
    };
    // Act
    const sample = await w.record(scanSample('COMPLETED_THREATS_FOUND'));
    const farEvent = vault('THREATS_FOUND');
    farEvent['detail']['creationDate'] = '2024-05-01T07:30:00Z';
    const far = await w.record(farEvent);
    const clean = await w.record(vault('NO_THREATS_FOUND'));
    const infected = await w.record(vault('THREATS_FOUND'));
    // Assess
    expect(sample.unmapped).toBe('instance i-0515aee7de03f58e1 is not a protected machine');
    expect(far.unmapped).toBe('no point of payments-db within 10 min of 2024-05-01T07:30:00.000Z: unknown point');
    expect(clean.points.map((p) => [p.pointId, p.outcome])).toEqual([['p-0800', 'not-covered']]);
    expect(infected.points.map((p) => [p.pointId, p.outcome, p.scan])).toEqual([['p-0800', 'verdict-changed', 'infected']]);
    expect((await w.point('p-0700')).scan).toBe('unscanned');
    const audit = await w.audit.list(catalogAuditStream('payments-db'));
    expect(audit.at(-1)!.data['match']).toBe('matched by machine and time only (240 s from the backup\'s creation date 2024-05-01T08:04:00.000Z)');
  });

  it('ends with the fuller evidence of one scan whether the Backup event or the GuardDuty finding arrives first', async () => {
    // Prepare: the two events of one scan share the GuardDuty scan id
    const scanId = '0f6e5d4c3b2a19087f6e5d4c3b2a1908';
    const a = world([rootPoint()]);
    const b = world([rootPoint()]);
    // Act
    const aOut = [await a.record(backupScan({ scanId })), await a.record(finding('snapshot'))];
    const bOut = [await b.record(finding('snapshot')), await b.record(backupScan({ scanId }))];
    // Assess
    expect(aOut.map((r) => r.points[0]!.outcome)).toEqual(['verdict-changed', 'evidence-updated']);
    expect(bOut.map((r) => r.points[0]!.outcome)).toEqual(['verdict-changed', 'unchanged']);
    expect(await a.point('p-0800')).toEqual(await b.point('p-0800'));
    expect((await a.point('p-0800')).scanRecord!.threats).toHaveLength(3);
    expect([a.events.published.length, b.events.published.length]).toEqual([1, 1]);
  });

  it('ignores GuardDuty sample findings and reports a snapshot no point holds', async () => {
    // Prepare
    const w = world([otherPoint()]);
    const sample = finding('snapshot');
    sample['detail']['service']['additionalInfo'] = { sample: true };
    // Act
    const ignored = await w.record(sample);
    const unknown = await w.record(finding('snapshot'));
    // Assess
    expect(ignored.ignored).toBe('GuardDuty sample finding');
    expect(unknown.unmapped).toBe(`no catalogue point holds ${ROOT}`);
    expect(w.events.published).toEqual([]);
  });
});

describe('assessFinding and Malware Protection for Backup findings', () => {
  it('never treats a malware verdict on a backup as a compromise of a protected machine, whatever its severity or tags', () => {
    // Prepare
    const assess = assessFinding(DEFAULT_POLICY, index);
    for (const type of BACKUP_MALWARE_FINDING_TYPES) {
      const event = finding('snapshot');
      Object.assign(event['detail'], { type, severity: 9.5 });
      event['detail']['resource'] = { resourceType: 'Instance', instanceDetails: { instanceId: INSTANCES.paymentsDb, tags: [{ key: 'cleanpoint:machine', value: 'payments-db' }] } };
      // Act
      const assessment = assess(parseFinding(event));
      // Assess
      expect({ action: assessment.action, machines: assessment.machines, suspectedSince: assessment.suspectedSince }, type).toEqual({ action: 'ignore', machines: [], suspectedSince: null });
      expect(assessment.reasons[0], type).toContain('malware verdict on a backup');
    }
  });
});
