/**
 * Shared pieces of the handler tests (test/functions/*.test.ts).
 *
 * Handler modules compose on first use (functions/shared/compose.ts), so importing one never
 * reads the environment; every test file stubs the environment it composes from first.
 *
 * Two layers per handler:
 * - the unwrapped factory (`makeHandler(deps)`) with the in-memory fakes of the domain ports;
 * - the middy-wrapped handler composed from that environment (`wrapped(mod, overrides)`: the
 *   module's own compose, with a fixed clock and the contract-tested memory adapters in place
 *   of DynamoDB), its other AWS calls answered by aws-sdk-client-mock on the real SDK clients.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { expect, it, vi } from 'vitest';
import { stringify as toYaml } from 'yaml';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import { assessFinding, DEFAULT_POLICY, parseFinding } from '../../domain/findings/index.ts';
import { fixedClock, type Notification } from '../../domain/shared/index.ts';
import { newIncident, type Incident } from '../../domain/incidents/index.ts';
import { indexInventory, parseInventory, type InventoryIndex, type InstanceView } from '../../domain/inventory/index.ts';
import { proposeFailover, type RunMachine, type StoredProposal } from '../../domain/failover/index.ts';
import type {
  ComputeProvider, DomainEvent, EventPublisher, LaunchRequest, MachineKind, Notifier, SnapshotDirectory, WorkflowEngine,
} from '../../domain/ports/index.ts';
import type { RecoveryPoint, SnapshotRef, SnapshotInfo } from '../../domain/recovery-points/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog, MemoryRunStore } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryDrillStore } from '../../functions/shared/adapters/memory/drill-store.ts';
import { MemoryProtectionStore } from '../../functions/shared/adapters/memory/protection-store.ts';
import type { AdapterOverrides, Env, Overrides } from '../../functions/shared/compose.ts';
import { makeEvent, makeFinding, makeInventory, makePoint, type DeepPartial, type RawFinding, type RawInventory } from '../helpers/fixtures.ts';

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

export const STATE_TABLE = 'cleanpoint-test-state';
export const CATALOG_TABLE = 'cleanpoint-test-catalog';
export const EVENT_BUS = 'cleanpoint-test-bus';
export const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:111122223333:stateMachine:cleanpoint-incident-response';
export const KMS_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
export const LINK_SECRET_PARAMETER = '/cleanpoint/test/link-secret';
export const LINK_SECRET = 'test-link-secret-0123456789abcdef0123456789abcdef';
export const PUBLIC_BASE_URL = 'https://approvals.example.com';
export const OPS_EMAIL = 'ops@example.com';
export const FROM_EMAIL = 'cleanpoint@example.com';

/** 2024-05-01T10:00:00Z: half an hour after the default finding's first evidence. */
export const NOW = Date.parse('2024-05-01T10:00:00.000Z');

/**
 * Stub the environment a handler module reads at import. Logs are silenced unless a test file
 * asks for a level (the token tests want every line); business metrics are not flushed.
 */
export function stubHandlerEnv(vars: Record<string, string>): void {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  for (const [k, v] of Object.entries(vars)) vi.stubEnv(k, v);
}

const tempDirs: string[] = [];

/** Write a YAML document to a fresh temp folder; returns the `file:` source the loader reads. */
export function writeYamlSource(name: string, value: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-fn-'));
  tempDirs.push(dir);
  const file = path.join(dir, name);
  writeFileSync(file, toYaml(value), 'utf8');
  return `file:${file}`;
}

export function writeInventorySource(inventory: RawInventory = makeInventory()): string {
  return writeYamlSource('inventory.yaml', inventory);
}

