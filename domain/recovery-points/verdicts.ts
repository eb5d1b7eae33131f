import { z } from 'zod';
import { checkShape, GUARDDUTY_FINDING_ID, idSchema, isIsoTimestamp, MINUTE_MS, parseWith, quoted, toIso, UnsupportedEventError, ValidationError, type Clock } from '../shared/index.ts';
import { BACKUP_MALWARE_FINDING_TYPES, GUARDDUTY_DETAIL_TYPE, GUARDDUTY_SOURCE } from '../findings/model.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import type {
  AuditLog, EventPublisher, ImageDirectory, PointChange, RecoveryPointCatalog, RecoveryPointSnapshotIndex, RecoveryPointWriter,
} from '../ports/index.ts';
import { scanRecordSchema, type RecoveryPoint, type ScanRecord, type ScanVerdict } from './catalogue.ts';

/**
 * Malware-scan verdicts from AWS into the catalogue (docs/policy.md, "Verdicts from AWS").
 *
 * Two events carry them:
 * - GuardDuty Malware Protection for Backup findings (`Execution:EC2/MaliciousFile!Snapshot`,
 *   `!AMI`, `!RecoveryPoint`): only ever generated when a scan found malware, so always
 *   `infected`; they name the scanned snapshot, AMI or recovery point.
 * - AWS Backup `Scan Job State Change`: COMPLETED (or COMPLETED_WITH_ISSUES) with THREATS_FOUND
 *   is `infected`; COMPLETED with NO_THREATS_FOUND is `clean`; any other end (FAILED, CANCELED,
 *   COMPLETED_WITH_ISSUES without threats) is evidence without a verdict; CREATED and RUNNING
 *   say nothing and are ignored.
 *
 * Safety rules: `infected` is sticky (a later clean scan never un-infects a point; only an
 * operator can, with a `manual` record); `clean` needs a scan that covered every snapshot of the
 * point (a clean snapshot of one volume says nothing about the others); a Backup vault recovery
 * point is matched by machine and time only, which is good enough to skip a point (infected)
 * but never to trust one (clean).
 */

/** The audit stream of a machine's catalogue (the audit log is keyed by stream; incidents use their id). */
export const catalogAuditStream = (machineId: string) => `catalog:${machineId}`;
/** A vault recovery point names no snapshot: catalogue points of its machine this close to its creation date are its candidates. */
export const BACKUP_POINT_MATCH_MINUTES = 10;
export const VERDICT_CHANGED_EVENT = 'Recovery Point Verdict Changed';
export const BACKUP_SOURCE = 'aws.backup';
export const BACKUP_SCAN_DETAIL_TYPE = 'Scan Job State Change';

const MAX_THREATS = 50;
/** Scan and scan job ids become audit and record keys; AWS issues UUIDs (36 characters). 128 is ours. */
const SCAN_ID_MAX = 128;

const isoDate = z.string().refine(isIsoTimestamp, { message: 'must be an ISO-8601 timestamp with a time zone' });
/** ec2 snapshot / image ARNs have an empty account field; Backup vault recovery points do not. */
const SNAPSHOT_ARN = /^arn:aws[a-z-]*:ec2:[a-z0-9-]*:\d*:snapshot\/(snap-[0-9a-f]{8,17})$/;
const IMAGE_ARN = /^arn:aws[a-z-]*:ec2:[a-z0-9-]*:\d*:image\/(ami-[0-9a-f]{8,17})$/;
const VAULT_POINT_ARN = /^arn:aws[a-z-]*:backup:[a-z0-9-]+:\d+:recovery-point:.+$/;
const INSTANCE_ARN = /^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d*:instance\/(i-[0-9a-f]{8,17})$/;
const backupResourceArn = z.string().refine((s) => SNAPSHOT_ARN.test(s) || IMAGE_ARN.test(s) || VAULT_POINT_ARN.test(s), {
  message: 'must be an EBS snapshot, AMI or AWS Backup recovery point ARN',
});

const threatSchema = z.looseObject({
  name: z.string().optional(),
  itemPaths: z.array(z.looseObject({ nestedItemPath: z.string().optional() })).optional(),
  itemDetails: z.array(z.looseObject({ itemPath: z.string().optional() })).optional(),
});

