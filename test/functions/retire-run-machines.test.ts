import {
  DeregisterImageCommand, DescribeInstancesCommand, DescribeInstanceStatusCommand, EC2Client, TerminateInstancesCommand,
  type DescribeInstancesCommandInput, type Instance,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Run, RunMachine } from '../../domain/failover/index.ts';
import { MemoryAuditLog, MemoryRunStore } from '../../functions/shared/adapters/memory/index.ts';
import {
  auditTypesOf, fixedClock, instanceView, issuePaths, itExportsTheWrappedHandler, KMS_KEY, lambdaContext, makeRunMachine, NOW,
  rejectionOf, ScriptedCompute, STATE_TABLE, stubHandlerEnv, memoryAdapters, wrapped, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/retire-run-machines/handler.ts');
let mod: Module;

const INCIDENT_ID = 'inc-0123456789abcdef0123';
const FAILBACK_ID = `failback-${INCIDENT_ID}`;
const NOW_ISO = new Date(NOW).toISOString();

/** The incident run: two recovery machines serving since the failover. */
const incidentRun: Run = {
  runId: INCIDENT_ID, kind: 'incident', incidentId: INCIDENT_ID, mode: 'recovery', createdAt: '2024-05-01T09:55:00.000Z', decidedAt: '2024-05-01T09:54:00.000Z',
  waves: [{ wave: 1, machines: ['payments-db'] }, { wave: 2, machines: ['payments-api'] }],
};
const recovery: RunMachine[] = [
  makeRunMachine({ runId: INCIDENT_ID, mode: 'recovery', machineId: 'payments-api', wave: 2, instanceId: 'i-0aaaaaaaaaaaaaaa2', imageId: 'ami-0aaaaaaaaaaaaaaa2', readyAt: '2024-05-01T10:08:00.000Z' }),
  makeRunMachine({ runId: INCIDENT_ID, mode: 'recovery', instanceId: 'i-0aaaaaaaaaaaaaaa1', imageId: 'ami-0aaaaaaaaaaaaaaa1', readyAt: '2024-05-01T10:06:00.000Z' }),
];
/** The failback run: payments-db's primary launched, payments-api's never did. */
const failbackRun: Run = { ...incidentRun, runId: FAILBACK_ID, kind: 'failback', createdAt: NOW_ISO, decidedAt: NOW_ISO };
const primaries: RunMachine[] = [
  makeRunMachine({ runId: FAILBACK_ID, mode: 'recovery', machineId: 'payments-api', wave: 2, pointId: 'failback-of-i-0aaaaaaaaaaaaaaa2' }),
  makeRunMachine({ runId: FAILBACK_ID, mode: 'recovery', pointId: 'failback-of-i-0aaaaaaaaaaaaaaa1', instanceId: 'i-0bbbbbbbbbbbbbbb1', imageId: 'ami-0bbbbbbbbbbbbbbb1' }),
];

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, KMS_KEY_ID: KMS_KEY });
  mod = await import('../../functions/retire-run-machines/handler.ts');
});

