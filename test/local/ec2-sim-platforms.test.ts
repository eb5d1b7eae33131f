import {
  CreateSnapshotsCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeInstanceStatusCommand, EC2Client, RegisterImageCommand, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import type { MachineFacts } from '../../domain/recovery-points/machine-facts.ts';
import { Ec2ComputeProvider } from '../../functions/shared/adapters/ec2-compute.ts';
import { attachEc2Simulator, Ec2Simulator } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

/**
 * The EC2 simulator refuses or misbehaves as AWS documents for architecture, boot mode and
 * platform (local/ec2-sim/platforms.ts): an instance type of the other architecture is refused
 * by RunInstances; a legacy-bios image on a UEFI-only (Graviton) type and an image registered
 * from a Windows snapshot run but fail their instance status check; RegisterImage drops billing codes.
 */
const START = Date.UTC(2026, 11, 4);

function account() {
  const clock = new VirtualClock({ startMs: START, autoAdvance: false });
  const sim = new Ec2Simulator({ clock });
  const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  attachEc2Simulator(client, sim);
  const vpcId = sim.seedVpc();
  const subnetId = sim.seedSubnet({ vpcId, cidrBlock: '10.0.0.0/20', isolated: true });
  /** Snapshots of every volume of a source machine, as CreateSnapshots takes them (root first). */
  const snapshotSource = async (source: Parameters<Ec2Simulator['seedInstance']>[0]) => {
    const instanceId = sim.seedInstance(source);
    const out = await client.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: instanceId } }));
    clock.advance(10 * 60_000);
    const [view] = (await client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0]!.Instances!;
    const deviceOf = new Map(view!.BlockDeviceMappings!.map((b) => [b.Ebs!.VolumeId!, b.DeviceName!]));
    return { instanceId, view: view!, snapshots: out.Snapshots!.map((s) => ({ snapshotId: s.SnapshotId!, volumeId: s.VolumeId!, deviceName: deviceOf.get(s.VolumeId!)! })) };
  };
  const register = (name: string, snapshotId: string, extra: Partial<ConstructorParameters<typeof RegisterImageCommand>[0]> = {}) =>
    client.send(new RegisterImageCommand({
      Name: name, Architecture: 'x86_64', VirtualizationType: 'hvm', EnaSupport: true, RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId } }], ...extra,
    })).then((o) => o.ImageId!);
  const run = (imageId: string, instanceType: string) =>
    client.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: instanceType as 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: subnetId }))
      .then((o) => o.Instances![0]!.InstanceId!);
  const statusAfterBoot = async (instanceId: string) => {
    clock.advance(15 * 60_000);
    const s = (await client.send(new DescribeInstanceStatusCommand({ InstanceIds: [instanceId], IncludeAllInstances: true }))).InstanceStatuses![0]!;
    return { state: s.InstanceState?.Name, instance: s.InstanceStatus?.Status, system: s.SystemStatus?.Status };
  };
  return { clock, sim, client, subnetId, snapshotSource, register, run, statusAfterBoot };
}

async function refusal(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('expected a refusal');
}

describe('EC2 simulator: architecture', () => {
  it('refuses an arm64 image on an x86_64 instance type with AWS\'s error', async () => {
    // Prepare
    const a = account();
    const root = a.sim.seedSnapshot({ volumeSize: 8 });
    const arm = await a.register('arm-image', root, { Architecture: 'arm64', BootMode: 'uefi' });

    // Act
    const e = await refusal(a.run(arm, 'm5.large'));

    // Assert
    expect(e.name).toBe('InvalidParameterValue');
    expect(e.message).toBe("The architecture 'x86_64' of the specified instance type does not match the architecture 'arm64' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.");
  });

  it('refuses an x86_64 image on a Graviton type', async () => {
    // Prepare
    const a = account();
    const x86 = await a.register('x86-image', a.sim.seedSnapshot({ volumeSize: 8 }));

    // Act
    const e = await refusal(a.run(x86, 'm7g.large'));

    // Assert
    expect(e).toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining("The architecture 'arm64' of the specified instance type does not match the architecture 'x86_64'") });
  });

  it('the old registration (always x86_64) of a Graviton machine cannot launch on its own type; with the captured facts it boots as arm64', async () => {
    // Prepare: a Graviton source machine with a data disk, snapshotted
    const a = account();
    const source = await a.snapshotSource({ subnetId: a.subnetId, instanceType: 'm7g.large', architecture: 'arm64', bootMode: 'uefi', volumes: [{ size: 8 }, { size: 50 }] });
    const facts: MachineFacts = {
      instanceId: source.instanceId, readAt: new Date(START).toISOString(), architecture: 'arm64', bootMode: 'uefi', enaSupport: true,
      platform: 'linux', usageOperation: 'RunInstances', rootDeviceName: '/dev/xvda',
      blockDevices: source.snapshots.map((s) => ({ deviceName: s.deviceName, volumeId: s.volumeId })),
    };
    const oldWay = await a.register('old-way', source.snapshots[0]!.snapshotId);
    const compute = new Ec2ComputeProvider(a.client);

    // Act
    const old = await refusal(a.run(oldWay, 'm7g.large'));
    const { imageId } = await compute.registerImage({ name: 'new-way', snapshots: [...source.snapshots].reverse(), tags: {}, machine: facts });
    const instanceId = await a.run(imageId, 'm7g.large');
    const status = await a.statusAfterBoot(instanceId);
    const [view] = (await a.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations![0]!.Instances!;

    // Assert
    expect(old.name).toBe('InvalidParameterValue');
    expect(status).toEqual({ state: 'running', instance: 'ok', system: 'ok' });
    expect(view!.Architecture).toBe('arm64');
    expect(view!.RootDeviceName).toBe('/dev/xvda');
    expect(view!.BlockDeviceMappings!.map((b) => b.DeviceName).sort()).toEqual(source.view.BlockDeviceMappings!.map((b) => b.DeviceName).sort());
  });
});

