import { AccessDeniedException, BadRequestException, GetMalwareScanCommand, GuardDutyClient, InternalServerErrorException, StartMalwareScanCommand } from '@aws-sdk/client-guardduty';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { ForbiddenError, ThrottledError, TransientError, ValidationError } from '../../domain/shared/index.ts';
import { GuardDutyMalwareScanner, mapGuardDutyError } from '../../functions/shared/adapters/guardduty-scanner.ts';

const ROLE = 'arn:aws:iam::123456789012:role/cleanpoint-prod-malware-scanner';
const client = new GuardDutyClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
const gd = mockClient(client);
const scanner = new GuardDutyMalwareScanner(client, { scannerRoleArn: ROLE, region: 'us-east-1' });

const meta = { $metadata: {} };
const aws = <E extends Error>(e: E, status: number) => Object.assign(e, { $metadata: { httpStatusCode: status } });

beforeEach(() => gd.reset());

describe('GuardDutyMalwareScanner.startScan', () => {
  it('starts one EBS_SNAPSHOT scan per snapshot with the scanner role and an idempotency token, and joins the scan ids', async () => {
    // Prepare
    gd.on(StartMalwareScanCommand).resolvesOnce({ ...meta, ScanId: 'a1' }).resolvesOnce({ ...meta, ScanId: 'b2' });
    // Act
    const out = await scanner.startScan({ machineId: 'db-1', pointId: 'p1', snapshotIds: ['snap-0aaaaaaaaaaaaaaa1', 'snap-0bbbbbbbbbbbbbbb2'], idempotencyKey: 'inc/db-1/p1' });
    // Assess
    expect(out).toEqual({ scanId: 'a1,b2' });
    expect(gd).toHaveReceivedCommandTimes(StartMalwareScanCommand, 2);
    const first = gd.commandCalls(StartMalwareScanCommand)[0]!.args[0].input;
    expect(first).toMatchObject({ ResourceArn: 'arn:aws:ec2:us-east-1:123456789012:snapshot/snap-0aaaaaaaaaaaaaaa1', ScanConfiguration: { Role: ROLE } });
    expect(first.ClientToken).toMatch(/^[0-9a-f]{64}$/);
    expect(gd.commandCalls(StartMalwareScanCommand)[1]!.args[0].input.ClientToken).not.toBe(first.ClientToken);
  });

  it('maps AccessDenied to ForbiddenError, BadRequest to ValidationError and a 500 to TransientError', async () => {
    for (const [error, type] of [
      [aws(new AccessDeniedException({ message: 'not authorized to perform iam:PassRole', $metadata: {} }), 403), ForbiddenError],
      [aws(new BadRequestException({ message: 'The request is rejected: invalid resource arn', $metadata: {} }), 400), ValidationError],
      [aws(new InternalServerErrorException({ message: 'internal', $metadata: {} }), 500), TransientError],
    ] as const) {
      gd.reset();
      gd.on(StartMalwareScanCommand).rejects(error);
      const e = await scanner.startScan({ machineId: 'db-1', pointId: 'p1', snapshotIds: ['snap-0aaaaaaaaaaaaaaa1'] }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(type);
      expect((e as Error).message).toContain(error.name);
    }
  });

  it('maps throttling to ThrottledError', () => {
    expect(mapGuardDutyError('GetMalwareScan', Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } }))).toBeInstanceOf(ThrottledError);
  });

  it('refuses a scanner role that is not an IAM role ARN', () => {
    expect(() => new GuardDutyMalwareScanner(client, { scannerRoleArn: 'cleanpoint-scanner', region: 'us-east-1' })).toThrow(ValidationError);
  });
});

