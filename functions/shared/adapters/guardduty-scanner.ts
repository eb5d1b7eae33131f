import { GetMalwareScanCommand, StartMalwareScanCommand, type GetMalwareScanCommandOutput, type GuardDutyClient } from '@aws-sdk/client-guardduty';
import { createHash } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError, ThrottledError, TransientError, ValidationError } from '../../../domain/shared/index.ts';
import type { MalwareScanner } from '../../../domain/ports/index.ts';
import type { ScanResult, ScanStatus, ScanThreat } from '../../../domain/recovery-points/index.ts';
import { ec2ErrorCode } from './ec2-compute.ts';

/**
 * MalwareScanner over GuardDuty Malware Protection for Backup (on-demand scans of EBS snapshots).
 *
 * StartMalwareScan takes one resource ARN, so a point with several snapshots gets one GuardDuty
 * scan per snapshot; the port's scan id is their ids joined by `,` and getScan folds them into
 * one answer (any threat wins; then still running; then the first problem). GuardDuty reads the
 * snapshots with the scanner role passed in `ScanConfiguration.Role` (docs/scanning.md lists its
 * permissions); the calling function needs iam:PassRole on exactly that role. There is no
 * EventBridge event for these results: the workflow polls GetMalwareScan.
 */
export interface GuardDutyScannerOptions {
  /** The role GuardDuty assumes to read the snapshots (arn:aws:iam::<account>:role/…). */
  scannerRoleArn: string;
  region: string;
}

const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException', 'Throttling', 'RequestLimitExceeded']);
const TRANSIENT = new Set(['InternalServerErrorException', 'InternalFailure', 'ServiceUnavailable', 'TimeoutError', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

/**
 * GuardDuty error ▶ domain error (the AWS code stays in the message, the SDK error is the cause):
 * throttling ▶ ThrottledError, 5xx/InternalServerError ▶ TransientError (both retried by the
 * workflow), AccessDenied ▶ ForbiddenError (the function's role, or iam:PassRole of the scanner
 * role, is missing), BadRequest ▶ ValidationError, ResourceNotFound ▶ NotFoundError,
 * Conflict ▶ ConflictError.
 */
export function mapGuardDutyError(operation: string, error: unknown): Error {
  const e = (error ?? {}) as { message?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const code = ec2ErrorCode(error);
  const message = `GuardDuty ${operation} failed: ${code}: ${typeof e.message === 'string' && e.message ? e.message : String(error)}`;
  const options = { cause: error };
  if (THROTTLING.has(code)) return new ThrottledError(message, options);
  const status = e.$metadata?.httpStatusCode;
  if (TRANSIENT.has(code) || (typeof status === 'number' && status >= 500) || e.$fault === 'server') return new TransientError(message, options);
  if (code === 'AccessDeniedException' || code === 'AccessDenied' || code === 'UnauthorizedOperation') return new ForbiddenError(message, options);
  if (code === 'ResourceNotFoundException') return new NotFoundError(message, options);
  if (code === 'ConflictException') return new ConflictError(message, options);
  if (code === 'BadRequestException' || code === 'ValidationException') return new ValidationError(`GuardDuty ${operation}`, [{ path: '', message }], options);
  return new Error(message, options);
}

export class GuardDutyMalwareScanner implements MalwareScanner {
  private readonly partition: string;
  private readonly account: string;

  constructor(private readonly client: GuardDutyClient, private readonly options: GuardDutyScannerOptions) {
    const m = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/.+$/.exec(options.scannerRoleArn);
    if (!m) throw new ValidationError('GuardDuty scanner', [{ path: 'scannerRoleArn', message: `${JSON.stringify(options.scannerRoleArn)} is not an IAM role ARN` }]);
    this.partition = m[1]!;
    this.account = m[2]!;
  }

  snapshotArn(snapshotId: string): string {
    return `arn:${this.partition}:ec2:${this.options.region}:${this.account}:snapshot/${snapshotId}`;
  }

  async startScan(input: { machineId: string; pointId: string; snapshotIds: string[]; idempotencyKey?: string }): Promise<{ scanId: string }> {
    if (input.snapshotIds.length === 0) throw new ValidationError('startScan', [{ path: 'snapshotIds', message: 'a recovery point needs at least one snapshot' }]);
    const ids: string[] = [];
    for (const snapshotId of input.snapshotIds) {
      let out;
      try {
        out = await this.client.send(new StartMalwareScanCommand({
          ResourceArn: this.snapshotArn(snapshotId),
          ScanConfiguration: { Role: this.options.scannerRoleArn },
          // GuardDuty's idempotency token (at most 64 characters): one per point and snapshot.
          ...(input.idempotencyKey ? { ClientToken: createHash('sha256').update(`${input.idempotencyKey}/${snapshotId}`).digest('hex').slice(0, 64) } : {}),
        }));
      } catch (e) {
        throw mapGuardDutyError('StartMalwareScan', e);
      }
      if (!out.ScanId) throw new TransientError(`GuardDuty StartMalwareScan returned no scan id for ${snapshotId}`);
      ids.push(out.ScanId);
    }
    return { scanId: ids.join(',') };
  }

  async getScan(scanId: string): Promise<{ status: ScanStatus; result?: ScanResult; threats: ScanThreat[]; reason?: string }> {
    const ids = scanId.split(',').filter(Boolean);
    // No scan id names no scan: never answer "clean" for a point nothing looked at.
    if (ids.length === 0) throw new ValidationError('GetMalwareScan', [{ path: 'scanId', message: 'names no scan' }]);
    const parts: GetMalwareScanCommandOutput[] = [];
    for (const id of ids) {
      try {
        parts.push(await this.client.send(new GetMalwareScanCommand({ ScanId: id })));
      } catch (e) {
        throw mapGuardDutyError('GetMalwareScan', e);
      }
    }
    const finished = (p: GetMalwareScanCommandOutput) => p.ScanStatus !== undefined && p.ScanStatus !== 'RUNNING';
    const infected = parts.filter((p) => finished(p) && p.ScanResultDetails?.ScanResultStatus === 'THREATS_FOUND');
    if (infected.length > 0) {
      return { status: infected[0]!.ScanStatus as ScanStatus, result: 'THREATS_FOUND', threats: infected.flatMap(threatsOf).slice(0, 50) };
    }
    if (parts.some((p) => !finished(p))) return { status: 'RUNNING', threats: [] };
    for (const status of ['FAILED', 'SKIPPED', 'COMPLETED_WITH_ISSUES'] as const) {
      const p = parts.find((x) => x.ScanStatus === status);
      if (p) {
        const reason = [p.ScanStatusReason, p.ResourceArn?.split('/').pop()].filter(Boolean).join(' on ');
        return { status, ...(status === 'COMPLETED_WITH_ISSUES' ? { result: 'NO_THREATS_FOUND' as const } : {}), threats: [], ...(reason ? { reason } : {}) };
      }
    }
    return { status: 'COMPLETED', result: 'NO_THREATS_FOUND', threats: [] };
  }
}

/** One entry per infected file (name and path), or the threat's name alone when GuardDuty lists no file. */
function threatsOf(p: GetMalwareScanCommandOutput): ScanThreat[] {
  return (p.ScanResultDetails?.Threats ?? []).flatMap((t) => {
    const name = t.Name ?? 'unknown threat';
    const paths = (t.ItemDetails ?? []).map((i) => i.ItemPath).filter((x): x is string => Boolean(x));
    return paths.length ? paths.map((path) => ({ name, path })) : [{ name }];
  });
}
