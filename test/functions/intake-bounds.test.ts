import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/findings/index.ts';
import type { SnapshotInfo } from '../../domain/recovery-points/index.ts';
import type { ImageDirectory } from '../../domain/ports/index.ts';
import { MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog, MemoryRunStore } from '../../functions/shared/adapters/memory/index.ts';
import { loadSharedFixture, loadTestEvent, makeEvent, makeFinding, makeInventory } from '../helpers/fixtures.ts';
import {
  CATALOG_TABLE, EVENT_BUS, fixedClock, FixedSnapshots, inventoryIndex, issuePaths, NOW, OPS_EMAIL, RecordingEvents, RecordingNotifier,
  RecordingWorkflows, rejectionOf, removeTempFiles, STATE_MACHINE_ARN, STATE_TABLE, stubHandlerEnv, writeInventorySource, writeYamlSource,
} from './support.ts';

/**
 * Bad input where EventBridge delivers it (issue 15, item 4): a finding or a point event nested
 * thousands of levels deep, or with ids far longer than AWS ever issues, is refused by the
 * handler as a ValidationError naming the offending path (the local runtime does not retry it,
 * on AWS it ends in the dead-letter queue) before anything recursive runs and before any store is
 * touched; nothing a dependency would say about it (DynamoDB's key size limit, a stack overflow)
 * can reach anyone.
 */
type AssessModule = typeof import('../../functions/assess-finding/handler.ts');
type PointModule = typeof import('../../functions/record-recovery-point/handler.ts');
type VerdictModule = typeof import('../../functions/record-scan-verdict/handler.ts');
let assess: AssessModule;
let points: PointModule;
let verdicts: VerdictModule;