describe('GuardDutyMalwareScanner.getScan', () => {
  it('reports COMPLETED / NO_THREATS_FOUND when every snapshot scan completed clean', async () => {
    gd.on(GetMalwareScanCommand).resolves({ ...meta, ScanStatus: 'COMPLETED', ScanResultDetails: { ScanResultStatus: 'NO_THREATS_FOUND' } });
    expect(await scanner.getScan('a1,b2')).toEqual({ status: 'COMPLETED', result: 'NO_THREATS_FOUND', threats: [] });
    expect(gd.commandCalls(GetMalwareScanCommand).map((c) => c.args[0].input.ScanId)).toEqual(['a1', 'b2']);
  });

  it('reports THREATS_FOUND with every threat and file path, even while another snapshot still runs', async () => {
    // Prepare
    gd.on(GetMalwareScanCommand, { ScanId: 'a1' }).resolves({ ...meta, ScanStatus: 'RUNNING' });
    gd.on(GetMalwareScanCommand, { ScanId: 'b2' }).resolves({
      ...meta, ScanStatus: 'COMPLETED',
      ScanResultDetails: {
        ScanResultStatus: 'THREATS_FOUND',
        Threats: [
          { Name: 'EICAR-Test-File', ItemDetails: [{ ItemPath: '/home/app/eicar.com' }, { ItemPath: '/tmp/eicar.txt' }] },
          { Name: 'Ransom:Win32/Lockbit' },
        ],
      },
    });
    // Act
    const out = await scanner.getScan('a1,b2');
    // Assess
    expect(out).toEqual({
      status: 'COMPLETED', result: 'THREATS_FOUND',
      threats: [{ name: 'EICAR-Test-File', path: '/home/app/eicar.com' }, { name: 'EICAR-Test-File', path: '/tmp/eicar.txt' }, { name: 'Ransom:Win32/Lockbit' }],
    });
  });

  it('reports RUNNING while any snapshot scan runs and nothing was found', async () => {
    gd.on(GetMalwareScanCommand, { ScanId: 'a1' }).resolves({ ...meta, ScanStatus: 'COMPLETED', ScanResultDetails: { ScanResultStatus: 'NO_THREATS_FOUND' } });
    gd.on(GetMalwareScanCommand, { ScanId: 'b2' }).resolves({ ...meta, ScanStatus: 'RUNNING' });
    expect(await scanner.getScan('a1,b2')).toEqual({ status: 'RUNNING', threats: [] });
  });

  it('reports SKIPPED with GuardDuty\'s reason and the snapshot', async () => {
    gd.on(GetMalwareScanCommand).resolves({
      ...meta, ScanStatus: 'SKIPPED', ScanStatusReason: 'SNAPSHOT_SIZE_LIMIT_EXCEEDED', ResourceArn: 'arn:aws:ec2:us-east-1:123456789012:snapshot/snap-0aaaaaaaaaaaaaaa1',
    });
    expect(await scanner.getScan('a1')).toEqual({ status: 'SKIPPED', threats: [], reason: 'SNAPSHOT_SIZE_LIMIT_EXCEEDED on snap-0aaaaaaaaaaaaaaa1' });
  });

  it('reports FAILED ahead of a clean sibling', async () => {
    gd.on(GetMalwareScanCommand, { ScanId: 'a1' }).resolves({ ...meta, ScanStatus: 'COMPLETED', ScanResultDetails: { ScanResultStatus: 'NO_THREATS_FOUND' } });
    gd.on(GetMalwareScanCommand, { ScanId: 'b2' }).resolves({ ...meta, ScanStatus: 'FAILED', ScanStatusReason: 'ACCESS_DENIED' });
    expect(await scanner.getScan('a1,b2')).toMatchObject({ status: 'FAILED', threats: [], reason: 'ACCESS_DENIED' });
  });

  it('reports COMPLETED_WITH_ISSUES (no threat found, but not every file was scanned)', async () => {
    gd.on(GetMalwareScanCommand).resolves({ ...meta, ScanStatus: 'COMPLETED_WITH_ISSUES', ScanResultDetails: { ScanResultStatus: 'NO_THREATS_FOUND', SkippedFileCount: 12 } });
    expect(await scanner.getScan('a1')).toEqual({ status: 'COMPLETED_WITH_ISSUES', result: 'NO_THREATS_FOUND', threats: [] });
  });

  it('maps AccessDenied on GetMalwareScan to ForbiddenError', async () => {
    gd.on(GetMalwareScanCommand).rejects(aws(new AccessDeniedException({ message: 'no guardduty:GetMalwareScan', $metadata: {} }), 403));
    await expect(scanner.getScan('a1')).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('refuses to judge a scan id that names no scan instead of answering clean', async () => {
    // Act
    const error = await scanner.getScan('').catch((e: Error) => e);

    // Assess
    expect((error as Error).name).toBe('ValidationError');
  });
});
