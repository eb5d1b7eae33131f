import {
  AttachVolumeCommand, CreateSnapshotsCommand, CreateVolumeCommand, DescribeInstancesCommand, DescribeInstanceStatusCommand, DescribeVolumesCommand,
  DetachVolumeCommand, EC2Client, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { Ec2ComputeProvider } from '../../functions/shared/adapters/ec2-compute.ts';
import { attachEc2Simulator, Ec2Simulator } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

/**
 * The root swap (docs/platforms.md) through the real adapter on the EC2 simulator: a Windows
 * machine comes back on an instance launched from a Windows base image, with the point's root
 * and data volumes at their original devices, and it boots; the simulator's volume commands
 * refuse what EC2 refuses.
 */
const START = Date.UTC(2026, 11, 4);
const TAGS = { 'cleanpoint:incident': 'run-w', 'cleanpoint:machine': 'win-1', 'cleanpoint:mode': 'test' };

async function windowsAccount() {
  const clock = new VirtualClock({ startMs: START, autoAdvance: false });
  const sim = new Ec2Simulator({ clock });
  const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  attachEc2Simulator(client, sim);
  const vpcId = sim.seedVpc();
  const subnetId = sim.seedSubnet({ vpcId, cidrBlock: '10.0.0.0/20', isolated: true });
  const groupId = sim.seedSecurityGroup({ vpcId, groupName: 'recovery-test' });
  const source = sim.seedInstance({ subnetId, instanceType: 'm5.large', platform: 'windows', usageOperation: 'RunInstances:0002', volumes: [{ size: 30, deviceName: '/dev/sda1' }, { size: 100, deviceName: '/dev/xvdf' }] });
  const taken = await client.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: source } }));
  clock.advance(10 * 60_000);
  const [view] = (await client.send(new DescribeInstancesCommand({ InstanceIds: [source] }))).Reservations![0]!.Instances!;
  const deviceOf = new Map(view!.BlockDeviceMappings!.map((b) => [b.Ebs!.VolumeId!, b.DeviceName!]));
  const snapshots = taken.Snapshots!.map((s) => ({ deviceName: deviceOf.get(s.VolumeId!)!, snapshotId: s.SnapshotId!, volumeId: s.VolumeId! }));
  const baseRoot = sim.seedSnapshot({ volumeSize: 30, lineage: { platform: 'windows', usageOperation: 'RunInstances:0002' } });
  const baseImageId = sim.seedImage({ name: 'windows-base', snapshotIds: [baseRoot], rootDeviceName: '/dev/sda1', platform: 'windows', usageOperation: 'RunInstances:0002', tags: { 'cleanpoint:base-image': 'true' } });
  const compute = new Ec2ComputeProvider(client);
  return { clock, sim, client, subnetId, groupId, snapshots, baseImageId, compute };
}

describe('root swap on the EC2 simulator (Ec2ComputeProvider.restoreDisks)', () => {
  it('restores a Windows machine onto its base image: the point\'s root and data volumes at their devices, Windows, booting, volumes deleted with the instance', async () => {
    // Prepare
    const a = await windowsAccount();
    const { instanceId } = await a.compute.runInstance({ imageId: a.baseImageId, instanceType: 'm5.large', subnetId: a.subnetId, securityGroupIds: [a.groupId], clientToken: 'win-1-token', tags: TAGS });
    const baseVolumes = (await a.client.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }))).Volumes!.map((v) => v.VolumeId);

    // Act: step until done, as launch-machine does
    const steps: string[] = [];
    for (let i = 0; i < 20; i++) {
      const p = await a.compute.restoreDisks({ instanceId, snapshots: a.snapshots, rootDeviceName: '/dev/sda1', tags: TAGS });
      steps.push(p.step);
      if (p.done) break;
      a.clock.advance(5_000);
    }
    // A repeat (a retried task) changes nothing.
    const again = await a.compute.restoreDisks({ instanceId, snapshots: a.snapshots, rootDeviceName: '/dev/sda1', tags: TAGS });
    a.clock.advance(15 * 60_000);
    const [inst] = (await a.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0]!.Instances!;
    const status = (await a.client.send(new DescribeInstanceStatusCommand({ InstanceIds: [instanceId] }))).InstanceStatuses![0]!;
    const attached = (await a.client.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }))).Volumes!;
    const leftBase = (await a.client.send(new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: baseVolumes as string[] }] }))).Volumes!;

    // Assert
    expect(steps.at(-1)).toBe('started');
    expect(steps).toContain('stopping');
    expect(again.done).toBe(true);
    expect(inst!.State!.Name).toBe('running');
    expect(status.InstanceStatus!.Status).toBe('ok');
    expect(inst!.Platform).toBe('windows');
    expect(inst!.UsageOperation).toBe('RunInstances:0002');
    expect(Object.fromEntries(attached.map((v) => [v.Attachments![0]!.Device, v.SnapshotId]))).toEqual(Object.fromEntries(a.snapshots.map((s) => [s.deviceName, s.snapshotId])));
    expect(attached.every((v) => v.Attachments![0]!.DeleteOnTermination === true && v.Encrypted === true)).toBe(true);
    expect(leftBase).toEqual([]);

    // Act: cleanup terminates the instance
    await a.client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    a.clock.advance(10 * 60_000);
    const afterCleanup = (await a.client.send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:cleanpoint:incident', Values: ['run-w'] }] }))).Volumes!;

    // Assert: nothing left behind
    expect(afterCleanup).toEqual([]);
  });
});

