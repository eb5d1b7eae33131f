import { ValidationError } from '../../domain/shared/index.ts';
/**
 * Test fixtures: one typed loader for JSON samples and builders for realistic domain inputs.
 *
 * Every loader returns a structuredClone of a cached parse, so a test that mutates what it
 * loaded can never leak that change into another test (or into the shared, read-only folder).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { RecoveryPoint } from '../../domain/recovery-points/index.ts';

/** Real-world samples kept by others (read-only), next to this checkout. */
export const SHARED_FIXTURES_DIR = path.resolve(process.cwd(), '../shared/fixtures');
/** Our own event variants: test/events/<source>/<name>.json. */
export const TEST_EVENTS_DIR = path.resolve(process.cwd(), 'test/events');

const parsed = new Map<string, unknown>();

function loadJsonFile<T>(absolutePath: string): T {
  let value = parsed.get(absolutePath);
  if (value === undefined) {
    value = JSON.parse(readFileSync(absolutePath, 'utf8')) as unknown;
    parsed.set(absolutePath, value);
  }
  return structuredClone(value) as T;
}

function inside(root: string, relPath: string): string {
  const abs = path.resolve(root, relPath);
  if (abs !== root && !abs.startsWith(root + path.sep)) throw new Error(`fixture path ${relPath} escapes ${root}`);
  return abs;
}

/** A JSON file under ../shared/fixtures, e.g. `guardduty/findings/x.json`. A fresh copy every call. */
export function loadSharedFixture<T = unknown>(relPath: string): T {
  return loadJsonFile<T>(inside(SHARED_FIXTURES_DIR, relPath));
}

/** The raw text of a shared fixture (for parsers that take text). */
export function readSharedFixtureText(relPath: string): string {
  return readFileSync(inside(SHARED_FIXTURES_DIR, relPath), 'utf8');
}

/** File names in a shared fixture folder, sorted. */
export function listSharedFixtures(relDir: string): string[] {
  return readdirSync(inside(SHARED_FIXTURES_DIR, relDir)).sort();
}

/** test/events/<source>/<name>.json (name with or without `.json`). A fresh copy every call. */
export function loadTestEvent<T = unknown>(source: string, name: string): T {
  const file = name.endsWith('.json') ? name : `${name}.json`;
  return loadJsonFile<T>(inside(TEST_EVENTS_DIR, path.join(source, file)));
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/** Overrides merge deeply into objects; arrays replace; `undefined` removes the key. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | undefined }
    : T;

/** The fields of a GuardDuty finding (as GuardDuty sends it) that the builders fill in. */
export interface RawFinding {
  schemaVersion: string;
  accountId: string;
  region: string;
  partition: string;
  id: string;
  arn: string;
  type: string;
  resource: {
    resourceType: string;
    instanceDetails?: {
      instanceId?: string;
      instanceType?: string;
      availabilityZone?: string;
      imageId?: string;
      instanceState?: string;
      tags?: { key: string; value: string | null }[] | null;
      [k: string]: unknown;
    } | null;
    [k: string]: unknown;
  };
  service: {
    serviceName: string;
    detectorId: string;
    archived: boolean;
    count: number;
    eventFirstSeen: string;
    eventLastSeen: string;
    resourceRole: string;
    additionalInfo: { sample?: boolean; [k: string]: unknown } | null;
    [k: string]: unknown;
  };
  severity: number;
  createdAt: string;
  updatedAt: string;
  title: string;
  description: string;
  [k: string]: unknown;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function deepMerge<T>(base: T, overrides: unknown): T {
  if (!isPlainObject(overrides) || !isPlainObject(base)) return (overrides === undefined ? base : overrides) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete out[key];
    else out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key], value) : value;
  }
  return out as T;
}

