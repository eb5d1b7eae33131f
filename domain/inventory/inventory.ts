import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AWS_ACCOUNT_ID, AWS_REGION, DRS_SOURCE_SERVER_ID, idSchema, INSTANCE_ID, INVENTORY_NAME, SECURITY_GROUP_ID, SUBNET_ID, ValidationError, zodIssues, type Issue } from '../shared/index.ts';

/**
 * The protected estate: application groups, their machines, objectives, networks and the
 * people in each role. One YAML or JSON file, reviewed like code.
 */

const name = idSchema(INVENTORY_NAME, 'use letters, digits, ".", "_" and "-" only', { min1: 'must not be empty' });
const instanceId = idSchema(INSTANCE_ID);
const subnetId = idSchema(SUBNET_ID);
const sgId = idSchema(SECURITY_GROUP_ID);
const kmsKeyArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/, 'must be a KMS key ARN (the launch role is allowed listed key ARNs only)');
/**
 * How a machine is brought back: `ec2` launches an instance from the point's EBS snapshots
 * (RegisterImage + RunInstances); `drs` asks AWS Elastic Disaster Recovery to launch its source
 * server from the chosen point-in-time snapshot (DRS converts the replicated disks so they boot
 * on EC2: docs/drs.md). A machine's `backend` overrides its group's.
 */
export const BACKENDS = ['ec2', 'drs'] as const;
export type Backend = (typeof BACKENDS)[number];
const drsAccountId = idSchema(AWS_ACCOUNT_ID);
const drsRegion = idSchema(AWS_REGION);
const instanceProfileArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,128}$/, 'must be an instance profile ARN');
/** EC2's limit on user data, raw (before base64). */
export const USER_DATA_MAX_BYTES = 16 * 1024;
const instanceType = z.string().regex(/^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$/, 'must be an EC2 instance type like m5.large');

export const networkSchema = z.strictObject({
  subnetId,
  securityGroupIds: z.array(sgId).min(1, 'at least one security group').max(5),
});
export type Network = z.infer<typeof networkSchema>;

const checkBase = {
  name: name,
  timeoutSeconds: z.number().int().positive().max(3600).default(60),
  /** Machine ids the check runs against; default every machine that declares it (or the group's first wave). */
  machines: z.array(name).optional(),
};
export const checkSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...checkBase, type: z.literal('tcp'), port: z.number().int().min(1).max(65535) }),
  z.strictObject({
    ...checkBase,
    type: z.literal('http'),
    port: z.number().int().min(1).max(65535).default(80),
    path: z.string().startsWith('/', 'must start with /').default('/'),
    expectStatus: z.number().int().min(100).max(599).default(200),
    expectBody: z.string().optional(),
  }),
  z.strictObject({ ...checkBase, type: z.literal('ssm'), command: z.string().min(1), expectOutput: z.string().optional() }),
]);
export type AcceptanceCheck = z.infer<typeof checkSchema>;

export const machineSchema = z.strictObject({
  id: name,
  instanceId,
  wave: z.number().int().min(1).max(100).default(1),
  instanceType: instanceType.optional(),
  /** Tried in order when the preferred type has no capacity. */
  fallbackInstanceTypes: z.array(instanceType).max(5).default([]),
  checks: z.array(checkSchema).default([]),
  /** AWS Elastic Disaster Recovery source server, when DRS replicates this machine. */
  drsSourceServerId: idSchema(DRS_SOURCE_SERVER_ID).optional(),
  /** `drs`: launched by DRS from its source server (`drsSourceServerId` required). Default: the group's `backend`. */
  backend: z.enum(BACKENDS).optional(),
  /** The account DRS replicates this machine in, when not the stack's (backend `drs` only). Default: the group's. */
  drsAccountId: drsAccountId.optional(),
  /** The Region DRS replicates this machine in, when not the stack's (backend `drs` only). Default: the group's. */
  drsRegion: drsRegion.optional(),
  /** KMS key (ARN) the restored volumes are encrypted with; overrides the group's and the inventory's. */
  kmsKeyId: kmsKeyArn.optional(),
  /** Instance profile (ARN) the restored machine runs with, as the source did (its role must be listed at deploy: docs/deploy.md). */
  instanceProfileArn: instanceProfileArn.optional(),
  /** Recovery mode: keep the source's private IPv4 address (the recovery subnet must contain it). */
  preservePrivateIp: z.boolean().default(false),
  /**
   * User data for the restored machine, plain text. EC2 limits user data to 16 KB in raw form,
   * before base64 encoding (the adapter encodes it): counted here in UTF-8 bytes.
   */
  userData: z.string().refine((v) => new TextEncoder().encode(v).length <= USER_DATA_MAX_BYTES, `must be at most ${USER_DATA_MAX_BYTES} bytes (16 KB raw, before base64: EC2's limit)`).optional(),
  /**
   * Windows and billing-coded Linux (RHEL, SLES, Marketplace): the AMI to launch before the
   * root volume is swapped for the point's (default: the AMI the source was launched from).
   */
  baseImageId: z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'must be an AMI id').optional(),
});
export type Machine = z.infer<typeof machineSchema>;