describe('EC2 simulator: volume commands refuse what EC2 refuses', () => {
  it('AttachVolume across Availability Zones, at a device in use, or of a volume still creating; DetachVolume of a running root; StartInstances without a root volume', async () => {
    // Prepare
    const a = await windowsAccount();
    const otherAz = a.sim.seedSubnet({ vpcId: a.sim.seedVpc(), cidrBlock: '10.1.0.0/20', availabilityZone: 'us-east-1b' });
    const { instanceId } = await a.compute.runInstance({ imageId: a.baseImageId, instanceType: 'm5.large', subnetId: a.subnetId, securityGroupIds: [a.groupId], clientToken: 't2', tags: TAGS });
    a.clock.advance(5 * 60_000);
    const [inst] = (await a.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0]!.Instances!;
    const az = inst!.Placement!.AvailabilityZone!;
    const rootVolume = inst!.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    const fresh = (await a.client.send(new CreateVolumeCommand({ SnapshotId: a.snapshots[1]!.snapshotId, AvailabilityZone: az }))).VolumeId!;
    const elsewhere = (await a.client.send(new CreateVolumeCommand({ Size: 10, AvailabilityZone: 'us-east-1b' }))).VolumeId!;
    const err = (p: Promise<unknown>) => p.then(() => 'accepted', (e: Error) => `${e.name}: ${e.message}`);

    // Act
    const creating = await err(a.client.send(new AttachVolumeCommand({ VolumeId: fresh, InstanceId: instanceId, Device: '/dev/xvdf' })));
    a.clock.advance(10_000);
    const zone = await err(a.client.send(new AttachVolumeCommand({ VolumeId: elsewhere, InstanceId: instanceId, Device: '/dev/xvdg' })));
    const inUse = await err(a.client.send(new AttachVolumeCommand({ VolumeId: fresh, InstanceId: instanceId, Device: '/dev/sda1' })));
    const runningRoot = await err(a.client.send(new DetachVolumeCommand({ VolumeId: rootVolume })));
    await a.client.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    a.clock.advance(5 * 60_000);
    await a.client.send(new DetachVolumeCommand({ VolumeId: rootVolume }));
    const noRoot = await err(a.client.send(new StartInstancesCommand({ InstanceIds: [instanceId] })));

    // Assert
    expect(otherAz).toMatch(/^subnet-/);
    expect(creating).toMatch(/^IncorrectState: /);
    expect(zone).toBe(`InvalidVolume.ZoneMismatch: The volume '${elsewhere}' is not in the same availability zone as instance '${instanceId}'`);
    expect(inUse).toBe('InvalidParameterValue: Attachment point /dev/sda1 is already in use');
    expect(runningRoot).toBe(`OperationNotPermitted: Unable to detach root volume '${rootVolume}' from instance '${instanceId}'`);
    expect(noRoot).toMatch(/^IncorrectInstanceState: .*does not have a volume attached at root \(\/dev\/sda1\)/);
  });
});