describe('EC2 simulator: boot mode', () => {
  it('a legacy-bios image on a UEFI-only Graviton type launches but fails its instance status check', async () => {
    // Prepare
    const a = account();
    const image = await a.register('arm-bios', a.sim.seedSnapshot({ volumeSize: 8 }), { Architecture: 'arm64', BootMode: 'legacy-bios' });

    // Act
    const status = await a.statusAfterBoot(await a.run(image, 't4g.medium'));

    // Assert
    expect(status).toEqual({ state: 'running', instance: 'impaired', system: 'ok' });
  });

  it('uefi-preferred boots on both; NitroTPM without uefi is refused', async () => {
    // Prepare
    const a = account();
    const arm = await a.register('arm-pref', a.sim.seedSnapshot({ volumeSize: 8 }), { Architecture: 'arm64', BootMode: 'uefi-preferred' });
    const x86 = await a.register('x86-pref', a.sim.seedSnapshot({ volumeSize: 8 }), { BootMode: 'uefi-preferred' });

    // Act
    const armStatus = await a.statusAfterBoot(await a.run(arm, 'c7g.large'));
    const x86Status = await a.statusAfterBoot(await a.run(x86, 'm5.large'));
    const tpm = await refusal(a.register('tpm-bios', a.sim.seedSnapshot({ volumeSize: 8 }), { BootMode: 'legacy-bios', TpmSupport: 'v2.0' }));

    // Assert
    expect(armStatus.instance).toBe('ok');
    expect(x86Status.instance).toBe('ok');
    expect(tpm.name).toBe('InvalidParameterValue');
  });
});

describe('EC2 simulator: Windows and billing codes', () => {
  it('an image registered from a Windows root snapshot runs but never passes its instance status check', async () => {
    // Prepare
    const a = account();
    const source = await a.snapshotSource({ subnetId: a.subnetId, instanceType: 'm5.large', platform: 'windows', usageOperation: 'RunInstances:0002', volumes: [{ size: 30, deviceName: '/dev/sda1' }] });
    const image = await a.register('win-from-snapshot', source.snapshots[0]!.snapshotId, { RootDeviceName: '/dev/sda1', BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: source.snapshots[0]!.snapshotId } }] });

    // Act
    const status = await a.statusAfterBoot(await a.run(image, 'm5.large'));

    // Assert
    expect(source.view.Platform).toBe('windows');
    expect(source.view.UsageOperation).toBe('RunInstances:0002');
    expect(status).toEqual({ state: 'running', instance: 'impaired', system: 'ok' });
  });

  it('RegisterImage over a RHEL snapshot loses the billing code: the image is plain Linux/UNIX', async () => {
    // Prepare
    const a = account();
    const source = await a.snapshotSource({ subnetId: a.subnetId, usageOperation: 'RunInstances:0010' });

    // Act
    const imageId = await a.register('rhel-from-snapshot', source.snapshots[0]!.snapshotId);
    const [image] = (await a.client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images!;

    // Assert
    expect(source.view.PlatformDetails).toBe('Red Hat Enterprise Linux');
    expect(image).toMatchObject({ UsageOperation: 'RunInstances', PlatformDetails: 'Linux/UNIX' });
  });
});
