import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AllocateAddressCommand,
  CreateSnapshotsCommand,
  CreateTagsCommand,
  DeleteSubnetCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeAccountAttributesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RegisterImageCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { attachEc2Simulator, Ec2Simulator, type Ec2SimulatorOptions } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

const START = Date.UTC(2025, 0, 1);
const SECOND = 1_000;

/** A simulator with a recovery VPC (subnet + security group) and one root snapshot, behind a real EC2Client. */
function world(options: Partial<Ec2SimulatorOptions> = {}) {
  const clock = new VirtualClock({ startMs: START });
  const sim = new Ec2Simulator({ clock, ...options });
  const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  attachEc2Simulator(client, sim);
  const vpcId = sim.seedVpc({ tags: { Name: 'recovery' } });
  const subnetId = sim.seedSubnet({ vpcId, isolated: true, tags: { 'cleanpoint:network': 'isolated' } });
  const groupId = sim.seedSecurityGroup({ vpcId, groupName: 'recovery' });
  const rootSnapshotId = sim.seedSnapshot({ volumeSize: 20, tags: { 'cleanpoint:machine': 'web-1' } });
  return { clock, sim, client, vpcId, subnetId, groupId, rootSnapshotId };
}

async function registerImage(w: ReturnType<typeof world>, name = 'recovery-web-1'): Promise<string> {
  const out = await w.client.send(
    new RegisterImageCommand({
      Name: name,
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: w.rootSnapshotId } }],
      TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'cleanpoint:run', Value: 'run-1' }] }],
    }),
  );
  return out.ImageId!;
}

function launchInput(w: ReturnType<typeof world>, imageId: string, extra: Partial<RunInstancesCommandInput> = {}): RunInstancesCommandInput {
  return {
    ImageId: imageId,
    InstanceType: 'm5.large',
    MinCount: 1,
    MaxCount: 1,
    SubnetId: w.subnetId,
    SecurityGroupIds: [w.groupId],
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'cleanpoint:run', Value: 'run-1' }, { Key: 'cleanpoint:machine', Value: 'web-1' }] }],
    ...extra,
  };
}

async function launch(w: ReturnType<typeof world>, extra: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const imageId = await registerImage(w);
  const out = await w.client.send(new RunInstancesCommand(launchInput(w, imageId, extra)));
  return out.Instances![0]!.InstanceId!;
}

async function stateOf(w: ReturnType<typeof world>, instanceId: string): Promise<string | undefined> {
  const out = await w.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
}

async function statusOf(w: ReturnType<typeof world>, instanceId: string): Promise<string | undefined> {
  const out = await w.client.send(new DescribeInstanceStatusCommand({ InstanceIds: [instanceId], IncludeAllInstances: true }));
  return out.InstanceStatuses?.[0]?.InstanceStatus?.Status;
}

describe('EC2 simulator images', () => {
  it('registers an image from a snapshot and describes it as available', async () => {
    // Prepare
    const w = world();

    // Act
    const imageId = await registerImage(w);
    const out = await w.client.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:cleanpoint:run', Values: ['run-1'] }] }));

    // Assess
    expect(imageId).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(out.Images).toHaveLength(1);
    expect(out.Images![0]).toMatchObject({
      ImageId: imageId,
      State: 'available',
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: w.rootSnapshotId, VolumeSize: 20 } }],
    });
  });

  it('refuses to register an image from a snapshot that does not exist', async () => {
    // Prepare
    const w = world();

    // Act
    const attempt = w.client.send(
      new RegisterImageCommand({ Name: 'broken', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0' } }] }),
    );

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'InvalidSnapshot.NotFound', $fault: 'client', $metadata: { httpStatusCode: 400 } });
  });

  it('forgets a deregistered image', async () => {
    // Prepare
    const w = world();
    const imageId = await registerImage(w);

    // Act
    await w.client.send(new DeregisterImageCommand({ ImageId: imageId }));

    // Assess
    await expect(w.client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).rejects.toMatchObject({ name: 'InvalidAMIID.NotFound' });
  });
});