export function removeTempFiles(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Lambda plumbing
// ---------------------------------------------------------------------------------------------

export function lambdaContext(functionName = 'cleanpoint-test'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:111122223333:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2024/05/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A handler module as the tests compose it (its makeHandler and compose pair on its Deps). */
export interface ComposableModule<D, F extends (event: never) => Promise<unknown>> {
  makeHandler(deps: () => Promise<D>): F;
  compose(env: Env, overrides?: Overrides): () => Promise<D>;
}

/**
 * The middy-wrapped handler over the module's own composition of the (stubbed) environment:
 * what serverless.yml deploys, with `overrides` (a fixed clock, memory adapters) in place of
 * the real defaults.
 */
export function wrapped<D, F extends (event: never) => Promise<unknown>>(mod: ComposableModule<D, F>, overrides: Overrides): (event: Parameters<F>[0], context: Context) => ReturnType<F> {
  type Handler = (event: Parameters<F>[0], context: Context) => ReturnType<F>;
  const handle = mod.makeHandler(mod.compose(process.env, overrides)) as unknown as Handler;
  // The middleware module (and the logger it configures from the stubbed environment) loads
  // with the handler module, after the test stubbed that environment: never from here first.
  let withMiddleware: Promise<Handler> | undefined;
  return (async (event, context) => {
    withMiddleware ??= import('../../functions/shared/middleware.ts').then(({ lambda }) => lambda(handle) as unknown as Handler);
    return (await withMiddleware)(event, context);
  }) as Handler;
}

/** The type of `wrapped(mod, …)` for a handler module type `M`. */
export type WrappedHandler<M extends { makeHandler(deps: never): (event: never) => Promise<unknown> }> =
  (event: Parameters<ReturnType<M['makeHandler']>>[0], context: Context) => ReturnType<ReturnType<M['makeHandler']>>;

/**
 * The contract-tested memory adapters (functions/shared/adapters/memory/), as compose overrides
 * (`adapters`), and the same stores for the test to seed and read. `calls` names every store
 * method a handler called, in order (`incidents.getIncident`, …): "touches no store" is `[]`;
 * `log` has their arguments too.
 */
export function memoryAdapters(points: RecoveryPoint[] = []) {
  const stores = {
    incidents: new MemoryIncidentStore(), approvals: new MemoryApprovalStore(), audit: new MemoryAuditLog(), runs: new MemoryRunStore(),
    drills: new MemoryDrillStore(), catalog: new MemoryRecoveryPointCatalog(points), protection: new MemoryProtectionStore(),
  };
  const calls: string[] = [];
  const log: { call: string; args: unknown[] }[] = [];
  const watched = <T extends object>(name: string, store: T): T => new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(`${name}.${String(key)}`);
        log.push({ call: `${name}.${String(key)}`, args: structuredClone(args) });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const adapters: Partial<AdapterOverrides> = Object.fromEntries(Object.entries(stores).map(([name, store]) => [name, watched(name, store)]));
  /** Forget what seeding called. */
  const reset = () => { calls.length = 0; log.length = 0; };
  return { ...stores, adapters, calls, log, reset };
}

/** `type` of each audit entry of the incident (or run), in order. */
export async function auditTypesOf(audit: MemoryAuditLog, incidentId: string): Promise<string[]> {
  return (await audit.list(incidentId)).map((e) => e.type);
}

/** What a middy-wrapped handler exposes and a bare async function does not. */
export function middyApi(fn: unknown): Record<'use' | 'before' | 'after' | 'onError' | 'handler', string> {
  const f = fn as Record<string, unknown>;
  return {
    use: typeof f['use'], before: typeof f['before'], after: typeof f['after'], onError: typeof f['onError'], handler: typeof f['handler'],
  };
}

export const MIDDY_API = { use: 'function', before: 'function', after: 'function', onError: 'function', handler: 'function' };

/** Await `promise` and return what it rejected with (fails when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { issues?: { path: string; message: string }[] }> {
  try {
    await promise;
  } catch (e) {
    return e as Error & { issues?: { path: string; message: string }[] };
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Paths named by a ValidationError (each once: one value may break several rules). */
export const issuePaths = (e: { issues?: { path: string }[] }) => [...new Set((e.issues ?? []).map((i) => i.path))];

type Write = typeof process.stdout.write;

/** Swap the write of stdout and stderr (plain assignment, so swaps nest and undo in order). */
function swapWrites(write: (chunk: unknown) => boolean): () => void {
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = write as Write;
  process.stderr.write = write as Write;
  return () => {
    process.stdout.write = out;
    process.stderr.write = err;
  };
}

/** Swallow what the handlers log (their logger writes to process.stdout); returns the undo. */
export function silenceOutput(): () => void {
  return swapWrites(() => true);
}

/**
 * Everything written to stdout/stderr or the console while `fn` runs (the logger writes to
 * process.stdout through its own Console), with what `fn` returned or threw.
 */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ output: string; result?: T; error?: unknown }> {
  const chunks: string[] = [];
  const undo = swapWrites((chunk) => { chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8')); return true; });
  const spies = (['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => { chunks.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')); }));
  let outcome: { result?: T; error?: unknown };
  try {
    outcome = { result: await fn() };
  } catch (error) {
    outcome = { error };
  } finally {
    for (const s of spies) s.mockRestore();
    undo();
  }
  return { output: chunks.join(''), ...outcome };
}

