import { z } from 'zod';

/**
 * The id formats, one definition each: what an incident, approval, drill, run, inventory name
 * (machine, group, person) and AWS resource id looks like. Edges build their schemas from these
 * (`idSchema`), the domain tests values with `isId`; nobody writes the regex again.
 */
export interface IdFormat {
  readonly pattern: RegExp;
  readonly maxLength?: number;
  /** What it is, with its article: `an incident id`. */
  readonly label: string;
  readonly example?: string;
}

/** `inc-` and the first 20 hex digits of the opening finding's hash (incidentIdFor). */
export const INCIDENT_ID: IdFormat = { pattern: /^inc-[0-9a-f]{20}$/, label: 'an incident id', example: 'inc-0123456789abcdef0123' };
/** 16 random bytes, base64url (22 characters); up to 64 accepted. */
export const APPROVAL_ID: IdFormat = { pattern: /^[A-Za-z0-9_-]{22,64}$/, label: 'an approval id' };
/** `drill-<group slug>-<stamp>[-<random>]` (drillIdFor). */
export const DRILL_ID: IdFormat = { pattern: /^drill-[A-Za-z0-9-]{1,74}$/, label: 'a drill id', example: 'drill-payments-20250302T0300' };
/** What a workflow runs under: an incident id, a drill id or a failback run id. */
export const RUN_ID: IdFormat = { pattern: /^[A-Za-z0-9_-]+$/, maxLength: 80, label: 'a run id' };
/** A name in the inventory: a machine id, a group name, a person id. */
export const INVENTORY_NAME: IdFormat = { pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/, maxLength: 128, label: 'a name from the inventory' };
/**
 * A GuardDuty finding id. GuardDuty documents its ids only as 1 to 300 characters (API reference,
 * FindingDetail.findingId, FindingReference.uid); the ids it issues are 32 lower-case hex digits.
 * The character set is ours: what GuardDuty issues, what our tests use, and nothing that needs
 * escaping in a key, a log line or a URL.
 */
export const GUARDDUTY_FINDING_ID: IdFormat = { pattern: /^[A-Za-z0-9][A-Za-z0-9._:-]*$/, maxLength: 300, label: 'a GuardDuty finding id', example: '16afba5c5c43e07c9e3e5e2e544e95df' };
/** An AWS account id: 12 digits. */
export const AWS_ACCOUNT_ID: IdFormat = { pattern: /^\d{12}$/, label: 'an AWS account id (12 digits)', example: '111122223333' };
/** An AWS Region name (us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1). */
export const AWS_REGION: IdFormat = { pattern: /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/, maxLength: 32, label: 'an AWS Region name', example: 'eu-west-1' };
/** An ARN: `arn:partition:service:region:account:resource`, at most 2048 characters (the longest IAM allows). */
export const AWS_ARN: IdFormat = { pattern: /^arn:aws(-[a-z]+)*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:\S+$/, maxLength: 2048, label: 'an ARN', example: 'arn:aws:guardduty:eu-west-1:111122223333:detector/d1/finding/f1' };
/** An EC2 tag (User Guide, "Tag restrictions"): key 1 to 128 characters, value up to 256. */
export const EC2_TAG_KEY_MAX = 128;
export const EC2_TAG_VALUE_MAX = 256;
/** `i-` and 8 (older) or 17 hex digits, as EC2 issues them; lengths between are accepted too. */
export const INSTANCE_ID: IdFormat = { pattern: /^i-[0-9a-f]{8,17}$/, label: 'an EC2 instance id', example: 'i-0123456789abcdef0' };
export const SNAPSHOT_ID: IdFormat = { pattern: /^snap-[0-9a-f]{8,17}$/, label: 'a snapshot id', example: 'snap-0123abcd' };
export const SUBNET_ID: IdFormat = { pattern: /^subnet-[0-9a-f]{8,17}$/, label: 'a subnet id', example: 'subnet-0123abcd' };
export const SECURITY_GROUP_ID: IdFormat = { pattern: /^sg-[0-9a-f]{8,17}$/, label: 'a security group id', example: 'sg-0123abcd' };
export const DRS_SOURCE_SERVER_ID: IdFormat = { pattern: /^s-[0-9a-f]{17}$/, label: 'a DRS source server id', example: 's-0123456789abcdef0' };
/** The end of a DRS source server ARN (`…:source-server/s-…`), as DRS events name it. */
export const DRS_SOURCE_SERVER_ARN: IdFormat = { pattern: /source-server\/s-[0-9a-f]{17}$/, label: 'a DRS source server ARN' };

/** `must be an incident id like inc-0123456789abcdef0123`. */
export const idMessage = (format: IdFormat): string => `must be ${format.label}${format.example ? ` like ${format.example}` : ''}`;

export function isId(format: IdFormat, value: unknown): value is string {
  return typeof value === 'string' && (format.maxLength === undefined || value.length <= format.maxLength) && format.pattern.test(value);
}

/**
 * A zod string of the format (`max` first when it has one, then the pattern), refused with
 * `message` (default idMessage). `min1` adds a non-empty check before both, with its own message.
 */
export function idSchema(format: IdFormat, message = idMessage(format), options: { min1?: string | true } = {}): z.ZodString {
  let s = z.string();
  if (options.min1 !== undefined) s = options.min1 === true ? s.min(1) : s.min(1, options.min1);
  if (format.maxLength !== undefined) s = s.max(format.maxLength);
  return s.regex(format.pattern, message);
}