describe('EC2 simulator RunInstances', () => {
  it('launches one instance when the same ClientToken is sent twice', async () => {
    // Prepare
    const w = world();
    const imageId = await registerImage(w);
    const input = launchInput(w, imageId, { ClientToken: 'recovery-run-1-web-1' });

    // Act
    const first = await w.client.send(new RunInstancesCommand(input));
    const second = await w.client.send(new RunInstancesCommand(input));
    const all = await w.client.send(new DescribeInstancesCommand({}));

    // Assess
    expect(second.ReservationId).toBe(first.ReservationId);
    expect(second.Instances![0]!.InstanceId).toBe(first.Instances![0]!.InstanceId);
    expect(first.Instances![0]!.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(first.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
    expect(all.Reservations!.flatMap((r) => r.Instances ?? [])).toHaveLength(1);
  });

  it('rejects a reused ClientToken with different parameters as IdempotentParameterMismatch', async () => {
    // Prepare
    const w = world();
    const imageId = await registerImage(w);
    await w.client.send(new RunInstancesCommand(launchInput(w, imageId, { ClientToken: 'token-1' })));

    // Act
    const attempt = w.client.send(new RunInstancesCommand(launchInput(w, imageId, { ClientToken: 'token-1', InstanceType: 'm5.xlarge' })));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
  });

  it('names the missing field when ImageId is absent', async () => {
    // Prepare
    const w = world();

    // Act
    const attempt = w.client.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, SubnetId: w.subnetId } as RunInstancesCommandInput));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('ImageId') });
  });

  it('answers InvalidSubnetID.NotFound and InvalidAMIID.NotFound for unknown references', async () => {
    // Prepare
    const w = world();
    const imageId = await registerImage(w);

    // Act
    const badSubnet = w.client.send(new RunInstancesCommand(launchInput(w, imageId, { SubnetId: 'subnet-0123456789abcdef0' })));
    const badImage = w.client.send(new RunInstancesCommand(launchInput(w, 'ami-0123456789abcdef0')));

    // Assess
    await expect(badSubnet).rejects.toMatchObject({ name: 'InvalidSubnetID.NotFound' });
    await expect(badImage).rejects.toMatchObject({ name: 'InvalidAMIID.NotFound' });
  });

  it('applies the requested volume encryption, KMS key and IMDSv2 setting', async () => {
    // Prepare
    const w = world();
    const kmsKeyId = 'arn:aws:kms:us-east-1:123456789012:key/recovery';

    // Act
    const instanceId = await launch(w, {
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, KmsKeyId: kmsKeyId, VolumeSize: 30 } }],
      MetadataOptions: { HttpTokens: 'required' },
    });
    const out = await w.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const volumes = w.sim.resources().filter((r) => r.type === 'volume');

    // Assess
    const instance = out.Reservations![0]!.Instances![0]!;
    expect(instance.MetadataOptions?.HttpTokens).toBe('required');
    expect(instance.BlockDeviceMappings?.[0]?.Ebs?.VolumeId).toMatch(/^vol-[0-9a-f]{17}$/);
    expect(volumes).toHaveLength(1);
    expect(w.sim.snapshotState().volumes[volumes[0]!.id]).toMatchObject({ encrypted: true, kmsKeyId, size: 30, snapshotId: w.rootSnapshotId });
  });

  it('answers InsufficientInstanceCapacity for an instance type under a capacity fault', async () => {
    // Prepare
    const w = world();
    const imageId = await registerImage(w);
    w.sim.setFaults({ capacityErrors: { instanceTypes: ['m5.large'] } });

    // Act
    const refused = w.client.send(new RunInstancesCommand(launchInput(w, imageId)));
    const other = await w.client.send(new RunInstancesCommand(launchInput(w, imageId, { InstanceType: 'm6i.large' })));

    // Assess
    await expect(refused).rejects.toMatchObject({ name: 'InsufficientInstanceCapacity', $fault: 'server' });
    expect(other.Instances).toHaveLength(1);
  });
});

