import { z } from 'zod';
import { machineFactsSchema, type MachineFacts } from './machine-facts.ts';
import { idSchema, isIsoTimestamp, mapLimit, minutesBetween, parseWith, SNAPSHOT_ID, toIso, ValidationError } from '../shared/index.ts';

/**
 * A recovery point: a consistent set of EBS snapshots of one machine at one instant.
 * The catalogue is partitioned by machine and sorted by capturedAt, so "latest eligible point
 * at or before T" is one descending read whatever the size of the history.
 */

export const POINT_STATUSES = ['available', 'incomplete', 'quarantined', 'expired'] as const;
export const SCAN_VERDICTS = ['clean', 'infected', 'unscanned'] as const;
export type PointStatus = (typeof POINT_STATUSES)[number];
export type ScanVerdict = (typeof SCAN_VERDICTS)[number];

const isoDate = z.string().refine(isIsoTimestamp, { message: 'must be an ISO-8601 timestamp with a time zone' });

export const snapshotRefSchema = z.strictObject({
  deviceName: z.string().regex(/^\/dev\/[a-z0-9]+$/, 'must be a device name like /dev/xvda'),
  snapshotId: idSchema(SNAPSHOT_ID),
  volumeSize: z.number().int().positive().optional(),
  /** The EBS volume the snapshot was taken of (the source machine's block device mapping names its device). */
  volumeId: z.string().regex(/^vol-[0-9a-f]{8,17}$/, 'must be an EBS volume id').optional(),
});
export type SnapshotRef = z.infer<typeof snapshotRefSchema>;

/** Where a scan verdict came from. */
export const SCAN_SOURCES = ['guardduty-malware-finding', 'backup-scan', 'guardduty-scan', 'reinfection', 'manual'] as const;
export type ScanSource = (typeof SCAN_SOURCES)[number];

/**
 * The evidence behind a point's verdict: which scan (or event) said so, when, and what it
 * found. Kept with the point so the approval page and the evidence export can show it.
 */
export const scanRecordSchema = z.strictObject({
  verdict: z.enum(SCAN_VERDICTS),
  source: z.enum(SCAN_SOURCES),
  /** GuardDuty scan id, Backup scan job id, finding id, or the incident that found the re-infection. */
  scanId: z.string().min(1).max(256).optional(),
  at: isoDate.transform((s) => new Date(s).toISOString()),
  /** The scanner's own status word (COMPLETED, COMPLETED_WITH_ISSUES, SKIPPED, …). */
  status: z.string().max(64).optional(),
  threats: z.array(z.strictObject({ name: z.string().max(256), path: z.string().max(1024).optional() })).max(50).optional(),
  detail: z.string().max(500).optional(),
});
export type ScanRecord = z.infer<typeof scanRecordSchema>;

export const recoveryPointSchema = z.strictObject({
  machineId: z.string().min(1),
  pointId: z.string().min(1).max(256),
  capturedAt: isoDate.transform((s) => new Date(s).toISOString()),
  status: z.enum(POINT_STATUSES),
  scan: z.enum(SCAN_VERDICTS).default('unscanned'),
  snapshots: z.array(snapshotRefSchema).min(1, 'a recovery point needs at least one snapshot'),
  source: z.enum(['ebs', 'drs', 'manual']).optional(),
  /** The latest verdict's evidence (absent: never scanned). */
  scanRecord: scanRecordSchema.optional(),
  /** The source machine as EC2 described it when the point was recorded (absent: older points, or the instance was gone). */
  machine: machineFactsSchema.optional(),
  /** Time of the next newer point of the machine when the catalogue knows it (null: none newer). */
  nextCapturedAt: isoDate.nullable().optional(),
});
export type RecoveryPoint = z.infer<typeof recoveryPointSchema>;

export const catalogFileSchema = z.array(recoveryPointSchema);

export function parseCatalog(value: unknown, source = 'catalog'): RecoveryPoint[] {
  return parseWith(catalogFileSchema, value, source);
}

export type SkipReason = 'incomplete' | 'quarantined' | 'expired' | 'infected';

/** Why a point cannot be restored from, or null when it is eligible. */
export function ineligibility(p: Pick<RecoveryPoint, 'status' | 'scan'>): SkipReason | null {
  if (p.status !== 'available') return p.status;
  if (p.scan === 'infected') return 'infected';
  return null;
}

/** Port: read access to the catalogue (see ARCHITECTURE.md "Ports"). */
export interface RecoveryPointCatalog {
  /**
   * Points of one machine captured at or before `atOrBefore` (ISO), newest first. Lazy:
   * a consumer that stops after the first point costs the implementation one read.
   * `pageSize` hints how many points the consumer probably needs.
   */
  pointsAtOrBefore(machineId: string, atOrBefore: string, options?: { pageSize?: number }): AsyncIterable<RecoveryPoint>;
}

export interface SkippedPoint {
  pointId: string;
  capturedAt: string;
  reason: SkipReason;
}

export interface ChosenPoint {
  machineId: string;
  group: string;
  pointId: string;
  capturedAt: string;
  snapshots: SnapshotRef[];
  /** The machine as EC2 described it when the point was recorded (architecture, platform, disks). */
  machine?: MachineFacts;
  /** Clean data given up: earliest evidence − point time, in minutes. */
  lossMinutes: number;
  /** Minutes to the next newer point in the catalogue (null: none newer): how coarse the choice was. */
  gapToNextMinutes: number | null;
  /** Newer points before the cutoff that were passed over, newest first (at most MAX_SKIPPED_LISTED). */
  skipped: SkippedPoint[];
  skippedCount: number;
  /** Older eligible points a decider may pick instead, newest first. */
  alternatives: { pointId: string; capturedAt: string; lossMinutes: number }[];
}