export const personSchema = z.strictObject({
  id: name,
  name: z.string().min(1).optional(),
  email: z.email().optional(),
  slackUserId: z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id like U012ABCDEF').optional(),
});
export type Person = z.infer<typeof personSchema>;

export const ROLES = ['analyst', 'decider', 'executor'] as const;
export type Role = (typeof ROLES)[number];

/** `rate(7 days)` or a six-field `cron(...)`, as EventBridge Scheduler writes them. */
const scheduleExpression = z
  .string()
  .regex(/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\((\S+ ){5}\S+\))$/, 'must be rate(N unit) or cron(min hour day month weekday year)');

export const SCAN_POLICIES = ['never', 'recovery', 'always'] as const;
export type ScanPolicy = (typeof SCAN_POLICIES)[number];
export const DEFAULT_SCAN_BUDGET_MINUTES = 30;
export const DEFAULT_SNAPSHOT_WINDOW_MINUTES = 10;

export const groupSchema = z.strictObject({
  name,
  description: z.string().optional(),
  objectives: z.strictObject({ rpoMinutes: z.number().positive(), rtoMinutes: z.number().positive() }).optional(),
  networks: z
    .strictObject({ recovery: networkSchema.optional(), test: networkSchema.optional(), primary: networkSchema.optional() })
    .optional(),
  /** Person ids (or free-form names when the inventory has no `people`). Shorthand for roles.decider. */
  deciders: z.array(z.string().min(1)).optional(),
  roles: z.strictObject({
    analyst: z.array(z.string().min(1)).default([]),
    decider: z.array(z.string().min(1)).default([]),
    executor: z.array(z.string().min(1)).default([]),
  }).optional(),
  approval: z
    .strictObject({
      quorum: z.number().int().min(1).default(1),
      timeoutMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60),
      forbidSelfApproval: z.boolean().default(true),
      /** Who is asked when nobody decided in time (person ids); they may decide alongside the deciders. */
      escalateTo: z.array(z.string().min(1)).default([]),
    })
    .optional(),
  drills: z
    .strictObject({ schedule: scheduleExpression.optional(), maxDaysBetweenDrills: z.number().positive().default(7) })
    .optional(),
  checks: z.array(checkSchema).default([]),
  /**
   * Malware-scan the chosen recovery points (GuardDuty Malware Protection) before the deciders
   * are asked: `recovery` (default) when the incident is in recovery mode, `always` in test mode
   * too, `never` not at all (docs/scanning.md).
   */
  scanBeforeLaunch: z.enum(SCAN_POLICIES).default('recovery'),
  /** How long the scans may take, from the first scan's start; points not verified by then are `unverified`. */
  scanBudgetMinutes: z.number().int().min(1).max(24 * 60).default(DEFAULT_SCAN_BUDGET_MINUTES),
  /** KMS key (ARN) for the group's restored volumes, unless a machine names its own. */
  kmsKeyId: kmsKeyArn.optional(),
  /**
   * Test mode (drills): the instance profile every machine of the group gets. Never the
   * machines' own production profiles (docs/deploy.md, "Instance profiles in test mode");
   * absent, drill machines run without one.
   */
  testInstanceProfileArn: instanceProfileArn.optional(),
  /**
   * Snapshots of one machine's volumes taken one by one (createSnapshot per volume) that started
   * within this many minutes of each other are one recovery point.
   */
  snapshotWindowMinutes: z.number().int().min(1).max(24 * 60).default(DEFAULT_SNAPSHOT_WINDOW_MINUTES),
  /** Default backend of the group's machines (`ec2`); a group may mix both. */
  backend: z.enum(BACKENDS).default('ec2'),
  /** Default DRS account/Region of the group's `drs` machines, when not the stack's. */
  drsAccountId: drsAccountId.optional(),
  drsRegion: drsRegion.optional(),
  machines: z.array(machineSchema).min(1, 'a group needs at least one machine'),
});
export type Group = z.infer<typeof groupSchema>;