describe('EC2 simulator instance lifecycle', () => {
  it('keeps virtual time still while a fresh client makes its first call', async () => {
    // Prepare
    const w = world();
    const imageId = w.sim.seedImage({ name: 'seeded', snapshotIds: [w.rootSnapshotId] });
    const fresh = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    attachEc2Simulator(fresh, w.sim);
    const sleeper = w.clock.sleep(60 * SECOND);

    // Act
    const out = await fresh.send(new RunInstancesCommand(launchInput(w, imageId)));
    await sleeper;

    // Assess
    expect(out.Instances![0]!.LaunchTime).toEqual(new Date(START));
    expect(w.clock.now()).toBe(START + 60 * SECOND);
  });

  it('goes pending, then running after bootMs, then status ok after statusCheckMs', async () => {
    // Prepare
    const w = world();
    const instanceId = await launch(w);

    // Act
    const atLaunch = [await stateOf(w, instanceId), await statusOf(w, instanceId)];
    await w.clock.sleep(30 * SECOND);
    const afterBoot = [await stateOf(w, instanceId), await statusOf(w, instanceId)];
    await w.clock.sleep(60 * SECOND);
    const afterChecks = [await stateOf(w, instanceId), await statusOf(w, instanceId)];

    // Assess
    expect(atLaunch).toEqual(['pending', 'initializing']);
    expect(afterBoot).toEqual(['running', 'initializing']);
    expect(afterChecks).toEqual(['running', 'ok']);
  });

  it('lists only running instances in DescribeInstanceStatus unless IncludeAllInstances is set', async () => {
    // Prepare
    const w = world();
    const instanceId = await launch(w);

    // Act
    const runningOnly = await w.client.send(new DescribeInstanceStatusCommand({ InstanceIds: [instanceId] }));
    const all = await w.client.send(new DescribeInstanceStatusCommand({ InstanceIds: [instanceId], IncludeAllInstances: true }));

    // Assess
    expect(runningOnly.InstanceStatuses).toEqual([]);
    expect(all.InstanceStatuses?.[0]?.InstanceState?.Name).toBe('pending');
  });

  it('terminates an instance through shutting-down to terminated', async () => {
    // Prepare
    const w = world();
    const instanceId = await launch(w);
    await w.clock.sleep(30 * SECOND);

    // Act
    const out = await w.client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    await w.clock.sleep(10 * SECOND);

    // Assess
    expect(out.TerminatingInstances?.[0]).toMatchObject({ PreviousState: { Name: 'running' }, CurrentState: { Name: 'shutting-down', Code: 32 } });
    expect(await stateOf(w, instanceId)).toBe('terminated');
  });

  it('stops a running instance and starts it again', async () => {
    // Prepare
    const w = world();
    const instanceId = await launch(w);
    await w.clock.sleep(30 * SECOND);

    // Act
    await w.client.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    await w.clock.sleep(15 * SECOND);
    const stopped = await stateOf(w, instanceId);
    const start = await w.client.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
    await w.clock.sleep(30 * SECOND);

    // Assess
    expect(stopped).toBe('stopped');
    expect(start.StartingInstances?.[0]?.CurrentState?.Name).toBe('pending');
    expect(await stateOf(w, instanceId)).toBe('running');
  });

  it('refuses to start a terminated instance', async () => {
    // Prepare
    const w = world();
    const instanceId = await launch(w);
    await w.client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));

    // Act
    const attempt = w.client.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'IncorrectInstanceState' });
  });

  it('reports impaired status checks for instances selected by a status-check fault', async () => {
    // Prepare
    const w = world();
    const instanceId = await launch(w);
    w.sim.setFaults({ statusCheckFailures: { machineTag: 'cleanpoint:machine=web-1' } });

    // Act
    await w.clock.sleep(90 * SECOND);

    // Assess
    expect(await statusOf(w, instanceId)).toBe('impaired');
  });

  it('slows the boot of machines carrying the slow-boot tag', async () => {
    // Prepare
    const w = world({ faults: { slowBoot: { machineTag: 'cleanpoint:machine=web-1', extraMs: 120 * SECOND } } });
    const instanceId = await launch(w);

    // Act
    await w.clock.sleep(30 * SECOND);
    const atNormalBoot = await stateOf(w, instanceId);
    await w.clock.sleep(120 * SECOND);

    // Assess
    expect(atNormalBoot).toBe('pending');
    expect(await stateOf(w, instanceId)).toBe('running');
  });
});