export interface Blocker {
  machineId: string;
  group: string;
  reason: string;
  skipped: SkippedPoint[];
  skippedCount: number;
}

export interface GroupSelection {
  group: string;
  cutoff: string;
  consistencySkewMinutes: number | null;
  chosen: number;
  blocked: number;
}

export interface Selection {
  machines: ChosenPoint[];
  blockers: Blocker[];
  groups: GroupSelection[];
}

export interface SelectionRequest {
  /** Per group: the machines to restore and the cutoff every one of them shares. */
  groups: { group: string; cutoff: string; machines: string[] }[];
  /** Earliest evidence of the threat (ISO): the reference for the data given up. */
  evidenceAt: string;
  /** How many older eligible points to offer deciders per machine (default 3). */
  alternatives?: number;
  /** Machines read in parallel (default 16). */
  concurrency?: number;
}

export const MAX_SKIPPED_LISTED = 20;

/**
 * selectRecoveryPoints(deps)(request)
 *
 * Input: per group a cutoff and machines; the time of the earliest evidence.
 * Output: per machine the latest eligible point at or before the cutoff, or a blocker.
 * 1. For each machine read its points newest first from the cutoff down.
 * 2. Skip points that are not `available` or are `infected`, however many; remember why.
 * 3. The first eligible point is chosen; the next few eligible ones are offered as alternatives.
 * 4. A machine with none is a blocker (never a silent omission).
 * 5. Per group report the consistency skew: newest − oldest chosen time.
 */
export function selectRecoveryPoints(deps: { catalog: RecoveryPointCatalog }) {
  return async (request: SelectionRequest): Promise<Selection> => {
    const evidenceMs = Date.parse(request.evidenceAt);
    const wanted = request.alternatives ?? 3;
    const jobs = request.groups.flatMap((g) => g.machines.map((machineId) => ({ machineId, group: g.group, cutoff: g.cutoff })));
    const results = await mapLimit(jobs, request.concurrency ?? 16, (job) =>
      chooseForMachine(deps.catalog, job.machineId, job.group, job.cutoff, evidenceMs, wanted));

    const machines: ChosenPoint[] = [];
    const blockers: Blocker[] = [];
    for (const r of results) (r.kind === 'chosen' ? machines.push(r.value) : blockers.push(r.value));
    const groups = request.groups.map((g): GroupSelection => {
      const times = machines.filter((m) => m.group === g.group).map((m) => Date.parse(m.capturedAt));
      return {
        group: g.group,
        cutoff: toIso(Date.parse(g.cutoff)),
        consistencySkewMinutes: times.length ? minutesBetween(Math.max(...times), Math.min(...times)) : null,
        chosen: times.length,
        blocked: blockers.filter((b) => b.group === g.group).length,
      };
    });
    return { machines, blockers, groups };
  };
}

type MachineResult = { kind: 'chosen'; value: ChosenPoint } | { kind: 'blocked'; value: Blocker };

async function chooseForMachine(
  catalog: RecoveryPointCatalog, machineId: string, group: string, cutoff: string, evidenceMs: number, wanted: number,
): Promise<MachineResult> {
  const skipped: SkippedPoint[] = [];
  let skippedCount = 0;
  let chosen: RecoveryPoint | undefined;
  let newerSeen: string | undefined; // capturedAt of the point read just before the current one
  let chosenNext: string | null | undefined;
  const alternatives: ChosenPoint['alternatives'] = [];
  let seenAny = false;
  for await (const p of catalog.pointsAtOrBefore(machineId, cutoff, { pageSize: 1 + wanted })) {
    seenAny = true;
    const reason = ineligibility(p);
    if (!chosen) {
      if (reason) {
        skippedCount++;
        if (skipped.length < MAX_SKIPPED_LISTED) skipped.push({ pointId: p.pointId, capturedAt: p.capturedAt, reason });
      } else {
        chosen = p;
        chosenNext = newerSeen ?? p.nextCapturedAt;
        if (wanted === 0) break;
      }
    } else if (!reason) {
      alternatives.push({ pointId: p.pointId, capturedAt: p.capturedAt, lossMinutes: loss(evidenceMs, p.capturedAt) });
      if (alternatives.length >= wanted) break;
    }
    newerSeen = p.capturedAt;
  }
  if (!chosen) {
    const why = !seenAny
      ? `no recovery point at or before ${cutoff}`
      : `no available, non-infected recovery point at or before ${cutoff} (${skippedCount} skipped: ${summarise(skipped, skippedCount)})`;
    return { kind: 'blocked', value: { machineId, group, reason: why, skipped, skippedCount } };
  }
  return {
    kind: 'chosen',
    value: {
      machineId, group, pointId: chosen.pointId, capturedAt: chosen.capturedAt, snapshots: chosen.snapshots,
      ...(chosen.machine ? { machine: chosen.machine } : {}),
      lossMinutes: loss(evidenceMs, chosen.capturedAt),
      gapToNextMinutes: chosenNext ? minutesBetween(Date.parse(chosenNext), Date.parse(chosen.capturedAt)) : null,
      skipped, skippedCount, alternatives,
    },
  };
}

const loss = (evidenceMs: number, capturedAt: string) => minutesBetween(evidenceMs, Date.parse(capturedAt));

function summarise(listed: SkippedPoint[], total: number): string {
  const counts = new Map<string, number>();
  for (const s of listed) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  const parts = [...counts].map(([reason, n]) => `${n} ${reason}`);
  if (total > listed.length) parts.push(`${total - listed.length} more`);
  return parts.join(', ');
}