/** `[[[ … 1 … ]]]`, `levels` arrays deep, built without recursion. */
export function deepArray(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

beforeAll(async () => {
  stubHandlerEnv({
    STATE_TABLE, CATALOG_TABLE, EVENT_BUS_NAME: EVENT_BUS, INVENTORY_SOURCE: writeInventorySource(),
    POLICY_SOURCE: writeYamlSource('policy.yaml', { version: 'bounds-tests' }), INCIDENT_STATE_MACHINE_ARN: STATE_MACHINE_ARN, NOTIFY_EMAIL_TO: OPS_EMAIL,
  });
  assess = await import('../../functions/assess-finding/handler.ts');
  points = await import('../../functions/record-recovery-point/handler.ts');
  verdicts = await import('../../functions/record-scan-verdict/handler.ts');
});
afterAll(() => removeTempFiles());

describe('assess-finding: bad input is a validation error, never a crash or a store error', () => {
  function world() {
    const store = new MemoryIncidentStore();
    const audit = new MemoryAuditLog();
    const workflows = new RecordingWorkflows();
    const events = new RecordingEvents();
    const notifier = new RecordingNotifier();
    const handle = assess.makeHandler(async () => ({
      policy: DEFAULT_POLICY, index: inventoryIndex(), store, audit, workflows, events, notifier, clock: fixedClock(NOW),
      runs: new MemoryRunStore(), catalog: new MemoryRecoveryPointCatalog(),
    }));
    const nothingStored = async () => {
      expect(await store.listIncidents()).toEqual([]);
      expect(await store.getFindingRecord(makeFinding().id)).toBeNull();
      expect(workflows.starts).toEqual([]);
      expect(events.published).toEqual([]);
      expect(notifier.sent).toEqual([]);
    };
    return { store, handle, nothingStored };
  }

  it('refuses a valid finding carrying a 5,000-deep array in an unknown field, naming where it nests too deep', async () => {
    // Prepare
    const w = world();
    const finding = makeFinding();
    finding.service['evidence'] = deepArray(5_000); // after the builder, which clones what it is given
    const event = makeEvent(finding);

    // Act
    const error = await rejectionOf(w.handle(event));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toHaveLength(1);
    expect(issuePaths(error)[0]).toMatch(/^detail\.service\.evidence(\[0\])+$/);
    expect(error.message).toMatch(/nests deeper than 32 levels/);
    await w.nothingStored();
  });

  it('refuses a finding id of 3,000 characters as not a GuardDuty finding id, before any store sees it', async () => {
    // Prepare
    const w = world();
    const event = makeEvent(makeFinding({ id: 'a'.repeat(3_000) }));

    // Act
    const error = await rejectionOf(w.handle(event));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['detail.id']);
    expect(error.message).toMatch(/300/);
    expect(error.message).not.toMatch(/a{50}/); // the value is never echoed
    expect(error.message.length).toBeLessThan(400);
    await w.nothingStored();
  });

  it.each([
    ['an account id that is not 12 digits', { accountId: '12345' }, 'detail.accountId'],
    ['a region that is no region name', { region: 'us-east-1; drop table' }, 'detail.region'],
    ['an instance id that is not i- and hex digits', { resource: { instanceDetails: { instanceId: `i-${'0'.repeat(2_000)}` } } }, 'detail.resource.instanceDetails.instanceId'],
    ['a finding type over 100 characters', { type: `Backdoor:EC2/${'X'.repeat(100)}` }, 'detail.type'],
    ['a tag key over 128 characters', { resource: { instanceDetails: { tags: [{ key: 'k'.repeat(129), value: 'v' }] } } }, 'detail.resource.instanceDetails.tags[0].key'],
    ['a tag value over 256 characters', { resource: { instanceDetails: { tags: [{ key: 'Name', value: 'v'.repeat(257) }] } } }, 'detail.resource.instanceDetails.tags[0].value'],
    ['a title over 1,024 characters', { title: 't'.repeat(1_025) }, 'detail.title'],
    ['a finding ARN that is no ARN', { arn: 'finding/123' }, 'detail.arn'],
  ])('refuses %s, naming the field', async (_what, overrides, path) => {
    // Prepare
    const w = world();

    // Act
    const error = await rejectionOf(w.handle(makeEvent(makeFinding(overrides as never))));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    await w.nothingStored();
  });

  it('refuses an event larger than EventBridge delivers (256 KiB), naming the value that crossed the limit', async () => {
    // Prepare
    const w = world();
    const event = makeEvent(makeFinding({ description: 'd'.repeat(300 * 1024) }));

    // Act
    const error = await rejectionOf(w.handle(event));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['detail.description']);
    expect(error.message).toMatch(/262144 bytes/);
  });

  it('does not echo an unsupported source of any size, and does not recurse into it', async () => {
    // Prepare
    const w = world();

    // Act
    const long = await rejectionOf(w.handle(makeEvent(makeFinding(), { source: 's'.repeat(10_000) })));
    const deep = await rejectionOf(w.handle(makeEvent(makeFinding(), { source: deepArray(5_000) })));

    // Assess
    expect(long.name).toBe('UnsupportedEventError');
    expect(long.message.length).toBeLessThan(200);
    expect(deep.name).toBe('ValidationError');
    expect(issuePaths(deep)[0]).toMatch(/^source(\[0\])+$/);
  });

  it('still accepts every real GuardDuty finding type (up to 93 characters today) and the shared samples\' ids and accounts', async () => {
    // Prepare
    const w = world();
    const sample = loadSharedFixture<{ detail: Record<string, unknown> }>('guardduty/findings/o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json');
    const longest = 'PrivilegeEscalation:Kubernetes/AnomalousBehavior.WorkloadDeployed!ContainerWithSensitiveMount';

    // Act
    const out = await w.handle(sample);
    const typed = await w.handle(makeEvent(makeFinding({ type: longest })));

    // Assess
    expect(out.incidentId).toMatch(/^inc-/);
    expect(typed.incidentId).toMatch(/^inc-/);
  });
});

