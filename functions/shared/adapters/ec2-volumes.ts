import { createHash } from 'node:crypto';
import {
  AttachVolumeCommand, CreateVolumeCommand, DeleteVolumeCommand, DescribeInstancesCommand, DescribeVolumesCommand, DetachVolumeCommand,
  type EC2Client, type Filter, type Instance, ModifyInstanceAttributeCommand, StartInstancesCommand, StopInstancesCommand, type Volume,
} from '@aws-sdk/client-ec2';
import type { RestoreDisksInput, RestoreDisksProgress } from '../../../domain/ports/index.ts';
import { ValidationError } from '../../../domain/shared/index.ts';
import { ec2ErrorCode, mapEc2Error } from './ec2-compute.ts';

/** Tag on each volume Cleanpoint creates from a point's snapshot: the device it belongs at. */
export const DEVICE_TAG = 'cleanpoint:device';
/** Tag on each such volume: the instance it is restored into (so a retry finds it). */
export const RESTORE_OF_TAG = 'cleanpoint:restore-of';

const escape = (v: string) => v.replace(/[\\*?]/g, '\\$&');

/**
 * The root swap of docs/platforms.md on EC2, one step per call, derived every time from what EC2
 * says (so a retried task, a crash or a second invocation continues where the first stopped):
 *
 * 1. CreateVolume from each of the point's snapshots in the instance's Availability Zone (a volume
 *    can only be attached in its own AZ), encrypted, tagged with the run's tags, its device and the
 *    instance; the ClientToken makes a repeated call return the same volume.
 * 2. StopInstances (volumes are swapped on a stopped instance: the root volume cannot be detached
 *    from a running one).
 * 3. DetachVolume of the base image's volume at each of those devices, then DeleteVolume of it once
 *    it is `available` (it came from the base image, tagged by RunInstances, and holds nothing).
 * 4. AttachVolume of each new volume at the original device name.
 * 5. ModifyInstanceAttribute DeleteOnTermination=true on each restored device (AttachVolume leaves
 *    it false: cleanup terminating a test machine would leave the volumes behind), StartInstances.
 *
 * Returns `done` once the instance has been started with every device restored.
 */
export class Ec2VolumeRestorer {
  constructor(private readonly client: EC2Client) {}

  async restoreDisks(input: RestoreDisksInput): Promise<RestoreDisksProgress> {
    if (!input.snapshots.some((s) => s.deviceName === input.rootDeviceName)) {
      throw new ValidationError('restoreDisks', [{ path: 'snapshots', message: `no snapshot for the root device ${input.rootDeviceName}` }]);
    }
    const instance = await this.instance(input.instanceId);
    const az = instance.Placement?.AvailabilityZone;
    if (!az) throw new Error(`EC2 DescribeInstances gave no Availability Zone for ${input.instanceId}`);
    const state = instance.State?.Name ?? 'pending';
    if (state === 'terminated' || state === 'shutting-down') throw new Error(`instance ${input.instanceId} is ${state}: the root swap cannot go on`);
    // The point's root volume goes where the instance boots from (the base image's root device,
    // normally the same name as the source's); the data volumes at their original device names.
    const instanceRoot = instance.RootDeviceName ?? input.rootDeviceName;
    const snapshots = input.snapshots.map((s) => (s.deviceName === input.rootDeviceName ? { ...s, deviceName: instanceRoot } : s));
    const attached = new Map((instance.BlockDeviceMappings ?? []).flatMap((b) => (b.DeviceName && b.Ebs?.VolumeId ? [[b.DeviceName, b.Ebs.VolumeId] as const] : [])));

    // 1. Our volumes, created once each.
    const ours = await this.ourVolumes(input);
    for (const s of snapshots) {
      if (ours.has(s.deviceName)) continue;
      const v = await this.call('CreateVolume', () => this.client.send(new CreateVolumeCommand({
        SnapshotId: s.snapshotId, AvailabilityZone: az, VolumeType: 'gp3', Encrypted: true,
        ...(input.kmsKeyId ? { KmsKeyId: input.kmsKeyId } : {}),
        ClientToken: createHash('sha256').update(`${input.instanceId}/${s.deviceName}/${s.snapshotId}`).digest('hex').slice(0, 64),
        TagSpecifications: [{ ResourceType: 'volume', Tags: Object.entries({ ...input.tags, [DEVICE_TAG]: s.deviceName, [RESTORE_OF_TAG]: input.instanceId }).map(([Key, Value]) => ({ Key, Value })) }],
      })));
      if (v.VolumeId) ours.set(s.deviceName, { VolumeId: v.VolumeId, State: v.State ?? 'creating', AvailabilityZone: v.AvailabilityZone ?? az });
    }
    const volumes = snapshots.map((s) => ({ deviceName: s.deviceName, volumeId: ours.get(s.deviceName)?.VolumeId ?? '' }));
    const restored = snapshots.every((s) => attached.get(s.deviceName) === ours.get(s.deviceName)?.VolumeId);

    if (restored) {
      if (state === 'stopped') {
        // 5. Restored volumes go with the instance, then start.
        await this.call('ModifyInstanceAttribute', () => this.client.send(new ModifyInstanceAttributeCommand({
          InstanceId: input.instanceId,
          BlockDeviceMappings: snapshots.map((s) => ({ DeviceName: s.deviceName, Ebs: { VolumeId: ours.get(s.deviceName)!.VolumeId, DeleteOnTermination: true } })),
        })));
        await this.call('StartInstances', () => this.client.send(new StartInstancesCommand({ InstanceIds: [input.instanceId] })));
        return { done: true, step: 'started', volumes };
      }
      if (state === 'pending' || state === 'running') return { done: true, step: 'started', volumes };
      return { done: false, step: `instance ${state}`, volumes };
    }
    // 2. Stop first.
    if (state === 'pending' || state === 'running') {
      await this.call('StopInstances', () => this.client.send(new StopInstancesCommand({ InstanceIds: [input.instanceId] })));
      return { done: false, step: 'stopping', volumes };
    }
    if (state !== 'stopped') return { done: false, step: `instance ${state}`, volumes };

    // 3. The base image's volumes at our devices go; a detached one is deleted.
    let pending = false;
    for (const s of snapshots) {
      const current = attached.get(s.deviceName);
      const mine = ours.get(s.deviceName);
      if (current && current !== mine?.VolumeId) {
        await this.call('DetachVolume', () => this.client.send(new DetachVolumeCommand({ VolumeId: current, InstanceId: input.instanceId, Device: s.deviceName })));
        pending = true;
      }
    }
    await this.deleteReplaced(input);
    if (pending) return { done: false, step: 'detaching the base image\'s volumes', volumes };
    // 4. Attach ours once they are available.
    for (const s of snapshots) {
      const mine = ours.get(s.deviceName);
      if (!mine?.VolumeId) return { done: false, step: `creating the volume for ${s.deviceName}`, volumes };
      if (attached.get(s.deviceName) === mine.VolumeId) continue;
      if (mine.State !== 'available') return { done: false, step: `volume ${mine.VolumeId} is ${mine.State}`, volumes };
      await this.call('AttachVolume', () => this.client.send(new AttachVolumeCommand({ VolumeId: mine.VolumeId, InstanceId: input.instanceId, Device: s.deviceName })));
    }
    return { done: false, step: 'attaching', volumes };
  }