export const ACCOUNT_ID = '111122223333';
export const REGION = 'eu-west-1';
/** Instance ids of the machines in makeInventory(). */
export const INSTANCES = {
  paymentsDb: 'i-0123456789abcdef0',
  paymentsApi: 'i-0123456789abcdef1',
  paymentsWeb: 'i-0123456789abcdef2',
  ledgerDb: 'i-0a1b2c3d4e5f60718',
  ledgerWorker: 'i-0a1b2c3d4e5f60719',
  reportingEtl: 'i-0fedcba9876543210',
} as const;
/** An instance that is in no group of makeInventory(). */
export const UNPROTECTED_INSTANCE = 'i-0badc0ffee0ddf00d';

/**
 * A realistic bare GuardDuty finding: a high-severity backdoor on the `payments-db` machine,
 * first seen 09:30Z and created 09:45:12Z on 2024-05-01, not archived, not a sample.
 */
export function makeFinding(overrides: DeepPartial<RawFinding> = {}): RawFinding {
  const id = 'a4c7d2e91f0b4e8c9d3b6a5f7e2c1d08';
  const base: RawFinding = {
    schemaVersion: '2.0',
    accountId: ACCOUNT_ID,
    region: REGION,
    partition: 'aws',
    id,
    arn: `arn:aws:guardduty:${REGION}:${ACCOUNT_ID}:detector/6ab7c8d9e0f1a2b3c4d5e6f7a8b9c0d1/finding/${id}`,
    type: 'Backdoor:EC2/C&CActivity.B',
    resource: {
      resourceType: 'Instance',
      instanceDetails: {
        instanceId: INSTANCES.paymentsDb,
        instanceType: 'r6i.large',
        availabilityZone: `${REGION}a`,
        imageId: 'ami-0c55b159cbfafe1f0',
        instanceState: 'running',
        tags: [
          { key: 'Name', value: 'payments-db-1' },
          { key: 'env', value: 'prod' },
        ],
      },
    },
    service: {
      serviceName: 'guardduty',
      detectorId: '6ab7c8d9e0f1a2b3c4d5e6f7a8b9c0d1',
      archived: false,
      count: 3,
      eventFirstSeen: '2024-05-01T09:30:00.000Z',
      eventLastSeen: '2024-05-01T09:41:27.000Z',
      resourceRole: 'ACTOR',
      additionalInfo: { threatListName: 'ProofPoint' },
    },
    severity: 8,
    createdAt: '2024-05-01T09:45:12.000Z',
    updatedAt: '2024-05-01T09:47:00.000Z',
    title: `EC2 instance ${INSTANCES.paymentsDb} is communicating with a command and control server.`,
    description: `EC2 instance ${INSTANCES.paymentsDb} is querying an IP address associated with a known C&C server.`,
  };
  return deepMerge(base, structuredClone(overrides));
}

/** Wrap a finding in an EventBridge envelope as GuardDuty delivers it. */
export function makeEvent(detail: unknown = makeFinding(), overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '7f3e1c52-9a4b-4d0e-8c6f-2b1a0d9e8f7c',
    'detail-type': 'GuardDuty Finding',
    source: 'aws.guardduty',
    account: ACCOUNT_ID,
    time: '2024-05-01T09:45:30Z',
    region: REGION,
    resources: [],
    detail,
    ...overrides,
  };
}

export interface RawNetwork { subnetId: string; securityGroupIds: string[] }
export interface RawMachine { id: string; instanceId: string; wave?: number; instanceType?: string; fallbackInstanceTypes?: string[]; [k: string]: unknown }
export interface RawCheck { name: string; type: 'tcp' | 'http' | 'ssm'; machines?: string[]; [k: string]: unknown }
export interface RawGroup {
  name: string;
  description?: string;
  objectives?: { rpoMinutes: number; rtoMinutes: number };
  networks?: { recovery?: RawNetwork; test?: RawNetwork; primary?: RawNetwork };
  deciders?: string[];
  roles?: { analyst?: string[]; decider?: string[]; executor?: string[] };
  approval?: { quorum?: number; timeoutMinutes?: number; forbidSelfApproval?: boolean };
  checks?: RawCheck[];
  machines: RawMachine[];
  [k: string]: unknown;
}
/** An inventory as written in the file (before defaults), loose enough to plant errors in. */
export interface RawInventory {
  version?: number;
  people?: { id: string; name?: string; email?: string; slackUserId?: string }[];
  groups: RawGroup[];
  [k: string]: unknown;
}