describe('record-recovery-point: bad input is a validation error, never a crash or a store error', () => {
  const DRS_PIT = 'eventbridge/drs/awsdocs-drs_DRS-PIT-Snapshot-Taken_PIT-Snapshot-Taken.json';
  const EBS_MULTI = 'eventbridge/ebs/awsdocs_ebs_createSnapshots_succeeded.json';
  function world(infos: SnapshotInfo[] = []) {
    const raw = makeInventory();
    raw.groups.find((g) => g.name === 'ledger')!.machines.find((m) => m.id === 'ledger-db')!['drsSourceServerId'] = 's-12345678901234567';
    const writer = new MemoryRecoveryPointCatalog();
    const snapshots = new FixedSnapshots(infos);
    const handle = points.makeHandler(async () => ({ snapshots, writer, index: inventoryIndex(raw), audit: new MemoryAuditLog(), events: new RecordingEvents(), clock: fixedClock(NOW) }));
    return { writer, snapshots, handle };
  }

  it('refuses a snapshot event with a 5,000-deep array, naming where it nests too deep, and asks EC2 nothing', async () => {
    // Prepare
    const w = world();
    const event = loadSharedFixture<Record<string, Record<string, unknown>>>(EBS_MULTI);
    event['detail']!['extra'] = deepArray(5_000);

    // Act
    const error = await rejectionOf(w.handle(event));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)[0]).toMatch(/^detail\.extra(\[0\])+$/);
    expect(w.snapshots.asked).toEqual([]);
  });

  it('refuses a DRS snapshot id of 3,000 characters (it would become a catalogue key), naming the field', async () => {
    // Prepare
    const w = world();
    const event = loadSharedFixture<{ detail: { DrsSnapshotID: string } }>(DRS_PIT);
    event.detail.DrsSnapshotID = '1'.repeat(3_000);

    // Act
    const error = await rejectionOf(w.handle(event));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['detail.DrsSnapshotID']);
    expect(w.writer.all('ledger-db')).toEqual([]);
  });

  it('refuses a DeleteSnapshot call nested 5,000 deep in its request parameters', async () => {
    // Prepare
    const w = world();
    const event = {
      source: 'aws.ec2', 'detail-type': 'AWS API Call via CloudTrail',
      detail: { eventSource: 'ec2.amazonaws.com', eventName: 'DeleteSnapshot', requestParameters: { snapshotId: 'snap-01234567', filter: deepArray(5_000) } },
    };

    // Act
    const error = await rejectionOf(w.handle(event));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)[0]).toMatch(/^detail\.requestParameters\.filter(\[0\])+$/);
  });
});

describe('record-scan-verdict: bad input is a validation error, never a crash or a store error', () => {
  function world() {
    const catalog = new MemoryRecoveryPointCatalog();
    const images: ImageDirectory = { imageSnapshots: async () => null };
    return verdicts.makeHandler(async () => ({ catalog, images, audit: new MemoryAuditLog(), events: new RecordingEvents(), index: inventoryIndex(), clock: fixedClock(NOW) }));
  }

  it('refuses a malware finding with a 5,000-deep array, naming where it nests too deep', async () => {
    // Prepare
    const handle = world();
    const event = loadTestEvent<{ detail: Record<string, unknown> }>('guardduty', 'malware-backup-snapshot');
    event.detail['extra'] = deepArray(5_000);

    // Act
    const error = await rejectionOf(handle(event));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)[0]).toMatch(/^detail\.extra(\[0\])+$/);
  });

  it('refuses a malware finding id and an AWS Backup scan job id of 3,000 characters, naming the field', async () => {
    // Prepare
    const handle = world();
    const finding = loadTestEvent<{ detail: { id: string } }>('guardduty', 'malware-backup-snapshot');
    finding.detail.id = 'f'.repeat(3_000);
    const scan = loadSharedFixture<{ detail: { scanJobId: string } }>('eventbridge/backup/awsdocs-backup_Scan-Job-State-Change_COMPLETED_THREATS_FOUND.json');
    scan.detail.scanJobId = 'j'.repeat(3_000);

    // Act
    const byFinding = await rejectionOf(handle(finding));
    const byScan = await rejectionOf(handle(scan));

    // Assess
    expect([byFinding.name, issuePaths(byFinding)]).toEqual(['ValidationError', ['detail.id']]);
    expect([byScan.name, issuePaths(byScan)]).toEqual(['ValidationError', ['detail.scanJobId']]);
  });
});
