import {
  DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client, EC2ServiceException, RegisterImageCommand, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InsufficientCapacityError } from '../../domain/shared/index.ts';
import { clientTokenFor, TokenBucketPacer, type Run } from '../../domain/failover/index.ts';
import type { RecoveryPoint } from '../../domain/recovery-points/index.ts';
import { makePoint } from '../helpers/fixtures.ts';
import { MemoryAuditLog } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import {
  auditTypesOf, CATALOG_TABLE, fixedClock, issuePaths, itExportsTheWrappedHandler, KMS_KEY, lambdaContext, makeRunMachine, memoryAdapters, NOW,
  rejectionOf, removeTempFiles, ScriptedCompute, STATE_TABLE, stubHandlerEnv, wrapped, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/launch-machine/handler.ts');
let mod: Module;

const RUN_ID = 'inc-0123456789abcdef0123';
const task = { runId: RUN_ID, kind: 'incident', mode: 'test', machineId: 'payments-api' };
const theRun: Run = { runId: RUN_ID, kind: 'incident', incidentId: RUN_ID, mode: 'test', createdAt: '2024-05-01T09:55:00.000Z', decidedAt: '2024-05-01T09:54:00.000Z', waves: [{ wave: 2, machines: ['payments-api'] }] };
const machine = () => makeRunMachine({
  runId: RUN_ID, machineId: 'payments-api', wave: 2, instanceType: 'm6i.large', fallbackInstanceTypes: ['m5.large'],
  snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0aaaaaaaaaaaaaaa1', volumeSize: 20 }, { deviceName: '/dev/sdf', snapshotId: 'snap-0aaaaaaaaaaaaaaa2', volumeSize: 200 }],
});

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, CATALOG_TABLE, KMS_KEY_ID: KMS_KEY });
  mod = await import('../../functions/launch-machine/handler.ts');
});

afterAll(() => removeTempFiles());

describe('launch-machine handler (factory, in-memory fakes)', () => {
  async function world() {
    const runs = new MemoryRunStore();
    await runs.createRun(theRun, [machine()]);
    const compute = new ScriptedCompute();
    const handle = mod.makeHandler(async () => ({ runs, audit: new MemoryAuditLog(), compute, clock: fixedClock(NOW), kmsKeyId: KMS_KEY, bootWaitSeconds: 90 }));
    return { runs, compute, handle };
  }

  it('returns the task with the instance id and the wait the Wait For Boot state reads', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle(task);

    // Assess
    expect(out).toEqual({ ...task, instanceId: 'i-0fedcba98765432aa', waitSeconds: 90 });
    expect((await w.runs.getMachine(RUN_ID, 'payments-api'))?.instanceId).toBe('i-0fedcba98765432aa');
  });

  it('launches the fallback instance type when the preferred one has no capacity', async () => {
    // Prepare
    const w = await world();
    w.compute.runInstanceImpl = async (r) => {
      if (r.instanceType === 'm6i.large') throw new InsufficientCapacityError('no m6i.large');
      return { instanceId: 'i-0fedcba98765432bb' };
    };

    // Act
    const out = await w.handle(task);

    // Assess
    expect(out.instanceId).toBe('i-0fedcba98765432bb');
    expect(w.compute.launches.map((l) => l.instanceType)).toEqual(['m6i.large', 'm5.large']);
  });

  it.each([
    ['a missing machineId', { ...task, machineId: undefined }, 'machineId'],
    ['a malformed machineId', { ...task, machineId: 'payments api;rm' }, 'machineId'],
    ['an unknown mode', { ...task, mode: 'production' }, 'mode'],
    ['a run id with a slash', { ...task, runId: 'inc/1' }, 'runId'],
  ])('refuses task input with %s with a ValidationError naming the path', async (_what, input, path) => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(input));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(w.compute.launches).toEqual([]);
  });

  it('refuses task input with fields the Launch Machine state never sends', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ ...task, instanceType: 'p5.48xlarge' }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(error.message).toContain('instanceType');
    expect(w.compute.launches).toEqual([]);
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(null));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(w.compute.launches).toEqual([]);
  });
});