// ---------------------------------------------------------------------------------------------
// Domain builders
// ---------------------------------------------------------------------------------------------

export function inventoryIndex(raw: RawInventory = makeInventory()): InventoryIndex {
  return indexInventory(parseInventory(raw));
}

/**
 * An incident as the intake makes it for a finding (default: the high-severity backdoor on
 * payments-db, recovery mode, suspected since 08:30Z), created at 09:46Z.
 */
export function makeIncidentFor(index: InventoryIndex, finding: DeepPartial<RawFinding> = {}, overrides: Partial<Incident> = {}): Incident {
  const parsed = parseFinding(makeEvent(makeFinding(finding)));
  return { ...newIncident(assessFinding(DEFAULT_POLICY, index)(parsed), parsed, '2024-05-01T09:46:00.000Z'), ...overrides };
}

/** Clean points at 07:00Z and 08:00Z for every machine of the group (before the 08:30Z cutoff). */
export function pointsFor(index: InventoryIndex, group: string): RecoveryPoint[] {
  const machines = index.groupByName.get(group)?.machines.map((m) => m.id) ?? [];
  return machines.flatMap((machineId, i) => ['2024-05-01T07:00:00.000Z', '2024-05-01T08:00:00.000Z'].map((capturedAt) =>
    makePoint({ machineId, capturedAt, snapshots: [{ deviceName: '/dev/xvda', snapshotId: `snap-0${i}${capturedAt.slice(11, 13)}00000000000a`, volumeSize: 50 }] })));
}

/** The proposal select-recovery-points would store for `incident` over `points`. */
export async function storedProposalFor(index: InventoryIndex, incident: Incident, points: RecoveryPoint[]): Promise<StoredProposal> {
  const proposal = await proposeFailover({ policy: DEFAULT_POLICY, index, catalog: new MemoryRecoveryPointCatalog(points) })(
    { ...incident.assessment, suspectedSince: incident.suspectedSince, groups: incident.groups, machines: incident.machines },
  );
  return { incidentId: incident.incidentId, createdAt: '2024-05-01T09:47:00.000Z', cutoff: proposal.cutoff, selection: proposal.selection, plan: proposal.plan };
}

export const TASK_TOKEN =
  'AQCEAAAAKgAAAAMAAAAAAAAAAW0r1vN3n0OrsW5dGkJr0ZcbLYbXlLmw0tY5SNFY+PLuZy9oqvZQn2T8zWJwKkS/token+with/slashes==';

/** An approval request for `incident` (pending unless overridden), with `proposal` as its summary. */
export function makeApprovalFor(incident: Incident, proposal: StoredProposal, overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    approvalId: 'k3JbP1x0ZQyq2m7R4vT9Aw',
    incidentId: incident.incidentId,
    status: 'pending',
    taskToken: TASK_TOKEN,
    createdAt: '2024-05-01T09:50:00.000Z',
    expiresAt: '2024-05-01T10:50:00.000Z',
    groups: incident.groups,
    eligibleDeciders: ['alice', 'bob'],
    quorum: 2,
    decisions: [],
    proposal: { cutoff: proposal.cutoff, mode: proposal.plan.mode, selection: proposal.selection, plan: proposal.plan },
    version: 1,
    ...overrides,
  };
}

/** One machine of a run as plan-failover stores it. */
export function makeRunMachine(overrides: Partial<RunMachine> = {}): RunMachine {
  return {
    runId: 'inc-0123456789abcdef0123',
    machineId: 'payments-db',
    group: 'payments',
    wave: 1,
    mode: 'test',
    pointId: 'payments-db@2024-05-01T08:00:00.000Z',
    capturedAt: '2024-05-01T08:00:00.000Z',
    lossMinutes: 90,
    snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0123456789abcdef0', volumeSize: 100 }],
    instanceType: 'r6i.large',
    fallbackInstanceTypes: [],
    network: { subnetId: 'subnet-0a1b2c3e', securityGroupIds: ['sg-0a1b2c3e'] },
    ...overrides,
  };
}

