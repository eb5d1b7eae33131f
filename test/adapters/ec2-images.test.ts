import { DescribeImagesCommand, EC2Client, RegisterImageCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { MachineFacts } from '../../domain/recovery-points/machine-facts.ts';
import { Ec2ImageRegistry } from '../../functions/shared/adapters/ec2-images.ts';

/**
 * Issue 16, items 2 and 4: RegisterImage used to send Architecture x86_64, no boot mode, ENA always
 * on, and the first snapshot of the list as root. With the machine facts captured with the point
 * it must send what the source machine was.
 */
const ec2Mock = mockClient(EC2Client);
afterAll(() => ec2Mock.restore());
beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
  ec2Mock.on(RegisterImageCommand).resolves({ ImageId: 'ami-0123456789abcdef0' });
});

const ARM_FACTS: MachineFacts = {
  instanceId: 'i-0a1b2c3d4e5f60718', readAt: '2026-12-04T10:00:00.000Z', architecture: 'arm64', bootMode: 'uefi',
  tpmSupport: 'v2.0', imdsSupport: 'v2.0', enaSupport: true, sriovNetSupport: 'simple', platform: 'linux',
  platformDetails: 'Linux/UNIX', usageOperation: 'RunInstances', imageId: 'ami-0fedcba9876543210', rootDeviceName: '/dev/xvda',
  blockDevices: [{ deviceName: '/dev/xvda', volumeId: 'vol-0aaaaaaaaaaaaaaa1' }, { deviceName: '/dev/sdf', volumeId: 'vol-0bbbbbbbbbbbbbbb2' }],
};
// The catalogue lists the data disk first (as a per-volume assembly may).
const SNAPSHOTS = [
  { deviceName: '/dev/sdf', snapshotId: 'snap-0bbbbbbbbbbbbbbb2', volumeId: 'vol-0bbbbbbbbbbbbbbb2' },
  { deviceName: '/dev/xvda', snapshotId: 'snap-0aaaaaaaaaaaaaaa1', volumeId: 'vol-0aaaaaaaaaaaaaaa1' },
];

describe('Ec2ImageRegistry.registerImage with the machine facts', () => {
  it('registers an arm64 UEFI machine as arm64 with its boot mode, TPM, IMDS, ENA and SR-IOV', async () => {
    // Act
    await new Ec2ImageRegistry(new EC2Client({ region: 'us-east-1' })).registerImage({ name: 'img-arm', snapshots: SNAPSHOTS, tags: {}, machine: ARM_FACTS });

    // Assert
    const sent = ec2Mock.commandCalls(RegisterImageCommand)[0]!.args[0].input;
    expect(sent).toMatchObject({
      Architecture: 'arm64', BootMode: 'uefi', TpmSupport: 'v2.0', ImdsSupport: 'v2.0', EnaSupport: true, SriovNetSupport: 'simple', VirtualizationType: 'hvm',
    });
  });

  it('takes the root device from the facts, not the first snapshot, and maps each snapshot at its original device', async () => {
    // Act
    await new Ec2ImageRegistry(new EC2Client({ region: 'us-east-1' })).registerImage({ name: 'img-arm', snapshots: SNAPSHOTS, tags: {}, machine: ARM_FACTS });

    // Assert
    const sent = ec2Mock.commandCalls(RegisterImageCommand)[0]!.args[0].input;
    expect(sent.RootDeviceName).toBe('/dev/xvda');
    expect(sent.BlockDeviceMappings?.map((m) => [m.DeviceName, m.Ebs?.SnapshotId])).toEqual([
      ['/dev/xvda', 'snap-0aaaaaaaaaaaaaaa1'], ['/dev/sdf', 'snap-0bbbbbbbbbbbbbbb2'],
    ]);
  });

  it('sends ENA off and no SR-IOV, TPM or boot mode when the machine had none', async () => {
    // Act
    await new Ec2ImageRegistry(new EC2Client({ region: 'us-east-1' })).registerImage({
      name: 'img-x86', snapshots: SNAPSHOTS, tags: {},
      machine: { ...ARM_FACTS, architecture: 'x86_64', bootMode: undefined, tpmSupport: undefined, imdsSupport: undefined, enaSupport: false, sriovNetSupport: undefined },
    });

    // Assert
    const sent = ec2Mock.commandCalls(RegisterImageCommand)[0]!.args[0].input;
    expect(sent).toMatchObject({ Architecture: 'x86_64', EnaSupport: false });
    expect(sent.BootMode).toBeUndefined();
    expect(sent.TpmSupport).toBeUndefined();
    expect(sent.SriovNetSupport).toBeUndefined();
  });

  it('refuses a point whose facts name a root device none of its snapshots is on', async () => {
    // Act
    const out = new Ec2ImageRegistry(new EC2Client({ region: 'us-east-1' })).registerImage({
      name: 'img-arm', snapshots: SNAPSHOTS.slice(0, 1), tags: {}, machine: ARM_FACTS,
    });

    // Assert
    await expect(out).rejects.toThrow(/root device \/dev\/xvda/);
    expect(ec2Mock.commandCalls(RegisterImageCommand)).toHaveLength(0);
  });

  it('refuses to register a Windows or billing-coded machine (AWS: such an AMI does not launch, or loses its billing code)', async () => {
    // Act
    const out = new Ec2ImageRegistry(new EC2Client({ region: 'us-east-1' })).registerImage({
      name: 'img-win', snapshots: SNAPSHOTS, tags: {}, machine: { ...ARM_FACTS, architecture: 'x86_64', platform: 'windows', platformDetails: 'Windows', usageOperation: 'RunInstances:0002' },
    });

    // Assert
    await expect(out).rejects.toThrow(/Windows/);
    expect(ec2Mock.commandCalls(RegisterImageCommand)).toHaveLength(0);
  });

  it('keeps the old layout for a point without facts (older catalogue items): x86_64, first snapshot as root', async () => {
    // Act
    await new Ec2ImageRegistry(new EC2Client({ region: 'us-east-1' })).registerImage({ name: 'img-old', snapshots: [...SNAPSHOTS].reverse(), tags: {} });

    // Assert
    const sent = ec2Mock.commandCalls(RegisterImageCommand)[0]!.args[0].input;
    expect(sent).toMatchObject({ Architecture: 'x86_64', RootDeviceName: '/dev/xvda' });
  });
});
