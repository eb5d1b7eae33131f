import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../domain/shared/index.ts';
import { GuardDutySimulator } from '../../local/guardduty-sim.ts';

/** The local GuardDuty Malware Protection simulator refuses and reports what GuardDuty would. */
const ROLE = 'arn:aws:iam::000000000000:role/cleanpoint-local-malware-scanner';
const arn = (id: string) => `arn:aws:ec2:us-east-1:000000000000:snapshot/${id}`;

function world(existing: string[]) {
  const clock = fixedClock(Date.parse('2026-12-03T10:00:00Z'));
  const sim = new GuardDutySimulator(clock, { durationMs: 20_000, snapshotExists: (id) => existing.includes(id) });
  const start = (id: string) => sim.handle('StartMalwareScanCommand', { ResourceArn: arn(id), ScanConfiguration: { Role: ROLE } })['ScanId'] as string;
  const get = (scanId: string) => sim.handle('GetMalwareScanCommand', { ScanId: scanId });
  return { clock, sim, start, get };
}

describe('GuardDuty malware-scan simulator', () => {
  it('skips a snapshot EC2 no longer has with RESOURCE_NOT_FOUND once the scan would have ended, as GuardDuty does', () => {
    // Prepare
    const w = world(['snap-0aaaaaaaaaaaaaaa1']);
    const gone = w.start('snap-0bbbbbbbbbbbbbbb2');
    const kept = w.start('snap-0aaaaaaaaaaaaaaa1');

    // Act
    const running = w.get(gone);
    w.clock.advance(20_000);

    // Assess
    expect(running['ScanStatus']).toBe('RUNNING');
    expect(w.get(gone)).toMatchObject({ ScanStatus: 'SKIPPED', ScanStatusReason: 'RESOURCE_NOT_FOUND' });
    expect(w.get(kept)).toMatchObject({ ScanStatus: 'COMPLETED', ScanResultDetails: { ScanResultStatus: 'NO_THREATS_FOUND' } });
  });

  it('refuses a scan without the scanner role, and a resource that is not an EBS snapshot', () => {
    const w = world([]);
    const refused = (input: Record<string, unknown>) => { try { w.sim.handle('StartMalwareScanCommand', input); return null; } catch (e) { return (e as Error).name; } };
    expect(refused({ ResourceArn: arn('snap-0aaaaaaaaaaaaaaa1') })).toBe('BadRequestException');
    expect(refused({ ResourceArn: 'arn:aws:ec2:us-east-1:000000000000:volume/vol-0123', ScanConfiguration: { Role: ROLE } })).toBe('BadRequestException');
  });
});