export { fixedClock };

// ---------------------------------------------------------------------------------------------
// Recording fakes for the ports that have no in-memory adapter
// ---------------------------------------------------------------------------------------------

export class RecordingWorkflows implements WorkflowEngine {
  readonly starts: { machine: MachineKind; name: string; input: unknown }[] = [];
  readonly successes: { taskToken: string; output: unknown }[] = [];
  readonly failures: { taskToken: string; error: string; cause: string }[] = [];

  async startExecution(input: { machine: MachineKind; name: string; input: unknown }) {
    const alreadyStarted = this.starts.some((s) => s.name === input.name);
    this.starts.push(structuredClone(input));
    return { executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.name}`, alreadyStarted };
  }

  async sendTaskSuccess(taskToken: string, output: unknown) {
    this.successes.push({ taskToken, output });
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string) {
    this.failures.push({ taskToken, error, cause });
  }
}

export class RecordingEvents implements EventPublisher {
  readonly published: DomainEvent[] = [];
  async publish(events: DomainEvent[]) {
    this.published.push(...structuredClone(events));
  }
}

export class RecordingNotifier implements Notifier {
  readonly sent: Notification[] = [];
  async send(n: Notification) {
    this.sent.push(structuredClone(n));
  }
}

export class FixedSnapshots implements SnapshotDirectory {
  readonly asked: string[][] = [];
  constructor(private readonly infos: SnapshotInfo[]) {}
  async describeSnapshots(ids: string[]) {
    this.asked.push([...ids]);
    return this.infos.filter((i) => ids.includes(i.snapshotId));
  }
}

/**
 * A ComputeProvider whose answers a test sets: instances by id, tagged resources, and what
 * runInstance does per instance type. Records every call.
 */
export class ScriptedCompute implements ComputeProvider {
  readonly launches: LaunchRequest[] = [];
  readonly terminated: string[][] = [];
  readonly deregistered: string[] = [];
  readonly registered: { name: string; snapshots: SnapshotRef[] }[] = [];
  instances = new Map<string, InstanceView>();
  tagged: { instances: InstanceView[]; imageIds: string[] }[] = [];
  runInstanceImpl: (request: LaunchRequest) => Promise<{ instanceId: string }> = async () => ({ instanceId: 'i-0fedcba98765432aa' });

  async registerImage(input: { name: string; snapshots: SnapshotRef[]; tags: Record<string, string> }) {
    this.registered.push({ name: input.name, snapshots: input.snapshots });
    return { imageId: 'ami-0123456789abcdef0' };
  }

  async runInstance(request: LaunchRequest) {
    this.launches.push(structuredClone(request));
    return this.runInstanceImpl(request);
  }

  async describeInstances(ids: string[]) {
    return ids.flatMap((id) => this.instances.get(id) ?? []);
  }

  async terminateInstances(ids: string[]) {
    this.terminated.push([...ids]);
  }

  async deregisterImage(imageId: string) {
    this.deregistered.push(imageId);
  }

  async findTagged(_tags: Record<string, string>) {
    return this.tagged.shift() ?? { instances: [], imageIds: [] };
  }

  async snapshotInstance(instanceId: string, _tags: Record<string, string>) {
    return { snapshots: [{ deviceName: '/dev/xvda', snapshotId: `snap-${instanceId.slice(2)}` }] };
  }
}

export function instanceView(overrides: Partial<InstanceView> = {}): InstanceView {
  return {
    instanceId: 'i-0fedcba98765432aa', state: 'running', statusOk: true, instanceType: 'r6i.large', imageId: 'ami-0123456789abcdef0',
    tags: {}, ...overrides,
  };
}

/** The exported `handler` is the middy-wrapped one (what serverless.yml deploys), not the bare factory. */
export function itExportsTheWrappedHandler(handler: () => unknown): void {
  it('exports the middy-wrapped handler, not the bare factory', () => {
    expect(middyApi(handler())).toEqual(MIDDY_API);
  });
}