const network = (suffix: string): RawNetwork => ({ subnetId: `subnet-0a1b2c3${suffix}`, securityGroupIds: [`sg-0a1b2c3${suffix}`] });

/**
 * A raw inventory (input to parseInventory) with three groups:
 * - payments: waves 1 (db) and 2 (api, web), recovery + test networks, an http check on api;
 * - ledger: waves 1 (db, default) and 2 (worker), a recovery network only (no test network);
 * - reporting: one machine in the default wave, recovery + test networks, no deciders.
 */
export function makeInventory(): RawInventory {
  return {
    version: 1,
    people: [
      { id: 'alice', name: 'Alice Martin', email: 'alice@example.com', slackUserId: 'U012ABCDEF' },
      { id: 'bob', name: 'Bob Chen', email: 'bob@example.com' },
      { id: 'carol', name: 'Carol Diaz', email: 'carol@example.com' },
    ],
    groups: [
      {
        name: 'payments',
        description: 'Card payments: database, API and web front end',
        objectives: { rpoMinutes: 15, rtoMinutes: 60 },
        networks: { recovery: network('d'), test: network('e') },
        deciders: ['alice', 'bob'],
        roles: { analyst: ['carol'], decider: [], executor: ['carol'] },
        approval: { quorum: 2, timeoutMinutes: 60, forbidSelfApproval: true },
        checks: [{ name: 'api-health', type: 'http', port: 8080, path: '/health', machines: ['payments-api'] }],
        machines: [
          { id: 'payments-db', instanceId: INSTANCES.paymentsDb, wave: 1, instanceType: 'r6i.large' },
          { id: 'payments-api', instanceId: INSTANCES.paymentsApi, wave: 2, instanceType: 'm6i.large', fallbackInstanceTypes: ['m5.large'] },
          { id: 'payments-web', instanceId: INSTANCES.paymentsWeb, wave: 2, instanceType: 't3.medium' },
        ],
      },
      {
        name: 'ledger',
        objectives: { rpoMinutes: 60, rtoMinutes: 240 },
        networks: { recovery: network('f') },
        deciders: ['bob'],
        machines: [
          { id: 'ledger-db', instanceId: INSTANCES.ledgerDb, instanceType: 'r6i.xlarge' },
          { id: 'ledger-worker', instanceId: INSTANCES.ledgerWorker, wave: 2, instanceType: 'c6i.large' },
        ],
      },
      {
        name: 'reporting',
        networks: { recovery: network('a'), test: network('b') },
        machines: [{ id: 'reporting-etl', instanceId: INSTANCES.reportingEtl, instanceType: 'm6i.xlarge' }],
      },
    ],
  };
}

/**
 * An available, clean recovery point of `payments-db` captured 2024-05-01T08:00Z. The point id
 * defaults to `<machineId>@<capturedAt>` so points built with different times never collide.
 */
export function makePoint(overrides: Partial<RecoveryPoint> = {}): RecoveryPoint {
  const machineId = overrides.machineId ?? 'payments-db';
  const capturedAt = overrides.capturedAt ?? '2024-05-01T08:00:00.000Z';
  return {
    machineId,
    pointId: `${machineId}@${capturedAt}`,
    capturedAt,
    status: 'available',
    scan: 'clean',
    snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0123456789abcdef0', volumeSize: 100 }],
    source: 'ebs',
    ...overrides,
  };
}

/** The ValidationError `act` throws; fails the test when it throws nothing or something else. */
export function validationError(act: () => unknown): ValidationError {
  try {
    act();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError, but nothing was thrown');
}
