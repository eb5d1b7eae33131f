import {
  DeregisterImageCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeInstanceStatusCommand, EC2Client,
  EC2ServiceException, RegisterImageCommand, RunInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InsufficientCapacityError, ThrottledError, TransientError, ValidationError } from '../../domain/shared/index.ts';
import type { LaunchRequest } from '../../domain/ports/index.ts';
import { Ec2ComputeProvider, mapEc2Error } from '../../functions/shared/adapters/ec2-compute.ts';
import { attachEc2Simulator, Ec2Simulator, type Ec2SimulatorOptions } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

const START = Date.UTC(2025, 0, 1);
const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const RUN_TAGS = { 'cleanpoint:incident': 'run-1', 'cleanpoint:machine': 'web-1', 'cleanpoint:mode': 'test' };

function newClient(): EC2Client {
  return new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

/** A simulated account with a network, a two-volume recovery point and the real adapter on a real client. */
function account(options: Partial<Ec2SimulatorOptions> = {}) {
  const clock = new VirtualClock({ startMs: START, autoAdvance: false });
  const sim = new Ec2Simulator({ clock, ...options });
  const client = newClient();
  attachEc2Simulator(client, sim);
  const vpcId = sim.seedVpc();
  const subnetId = sim.seedSubnet({ vpcId, cidrBlock: '10.0.0.0/20', isolated: true });
  const groupId = sim.seedSecurityGroup({ vpcId, groupName: 'recovery-test' });
  const rootSnapshot = sim.seedSnapshot({ volumeSize: 8 });
  const dataSnapshot = sim.seedSnapshot({ volumeSize: 20 });
  const snapshots = [{ deviceName: '/dev/xvda', snapshotId: rootSnapshot }, { deviceName: '/dev/sdf', snapshotId: dataSnapshot }];
  const compute = new Ec2ComputeProvider(client, { kmsKeyId: KMS_KEY });
  const request = (imageId: string, overrides: Partial<LaunchRequest> = {}): LaunchRequest => ({
    imageId, instanceType: 't3.medium', subnetId, securityGroupIds: [groupId], clientToken: 'token-web-1', tags: RUN_TAGS, ...overrides,
  });
  const image = () => compute.registerImage({ name: 'cleanpoint-run-1-web-1-p1', snapshots, tags: RUN_TAGS });
  return { clock, sim, client, compute, subnetId, groupId, snapshots, request, image };
}

async function thrown(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('Ec2ComputeProvider on the EC2 simulator', () => {
  describe('registerImage', () => {
    it('registers an image from the point snapshots once, however often it is asked', async () => {
      // Prepare
      const a = account();
      const otherContainer = new Ec2ComputeProvider(a.client);

      // Act
      const first = await a.image();
      const again = await a.image();
      const fromAnotherContainer = await otherContainer.registerImage({ name: 'cleanpoint-run-1-web-1-p1', snapshots: a.snapshots, tags: RUN_TAGS });

      // Assess
      expect(again.imageId).toBe(first.imageId);
      expect(fromAnotherContainer.imageId).toBe(first.imageId);
      expect(a.sim.stats().requests.RegisterImage).toBe(1);
      const { Images } = await a.client.send(new DescribeImagesCommand({ ImageIds: [first.imageId] }));
      const image = Images![0]!;
      expect(image).toMatchObject({ RootDeviceName: '/dev/xvda', VirtualizationType: 'hvm', EnaSupport: true, Architecture: 'x86_64' });
      expect(image.BlockDeviceMappings).toEqual([
        { DeviceName: '/dev/xvda', Ebs: expect.objectContaining({ SnapshotId: a.snapshots[0]!.snapshotId, VolumeType: 'gp3', DeleteOnTermination: true }) },
        { DeviceName: '/dev/sdf', Ebs: expect.objectContaining({ SnapshotId: a.snapshots[1]!.snapshotId, VolumeType: 'gp3', DeleteOnTermination: true }) },
      ]);
      expect(image.Tags).toEqual(expect.arrayContaining([{ Key: 'cleanpoint:incident', Value: 'run-1' }, { Key: 'cleanpoint:mode', Value: 'test' }]));
    });

    it('refuses to reuse an image of the same name built from other snapshots', async () => {
      // Prepare
      const a = account();
      const { imageId } = await a.image();
      const otherPoint = [{ deviceName: '/dev/xvda', snapshotId: a.sim.seedSnapshot({ volumeSize: 8 }) }];

      // Act
      const error = await thrown(a.compute.registerImage({ name: 'cleanpoint-run-1-web-1-p1', snapshots: otherPoint, tags: RUN_TAGS }));

      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect(error.message).toContain(imageId);
      expect(a.sim.stats().requests.RegisterImage).toBe(1);
    });

    it('refuses a recovery point without snapshots', async () => {
      // Prepare
      const a = account();

      // Act
      const error = await thrown(a.compute.registerImage({ name: 'empty-point', snapshots: [], tags: {} }));

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(a.sim.stats().totals.requests).toBe(0);
    });
  });

  describe('runInstance', () => {
    it('returns the same instance when RunInstances is retried with the same client token', async () => {
      // Prepare
      const a = account();
      const { imageId } = await a.image();

      // Act
      const first = await a.compute.runInstance(a.request(imageId));
      const retried = await a.compute.runInstance(a.request(imageId));

      // Assess
      expect(retried.instanceId).toBe(first.instanceId);
      expect(a.sim.resources().filter((r) => r.type === 'instance').map((r) => r.id)).toEqual([first.instanceId]);
    });

    it('launches with every volume encrypted under the configured KMS key, IMDSv2 required and the tags on instance and volumes', async () => {
      // Prepare
      const a = account();
      const { imageId } = await a.image();

      // Act
      const { instanceId } = await a.compute.runInstance(a.request(imageId));

      // Assess
      const { Reservations } = await a.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      const instance = Reservations![0]!.Instances![0]!;
      expect(instance.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpEndpoint: 'enabled' });
      expect(instance).toMatchObject({ InstanceType: 't3.medium', SubnetId: a.subnetId, SecurityGroups: [expect.objectContaining({ GroupId: a.groupId })] });
      expect(Object.fromEntries(instance.Tags!.map((t) => [t.Key, t.Value]))).toEqual(RUN_TAGS);
      const volumes = Object.values(a.sim.snapshotState().volumes).filter((v) => v.attachment?.instanceId === instanceId);
      expect(volumes.map((v) => [v.attachment!.deviceName, v.snapshotId, v.encrypted, v.kmsKeyId])).toEqual([
        ['/dev/xvda', a.snapshots[0]!.snapshotId, true, KMS_KEY],
        ['/dev/sdf', a.snapshots[1]!.snapshotId, true, KMS_KEY],
      ]);
      expect(volumes.every((v) => v.tags['cleanpoint:incident'] === 'run-1' && v.tags['cleanpoint:mode'] === 'test')).toBe(true);
    });

    it('prefers the KMS key of the request and describes an image it did not register itself', async () => {
      // Prepare
      const a = account();
      const { imageId } = await a.image();
      const freshContainer = new Ec2ComputeProvider(a.client, { kmsKeyId: KMS_KEY });

      // Act
      const { instanceId } = await freshContainer.runInstance(a.request(imageId, { kmsKeyId: 'alias/drill' }));

      // Assess
      const volumes = Object.values(a.sim.snapshotState().volumes).filter((v) => v.attachment?.instanceId === instanceId);
      expect(volumes).toHaveLength(2);
      expect(volumes.every((v) => v.encrypted && v.kmsKeyId === 'alias/drill')).toBe(true);
    });

    it('reports a capacity shortage as InsufficientCapacityError with the AWS code', async () => {
      // Prepare
      const a = account({ faults: { capacityErrors: { instanceTypes: ['t3.medium'] } } });
      const { imageId } = await a.image();

      // Act
      const error = await thrown(a.compute.runInstance(a.request(imageId)));

      // Assess
      expect(error).toBeInstanceOf(InsufficientCapacityError);
      expect(error.message).toContain('InsufficientInstanceCapacity');
    });

    it('reports an emptied RunInstances bucket as ThrottledError', async () => {
      // Prepare: the burst of five spends the bucket
      const a = account();
      const { imageId } = await a.image();
      for (let i = 0; i < 5; i++) await a.compute.runInstance(a.request(imageId, { clientToken: `burst-${i}` }));

      // Act
      const error = await thrown(a.compute.runInstance(a.request(imageId, { clientToken: 'one-too-many' })));
      a.clock.advance(500);
      const afterRefill = await a.compute.runInstance(a.request(imageId, { clientToken: 'one-too-many' }));

      // Assess
      expect(error).toBeInstanceOf(ThrottledError);
      expect(error.message).toContain('RequestLimitExceeded');
      expect(afterRefill.instanceId).toMatch(/^i-/);
    });

    it('reports an internal error as TransientError', async () => {
      // Prepare
      const a = account({ faults: { failNextCalls: { RunInstances: 1 } } });
      const { imageId } = await a.image();

      // Act
      const error = await thrown(a.compute.runInstance(a.request(imageId)));

      // Assess
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toContain('InternalError');
    });
  });

  describe('describeInstances', () => {
    it('follows the lifecycle: pending, then running with checks initialising, then both checks ok', async () => {
      // Prepare
      const a = account();
      const { imageId } = await a.image();
      const { instanceId } = await a.compute.runInstance(a.request(imageId));

      // Act
      const [launched] = await a.compute.describeInstances([instanceId]);
      a.clock.advance(30_000);
      const [booted] = await a.compute.describeInstances([instanceId]);
      a.clock.advance(60_000);
      const [checked] = await a.compute.describeInstances([instanceId]);

      // Assess
      expect(launched).toMatchObject({ instanceId, state: 'pending', statusOk: null, instanceType: 't3.medium', imageId, subnetId: a.subnetId, tags: RUN_TAGS });
      expect(launched!.launchTime).toBe(new Date(START).toISOString());
      expect(launched!.privateIpAddress).toMatch(/^10\.0\./);
      expect(booted).toMatchObject({ state: 'running', statusOk: null, statusDetail: 'instance initializing, system initializing' });
      expect(checked).toMatchObject({ state: 'running', statusOk: true });
      expect(checked!.statusDetail).toBeUndefined();
    });

    it('says statusOk false when a status check is impaired', async () => {
      // Prepare
      const a = account();
      const { imageId } = await a.image();
      const { instanceId } = await a.compute.runInstance(a.request(imageId));
      a.sim.setFaults({ statusCheckFailures: { instanceIds: [instanceId] } });
      a.clock.advance(90_000);

      // Act
      const [view] = await a.compute.describeInstances([instanceId]);

      // Assess
      expect(view).toMatchObject({ state: 'running', statusOk: false, statusDetail: 'instance impaired, system ok' });
    });

    it('leaves out ids EC2 does not know and still describes the others', async () => {
      // Prepare
      const a = account();
      const { imageId } = await a.image();
      const { instanceId } = await a.compute.runInstance(a.request(imageId));

      // Act
      const views = await a.compute.describeInstances(['i-0123456789abcdef0', instanceId]);
      const none = await a.compute.describeInstances(['i-0123456789abcdef0']);

      // Assess
      expect(views.map((v) => v.instanceId)).toEqual([instanceId]);
      expect(none).toEqual([]);
    });
  });

  describe('findTagged, terminateInstances and deregisterImage', () => {
    it('finds what a run created, and nothing once it is terminated and deregistered; snapshots stay', async () => {
      // Prepare
      const a = account();
      const { imageId } = await a.image();
      const one = await a.compute.runInstance(a.request(imageId, { clientToken: 'a' }));
      const two = await a.compute.runInstance(a.request(imageId, { clientToken: 'b' }));
      const otherRun = await a.compute.runInstance(a.request(imageId, { clientToken: 'c', tags: { ...RUN_TAGS, 'cleanpoint:incident': 'run-2' } }));
      const query = { 'cleanpoint:incident': 'run-1', 'cleanpoint:mode': 'test' };

      // Act
      const before = await a.compute.findTagged(query);
      await a.compute.terminateInstances(before.instances.map((i) => i.instanceId));
      for (const id of before.imageIds) await a.compute.deregisterImage(id);
      a.clock.advance(10_000);
      const after = await a.compute.findTagged(query);

      // Assess
      expect(before.instances.map((i) => i.instanceId).sort()).toEqual([one.instanceId, two.instanceId].sort());
      expect(before.instances.every((i) => i.state === 'pending' && i.statusOk === null)).toBe(true);
      expect(before.imageIds).toEqual([imageId]);
      expect(after).toEqual({ instances: [], imageIds: [] });
      expect(a.sim.resources().filter((r) => r.type === 'instance').map((r) => r.id)).toEqual([otherRun.instanceId]);
      expect(a.sim.resources().filter((r) => r.type === 'snapshot').map((r) => r.id).sort()).toEqual(a.snapshots.map((s) => s.snapshotId).sort());
    });

    it('matches tag values literally, not as EC2 wildcards', async () => {
      // Prepare
      const a = account();
      const { imageId } = await a.image();
      await a.compute.runInstance(a.request(imageId));

      // Act
      const wildcard = await a.compute.findTagged({ 'cleanpoint:incident': 'run-*' });

      // Assess
      expect(wildcard).toEqual({ instances: [], imageIds: [] });
    });

    it('refuses to search without a tag, which would match the whole account', async () => {
      // Prepare
      const a = account();

      // Act
      const error = await thrown(a.compute.findTagged({}));

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
    });

    it('pages through more instances than one DescribeInstances answer holds', async () => {
      // Prepare
      const a = account();
      for (let i = 0; i < 1_005; i++) a.sim.seedInstance({ subnetId: a.subnetId, tags: { 'cleanpoint:incident': 'big-run' } });

      // Act
      const found = await a.compute.findTagged({ 'cleanpoint:incident': 'big-run' });

      // Assess
      expect(found.instances).toHaveLength(1_005);
      expect(new Set(found.instances.map((i) => i.instanceId)).size).toBe(1_005);
      expect(found.instances.every((i) => i.state === 'running' && i.statusOk === true)).toBe(true);
      expect(a.sim.stats().requests.DescribeInstances).toBe(2);
    });

    it('terminates the known instances of a list that also holds an unknown one, and forgives unknown images', async () => {
      // Prepare
      const a = account();
      const { imageId } = await a.image();
      const { instanceId } = await a.compute.runInstance(a.request(imageId));

      // Act
      await a.compute.terminateInstances(['i-0123456789abcdef0', instanceId]);
      await a.compute.deregisterImage('ami-0123456789abcdef0');

      // Assess
      const [view] = await a.compute.describeInstances([instanceId]);
      expect(view!.state).toBe('shutting-down');
    });
  });
});

describe('Ec2ComputeProvider error mapping (aws-sdk-client-mock)', () => {
  let ec2Mock: AwsClientStub<EC2Client>;
  // Installed for this block only: the simulator tests above use the real client.
  beforeAll(() => { ec2Mock = mockClient(EC2Client); });
  afterAll(() => { ec2Mock.restore(); });
  beforeEach(() => { ec2Mock.reset(); });

  const awsError = (code: string, status: number, fault: 'client' | 'server' = status >= 500 ? 'server' : 'client') =>
    new EC2ServiceException({ name: code, message: `aws says ${code}`, $fault: fault, $metadata: { httpStatusCode: status } });

  const request: LaunchRequest = {
    imageId: 'ami-0123456789abcdef0', instanceType: 't3.medium', subnetId: 'subnet-0123456789abcdef0',
    securityGroupIds: ['sg-0123456789abcdef0'], clientToken: 'token', tags: { Name: 'x' },
  };

  it.each([
    ['RequestLimitExceeded', 503, 'client', ThrottledError],
    ['Throttling', 400, 'client', ThrottledError],
    ['InsufficientInstanceCapacity', 500, 'server', InsufficientCapacityError],
    ['InsufficientCapacity', 500, 'server', InsufficientCapacityError],
    ['InternalError', 500, 'server', TransientError],
    ['ServiceUnavailable', 503, 'server', TransientError],
    ['Unavailable', 503, 'server', TransientError],
    ['SomeNewServerFault', 502, 'server', TransientError],
  ] as const)('maps %s from RunInstances to %s', async (code, status, fault, expected) => {
    // Prepare
    const compute = new Ec2ComputeProvider(new EC2Client({ region: 'us-east-1' }));
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: request.imageId, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: {} }] }] });
    ec2Mock.on(RunInstancesCommand).rejects(awsError(code, status, fault));

    // Act
    const error = await thrown(compute.runInstance(request));

    // Assess
    expect(error).toBeInstanceOf(expected);
    expect(error.message).toBe(`EC2 RunInstances failed: ${code}: aws says ${code}`);
    expect((error as Error & { cause?: unknown }).cause).toBeInstanceOf(EC2ServiceException);
  });

  it('rethrows a client error as a plain Error with the AWS code and message, the original as cause', async () => {
    // Prepare
    const compute = new Ec2ComputeProvider(new EC2Client({ region: 'us-east-1' }));
    const original = awsError('InvalidParameterValue', 400);
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: request.imageId, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: {} }] }] });
    ec2Mock.on(RunInstancesCommand).rejects(original);

    // Act
    const error = await thrown(compute.runInstance(request));

    // Assess
    expect(error.constructor).toBe(Error);
    expect(error.message).toBe('EC2 RunInstances failed: InvalidParameterValue: aws says InvalidParameterValue');
    expect((error as Error & { cause?: unknown }).cause).toBe(original);
  });

  it('maps a socket error without an HTTP answer to TransientError', () => {
    // Prepare
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

    // Act
    const error = mapEc2Error('DescribeInstances', reset);

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toBe('EC2 DescribeInstances failed: ECONNRESET: socket hang up');
  });

  it('encrypts every EBS device of the image and sends IMDSv2, the token and the tags', async () => {
    // Prepare
    const compute = new Ec2ComputeProvider(new EC2Client({ region: 'us-east-1' }), { kmsKeyId: KMS_KEY });
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [{ ImageId: request.imageId, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: {} }, { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' }, { DeviceName: '/dev/sdf', Ebs: {} }] }],
    });
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1' }] });

    // Act
    const out = await compute.runInstance(request);

    // Assess
    expect(out).toEqual({ instanceId: 'i-0aaaaaaaaaaaaaaa1' });
    expect(ec2Mock.commandCalls(RunInstancesCommand)[0]!.args[0].input).toMatchObject({
      MinCount: 1, MaxCount: 1, ClientToken: 'token', MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { Encrypted: true, KmsKeyId: KMS_KEY } },
        { DeviceName: '/dev/sdf', Ebs: { Encrypted: true, KmsKeyId: KMS_KEY } },
      ],
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'x' }] }, { ResourceType: 'volume', Tags: [{ Key: 'Name', Value: 'x' }] }],
    });
  });

  it('answers an empty list when DescribeInstances does not know the instance', async () => {
    // Prepare
    const compute = new Ec2ComputeProvider(new EC2Client({ region: 'us-east-1' }));
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound', 400));
    ec2Mock.on(DescribeInstanceStatusCommand).rejects(awsError('InvalidInstanceID.NotFound', 400));

    // Act
    const views = await compute.describeInstances(['i-0aaaaaaaaaaaaaaa1']);

    // Assess
    expect(views).toEqual([]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
  });

  it('maps a throttled DescribeInstances to ThrottledError instead of an empty answer', async () => {
    // Prepare
    const compute = new Ec2ComputeProvider(new EC2Client({ region: 'us-east-1' }));
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('RequestLimitExceeded', 503));

    // Act
    const error = await thrown(compute.describeInstances(['i-0aaaaaaaaaaaaaaa1']));

    // Assess
    expect(error).toBeInstanceOf(ThrottledError);
  });

  it('uses the image another invocation registered under the same name in the meantime', async () => {
    // Prepare
    const compute = new Ec2ComputeProvider(new EC2Client({ region: 'us-east-1' }));
    ec2Mock.on(DescribeImagesCommand)
      .resolvesOnce({ Images: [] })
      .resolves({ Images: [{ ImageId: 'ami-0bbbbbbbbbbbbbbb2', Name: 'point-image', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123abcd' } }] }] });
    ec2Mock.on(RegisterImageCommand).rejects(awsError('InvalidAMIName.Duplicate', 400));

    // Act
    const out = await compute.registerImage({ name: 'point-image', snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0123abcd' }], tags: {} });

    // Assess
    expect(out).toEqual({ imageId: 'ami-0bbbbbbbbbbbbbbb2' });
    expect(ec2Mock.commandCalls(RegisterImageCommand)).toHaveLength(1);
  });

  it('treats an already deregistered image and already gone instances as done', async () => {
    // Prepare
    const compute = new Ec2ComputeProvider(new EC2Client({ region: 'us-east-1' }));
    ec2Mock.on(DeregisterImageCommand).rejects(awsError('InvalidAMIID.NotFound', 400));
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound', 400));

    // Act
    await compute.deregisterImage('ami-0bbbbbbbbbbbbbbb2');
    await compute.terminateInstances(['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2']);

    // Assess: the batch, then each id alone
    expect(ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([
      ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2'], ['i-0aaaaaaaaaaaaaaa1'], ['i-0aaaaaaaaaaaaaaa2'],
    ]);
  });

  it('does not swallow a failed DeregisterImage', async () => {
    // Prepare
    const compute = new Ec2ComputeProvider(new EC2Client({ region: 'us-east-1' }));
    ec2Mock.on(DeregisterImageCommand).rejects(awsError('UnauthorizedOperation', 403));

    // Act
    const error = await thrown(compute.deregisterImage('ami-0bbbbbbbbbbbbbbb2'));

    // Assess
    expect(error.message).toContain('UnauthorizedOperation');
  });
});