  private async instance(instanceId: string): Promise<Instance> {
    const out = await this.call('DescribeInstances', () => this.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })));
    const found = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    if (!found) throw new Error(`EC2 DescribeInstances: InvalidInstanceID.NotFound: ${instanceId}`);
    return found;
  }

  /** The volumes created for this instance so far, by device. */
  private async ourVolumes(input: RestoreDisksInput): Promise<Map<string, Volume>> {
    const filters: Filter[] = [{ Name: `tag:${RESTORE_OF_TAG}`, Values: [escape(input.instanceId)] }];
    const out = new Map<string, Volume>();
    for (const v of await this.volumes(filters)) {
      const device = v.Tags?.find((t) => t.Key === DEVICE_TAG)?.Value;
      if (device && v.VolumeId && v.State !== 'deleting' && v.State !== 'deleted') out.set(device, v);
    }
    return out;
  }

  /** Base-image volumes Cleanpoint detached from this instance (RunInstances tagged them; they are not ours): deleted once available. */
  private async deleteReplaced(input: RestoreDisksInput): Promise<void> {
    const filters: Filter[] = [
      ...Object.entries(input.tags).filter(([k]) => k.startsWith('cleanpoint:')).map(([k, v]) => ({ Name: `tag:${k}`, Values: [escape(v)] })),
      { Name: 'status', Values: ['available'] },
    ];
    if (filters.length < 2) return;
    for (const v of await this.volumes(filters)) {
      if (!v.VolumeId || v.Tags?.some((t) => t.Key === RESTORE_OF_TAG)) continue;
      try {
        await this.client.send(new DeleteVolumeCommand({ VolumeId: v.VolumeId }));
      } catch (e) {
        if (ec2ErrorCode(e) !== 'InvalidVolume.NotFound') throw mapEc2Error('DeleteVolume', e);
      }
    }
  }

  private async volumes(filters: Filter[]): Promise<Volume[]> {
    const all: Volume[] = [];
    let token: string | undefined;
    do {
      const out = await this.call('DescribeVolumes', () => this.client.send(new DescribeVolumesCommand({ Filters: filters, MaxResults: 500, NextToken: token })));
      all.push(...(out.Volumes ?? []));
      token = out.NextToken || undefined;
    } while (token);
    return all;
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      throw mapEc2Error(operation, e);
    }
  }
}
