/**
 * The EventBridge rules of serverless.yml that route malware-scan verdicts, matched by the
 * repository's own pattern matcher (what the local runtime uses; CloudFormation receives the
 * same patterns) against AWS's samples and our GuardDuty Malware Protection for Backup fixtures.
 * No packaging needed: the patterns are read from serverless.yml directly.
 */
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../local/event-pattern.ts';
import { eventRules, loadServerlessDefinition } from '../../local/serverless-config.ts';
import { listSharedFixtures, loadSharedFixture, loadTestEvent } from '../helpers/fixtures.ts';

type Json = Record<string, any>;

const rules = eventRules(loadServerlessDefinition()).map((r) => ({ ...r, match: compilePattern(r.pattern) }));
const routedTo = (event: unknown) => rules.filter((r) => r.match(event)).map((r) => r.functionName).sort();

const backupMalware = ['snapshot', 'ami', 'recovery-point'].map((n) => [n, loadTestEvent<Json>('guardduty', `malware-backup-${n}`)] as const);
/** Every GuardDuty finding sample with the EventBridge envelope (the bare ones match no rule at all). */
const guardDutyDeliveries = [
  loadSharedFixture<Json>('guardduty/findings/o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json'),
  ...['archived-backdoor', 'container-cryptominer', 'impact-ec2-high-protected', 'tagged-replacement-instance'].map((n) => loadTestEvent<Json>('guardduty', n)),
].filter((e) => e['detail-type'] === 'GuardDuty Finding');
const backupSamples = listSharedFixtures('eventbridge/backup').filter((f) => f.endsWith('.json')).map((f) => [f, loadSharedFixture<Json>(`eventbridge/backup/${f}`)] as const);

describe('scan-verdict event rules', () => {
  it('routes the three Malware Protection for Backup findings to record-scan-verdict only, never to assess-finding', () => {
    for (const [name, event] of backupMalware) expect(routedTo(event), name).toEqual(['record-scan-verdict']);
  });

  it('still routes every other GuardDuty finding to assess-finding, and none to record-scan-verdict', () => {
    expect(guardDutyDeliveries.length).toBeGreaterThanOrEqual(4);
    for (const event of guardDutyDeliveries) expect(routedTo(event), String(event['detail']['type'])).toEqual(['assess-finding']);
    // A malware finding on S3 recovery points names no machine disk: assess-finding assesses it as usual.
    const s3 = structuredClone(backupMalware[2]![1]);
    s3['detail']['type'] = 'Execution:S3/MaliciousFile!RecoveryPoint';
    expect(routedTo(s3)).toEqual(['assess-finding']);
  });

  it('routes the Backup scan jobs that ended to record-scan-verdict, and neither created/running scans nor other Backup events', () => {
    const expected: Record<string, string[]> = {
      'awsdocs-backup_Scan-Job-State-Change_CANCELED.json': ['record-scan-verdict'],
      'awsdocs-backup_Scan-Job-State-Change_COMPLETED_THREATS_FOUND.json': ['record-scan-verdict'],
      'awsdocs-backup_Scan-Job-State-Change_COMPLETED_WITH_ISSUES.json': ['record-scan-verdict'],
      'awsdocs-backup_Scan-Job-State-Change_FAILED.json': ['record-scan-verdict'],
      'awsdocs-backup_Scan-Job-State-Change_CREATED.json': [],
      'awsdocs-backup_Scan-Job-State-Change_RUNNING.json': [],
    };
    for (const [file, event] of backupSamples) expect(routedTo(event), file).toEqual(expected[file] ?? []);
    expect(backupSamples.filter(([f]) => f.includes('Scan-Job')).length).toBe(6);
  });

  it('does not send snapshot or DRS events to record-scan-verdict', () => {
    for (const file of listSharedFixtures('eventbridge/ebs').filter((f) => f.endsWith('.json'))) {
      expect(routedTo(loadSharedFixture(`eventbridge/ebs/${file}`)), file).not.toContain('record-scan-verdict');
    }
    expect(routedTo(loadSharedFixture('eventbridge/drs/awsdocs-drs_DRS-PIT-Snapshot-Taken_PIT-Snapshot-Taken.json'))).toEqual(['record-recovery-point']);
  });
});