export const inventorySchema = z.strictObject({
  version: z.literal(1).default(1),
  kmsKeyId: z.string().min(1).optional(),
  people: z.array(personSchema).default([]),
  groups: z.array(groupSchema).min(1, 'at least one group'),
});
export type Inventory = z.infer<typeof inventorySchema>;

/** Validate an inventory object; report every problem with its path, not just the first. */
export function parseInventory(value: unknown, source = 'inventory'): Inventory {
  const result = inventorySchema.safeParse(value);
  // Cross-field rules run even when the schema fails (on what is readable), so one bad field
  // does not hide the duplicate ids and unknown people elsewhere in the same file.
  const issues: Issue[] = result.success ? crossCheck(result.data) : [...zodIssues(result.error), ...crossCheck(looseView(value))];
  if (issues.length > 0 || !result.success) throw new ValidationError(source, issues);
  return result.data;
}

/** Parse YAML or JSON text (JSON is YAML). */
export function parseInventoryText(text: string, source = 'inventory'): Inventory {
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    throw new ValidationError(source, [{ path: '', message: `not valid YAML or JSON (${(e as Error).message.split('\n')[0]})` }]);
  }
  return parseInventory(value, source);
}

/** The readable part of an invalid inventory, shaped for crossCheck; unreadable entries are dropped. */
function looseView(value: unknown): Inventory {
  const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : {});
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const strs = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === 'string');
  const root = obj(value);
  return {
    version: 1,
    people: arr(root['people']).map((p) => ({ id: str(obj(p)['id']) })),
    groups: arr(root['groups']).map((gv) => {
      const g = obj(gv);
      const roles = obj(g['roles']);
      const approval = obj(g['approval']);
      return {
        name: str(g['name']),
        deciders: strs(g['deciders']),
        roles: { analyst: strs(roles['analyst']), decider: strs(roles['decider']), executor: strs(roles['executor']) },
        approval: {
          quorum: typeof approval['quorum'] === 'number' ? approval['quorum'] : 1,
          timeoutMinutes: 60, forbidSelfApproval: true, escalateTo: strs(approval['escalateTo']),
        },
        checks: arr(g['checks']).map((c) => ({ name: '', type: 'tcp' as const, port: 1, timeoutSeconds: 1, machines: strs(obj(c)['machines']) })),
        backend: g['backend'] === 'drs' ? 'drs' as const : 'ec2' as const,
        scanBeforeLaunch: 'recovery' as const, scanBudgetMinutes: DEFAULT_SCAN_BUDGET_MINUTES, snapshotWindowMinutes: DEFAULT_SNAPSHOT_WINDOW_MINUTES,
        machines: arr(g['machines']).map((m) => ({
          id: str(obj(m)['id']), instanceId: str(obj(m)['instanceId']), wave: 1, fallbackInstanceTypes: [], checks: [], preservePrivateIp: false,
          ...(obj(m)['backend'] === 'drs' || obj(m)['backend'] === 'ec2' ? { backend: obj(m)['backend'] as Backend } : {}),
          ...(typeof obj(m)['drsSourceServerId'] === 'string' ? { drsSourceServerId: str(obj(m)['drsSourceServerId']) } : {}),
          ...(typeof obj(m)['drsAccountId'] === 'string' ? { drsAccountId: str(obj(m)['drsAccountId']) } : {}),
          ...(typeof obj(m)['drsRegion'] === 'string' ? { drsRegion: str(obj(m)['drsRegion']) } : {}),
        })),
      };
    }),
  };
}