const malwareFindingSchema = z.looseObject({
  source: z.literal(GUARDDUTY_SOURCE),
  'detail-type': z.literal(GUARDDUTY_DETAIL_TYPE),
  detail: z.looseObject({
    id: z.string().min(1, 'must not be empty').pipe(idSchema(GUARDDUTY_FINDING_ID)),
    type: z.enum(BACKUP_MALWARE_FINDING_TYPES),
    createdAt: isoDate,
    resource: z.looseObject({
      ebsSnapshotDetails: z.looseObject({ snapshotArn: z.string().regex(SNAPSHOT_ARN, 'must be an EBS snapshot ARN') }).nullable().optional(),
      ec2ImageDetails: z.looseObject({ imageArn: z.string().regex(IMAGE_ARN, 'must be an AMI ARN') }).nullable().optional(),
      recoveryPointDetails: z.looseObject({ recoveryPointArn: backupResourceArn, backupVaultName: z.string().optional() }).nullable().optional(),
    }),
    service: z.looseObject({
      additionalInfo: z.looseObject({ sample: z.boolean().optional() }).nullable().optional(),
      malwareScanDetails: z.looseObject({
        scanId: z.string().min(1).max(SCAN_ID_MAX).optional(),
        threats: z.array(threatSchema).nullable().optional(),
      }).nullable().optional(),
    }),
  }),
});

const backupScanSchema = z.looseObject({
  source: z.literal(BACKUP_SOURCE),
  'detail-type': z.literal(BACKUP_SCAN_DETAIL_TYPE),
  id: z.string().optional(),
  time: isoDate.optional(),
  detail: z.looseObject({
    state: z.string().min(1, 'must not be empty'),
    scanJobId: z.string().min(1, 'must not be empty').max(SCAN_ID_MAX),
    scanId: z.string().min(1).max(SCAN_ID_MAX).optional(),
    recoveryPointArn: backupResourceArn,
    resourceArn: z.string().optional(),
    resourceType: z.string().optional(),
    creationDate: isoDate.optional(),
    completionDate: isoDate.optional(),
    statusMessage: z.string().optional(),
    scanResult: z.looseObject({ scanResultStatus: z.enum(['NO_THREATS_FOUND', 'THREATS_FOUND']) }).nullable().optional(),
  }),
});

/** What was scanned, as the event names it. */
export type ScanTarget =
  | { kind: 'snapshot'; arn: string; snapshotId: string }
  | { kind: 'image'; arn: string; imageId: string }
  | { kind: 'vault-recovery-point'; arn: string; instanceId?: string; createdAt?: string };

/** One event, normalised: which resource, what it says, and the evidence to keep with the point. */
export interface ScanReport {
  source: 'guardduty-malware-finding' | 'backup-scan';
  /** `null`: evidence without a verdict (failed, cancelled, partial scans). */
  verdict: 'clean' | 'infected' | null;
  target: ScanTarget;
  /** The record a point gets (`verdict` `unscanned` for evidence without one). */
  record: ScanRecord;
  /** Events that say nothing (scan created or running, GuardDuty sample findings). */
  ignored?: string;
}

export type PointOutcome =
  /** The point's verdict changed (audited, `Recovery Point Verdict Changed` published). */
  | 'verdict-changed'
  /** Same verdict, better or newer evidence kept (audited, nothing published). */
  | 'evidence-updated'
  /** Already recorded exactly so, or older than what is recorded: nothing written (redeliveries). */
  | 'unchanged'
  /** A clean scan of an infected point: infected is sticky. */
  | 'kept-infected'
  /** A clean verdict that does not cover every snapshot of the point (or matched it by time only). */
  | 'not-covered';

export interface ScanVerdictResult {
  source: ScanReport['source'];
  scanId: string | null;
  verdict: ScanReport['verdict'];
  target: string;
  points: { machineId: string; pointId: string; outcome: PointOutcome; scan: ScanVerdict }[];
  /** Why no catalogue point could be found for the scanned resource (null: some were). */
  unmapped: string | null;
  ignored: string | null;
}