describe('EC2 simulator queries and tags', () => {
  it('filters instances by tag, tag-key and state', async () => {
    // Prepare
    const w = world();
    const imageId = await registerImage(w);
    const tagged = await w.client.send(new RunInstancesCommand(launchInput(w, imageId)));
    await w.client.send(new RunInstancesCommand(launchInput(w, imageId, { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'other', Value: 'x' }] }] })));
    const taggedId = tagged.Instances![0]!.InstanceId!;
    const ids = (out: { Reservations?: Array<{ Instances?: Array<{ InstanceId?: string }> }> }) =>
      out.Reservations!.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);

    // Act
    const byTag = await w.client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:cleanpoint:run', Values: ['run-*'] }] }));
    const byKey = await w.client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag-key', Values: ['other'] }] }));
    const running = await w.client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }] }));
    const pendingTagged = await w.client.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'instance-state-name', Values: ['pending'] }, { Name: 'instance-id', Values: [taggedId] }],
      }),
    );

    // Assess
    expect(ids(byTag)).toEqual([taggedId]);
    expect(ids(byKey)).toHaveLength(1);
    expect(ids(byKey)[0]).not.toBe(taggedId);
    expect(ids(running)).toEqual([]);
    expect(ids(pendingTagged)).toEqual([taggedId]);
  });

  it('rejects an unknown filter name like EC2', async () => {
    // Prepare
    const w = world();

    // Act
    const attempt = w.client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'colour', Values: ['blue'] }] }));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining("'colour'") });
  });

  it('adds and removes tags with CreateTags and DeleteTags', async () => {
    // Prepare
    const w = world();

    // Act
    await w.client.send(new CreateTagsCommand({ Resources: [w.rootSnapshotId, w.subnetId], Tags: [{ Key: 'cleanpoint:run', Value: 'run-2' }] }));
    await w.client.send(new DeleteTagsCommand({ Resources: [w.subnetId], Tags: [{ Key: 'cleanpoint:run' }] }));
    const snapshots = await w.client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'tag:cleanpoint:run', Values: ['run-2'] }] }));
    const subnets = await w.client.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag-key', Values: ['cleanpoint:run'] }] }));

    // Assess
    expect(snapshots.Snapshots?.map((s) => s.SnapshotId)).toEqual([w.rootSnapshotId]);
    expect(subnets.Subnets).toEqual([]);
  });

  it('tells an isolated subnet from one routed to the internet through its route table', async () => {
    // Prepare
    const w = world();
    const routedId = w.sim.seedSubnet({ vpcId: w.vpcId });

    // Act
    const tables = async (subnetId: string) =>
      (await w.client.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }))).RouteTables!;
    const isolated = await tables(w.subnetId);
    const routed = await tables(routedId);

    // Assess
    expect(isolated[0]!.Routes!.map((r) => r.GatewayId)).toEqual(['local']);
    expect(routed[0]!.Routes!.map((r) => r.DestinationCidrBlock)).toContain('0.0.0.0/0');
  });

  it('finds the recovery VPC and its security group by tag and name', async () => {
    // Prepare
    const w = world();

    // Act
    const vpcs = await w.client.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: ['recovery'] }] }));
    const groups = await w.client.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [w.vpcId] }, { Name: 'group-name', Values: ['recovery'] }] }),
    );

    // Assess
    expect(vpcs.Vpcs?.map((v) => v.VpcId)).toEqual([w.vpcId]);
    expect(groups.SecurityGroups?.map((g) => g.GroupId)).toEqual([w.groupId]);
  });

  it('refuses to delete a subnet that still has instances', async () => {
    // Prepare
    const w = world();
    await launch(w);

    // Act
    const attempt = w.client.send(new DeleteSubnetCommand({ SubnetId: w.subnetId }));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'DependencyViolation' });
  });

  it('reports the max-instances account attribute', async () => {
    // Prepare
    const w = world({ maxInstances: 64 });

    // Act
    // (the SDK's AttributeNames enum omits max-instances, so ask for all attributes)
    const out = await w.client.send(new DescribeAccountAttributesCommand({}));

    // Assess
    expect(out.AccountAttributes).toContainEqual({ AttributeName: 'max-instances', AttributeValues: [{ AttributeValue: '64' }] });
  });

  it('names the command in UnsupportedOperation for actions it does not implement', async () => {
    // Prepare
    const w = world();

    // Act
    const attempt = w.client.send(new AllocateAddressCommand({}));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'UnsupportedOperation', message: expect.stringContaining('AllocateAddress') });
  });
});

