import { DescribeInstancesCommand, DescribeInstanceStatusCommand, EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../functions/shared/adapters/memory/index.ts';
import type { Run } from '../../domain/failover/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import {
  fixedClock, instanceView, issuePaths, KMS_KEY, lambdaContext, makeRunMachine, memoryAdapters, MIDDY_API, middyApi, NOW, rejectionOf,
  removeTempFiles, ScriptedCompute, STATE_TABLE, stubHandlerEnv, wrapped, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/check-machine/handler.ts');
let mod: Module;

const RUN_ID = 'inc-0123456789abcdef0123';
const INSTANCE_ID = 'i-0fedcba98765432aa';
const task = { runId: RUN_ID, kind: 'incident', machineId: 'payments-db', instanceId: INSTANCE_ID };
const theRun: Run = { runId: RUN_ID, kind: 'incident', incidentId: RUN_ID, mode: 'test', createdAt: '2024-05-01T09:55:00.000Z', decidedAt: '2024-05-01T09:54:00.000Z', waves: [{ wave: 1, machines: ['payments-db'] }] };
const launched = () => makeRunMachine({ runId: RUN_ID, instanceId: INSTANCE_ID, launchedAt: '2024-05-01T09:58:00.000Z' });

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, KMS_KEY_ID: KMS_KEY });
  mod = await import('../../functions/check-machine/handler.ts');
});

afterAll(() => removeTempFiles());

describe('check-machine handler (factory, in-memory fakes)', () => {
  async function world() {
    const runs = new MemoryRunStore();
    await runs.createRun(theRun, [launched()]);
    const compute = new ScriptedCompute();
    const audit = new MemoryAuditLog();
    const handle = mod.makeHandler(async () => ({ runs, audit, compute, clock: fixedClock(NOW) }));
    return { runs, compute, audit, handle };
  }

  it('returns the fields the Check Machine state selects once both status checks pass', async () => {
    // Prepare
    const w = await world();
    w.compute.instances.set(INSTANCE_ID, instanceView({ instanceId: INSTANCE_ID, statusOk: true }));

    // Act
    const out = await w.handle(task);

    // Assess
    expect(out).toEqual({ runId: RUN_ID, kind: 'incident', machineId: 'payments-db', instanceId: INSTANCE_ID, ready: true });
    expect((await w.runs.getMachine(RUN_ID, 'payments-db'))?.readyAt).toBe(new Date(NOW).toISOString());
  });

  it('throws MachineNotReadyError, which the workflow retries, while status checks initialise', async () => {
    // Prepare
    const w = await world();
    w.compute.instances.set(INSTANCE_ID, instanceView({ instanceId: INSTANCE_ID, statusOk: null, statusDetail: 'instance initializing, system initializing' }));

    // Act
    const error = await rejectionOf(w.handle(task));

    // Assess
    expect(error.name).toBe('MachineNotReadyError');
    expect((await w.runs.getMachine(RUN_ID, 'payments-db'))?.failedAt).toBeUndefined();
  });

  it.each([
    ['a missing instanceId', { ...task, instanceId: undefined }, 'instanceId'],
    ['a malformed instanceId', { ...task, instanceId: 'vm-42' }, 'instanceId'],
    ['a malformed machineId', { ...task, machineId: '../payments db' }, 'machineId'],
    ['a missing runId', { ...task, runId: undefined }, 'runId'],
    ['an unknown run kind', { ...task, kind: 'chaos' }, 'kind'],
  ])('refuses task input with %s with a ValidationError naming the path', async (_what, input, path) => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(input));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(w.compute.instances.size).toBe(0);
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle('payments-db'));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(error.message).toMatch(/^task input: /);
  });
});

describe('check-machine handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for EC2)', () => {
  const ec2 = mockClient(EC2Client);
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;

  beforeEach(async () => {
    ec2.reset();
    stores = memoryAdapters();
    await stores.runs.createRun(theRun, [launched()]);
    stores.calls.length = 0;
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: INSTANCE_ID, State: { Name: 'running' }, InstanceType: 'r6i.large', ImageId: 'ami-0123456789abcdef0', Tags: [] }] }],
    });
  });

  afterAll(() => {
    ec2.restore();
  });

  const statuses = (instance: string, system: string) => ({
    InstanceStatuses: [{ InstanceId: INSTANCE_ID, InstanceStatus: { Status: instance }, SystemStatus: { Status: system } }],
  }) as never;

  it('exports the middy-wrapped handler, not the bare factory', () => {
    // Act
    const api = middyApi(mod.handler);

    // Assess
    expect(api).toEqual(MIDDY_API);
    expect(middyApi(mod.makeHandler(async () => { throw new Error('unused'); }))).not.toEqual(MIDDY_API);
  });

  it('maps DescribeInstanceStatus "initializing" to MachineNotReadyError and records nothing', async () => {
    // Prepare
    ec2.on(DescribeInstanceStatusCommand).resolves(statuses('initializing', 'initializing'));

    // Act
    const error = await rejectionOf(handler(task, lambdaContext()));

    // Assess
    expect(error.name).toBe('MachineNotReadyError');
    expect(stores.calls).toContain('runs.getMachine');
    expect(ec2).toHaveReceivedCommandWith(DescribeInstanceStatusCommand, { InstanceIds: [INSTANCE_ID], IncludeAllInstances: true });
    expect(stores.calls).not.toContain('runs.updateMachine');
    expect(await stores.runs.getMachine(RUN_ID, 'payments-db')).toEqual(launched());
  });

  it('maps DescribeInstanceStatus "impaired" to MachineCheckFailedError and records the failure on the machine', async () => {
    // Prepare
    ec2.on(DescribeInstanceStatusCommand).resolves(statuses('impaired', 'ok'));

    // Act
    const error = await rejectionOf(handler(task, lambdaContext()));

    // Assess: the failure is recorded on the machine, at the composition's clock
    expect(error.name).toBe('MachineCheckFailedError');
    expect(error.message).toContain('instance impaired, system ok');
    expect(stores.calls).toContain('runs.updateMachine');
    expect(Object.values((await stores.runs.getMachine(RUN_ID, 'payments-db'))!)).toContain(new Date(NOW).toISOString());
  });

  it('reports the machine ready when both status checks are ok', async () => {
    // Prepare
    ec2.on(DescribeInstanceStatusCommand).resolves(statuses('ok', 'ok'));

    // Act
    const out = await handler(task, lambdaContext());

    // Assess
    expect(out).toEqual({ runId: RUN_ID, kind: 'incident', machineId: 'payments-db', instanceId: INSTANCE_ID, ready: true });
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: [INSTANCE_ID] });
  });

  it('treats an instance EC2 does not know yet, two minutes after launch, as not ready rather than failed', async () => {
    // Prepare: DescribeInstances is eventually consistent right after RunInstances
    ec2.on(DescribeInstancesCommand).rejects(new EC2ServiceException({
      name: 'InvalidInstanceID.NotFound', message: `The instance ID '${INSTANCE_ID}' does not exist`, $fault: 'client', $metadata: { httpStatusCode: 400 },
    }));

    // Act
    const error = await rejectionOf(handler(task, lambdaContext()));

    // Assess
    expect(error.name).toBe('MachineNotReadyError');
    expect(stores.calls).not.toContain('runs.updateMachine');
  });
});
