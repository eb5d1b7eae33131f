/**
 * Scan verdicts from AWS in the local runtime: the events go on the local bus, the rules of
 * serverless.yml route them to record-scan-verdict, and the next point selection of the machine
 * skips the point as infected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogAuditStream, selectRecoveryPoints } from '../../domain/recovery-points/index.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { loadSharedFixture, loadTestEvent } from '../helpers/fixtures.ts';
import { startSeededRuntime } from '../helpers/local-runtime.ts';

type Json = Record<string, any>;

const MACHINE = 'crm-db-1';
let rt: LocalRuntime;

beforeAll(async () => { rt = await startSeededRuntime({ infected: {} }); }, 120_000);
afterAll(async () => { await rt?.close(); });

async function stores() {
  const { catalogStore, stateStores } = await import('../../functions/shared/wiring.ts');
  return { catalog: catalogStore({ CATALOG_TABLE: rt.tables.catalog }, rt.platform), audit: stateStores({ STATE_TABLE: rt.tables.state }, rt.platform).audit };
}

/** What a selection for crm-db-1 right now chooses, and what it skips. */
async function selectNow() {
  const { catalog } = await stores();
  const now = new Date(rt.clock.now()).toISOString();
  const selection = await selectRecoveryPoints({ catalog })({ groups: [{ group: 'crm', cutoff: now, machines: [MACHINE] }], evidenceAt: now });
  return selection.machines[0]!;
}

describe('malware-scan verdicts in the local runtime', () => {
  it('marks the chosen point infected on a Backup THREATS_FOUND scan of its snapshot, and the next selection skips it as infected', async () => {
    // Prepare: the point a failover would use now
    const before = await selectNow();
    const snapshotId = before.snapshots[0]!.snapshotId;
    const event = loadSharedFixture<Json>('eventbridge/backup/awsdocs-backup_Scan-Job-State-Change_COMPLETED_THREATS_FOUND.json');
    const arn = `arn:aws:ec2:us-east-1::snapshot/${snapshotId}`;
    Object.assign(event, { resources: [arn], time: new Date(rt.clock.now()).toISOString() });
    Object.assign(event['detail'], { recoveryPointArn: arn, resourceType: 'EBS', completionDate: new Date(rt.clock.now()).toISOString() });

    // Act
    const deliveries = await rt.putEvent(event);
    const after = await selectNow();

    // Assess
    expect(deliveries.map((d) => [d.functionName, d.status, d.error])).toEqual([['record-scan-verdict', 'delivered', undefined]]);
    expect((deliveries[0]!.result as Json)['points']).toEqual([{ machineId: MACHINE, pointId: before.pointId, outcome: 'verdict-changed', scan: 'infected' }]);
    expect(after.pointId).not.toBe(before.pointId);
    expect(after.skipped).toContainEqual({ pointId: before.pointId, capturedAt: before.capturedAt, reason: 'infected' });
    const { audit } = await stores();
    expect((await audit.list(catalogAuditStream(MACHINE))).map((a) => [a.type, a.data['pointId']])).toEqual([['point.verdict-changed', before.pointId]]);
  });

  it('marks the next point infected on a GuardDuty snapshot malware finding, which opens no incident', async () => {
    // Prepare
    const before = await selectNow();
    const finding = loadTestEvent<Json>('guardduty', 'malware-backup-snapshot');
    finding['detail']['resource']['ebsSnapshotDetails']['snapshotArn'] = `arn:aws:ec2:us-east-1::snapshot/${before.snapshots.at(-1)!.snapshotId}`;

    // Act
    const deliveries = await rt.putEvent(finding);
    const after = await selectNow();

    // Assess: assess-finding never sees it
    expect(deliveries.map((d) => [d.functionName, d.status])).toEqual([['record-scan-verdict', 'delivered']]);
    expect(after.skipped).toContainEqual({ pointId: before.pointId, capturedAt: before.capturedAt, reason: 'infected' });
    const { catalog } = await stores();
    expect((await catalog.getPoint(MACHINE, before.pointId))!.scanRecord).toMatchObject({ source: 'guardduty-malware-finding', status: 'THREATS_FOUND' });
  });
});