/** Rules that span several fields: uniqueness, references to people, quorum reachability. */
function crossCheck(inv: Inventory): Issue[] {
  const issues: Issue[] = [];
  const people = new Set(inv.people.map((p) => p.id));
  const seen = (kind: string) => {
    const where = new Map<string, string>();
    return (key: string, path: string) => {
      if (!key) return; // unreadable (already reported by the schema)
      const first = where.get(key);
      if (first) issues.push({ path, message: `duplicate ${kind} ${JSON.stringify(key)} (first at ${first})` });
      else where.set(key, path);
    };
  };
  const group = seen('group name');
  const machine = seen('machine id');
  const instance = seen('instance id');
  const person = seen('person id');
  const drsServer = seen('DRS source server');
  inv.people.forEach((p, i) => person(p.id, `people[${i}].id`));
  inv.groups.forEach((g, gi) => {
    const at = `groups[${gi}]`;
    group(g.name, `${at}.name`);
    g.machines.forEach((m, mi) => {
      machine(m.id, `${at}.machines[${mi}].id`);
      instance(m.instanceId, `${at}.machines[${mi}].instanceId`);
      issues.push(...backendIssues(g, m, `${at}.machines[${mi}]`));
      const drs = machineBackend(m, g);
      // One source server is one machine: two entries would launch it twice (per account and Region).
      if (m.drsSourceServerId) drsServer(`${drs.kind === 'drs' ? `${drs.accountId ?? ''}/${drs.region ?? ''}/` : '//'}${m.drsSourceServerId}`, `${at}.machines[${mi}].drsSourceServerId`);
    });
    const ids = new Set(g.machines.map((m) => m.id));
    g.checks.forEach((c, ci) =>
      (c.machines ?? []).forEach((mid, k) => {
        if (!ids.has(mid)) issues.push({ path: `${at}.checks[${ci}].machines[${k}]`, message: `machine ${JSON.stringify(mid)} is not in group ${g.name}` });
      }),
    );
    if (people.size > 0) {
      const refs: [string, readonly string[]][] = [['deciders', g.deciders ?? []]];
      for (const role of ROLES) refs.push([`roles.${role}`, g.roles?.[role] ?? []]);
      refs.push(['approval.escalateTo', g.approval?.escalateTo ?? []]);
      for (const [field, list] of refs) {
        list.forEach((pid, k) => {
          if (!people.has(pid)) issues.push({ path: `${at}.${field}[${k}]`, message: `unknown person ${JSON.stringify(pid)} (not in people)` });
        });
      }
    }
    const quorum = g.approval?.quorum ?? 1;
    const deciders = decidersOf(g);
    if (deciders.length > 0 && quorum > deciders.length) {
      issues.push({ path: `${at}.approval.quorum`, message: `quorum ${quorum} cannot be met by ${deciders.length} decider(s)` });
    }
  });
  return issues;
}

/** Where and how a machine is launched: its own `backend`/`drs*` fields, else its group's. */
export type MachineBackend =
  | { kind: 'ec2' }
  | { kind: 'drs'; sourceServerId: string; accountId?: string; region?: string };

export function machineBackend(machine: Machine, group: Group): MachineBackend {
  const kind = machine.backend ?? group.backend ?? 'ec2';
  if (kind === 'ec2' || !machine.drsSourceServerId) return { kind: 'ec2' };
  const accountId = machine.drsAccountId ?? group.drsAccountId;
  const region = machine.drsRegion ?? group.drsRegion;
  return { kind: 'drs', sourceServerId: machine.drsSourceServerId, ...(accountId ? { accountId } : {}), ...(region ? { region } : {}) };
}

function backendIssues(group: Group, machine: Machine, at: string): Issue[] {
  const kind = machine.backend ?? group.backend ?? 'ec2';
  const issues: Issue[] = [];
  if (kind === 'drs' && !machine.drsSourceServerId) {
    issues.push({ path: `${at}.drsSourceServerId`, message: `machine ${machine.id} is launched by DRS (backend drs${machine.backend ? '' : ` from group ${group.name}`}) and needs its DRS source server id (s- and 17 hex digits)` });
  }
  if (kind === 'ec2') {
    for (const field of ['drsAccountId', 'drsRegion'] as const) {
      if (machine[field] !== undefined) issues.push({ path: `${at}.${field}`, message: `only a machine with backend drs uses ${field} (machine ${machine.id} is launched from EBS snapshots)` });
    }
  }
  return issues;
}

/** Deciders of a group: the `deciders` shorthand and `roles.decider`, without duplicates. */
export function decidersOf(group: Group): string[] {
  return [...new Set([...(group.deciders ?? []), ...(group.roles?.decider ?? [])])];
}

export function peopleInRole(group: Group, role: Role): string[] {
  return role === 'decider' ? decidersOf(group) : [...(group.roles?.[role] ?? [])];
}

/** Fast look-ups built once per inventory. */
export interface InventoryIndex {
  inventory: Inventory;
  groupByName: Map<string, Group>;
  machineById: Map<string, { machine: Machine; group: Group }>;
  machineByInstanceId: Map<string, { machine: Machine; group: Group }>;
  personById: Map<string, Person>;
}

export function indexInventory(inventory: Inventory): InventoryIndex {
  const groupByName = new Map<string, Group>();
  const machineById = new Map<string, { machine: Machine; group: Group }>();
  const machineByInstanceId = new Map<string, { machine: Machine; group: Group }>();
  for (const group of inventory.groups) {
    groupByName.set(group.name, group);
    for (const machine of group.machines) {
      machineById.set(machine.id, { machine, group });
      machineByInstanceId.set(machine.instanceId, { machine, group });
    }
  }
  return { inventory, groupByName, machineById, machineByInstanceId, personById: new Map(inventory.people.map((p) => [p.id, p])) };
}