describe('launch-machine handler (wrapped: its composition over the memory stores and an in-process RunInstances bucket, aws-sdk-client-mock for EC2)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const ec2 = mockClient(EC2Client);

  /** The machine's point in the catalogue (available and clean unless `change` says otherwise). */
  const seedPoint = (m: ReturnType<typeof machine>, change: Partial<RecoveryPoint> = {}) =>
    stores.catalog.putPoint(makePoint({ machineId: m.machineId, pointId: m.pointId, capturedAt: m.capturedAt, status: 'available', scan: 'clean', snapshots: m.snapshots, ...change }));

  /** The run holding `m`; its point seeded unless `point` is null. */
  async function seed(m: ReturnType<typeof machine>, point: Partial<RecoveryPoint> | null = {}) {
    stores = memoryAdapters();
    await stores.runs.createRun(theRun, [m]);
    if (point) await seedPoint(m, point);
    stores.reset();
    // Backoff and pacing wait on the composition's clock: a fixed clock makes every wait instant.
    const clock = fixedClock(NOW);
    handler = wrapped(mod, { clock, adapters: { ...stores.adapters, pacer: new TokenBucketPacer({ clock }) } });
  }

  const ec2Error = (code: string, status: number) =>
    new EC2ServiceException({ name: code, message: `aws says ${code}`, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });

  beforeEach(async () => {
    ec2.reset();
    await seed(machine());
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: machine().snapshots.map((x) => ({ SnapshotId: x.snapshotId, State: 'completed', StartTime: new Date(NOW) })) });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2.on(RegisterImageCommand).resolves({ ImageId: 'ami-0bbbbbbbbbbbbbbb1' });
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0ccccccccccccccc1' }] });
  });

  afterAll(() => {
    ec2.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('sends RunInstances with an idempotency token, IMDSv2, encrypted volumes under the configured key and the run tags', async () => {
    // Act
    const out = await handler(task, lambdaContext());

    // Assess
    expect(out).toEqual({ ...task, instanceId: 'i-0ccccccccccccccc1', waitSeconds: 60 });
    const tags = expect.arrayContaining([
      { Key: 'cleanpoint:incident', Value: RUN_ID },
      { Key: 'cleanpoint:machine', Value: 'payments-api' },
      { Key: 'cleanpoint:mode', Value: 'test' },
    ]);
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RunInstancesCommand, {
      ImageId: 'ami-0bbbbbbbbbbbbbbb1',
      InstanceType: 'm6i.large',
      MinCount: 1,
      MaxCount: 1,
      ClientToken: clientTokenFor(RUN_ID, 'payments-api', 'm6i.large'),
      SubnetId: 'subnet-0a1b2c3e',
      SecurityGroupIds: ['sg-0a1b2c3e'],
      MetadataOptions: expect.objectContaining({ HttpTokens: 'required' }),
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { Encrypted: true, KmsKeyId: KMS_KEY } },
        { DeviceName: '/dev/sdf', Ebs: { Encrypted: true, KmsKeyId: KMS_KEY } },
      ],
      TagSpecifications: expect.arrayContaining([{ ResourceType: 'instance', Tags: tags }, { ResourceType: 'volume', Tags: tags }]),
    });
    expect(stores.log.find((c) => c.call === 'runs.updateMachine')?.args.slice(0, 2)).toEqual([RUN_ID, 'payments-api']);
    expect((await stores.runs.getMachine(RUN_ID, 'payments-api'))?.instanceId).toBe('i-0ccccccccccccccc1');
    expect(await auditTypesOf(stores.audit, RUN_ID)).toEqual(['machine.launched']);
  });

  it('retries RunInstances after RequestLimitExceeded with the same client token', async () => {
    // Prepare
    ec2.on(RunInstancesCommand)
      .rejectsOnce(ec2Error('RequestLimitExceeded', 503))
      .resolves({ Instances: [{ InstanceId: 'i-0ccccccccccccccc2' }] });

    // Act
    const out = await handler(task, lambdaContext());

    // Assess
    expect(out.instanceId).toBe('i-0ccccccccccccccc2');
    const tokens = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.ClientToken);
    expect(tokens).toEqual([clientTokenFor(RUN_ID, 'payments-api', 'm6i.large'), clientTokenFor(RUN_ID, 'payments-api', 'm6i.large')]);
    // EC2 is asked about the point's snapshots once, before the image: a retry re-judges only the catalogue and the incident.
    expect(ec2).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 1);
  });

  it('moves to the fallback instance type, with its own client token, when EC2 answers InsufficientInstanceCapacity', async () => {
    // Prepare
    ec2.on(RunInstancesCommand, { InstanceType: 'm6i.large' }).rejects(ec2Error('InsufficientInstanceCapacity', 500));
    ec2.on(RunInstancesCommand, { InstanceType: 'm5.large' }).resolves({ Instances: [{ InstanceId: 'i-0ccccccccccccccc3' }] });

    // Act
    const out = await handler(task, lambdaContext());

    // Assess
    expect(out.instanceId).toBe('i-0ccccccccccccccc3');
    const calls = ec2.commandCalls(RunInstancesCommand).map((c) => [c.args[0].input.InstanceType, c.args[0].input.ClientToken]);
    expect(calls).toEqual([
      ['m6i.large', clientTokenFor(RUN_ID, 'payments-api', 'm6i.large')],
      ['m5.large', clientTokenFor(RUN_ID, 'payments-api', 'm5.large')],
    ]);
  });

  it.each([
    ['turned infected', { scan: 'infected' }, /is now infected/],
    ['was quarantined', { status: 'quarantined' }, /is now quarantined/],
  ])('stops before launch when the approved point %s since the decision: no image, no instance, recorded and audited', async (_what, change, why) => {
    // Prepare: the point changed in the catalogue after the run was planned
    await seed(machine(), change as Partial<RecoveryPoint>);

    // Act
    const error = await rejectionOf(handler(task, lambdaContext()));

    // Assess
    expect(error.name).toBe('PointNoLongerEligible');
    expect(error.message).toMatch(why);
    expect(ec2).not.toHaveReceivedCommand(RegisterImageCommand);
    expect(ec2).not.toHaveReceivedCommand(RunInstancesCommand);
    const stored = await stores.runs.getMachine(RUN_ID, 'payments-api');
    expect(stored?.error).toMatch(/^stopped before launch: /);
    expect(await auditTypesOf(stores.audit, RUN_ID)).toContain('machine.launch-stopped');
  });

  it('stops before launch when EC2 no longer has one of the point\'s snapshots, and marks the point expired in the catalogue', async () => {
    // Prepare: the catalogue still lists the point; EC2 knows only its root snapshot
    await seed(machine());
    const [root, data] = machine().snapshots;
    ec2.on(DescribeSnapshotsCommand).callsFake((input: { SnapshotIds?: string[] }) => {
      if (input.SnapshotIds?.includes(data!.snapshotId)) throw ec2Error('InvalidSnapshot.NotFound', 400);
      return { Snapshots: [{ SnapshotId: root!.snapshotId, State: 'completed', StartTime: new Date(NOW) }] };
    });

    // Act
    const error = await rejectionOf(handler(task, lambdaContext()));

    // Assess
    expect(error.name).toBe('PointNoLongerEligible');
    expect(error.message).toContain(`${data!.snapshotId} deleted`);
    expect(ec2).not.toHaveReceivedCommand(RunInstancesCommand);
    const m = machine();
    expect((await stores.catalog.getPoint(m.machineId, m.pointId))?.status).toBe('expired');
  });

  it('stops before launch when the approved point is no longer in the catalogue (deleted)', async () => {
    // Prepare: the run exists, the point does not
    await seed(machine(), null);

    // Act
    const error = await rejectionOf(handler(task, lambdaContext()));

    // Assess
    expect(error.name).toBe('PointNoLongerEligible');
    expect(error.message).toMatch(/no longer in the catalogue \(deleted\)/);
    expect(ec2).not.toHaveReceivedCommand(RunInstancesCommand);
  });

  it('fails with LaunchFailedError and records why when no instance type has capacity', async () => {
    // Prepare
    ec2.on(RunInstancesCommand).rejects(ec2Error('InsufficientInstanceCapacity', 500));

    // Act
    const error = await rejectionOf(handler(task, lambdaContext()));

    // Assess
    expect(error.name).toBe('LaunchFailedError');
    expect(error.message).toContain('m6i.large: no capacity; m5.large: no capacity');
    expect(await auditTypesOf(stores.audit, RUN_ID)).toEqual(['machine.launch-failed']);
  });

  it('answers a retried task for a machine that already has an instance with that instance, launching nothing', async () => {
    // Prepare: an earlier attempt launched and recorded the instance, then timed out before answering
    await seed({ ...machine(), instanceId: 'i-0ccccccccccccccc9', instanceTypeUsed: 'm6i.large' });

    // Act
    const out = await handler(task, lambdaContext());

    // Assess
    expect(out).toEqual({ ...task, instanceId: 'i-0ccccccccccccccc9', waitSeconds: 60 });
    expect(ec2).not.toHaveReceivedAnyCommand();
  });
});