export interface ScanVerdictDeps {
  catalog: RecoveryPointSnapshotIndex & RecoveryPointCatalog & RecoveryPointWriter;
  images: ImageDirectory;
  audit: AuditLog;
  events: EventPublisher;
  index: InventoryIndex;
  clock: Clock;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * parseScanEvent(event)
 *
 * GuardDuty Malware Protection for Backup finding or AWS Backup Scan Job State Change ▶ a
 * ScanReport. Other events throw UnsupportedEventError; a malformed one ValidationError naming
 * the path.
 */
export function parseScanEvent(event: unknown): ScanReport {
  if (!isObject(event)) throw new ValidationError('scan event', [{ path: '', message: 'expected an EventBridge event object' }]);
  checkShape(event, 'scan event'); // before anything recursive sees it
  const source = event['source'];
  const detailType = event['detail-type'];
  if (source === GUARDDUTY_SOURCE && detailType === GUARDDUTY_DETAIL_TYPE) {
    const type = isObject(event['detail']) ? event['detail']['type'] : undefined;
    if (!(BACKUP_MALWARE_FINDING_TYPES as readonly unknown[]).includes(type)) {
      throw new UnsupportedEventError(`GuardDuty finding type ${quoted(type)} is not a Malware Protection for Backup finding on EC2/EBS`);
    }
    return fromFinding(parseWith(malwareFindingSchema, event, 'GuardDuty Malware Protection for Backup finding'));
  }
  if (source === BACKUP_SOURCE && detailType === BACKUP_SCAN_DETAIL_TYPE) {
    return fromBackupScan(parseWith(backupScanSchema, event, 'AWS Backup scan job event'));
  }
  throw new UnsupportedEventError(`not a malware-scan verdict (source ${quoted(source)}, detail-type ${quoted(detailType)})`);
}

function targetOf(arn: string, vault: { instanceId?: string; createdAt?: string } = {}): ScanTarget {
  const snap = arn.match(SNAPSHOT_ARN);
  if (snap) return { kind: 'snapshot', arn, snapshotId: snap[1]! };
  const image = arn.match(IMAGE_ARN);
  if (image) return { kind: 'image', arn, imageId: image[1]! };
  return { kind: 'vault-recovery-point', arn, ...vault };
}

function fromFinding(ev: z.infer<typeof malwareFindingSchema>): ScanReport {
  const d = ev.detail;
  const r = d.resource;
  const [field, arn] = d.type.endsWith('!Snapshot') ? ['ebsSnapshotDetails.snapshotArn', r.ebsSnapshotDetails?.snapshotArn]
    : d.type.endsWith('!AMI') ? ['ec2ImageDetails.imageArn', r.ec2ImageDetails?.imageArn]
      : ['recoveryPointDetails.recoveryPointArn', r.recoveryPointDetails?.recoveryPointArn];
  if (!arn) throw new ValidationError('GuardDuty Malware Protection for Backup finding', [{ path: `detail.resource.${field}`, message: `a ${d.type} finding must name the scanned resource` }]);
  const scan = d.service.malwareScanDetails;
  const threats = (scan?.threats ?? []).flatMap((t) => {
    const name = clip(t.name || 'unnamed threat', 256);
    const paths = [...(t.itemPaths ?? []).map((p) => p.nestedItemPath), ...(t.itemDetails ?? []).map((p) => p.itemPath)].filter((p): p is string => !!p);
    return paths.length ? paths.map((p) => ({ name, path: clip(p, 1024) })) : [{ name }];
  }).slice(0, MAX_THREATS);
  const record = scanRecordSchema.parse({
    verdict: 'infected', source: 'guardduty-malware-finding', scanId: clip(scan?.scanId ?? d.id, 256), at: d.createdAt, status: 'THREATS_FOUND',
    ...(threats.length ? { threats } : {}),
    detail: clip(`GuardDuty finding ${d.id} (${d.type})${r.recoveryPointDetails?.backupVaultName ? ` in vault ${r.recoveryPointDetails.backupVaultName}` : ''}`, 500),
  });
  const report: ScanReport = { source: 'guardduty-malware-finding', verdict: 'infected', target: targetOf(arn), record };
  // "Generate sample findings" output names resources that do not exist: never a verdict.
  if (d.service.additionalInfo?.sample === true) report.ignored = 'GuardDuty sample finding';
  return report;
}

function fromBackupScan(ev: z.infer<typeof backupScanSchema>): ScanReport {
  const d = ev.detail;
  const result = d.scanResult?.scanResultStatus;
  const finished = ['COMPLETED', 'COMPLETED_WITH_ISSUES', 'FAILED', 'CANCELED'].includes(d.state);
  // THREATS_FOUND is a verdict even from a partial scan; NO_THREATS_FOUND only from a complete one.
  const verdict = result === 'THREATS_FOUND' && (d.state === 'COMPLETED' || d.state === 'COMPLETED_WITH_ISSUES') ? 'infected'
    : result === 'NO_THREATS_FOUND' && d.state === 'COMPLETED' ? 'clean' : null;
  const at = d.completionDate ?? ev.time ?? d.creationDate;
  if (!at) throw new ValidationError('AWS Backup scan job event', [{ path: 'detail.completionDate', message: 'no completionDate, event time or creationDate to date the scan by' }]);
  const instanceId = d.resourceArn?.match(INSTANCE_ARN)?.[1];
  const record = scanRecordSchema.parse({
    verdict: verdict ?? 'unscanned', source: 'backup-scan', scanId: clip(d.scanId ?? d.scanJobId, 256), at, status: clip(d.state, 64),
    detail: clip(`AWS Backup scan job ${d.scanJobId}: ${result ?? 'no result'}${d.statusMessage ? ` (${d.statusMessage})` : ''}`, 500),
  });
  const report: ScanReport = {
    source: 'backup-scan', verdict,
    target: targetOf(d.recoveryPointArn, { ...(instanceId ? { instanceId } : {}), ...(d.creationDate ? { createdAt: d.creationDate } : {}) }),
    record,
  };
  if (!finished) report.ignored = `scan job ${d.state}: no result yet`;
  return report;
}

interface Candidate { point: RecoveryPoint; covered: boolean; why?: string }

/** The catalogue points the scanned resource is (part of), and whether the scan covered each one entirely. */
async function candidatesFor(deps: ScanVerdictDeps, target: ScanTarget): Promise<{ candidates: Candidate[]; unmapped: string | null }> {
  if (target.kind === 'vault-recovery-point') {
    const entry = target.instanceId ? deps.index.machineByInstanceId.get(target.instanceId) : undefined;
    if (!entry) return { candidates: [], unmapped: target.instanceId ? `instance ${target.instanceId} is not a protected machine` : 'an AWS Backup vault recovery point without the protected instance: unknown point' };
    if (!target.createdAt) return { candidates: [], unmapped: 'an AWS Backup vault recovery point without a creation date: unknown point' };
    const t = Date.parse(target.createdAt);
    const window = BACKUP_POINT_MATCH_MINUTES * MINUTE_MS;
    const near: RecoveryPoint[] = [];
    for await (const p of deps.catalog.pointsAtOrBefore(entry.machine.id, toIso(t + window), { pageSize: 4 })) {
      if (Date.parse(p.capturedAt) < t - window) break;
      near.push(p);
    }
    // The nearest point(s) only: points are often minutes apart, and the others are other backups.
    const distance = (p: RecoveryPoint) => Math.abs(Date.parse(p.capturedAt) - t);
    const best = Math.min(...near.map(distance));
    const candidates: Candidate[] = near.filter((p) => distance(p) === best)
      .map((point) => ({ point, covered: false, why: `matched by machine and time only (${Math.round(best / 1000)} s from the backup's creation date ${toIso(t)})` }));
    return { candidates, unmapped: candidates.length ? null : `no point of ${entry.machine.id} within ${BACKUP_POINT_MATCH_MINUTES} min of ${toIso(t)}: unknown point` };
  }
  let scanned: string[];
  if (target.kind === 'image') {
    const snaps = await deps.images.imageSnapshots(target.imageId);
    if (snaps === null) return { candidates: [], unmapped: `image ${target.imageId} does not exist (any more): its snapshots are unknown` };
    scanned = snaps;
  } else {
    scanned = [target.snapshotId];
  }
  const byKey = new Map<string, RecoveryPoint>();
  for (const snapshotId of new Set(scanned)) {
    for (const p of await deps.catalog.findPointsBySnapshot(snapshotId)) byKey.set(`${p.machineId}\u0000${p.pointId}`, p);
  }
  const set = new Set(scanned);
  const candidates = [...byKey.values()].map((point) => {
    const inScan = point.snapshots.filter((s) => set.has(s.snapshotId)).length;
    return inScan === point.snapshots.length
      ? { point, covered: true }
      : { point, covered: false, why: `the scan covered ${inScan} of the point's ${point.snapshots.length} snapshots` };
  });
  return { candidates, unmapped: candidates.length ? null : `no catalogue point holds ${scanned.length ? scanned.join(', ') : 'any snapshot of the image'}` };
}

const sameRecord = (a: ScanRecord | undefined, b: ScanRecord) => a !== undefined && JSON.stringify(scanRecordSchema.parse(a)) === JSON.stringify(b);

/** What a report does to one point: the change to write (none: nothing) and the outcome. */
export function decideVerdict(point: Pick<RecoveryPoint, 'scan' | 'scanRecord'>, report: Pick<ScanReport, 'verdict' | 'record'>, covered: boolean): { change: PointChange | null; outcome: PointOutcome } {
  const { record } = report;
  const current = point.scanRecord;
  if (sameRecord(current, record)) return { change: null, outcome: 'unchanged' };
  if (report.verdict === 'infected') {
    if (point.scan !== 'infected') return { change: { scan: 'infected', scanRecord: record }, outcome: 'verdict-changed' };
    // The same scan seen again with its threats (the Backup event and GuardDuty's finding share the scan id):
    // keep the fuller evidence, whichever arrives first.
    const more = current?.scanId === record.scanId && (record.threats?.length ?? 0) > (current?.threats?.length ?? 0);
    return more ? { change: { scanRecord: record }, outcome: 'evidence-updated' } : { change: null, outcome: 'unchanged' };
  }
  if (report.verdict === 'clean') {
    if (point.scan === 'infected') return { change: null, outcome: 'kept-infected' };
    if (!covered) return { change: null, outcome: 'not-covered' };
    if (point.scan !== 'clean') return { change: { scan: 'clean', scanRecord: record }, outcome: 'verdict-changed' };
    const newer = !current || Date.parse(record.at) > Date.parse(current.at);
    return newer ? { change: { scanRecord: record }, outcome: 'evidence-updated' } : { change: null, outcome: 'unchanged' };
  }
  // Evidence without a verdict: kept only on a point that has no verdict, and never over newer evidence.
  if (point.scan !== 'unscanned') return { change: null, outcome: 'unchanged' };
  const newer = !current || Date.parse(record.at) >= Date.parse(current.at);
  return newer ? { change: { scanRecord: record }, outcome: 'evidence-updated' } : { change: null, outcome: 'unchanged' };
}

/**
 * recordScanVerdict(deps)(event)
 *
 * Input: a GuardDuty Malware Protection for Backup finding or an AWS Backup Scan Job State
 * Change. Output: per catalogue point what changed.
 * 1. Parse and validate the event (parseScanEvent); created/running scans and sample findings stop here.
 * 2. Find the points of the scanned resource: a snapshot through the catalogue's snapshot
 *    lookup; an AMI through its block-device snapshots (DescribeImages); a Backup vault
 *    recovery point through its instance (inventory) and creation date (± BACKUP_POINT_MATCH_MINUTES).
 *    None found: the result says why ("unknown point") and nothing is written.
 * 3. Per point decide (decideVerdict): infected is sticky, clean needs full coverage,
 *    evidence without a verdict is kept only where there is no verdict.
 * 4. Per changed point: audit (stream `catalog:<machineId>`), publish `Recovery Point Verdict
 *    Changed` when the verdict changed, then write the point. EventBridge delivers at least
 *    once and out of order: the write comes last, so a retry after a failure in between does
 *    the audit and the publication again (at least once) instead of losing them, and a
 *    redelivery after success finds the record in place and changes nothing.
 */
export function recordScanVerdict(deps: ScanVerdictDeps) {
  return async (event: unknown): Promise<ScanVerdictResult> => {
    const report = parseScanEvent(event);
    const result: ScanVerdictResult = {
      source: report.source, scanId: report.record.scanId ?? null, verdict: report.verdict, target: report.target.arn,
      points: [], unmapped: null, ignored: report.ignored ?? null,
    };
    if (report.ignored) return result;
    const { candidates, unmapped } = await candidatesFor(deps, report.target);
    result.unmapped = unmapped;
    const actor = report.source === 'backup-scan' ? 'aws-backup' : 'guardduty';
    const eventId = isObject(event) && typeof event['id'] === 'string' ? event['id'] : undefined;
    for (const { point, covered, why } of candidates) {
      const { change, outcome } = decideVerdict(point, report, covered);
      const scan = change?.scan ?? point.scan;
      result.points.push({ machineId: point.machineId, pointId: point.pointId, outcome, scan });
      if (!change) continue;
      const at = toIso(deps.clock.now());
      await deps.audit.append(catalogAuditStream(point.machineId), {
        type: outcome === 'verdict-changed' ? 'point.verdict-changed' : 'point.scan-evidence',
        actor, at,
        data: {
          machineId: point.machineId, pointId: point.pointId, capturedAt: point.capturedAt, from: point.scan, to: scan,
          target: report.target.arn, scanRecord: change.scanRecord ?? null, ...(why ? { match: why } : {}), ...(eventId ? { eventId } : {}),
        },
      });
      if (outcome === 'verdict-changed') {
        await deps.events.publish([{
          detailType: VERDICT_CHANGED_EVENT,
          detail: { machineId: point.machineId, pointId: point.pointId, verdict: scan, source: report.record.source, scanId: report.record.scanId ?? null },
        }]);
      }
      await deps.catalog.markPoint(point.machineId, point.pointId, change);
    }
    return result;
  };
}