describe('retire-run-machines handler (factory, in-memory fakes)', () => {
  /** EC2 whose terminate moves instances to shutting-down, except those a test makes stick. */
  class TerminatingCompute extends ScriptedCompute {
    readonly stuck = new Set<string>();
    override async terminateInstances(ids: string[]) {
      await super.terminateInstances(ids);
      for (const id of ids) if (!this.stuck.has(id)) this.instances.set(id, instanceView({ instanceId: id, state: 'shutting-down' }));
    }
  }

  async function world() {
    const runs = new MemoryRunStore();
    await runs.createRun(incidentRun, recovery);
    await runs.createRun(failbackRun, primaries);
    const compute = new TerminatingCompute();
    for (const id of ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2', 'i-0bbbbbbbbbbbbbbb1']) compute.instances.set(id, instanceView({ instanceId: id }));
    const audit = new MemoryAuditLog();
    const handle = mod.makeHandler(async () => ({ runs, compute, audit, clock: fixedClock(NOW) }));
    return { compute, audit, handle };
  }

  it('retires the incident\'s recovery machines and their images, leaving the verified primary running', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle({ runId: INCIDENT_ID });

    // Assess
    expect(out).toEqual({ terminated: ['i-0aaaaaaaaaaaaaaa2', 'i-0aaaaaaaaaaaaaaa1'], deregistered: ['ami-0aaaaaaaaaaaaaaa2', 'ami-0aaaaaaaaaaaaaaa1'] });
    expect(w.compute.terminated).toEqual([['i-0aaaaaaaaaaaaaaa2', 'i-0aaaaaaaaaaaaaaa1']]);
    expect(w.compute.deregistered).toEqual(['ami-0aaaaaaaaaaaaaaa2', 'ami-0aaaaaaaaaaaaaaa1']);
    expect(w.compute.instances.get('i-0bbbbbbbbbbbbbbb1')?.state).toBe('running');
    expect((await w.audit.list(INCIDENT_ID)).map((e) => [e.type, e.at])).toEqual([['failback.recovery-retired', NOW_ISO]]);
  });

  it('removes only what a failed failback launched, so the recovery machines keep serving', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle({ runId: FAILBACK_ID });

    // Assess
    expect(out).toEqual({ terminated: ['i-0bbbbbbbbbbbbbbb1'], deregistered: ['ami-0bbbbbbbbbbbbbbb1'] });
    expect(w.compute.instances.get('i-0aaaaaaaaaaaaaaa1')?.state).toBe('running');
    expect(w.compute.instances.get('i-0aaaaaaaaaaaaaaa2')?.state).toBe('running');
    expect((await w.audit.list(INCIDENT_ID)).map((e) => e.type)).toEqual(['failback.primaries-removed']);
  });

  it('throws CleanupIncompleteError (retried by the state) naming an instance still running', async () => {
    // Prepare
    const w = await world();
    w.compute.stuck.add('i-0aaaaaaaaaaaaaaa1');

    // Act
    const error = await rejectionOf(w.handle({ runId: INCIDENT_ID }));

    // Assess
    expect(error.name).toBe('CleanupIncompleteError');
    expect(error.message).toBe(`machines of ${INCIDENT_ID} still running: i-0aaaaaaaaaaaaaaa1`);
    expect((await w.audit.list(INCIDENT_ID))[0]?.data).toMatchObject({ left: ['i-0aaaaaaaaaaaaaaa1'] });
  });

  it('refuses a run it does not know with NotFoundError and terminates nothing', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ runId: 'inc-ffffffffffffffffffff' }));

    // Assess
    expect(error.name).toBe('NotFoundError');
    expect(w.compute.terminated).toEqual([]);
  });

  it.each([
    ['a missing runId', {}],
    ['an empty runId', { runId: '' }],
    ['a runId with a wildcard in it', { runId: 'inc-*' }],
    ['a runId longer than an execution name', { runId: 'i'.repeat(81) }],
    ['a runId that is not text', { runId: ['inc-0123456789abcdef0123'] }],
  ])('refuses task input with %s with a ValidationError naming runId, and terminates nothing', async (_what, input) => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(input));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['runId']);
    expect(w.compute.terminated).toEqual([]);
    expect(w.compute.deregistered).toEqual([]);
    expect(await w.audit.list(INCIDENT_ID)).toEqual([]);
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(null));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(w.compute.terminated).toEqual([]);
  });

  // GAP (reported): the schema is z.looseObject, so a key the Retire Recovery Machines / Remove
  // Failback Primaries states never send is accepted and ignored — here one that looks like it
  // narrows the retirement and does not. `it.fails` until the schema is strict — then flip it to `it`.
  it('refuses task input with an extra key with a ValidationError, and terminates nothing', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ runId: INCIDENT_ID, machineId: 'payments-db' }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(w.compute.terminated).toEqual([]);
  });
});

