import {
  DeregisterImageCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeInstanceStatusCommand, EC2Client,
  TerminateInstancesCommand, type DescribeInstancesCommandInput, type Filter, type Instance,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../functions/shared/adapters/memory/index.ts';
import {
  auditTypesOf, fixedClock, instanceView, issuePaths, itExportsTheWrappedHandler, KMS_KEY, lambdaContext, memoryAdapters, NOW, rejectionOf,
  removeTempFiles, ScriptedCompute, STATE_TABLE, stubHandlerEnv, wrapped, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/cleanup-test-machines/handler.ts');
let mod: Module;

const RUN_ID = 'inc-0123456789abcdef0123';
const task = { runId: RUN_ID, kind: 'incident' };

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, KMS_KEY_ID: KMS_KEY });
  mod = await import('../../functions/cleanup-test-machines/handler.ts');
});

afterAll(() => removeTempFiles());

describe('cleanup-test-machines handler (factory, in-memory fakes)', () => {
  function world() {
    const compute = new ScriptedCompute();
    const audit = new MemoryAuditLog();
    const handle = mod.makeHandler(async () => ({ compute, audit, clock: fixedClock(NOW) }));
    return { compute, audit, handle };
  }

  const testTags = { 'cleanpoint:incident': RUN_ID, 'cleanpoint:mode': 'test' };

  it('returns what it terminated and deregistered, and that nothing remains', async () => {
    // Prepare
    const w = world();
    w.compute.tagged = [
      { instances: [instanceView({ instanceId: 'i-0aaaaaaaaaaaaaaa1', tags: testTags }), instanceView({ instanceId: 'i-0aaaaaaaaaaaaaaa2', state: 'shutting-down', tags: testTags })], imageIds: ['ami-0aaaaaaaaaaaaaaa1'] },
      { instances: [], imageIds: [] },
    ];

    // Act
    const out = await w.handle(task);

    // Assess
    expect(out).toEqual({ terminated: ['i-0aaaaaaaaaaaaaaa1'], deregistered: ['ami-0aaaaaaaaaaaaaaa1'], remaining: [] });
    expect((await w.audit.list(RUN_ID)).map((e) => e.type)).toEqual(['cleanup.done']);
  });

  it('never terminates an instance the lookup returned without the run\'s test-mode tags (second guard)', async () => {
    // Prepare: a lookup that (wrongly) returns a recovery-mode instance of the same run
    const w = world();
    w.compute.tagged = [
      { instances: [instanceView({ instanceId: 'i-0aaaaaaaaaaaaaaa3', tags: { 'cleanpoint:incident': RUN_ID, 'cleanpoint:mode': 'recovery' } })], imageIds: [] },
      { instances: [], imageIds: [] },
    ];

    // Act
    const out = await w.handle(task);

    // Assess
    expect(out.terminated).toEqual([]);
  });

  it('throws CleanupIncompleteError, which the workflow retries, naming what is left', async () => {
    // Prepare
    const w = world();
    const stuck = instanceView({ instanceId: 'i-0aaaaaaaaaaaaaaa1' });
    w.compute.tagged = [{ instances: [stuck], imageIds: [] }, { instances: [stuck], imageIds: [] }];

    // Act
    const error = await rejectionOf(w.handle(task));

    // Assess
    expect(error.name).toBe('CleanupIncompleteError');
    expect(error.message).toContain('i-0aaaaaaaaaaaaaaa1');
  });

  it.each([
    ['a missing runId', { kind: 'incident' }, 'runId'],
    ['an empty runId', { ...task, runId: '' }, 'runId'],
    ['an unknown run kind', { ...task, kind: 'chaos' }, 'kind'],
  ])('refuses task input with %s with a ValidationError naming the path', async (_what, input, path) => {
    // Prepare
    const w = world();

    // Act
    const error = await rejectionOf(w.handle(input));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(w.compute.terminated).toEqual([]);
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = world();

    // Act
    const error = await rejectionOf(w.handle([RUN_ID]));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(w.compute.terminated).toEqual([]);
  });
});

