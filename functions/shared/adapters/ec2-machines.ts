import { DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, type EC2Client, type Image, type Instance, type Snapshot } from '@aws-sdk/client-ec2';
import type { MachineDirectory } from '../../../domain/ports/index.ts';
import { ARCHITECTURES, BOOT_MODES, machineFactsSchema, type MachineFacts, type SnapshotInfo } from '../../../domain/recovery-points/index.ts';
import type { Clock } from '../../../domain/shared/index.ts';
import { ec2ErrorCode, mapEc2Error } from './ec2-compute.ts';

/** DescribeSnapshots filter values are limited to 200 per filter. */
const VOLUME_BATCH = 200;
const STATES: readonly SnapshotInfo['state'][] = ['pending', 'completed', 'error', 'recoverable', 'recovering'];

const oneOf = <T extends string>(values: readonly T[], v: string | undefined): T | undefined => values.find((x) => x === v);

/**
 * The facts of a source machine, from DescribeInstances and DescribeImages of its AMI. The AMI
 * says what the machine was built to boot with (boot mode, TPM, IMDS); the instance what it runs
 * as now (architecture, ENA, platform, billing code, disks). The AMI may be gone (deregistered):
 * then the instance's current boot mode stands in for the AMI's.
 */
export function machineFactsOf(instance: Instance, image: Image | undefined, readAt: string): MachineFacts {
  const blockDevices = (instance.BlockDeviceMappings ?? []).flatMap((b) => (b.DeviceName && b.Ebs?.VolumeId ? [{ deviceName: b.DeviceName, volumeId: b.Ebs.VolumeId }] : []));
  const architecture = oneOf(ARCHITECTURES, instance.Architecture ?? image?.Architecture);
  const bootMode = oneOf(BOOT_MODES, image?.BootMode ?? instance.BootMode ?? instance.CurrentInstanceBootMode);
  const facts = {
    instanceId: instance.InstanceId,
    readAt,
    architecture: architecture ?? 'x86_64',
    ...(bootMode ? { bootMode } : {}),
    ...((image?.TpmSupport ?? instance.TpmSupport) === 'v2.0' ? { tpmSupport: 'v2.0' as const } : {}),
    ...(image?.ImdsSupport === 'v2.0' ? { imdsSupport: 'v2.0' as const } : {}),
    enaSupport: instance.EnaSupport ?? image?.EnaSupport ?? false,
    ...((instance.SriovNetSupport ?? image?.SriovNetSupport) === 'simple' ? { sriovNetSupport: 'simple' as const } : {}),
    platform: String(instance.Platform ?? image?.Platform ?? '').toLowerCase() === 'windows' ? 'windows' as const : 'linux' as const,
    ...((instance.PlatformDetails ?? image?.PlatformDetails) ? { platformDetails: (instance.PlatformDetails ?? image?.PlatformDetails)!.slice(0, 200) } : {}),
    ...((instance.UsageOperation ?? image?.UsageOperation) ? { usageOperation: (instance.UsageOperation ?? image?.UsageOperation)! } : {}),
    ...(instance.ImageId ? { imageId: instance.ImageId } : {}),
    rootDeviceName: instance.RootDeviceName ?? blockDevices[0]?.deviceName ?? '/dev/xvda',
    ...(instance.PrivateIpAddress ? { privateIpAddress: instance.PrivateIpAddress } : {}),
    blockDevices,
  };
  // What EC2 answered is untrusted input too: a shape the catalogue cannot store fails here, by field.
  return machineFactsSchema.parse(facts);
}

function toInfo(s: Snapshot): SnapshotInfo {
  const tags: Record<string, string> = {};
  for (const t of s.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  return {
    snapshotId: s.SnapshotId!, state: STATES.find((x) => x === s.State) ?? 'pending',
    startTime: s.StartTime ? s.StartTime.toISOString() : '',
    ...(s.VolumeId ? { volumeId: s.VolumeId } : {}), ...(s.VolumeSize !== undefined ? { volumeSize: s.VolumeSize } : {}), tags,
  };
}

/** MachineDirectory on EC2 (read-only: DescribeInstances, DescribeImages, DescribeSnapshots). */
export class Ec2MachineDirectory implements MachineDirectory {
  constructor(private readonly client: EC2Client, private readonly clock: Clock) {}

  async describeMachine(instanceId: string): Promise<MachineFacts | null> {
    let instance: Instance | undefined;
    try {
      const out = await this.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      instance = out?.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    } catch (e) {
      if (ec2ErrorCode(e) === 'InvalidInstanceID.NotFound') return null;
      throw mapEc2Error('DescribeInstances', e);
    }
    if (!instance || instance.State?.Name === 'terminated') return null;
    let image: Image | undefined;
    if (instance.ImageId) {
      try {
        const out = await this.client.send(new DescribeImagesCommand({ ImageIds: [instance.ImageId] }));
        image = out?.Images?.find((i) => i.ImageId === instance!.ImageId);
      } catch (e) {
        // A deregistered AMI (or one no longer shared with this account) is not an error: the instance's own facts stand.
        if (!['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable'].includes(ec2ErrorCode(e))) throw mapEc2Error('DescribeImages', e);
      }
    }
    return machineFactsOf(instance, image, new Date(this.clock.now()).toISOString());
  }

  async snapshotsOfVolumes(volumeIds: string[], from: string, to: string): Promise<SnapshotInfo[]> {
    const lo = Date.parse(from);
    const hi = Date.parse(to);
    const out: SnapshotInfo[] = [];
    const ids = [...new Set(volumeIds)];
    for (let i = 0; i < ids.length; i += VOLUME_BATCH) {
      let token: string | undefined;
      do {
        const page = await this.call(() => this.client.send(new DescribeSnapshotsCommand({
          OwnerIds: ['self'], Filters: [{ Name: 'volume-id', Values: ids.slice(i, i + VOLUME_BATCH) }], MaxResults: 1000, NextToken: token,
        })));
        for (const s of page?.Snapshots ?? []) {
          const t = s.StartTime?.getTime();
          if (s.SnapshotId && t !== undefined && t >= lo && t <= hi) out.push(toInfo(s));
        }
        token = page?.NextToken || undefined;
      } while (token);
    }
    return out;
  }

  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      throw mapEc2Error('DescribeSnapshots', e);
    }
  }
}
