import { z } from 'zod';
import {
  AWS_ACCOUNT_ID, AWS_ARN, AWS_REGION, checkShape, EC2_TAG_KEY_MAX, EC2_TAG_VALUE_MAX, GUARDDUTY_FINDING_ID, idSchema, INSTANCE_ID, isIsoTimestamp, parseWith,
  quoted, UnsupportedEventError, ValidationError,
} from '../shared/index.ts';

/**
 * GuardDuty finding intake. Powertools' parser has no GuardDuty schema, so this is ours.
 * Only the fields Cleanpoint reads are checked strictly, to the formats AWS documents (ids,
 * account, Region, ARN, tag lengths); everything else passes through untouched (GuardDuty adds
 * fields over time and we must not reject new findings), but the whole event is bounded first
 * (checkShape: 32 levels, 256 KiB) so nothing recursive ever sees a pathological value.
 */

const isoDate = z.string().max(64).refine(isIsoTimestamp, { message: 'must be an ISO-8601 timestamp with a time zone' });

/** Longer than any title GuardDuty writes (a template around resource names of at most 253 characters). */
export const MAX_FINDING_TITLE = 1024;

const tagSchema = z.looseObject({ key: z.string().max(EC2_TAG_KEY_MAX), value: z.string().max(EC2_TAG_VALUE_MAX).nullable().optional() });

const instanceDetailsSchema = z.looseObject({
  instanceId: idSchema(INSTANCE_ID).optional(),
  tags: z.array(tagSchema).nullable().optional(),
});

export const guardDutyFindingSchema = z.looseObject({
  schemaVersion: z.string().optional(),
  /** Optional: a partial envelope may omit it; it is then taken from the ARN. */
  accountId: idSchema(AWS_ACCOUNT_ID).optional(),
  region: z.string().min(1, 'must not be empty').pipe(idSchema(AWS_REGION)),
  partition: z.string().max(32).optional(),
  id: z.string().min(1, 'must not be empty').pipe(idSchema(GUARDDUTY_FINDING_ID)),
  arn: idSchema(AWS_ARN).optional(),
  // 1 to 100 characters (GuardDuty API reference, FindingDetail.findingType); the longest type today has 93.
  type: z.string().min(1, 'must not be empty').max(100).regex(/^[A-Za-z]+:[^\s]+$/, 'must look like ThreatPurpose:ResourceType/ThreatFamily'),
  resource: z.looseObject({
    resourceType: z.string().min(1, 'must not be empty').max(128),
    instanceDetails: instanceDetailsSchema.nullable().optional(),
  }),
  service: z.looseObject({
    archived: z.boolean().optional().default(false),
    count: z.number().int().nonnegative().optional().default(1),
    eventFirstSeen: isoDate,
    eventLastSeen: isoDate.optional(),
    additionalInfo: z.looseObject({ sample: z.boolean().optional() }).nullable().optional(),
  }),
  severity: z.number().min(0, 'must be between 0 and 10').max(10, 'must be between 0 and 10'),
  createdAt: isoDate,
  updatedAt: isoDate.optional(),
  title: z.string().max(MAX_FINDING_TITLE).optional(),
  description: z.string().optional(),
});
export type GuardDutyFinding = z.infer<typeof guardDutyFindingSchema>;

export type SeverityLabel = 'Low' | 'Medium' | 'High' | 'Critical';

/** What the rest of Cleanpoint needs to know about a finding. */
export interface Finding {
  id: string;
  type: string;
  /** Text before the `:` of the type: Backdoor, Impact, Recon, ... */
  threatPurpose: string;
  resourceType: string;
  severity: number;
  severityLabel: SeverityLabel;
  /** GuardDuty "Generate sample findings" output: must never trigger a recovery-mode failover. */
  sample: boolean;
  archived: boolean;
  /** ISO timestamps. */
  firstSeen: string;
  lastSeen: string;
  createdAt: string;
  updatedAt: string;
  count: number;
  region: string;
  accountId: string;
  instanceIds: string[];
  tags: Record<string, string>;
  title?: string;
}

/** Low < 4 ≤ Medium < 7 ≤ High < 9 ≤ Critical. */
export function severityLabel(severity: number): SeverityLabel {
  if (severity >= 9) return 'Critical';
  if (severity >= 7) return 'High';
  if (severity >= 4) return 'Medium';
  return 'Low';
}

export const GUARDDUTY_SOURCE = 'aws.guardduty';
export const GUARDDUTY_DETAIL_TYPE = 'GuardDuty Finding';