describe('cleanup-test-machines handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for EC2)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const ec2 = mockClient(EC2Client);

  /** The account as EC2 sees it: one test and one recovery instance of the run, one test instance of another run. */
  let fleet: Instance[];
  const tagged = (id: string, run: string, mode: string): Instance => ({
    InstanceId: id, State: { Name: 'running' }, InstanceType: 't3.medium', ImageId: 'ami-0aaaaaaaaaaaaaaa1',
    Tags: [{ Key: 'cleanpoint:incident', Value: run }, { Key: 'cleanpoint:mode', Value: mode }, { Key: 'cleanpoint:machine', Value: 'payments-db' }],
  });

  /** EC2's own filter semantics: every filter must match (tag:<key> and instance-state-name). */
  function matches(instance: Instance, filters: Filter[]): boolean {
    return filters.every((f) => {
      if (f.Name === 'instance-state-name') return (f.Values ?? []).includes(instance.State?.Name ?? '');
      if (f.Name?.startsWith('tag:')) return (instance.Tags ?? []).some((t) => t.Key === f.Name!.slice(4) && (f.Values ?? []).includes(t.Value ?? ''));
      throw new Error(`filter ${f.Name} is not emulated`);
    });
  }

  beforeEach(() => {
    ec2.reset();
    stores = memoryAdapters();
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
    fleet = [tagged('i-0aaaaaaaaaaaaaaa1', RUN_ID, 'test'), tagged('i-0bbbbbbbbbbbbbbb1', RUN_ID, 'recovery'), tagged('i-0ccccccccccccccc1', 'inc-ffffffffffffffffffff', 'test')];
    ec2.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => ({
      Reservations: [{ Instances: structuredClone(fleet.filter((i) => matches(i, input.Filters ?? []))) }],
    }));
    ec2.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [] });
    ec2.on(DescribeImagesCommand).resolvesOnce({ Images: [{ ImageId: 'ami-0aaaaaaaaaaaaaaa1' }] }).resolves({ Images: [] });
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

  it('looks for the run only among instances and images tagged cleanpoint:mode = test', async () => {
    // Act
    await handler(task, lambdaContext());

    // Assess
    const modeFilter = { Name: 'tag:cleanpoint:mode', Values: ['test'] };
    const runFilter = { Name: 'tag:cleanpoint:incident', Values: [RUN_ID] };
    const lookups = ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.Filters);
    expect(lookups).toHaveLength(2); // before terminating, and the check that nothing is left
    for (const filters of lookups) expect(filters).toEqual(expect.arrayContaining([modeFilter, runFilter]));
    expect(ec2).toHaveReceivedCommandWith(DescribeImagesCommand, { Owners: ['self'], Filters: expect.arrayContaining([modeFilter, runFilter]) });
  });

  it('terminates the run\'s test instance and deregisters its image, and never the recovery instance of the same run', async () => {
    // Act
    const out = await handler(task, lambdaContext());

    // Assess
    expect(out).toEqual({ terminated: ['i-0aaaaaaaaaaaaaaa1'], deregistered: ['ami-0aaaaaaaaaaaaaaa1'], remaining: [] });
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(TerminateInstancesCommand, { InstanceIds: ['i-0aaaaaaaaaaaaaaa1'] });
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(DeregisterImageCommand, { ImageId: 'ami-0aaaaaaaaaaaaaaa1' });
    const terminatedIds = ec2.commandCalls(TerminateInstancesCommand).flatMap((c) => c.args[0].input.InstanceIds ?? []);
    expect(terminatedIds).not.toContain('i-0bbbbbbbbbbbbbbb1');
    expect(terminatedIds).not.toContain('i-0ccccccccccccccc1');
    expect(await auditTypesOf(stores.audit, RUN_ID)).toEqual(['cleanup.done']);
  });
});