describe('retire-run-machines handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for EC2)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const ec2 = mockClient(EC2Client);
  let fleet: Instance[];

  beforeEach(async () => {
    ec2.reset();
    stores = memoryAdapters();
    for (const [run, machines] of [[incidentRun, recovery], [failbackRun, primaries]] as const) await stores.runs.createRun(run, [...machines]);
    stores.calls.length = 0;
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
    fleet = ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2', 'i-0bbbbbbbbbbbbbbb1'].map((InstanceId) => ({ InstanceId, State: { Name: 'running' }, InstanceType: 'r6i.large' }));
    ec2.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => ({
      Reservations: [{ Instances: structuredClone(fleet.filter((i) => (input.InstanceIds ?? []).includes(i.InstanceId!))) }],
    }));
    ec2.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [] });
    ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds: string[] }) => {
      for (const i of fleet) if (input.InstanceIds.includes(i.InstanceId!)) i.State = { Name: 'shutting-down' };
      return {};
    });
    ec2.on(DeregisterImageCommand).resolves({});
  });

  afterAll(() => {
    ec2.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('terminates exactly the incident run\'s instances, deregisters their images, checks them and audits on the incident', async () => {
    // Act
    const out = await handler({ runId: INCIDENT_ID }, lambdaContext());

    // Assess
    expect(out).toEqual({ terminated: ['i-0aaaaaaaaaaaaaaa2', 'i-0aaaaaaaaaaaaaaa1'], deregistered: ['ami-0aaaaaaaaaaaaaaa2', 'ami-0aaaaaaaaaaaaaaa1'] });
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(TerminateInstancesCommand, { InstanceIds: ['i-0aaaaaaaaaaaaaaa2', 'i-0aaaaaaaaaaaaaaa1'] });
    expect(ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId)).toEqual(['ami-0aaaaaaaaaaaaaaa2', 'ami-0aaaaaaaaaaaaaaa1']);
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: ['i-0aaaaaaaaaaaaaaa2', 'i-0aaaaaaaaaaaaaaa1'] });
    expect(fleet.find((i) => i.InstanceId === 'i-0bbbbbbbbbbbbbbb1')?.State?.Name).toBe('running');
    expect(await auditTypesOf(stores.audit, INCIDENT_ID)).toEqual(['failback.recovery-retired']);
    expect((await stores.audit.list(INCIDENT_ID))[0]?.incidentId).toBe(INCIDENT_ID);
  });

  it('on a failed failback terminates only the primary it launched', async () => {
    // Act
    const out = await handler({ runId: FAILBACK_ID }, lambdaContext());

    // Assess
    expect(out).toEqual({ terminated: ['i-0bbbbbbbbbbbbbbb1'], deregistered: ['ami-0bbbbbbbbbbbbbbb1'] });
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(TerminateInstancesCommand, { InstanceIds: ['i-0bbbbbbbbbbbbbbb1'] });
    expect(await auditTypesOf(stores.audit, INCIDENT_ID)).toEqual(['failback.primaries-removed']);
  });

  it('throws CleanupIncompleteError when EC2 still reports an instance running after the termination', async () => {
    // Prepare: the terminate call is accepted but changes nothing
    ec2.on(TerminateInstancesCommand).resolves({});

    // Act
    const error = await rejectionOf(handler({ runId: INCIDENT_ID }, lambdaContext()));

    // Assess
    expect(error.name).toBe('CleanupIncompleteError');
    expect(error.message).toContain('i-0aaaaaaaaaaaaaaa2, i-0aaaaaaaaaaaaaaa1');
    expect(await auditTypesOf(stores.audit, INCIDENT_ID)).toEqual(['failback.recovery-retired']);
  });

  it('refuses a malformed runId with a ValidationError before any call to AWS', async () => {
    // Act
    const error = await rejectionOf(handler({ runId: 'inc-0123 OR 1=1' }, lambdaContext()));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['runId']);
    expect(ec2.calls()).toHaveLength(0);
    expect(stores.calls).toEqual([]);
  });
});