describe('EC2 simulator snapshots for failback', () => {
  it('snapshots every volume of an instance and completes them after the snapshot delay', async () => {
    // Prepare
    const w = world({ snapshotMs: 45 * SECOND });
    const sourceId = w.sim.seedInstance({ subnetId: w.subnetId, volumes: [{ size: 8 }, { size: 100, encrypted: true }] });

    // Act
    const created = await w.client.send(
      new CreateSnapshotsCommand({
        InstanceSpecification: { InstanceId: sourceId },
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'cleanpoint:failback', Value: 'fb-1' }] }],
      }),
    );
    await w.clock.sleep(45 * SECOND);
    const done = await w.client.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'tag:cleanpoint:failback', Values: ['fb-1'] }] }));

    // Assess
    expect(created.Snapshots?.map((s) => [s.State, s.VolumeSize, s.Encrypted])).toEqual([['pending', 8, false], ['pending', 100, true]]);
    expect(done.Snapshots?.map((s) => s.State)).toEqual(['completed', 'completed']);
  });
});

describe('EC2 simulator faults', () => {
  it('fails the next calls of a command with failNextCalls, then recovers', async () => {
    // Prepare
    const w = world();
    w.sim.setFaults({ failNextCalls: { DescribeInstances: { count: 2, code: 'Unavailable' } } });
    const call = () => w.client.send(new DescribeInstancesCommand({}));

    // Act + Assess
    await expect(call()).rejects.toMatchObject({ name: 'Unavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
    await expect(call()).rejects.toMatchObject({ name: 'Unavailable' });
    await expect(call()).resolves.toMatchObject({ Reservations: [] });
  });

  it('fails a reproducible share of calls under a seeded failureRate', async () => {
    // Prepare
    const outcomes = async () => {
      const w = world({ throttling: false, faults: { failureRate: 0.3, seed: 42 } });
      const results: boolean[] = [];
      for (let i = 0; i < 200; i++) {
        results.push(await w.client.send(new DescribeInstancesCommand({})).then(() => true, () => false));
      }
      return results;
    };

    // Act
    const first = await outcomes();
    const second = await outcomes();

    // Assess
    expect(first).toEqual(second);
    const failures = first.filter((ok) => !ok).length;
    expect(failures).toBeGreaterThan(30);
    expect(failures).toBeLessThan(90);
  });

  it('loads faults from a JSON file', async () => {
    // Prepare
    const w = world();
    const imageId = await registerImage(w);
    const path = join(mkdtempSync(join(tmpdir(), 'ec2-sim-')), 'faults.json');
    writeFileSync(path, JSON.stringify({ capacityErrors: { instanceTypes: ['m5.large'] } }));

    // Act
    w.sim.loadFaultsFile(path);

    // Assess
    await expect(w.client.send(new RunInstancesCommand(launchInput(w, imageId)))).rejects.toMatchObject({ name: 'InsufficientInstanceCapacity' });
    expect(() => w.sim.setFaults({ failureRate: 2 })).toThrow(/failureRate/);
  });
});

describe('EC2 simulator state', () => {
  it('restores the world from snapshotState into a fresh simulator', async () => {
    // Prepare
    const w = world();
    const instanceId = await launch(w);
    const dump = JSON.parse(JSON.stringify(w.sim.snapshotState()));

    // Act
    const restored = world();
    restored.sim.loadState(dump);

    // Assess
    expect(await stateOf(restored, instanceId)).toBe('pending');
    expect(restored.sim.resources({ tag: { key: 'cleanpoint:run', value: 'run-1' } }).map((r) => r.type).sort()).toEqual(['image', 'instance']);
  });

  it('lists tagged resources, leaving out terminated instances', async () => {
    // Prepare
    const w = world();
    const instanceId = await launch(w);

    // Act
    const before = w.sim.resources({ tag: { key: 'cleanpoint:run' } });
    await w.client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    await w.clock.sleep(10 * SECOND);
    const after = w.sim.resources({ tag: { key: 'cleanpoint:run' } });

    // Assess
    expect(before.map((r) => [r.type, r.id])).toContainEqual(['instance', instanceId]);
    expect(after.map((r) => r.type)).toEqual(['image']);
  });

  it('keeps per-command counters of requests', async () => {
    // Prepare
    const w = world();

    // Act
    await w.client.send(new DescribeInstancesCommand({}));
    await w.client.send(new DescribeInstancesCommand({}));
    await w.client.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })).catch(() => undefined);

    // Assess
    expect(w.sim.stats()).toMatchObject({
      requests: { DescribeInstances: 2, TerminateInstances: 1 },
      accepted: { DescribeInstances: 2, TerminateInstances: 1 },
      failed: { TerminateInstances: 1 },
      totals: { requests: 3, throttled: 0 },
    });
  });
});