/**
 * Malware Protection for Backup findings: a verdict on a snapshot, AMI or recovery point (a
 * backup), not a compromise of a running machine. record-scan-verdict marks the catalogue
 * points they name infected (domain/recovery-points/verdicts.ts); they never open an incident.
 */
export const BACKUP_MALWARE_FINDING_TYPES = [
  'Execution:EC2/MaliciousFile!Snapshot',
  'Execution:EC2/MaliciousFile!AMI',
  'Execution:EC2/MaliciousFile!RecoveryPoint',
] as const;

export function isBackupMalwareFinding(f: Pick<Finding, 'type'>): boolean {
  return (BACKUP_MALWARE_FINDING_TYPES as readonly string[]).includes(f.type);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Accepts (a) an EventBridge event from `aws.guardduty` with detail-type `GuardDuty Finding`,
 * (b) a bare finding, (c) an object whose `detail` is a finding even when the other envelope
 * fields are missing. Anything else is refused with an error naming the offending path.
 */
export function parseFinding(input: unknown): Finding {
  if (!isObject(input)) {
    throw new ValidationError('GuardDuty finding', [{ path: '', message: `expected a JSON object, got ${describe(input)}` }]);
  }
  // Before anything recursive (zod, and later the stores and the logs) sees it.
  checkShape(input, 'GuardDuty finding');
  const envelope = 'detail-type' in input || 'source' in input || 'detail' in input;
  if (!envelope) return normaliseFinding(parseWith(guardDutyFindingSchema, input, 'GuardDuty finding'));

  const source = input['source'];
  const detailType = input['detail-type'];
  if (source !== undefined && source !== GUARDDUTY_SOURCE) {
    throw new UnsupportedEventError(`event source ${quoted(source)} is not ${GUARDDUTY_SOURCE}`);
  }
  if (detailType !== undefined && detailType !== GUARDDUTY_DETAIL_TYPE) {
    throw new UnsupportedEventError(
      `detail-type ${quoted(detailType)} is not a GuardDuty finding (expected ${JSON.stringify(GUARDDUTY_DETAIL_TYPE)})`,
    );
  }
  if (!isObject(input['detail'])) {
    throw new ValidationError('GuardDuty finding event', [{ path: 'detail', message: `expected the finding object, got ${describe(input['detail'])}` }]);
  }
  const detail: Record<string, unknown> = { ...input['detail'] };
  // A partial envelope may carry region/account only at the top (case c).
  if (detail['region'] === undefined && typeof input['region'] === 'string') detail['region'] = input['region'];
  if (detail['accountId'] === undefined && typeof input['account'] === 'string') detail['accountId'] = input['account'];
  return normaliseFinding(parseWith(guardDutyFindingSchema, detail, 'GuardDuty finding event', 'detail'));
}

/** Parse JSON text first; non-JSON is a ValidationError, not a SyntaxError. */
export function parseFindingText(text: string): Finding {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ValidationError('GuardDuty finding', [{ path: '', message: `not valid JSON (${(e as Error).message})` }]);
  }
  return parseFinding(value);
}

export function normaliseFinding(f: GuardDutyFinding): Finding {
  const tags: Record<string, string> = {};
  for (const t of f.resource.instanceDetails?.tags ?? []) tags[t.key] = t.value ?? '';
  const instanceId = f.resource.instanceDetails?.instanceId;
  const firstSeen = new Date(f.service.eventFirstSeen).toISOString();
  const createdAt = new Date(f.createdAt).toISOString();
  return {
    id: f.id,
    type: f.type,
    threatPurpose: f.type.slice(0, f.type.indexOf(':')),
    resourceType: f.resource.resourceType,
    severity: f.severity,
    severityLabel: severityLabel(f.severity),
    sample: f.service.additionalInfo?.sample === true,
    archived: f.service.archived,
    firstSeen,
    lastSeen: new Date(f.service.eventLastSeen ?? f.service.eventFirstSeen).toISOString(),
    createdAt,
    updatedAt: new Date(f.updatedAt ?? f.createdAt).toISOString(),
    count: f.service.count,
    region: f.region,
    accountId: f.accountId ?? accountFromArn(f.arn) ?? 'unknown',
    instanceIds: instanceId ? [instanceId] : [],
    tags,
    ...(f.title !== undefined ? { title: f.title } : {}),
  };
}

/** Earliest evidence of the threat: the earlier of first-seen and createdAt (epoch ms). */
export function earliestEvidenceMs(f: Pick<Finding, 'firstSeen' | 'createdAt'>): number {
  return Math.min(Date.parse(f.firstSeen), Date.parse(f.createdAt));
}

function accountFromArn(arn: string | undefined): string | undefined {
  const account = arn?.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'undefined' ? 'nothing' : `a ${typeof v}`;
}
