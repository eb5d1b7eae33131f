import type {
  AttachVolumeCommandInput, AttachVolumeCommandOutput, CreateVolumeCommandInput, CreateVolumeCommandOutput, DeleteVolumeCommandInput, DeleteVolumeCommandOutput,
  DescribeVolumesCommandInput, DescribeVolumesCommandOutput, DetachVolumeCommandInput, DetachVolumeCommandOutput, ModifyInstanceAttributeCommandInput,
  ModifyInstanceAttributeCommandOutput, Volume, VolumeState,
} from '@aws-sdk/client-ec2';
import { ec2Error, invalidParameter, requireOneOf, requireValue } from '../errors.ts';
import { instanceState, snapshotState, volumeExists } from '../lifecycle.ts';
import { applyFilters, ID_KINDS, paginate, selectByIds, tagsFromSpecifications, toSdkTags } from '../query.ts';
import type { InstanceRecord, SimContext, VolumeRecord } from '../state.ts';
import { findOne, lookups } from '../world.ts';
import type { Output } from './types.ts';

/**
 * EBS volumes as the root swap (docs/platforms.md) uses them, with AWS's refusals:
 * - CreateVolume needs a completed snapshot and an Availability Zone of the region; ClientToken
 *   makes it idempotent (same token, same parameters: the same volume; other parameters refused).
 *   A new volume is `creating` for VOLUME_CREATE_MS, then `available`.
 * - AttachVolume: the volume must be `available` (VolumeInUse when attached elsewhere, IncorrectState
 *   while creating) and in the instance's Availability Zone (InvalidVolume.ZoneMismatch); the device
 *   must be free on the instance (InvalidParameterValue "Attachment point ... is already in use");
 *   the instance must be running or stopped (IncorrectInstanceState otherwise).
 * - DetachVolume: the root volume of an instance that is not stopped cannot be detached
 *   (OperationNotPermitted); an unattached volume is IncorrectState.
 * - DeleteVolume: only an `available` volume (VolumeInUse).
 * - ModifyInstanceAttribute BlockDeviceMappings: DeleteOnTermination of attached devices only.
 * - StartInstances (instances.ts) refuses an instance without a volume at its root device.
 * Attach and detach complete at once (AWS: seconds).
 */
export const VOLUME_CREATE_MS = 5_000;
const VOLUME_TYPES = ['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'] as const;

export function volumeState(ctx: SimContext, v: VolumeRecord, now: number): VolumeState {
  if (v.attachment !== undefined) return 'in-use';
  return now < v.createdAt + (v.creatingMs ?? 0) ? 'creating' : 'available';
}

function volumeView(ctx: SimContext, v: VolumeRecord): Volume {
  const now = ctx.clock.now();
  return {
    VolumeId: v.volumeId, Size: v.size, SnapshotId: v.snapshotId, AvailabilityZone: v.availabilityZone, State: volumeState(ctx, v, now),
    CreateTime: new Date(v.createdAt), Encrypted: v.encrypted, KmsKeyId: v.kmsKeyId, VolumeType: v.volumeType as 'gp3',
    Attachments: v.attachment ? [{ VolumeId: v.volumeId, InstanceId: v.attachment.instanceId, Device: v.attachment.deviceName, State: 'attached', DeleteOnTermination: v.attachment.deleteOnTermination }] : [],
    Tags: toSdkTags(v.tags),
  };
}

const liveVolume = (ctx: SimContext) => (id: string) => {
  const v = ctx.state.volumes[id];
  return v !== undefined && volumeExists(ctx, v, ctx.clock.now()) ? v : undefined;
};

export function createVolume(ctx: SimContext, input: CreateVolumeCommandInput): Output<CreateVolumeCommandOutput> {
  const az = requireValue(input.AvailabilityZone, 'AvailabilityZone');
  const zones = new Set(Object.values(ctx.state.subnets).map((s) => s.availabilityZone));
  if (!zones.has(az)) throw invalidParameter('AvailabilityZone', `'${az}' is not an Availability Zone of ${ctx.settings.region}`);
  const token = input.ClientToken;
  const fingerprint = JSON.stringify({ ...input, ClientToken: undefined });
  if (token !== undefined) {
    const previous = ctx.state.clientTokens[`volume:${token}`];
    if (previous !== undefined) {
      if (previous.fingerprint !== fingerprint) throw ec2Error('IdempotentParameterMismatch', `The client token '${token}' was already used with different parameters`);
      const v = ctx.state.volumes[previous.reservationId];
      if (v !== undefined) return volumeView(ctx, v);
    }
  }
  let size = input.Size;
  let encrypted = input.Encrypted === true;
  let kmsKeyId = input.KmsKeyId;
  let lineage;
  if (kmsKeyId !== undefined && !encrypted) throw ec2Error('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.');
  if (input.SnapshotId !== undefined) {
    const snap = findOne(input.SnapshotId, ID_KINDS.snapshot, (id) => ctx.state.snapshots[id]);
    if (snapshotState(snap, ctx.clock.now()).state !== 'completed') throw ec2Error('IncorrectState', `Snapshot '${snap.snapshotId}' is not completed`);
    if (size !== undefined && size < snap.volumeSize) throw invalidParameter('Size', `${size} GiB is smaller than snapshot size ${snap.volumeSize} GiB`);
    size ??= snap.volumeSize;
    if (snap.encrypted && input.Encrypted === false) throw ec2Error('InvalidParameterCombination', 'A volume from an encrypted snapshot cannot be unencrypted');
    encrypted ||= snap.encrypted;
    kmsKeyId ??= snap.kmsKeyId;
    lineage = snap.lineage;
  }
  if (size === undefined) throw ec2Error('MissingParameter', 'The request must contain the parameter size or snapshotId');
  encrypted ||= ctx.settings.ebsEncryptionByDefault;
  const volume: VolumeRecord = {
    volumeId: ctx.newId('vol'), size, snapshotId: input.SnapshotId, encrypted, kmsKeyId: encrypted ? (kmsKeyId ?? 'alias/aws/ebs') : undefined,
    volumeType: requireOneOf(input.VolumeType, VOLUME_TYPES, 'VolumeType') ?? 'gp2', availabilityZone: az, createdAt: ctx.clock.now(),
    creatingMs: VOLUME_CREATE_MS, tags: tagsFromSpecifications(input.TagSpecifications, 'volume', ['volume']),
    ...(lineage ? { lineage: { ...lineage } } : {}),
  };
  ctx.state.volumes[volume.volumeId] = volume;
  if (token !== undefined) ctx.state.clientTokens[`volume:${token}`] = { fingerprint, reservationId: volume.volumeId };
  return volumeView(ctx, volume);
}

export function describeVolumes(ctx: SimContext, input: DescribeVolumesCommandInput): Output<DescribeVolumesCommandOutput> {
  const now = ctx.clock.now();
  const volumes = selectByIds(input.VolumeIds, ID_KINDS.volume, liveVolume(ctx), () => Object.values(ctx.state.volumes).filter((v) => volumeExists(ctx, v, now)));
  const matching = applyFilters(volumes, input.Filters, {
    'volume-id': (v: VolumeRecord) => v.volumeId,
    status: (v) => volumeState(ctx, v, now),
    'availability-zone': (v) => v.availabilityZone,
    'snapshot-id': (v) => v.snapshotId,
    'attachment.instance-id': (v) => v.attachment?.instanceId,
    'attachment.device': (v) => v.attachment?.deviceName,
  });
  const { page, NextToken } = paginate(matching, input, { min: 5, max: 500 });
  return { Volumes: page.map((v) => volumeView(ctx, v)), NextToken };
}

function attachmentOf(v: VolumeRecord, inst: InstanceRecord) {
  return { VolumeId: v.volumeId, InstanceId: inst.instanceId, Device: v.attachment?.deviceName, AttachTime: new Date() };
}

export function attachVolume(ctx: SimContext, input: AttachVolumeCommandInput): Output<AttachVolumeCommandOutput> {
  const device = requireValue(input.Device, 'Device');
  const v = findOne(requireValue(input.VolumeId, 'VolumeId'), ID_KINDS.volume, liveVolume(ctx));
  const inst = findOne(requireValue(input.InstanceId, 'InstanceId'), ID_KINDS.instance, lookups.instance(ctx));
  const now = ctx.clock.now();
  const state = instanceState(inst, now);
  if (state !== 'running' && state !== 'stopped') throw ec2Error('IncorrectInstanceState', `Instance '${inst.instanceId}' is not 'running' or 'stopped'.`);
  if (v.attachment !== undefined) throw ec2Error('VolumeInUse', `${v.volumeId} is already attached to an instance`);
  if (volumeState(ctx, v, now) !== 'available') throw ec2Error('IncorrectState', `vol '${v.volumeId}' is not 'available'.`);
  if (v.availabilityZone !== inst.availabilityZone) {
    throw ec2Error('InvalidVolume.ZoneMismatch', `The volume '${v.volumeId}' is not in the same availability zone as instance '${inst.instanceId}'`);
  }
  const taken = inst.volumeIds.some((id) => ctx.state.volumes[id]?.attachment?.deviceName === device && ctx.state.volumes[id]?.attachment?.instanceId === inst.instanceId);
  if (taken) throw ec2Error('InvalidParameterValue', `Attachment point ${device} is already in use`);
  // AttachVolume leaves DeleteOnTermination false (ModifyInstanceAttribute changes it).
  v.attachment = { instanceId: inst.instanceId, deviceName: device, deleteOnTermination: false };
  if (!inst.volumeIds.includes(v.volumeId)) inst.volumeIds.push(v.volumeId);
  return { ...attachmentOf(v, inst), State: 'attaching' };
}

export function detachVolume(ctx: SimContext, input: DetachVolumeCommandInput): Output<DetachVolumeCommandOutput> {
  const v = findOne(requireValue(input.VolumeId, 'VolumeId'), ID_KINDS.volume, liveVolume(ctx));
  const a = v.attachment;
  if (a === undefined) throw ec2Error('IncorrectState', `Volume '${v.volumeId}' is in the 'available' state.`);
  if (input.InstanceId !== undefined && input.InstanceId !== a.instanceId) throw ec2Error('InvalidAttachment.NotFound', `The volume ${v.volumeId} is not attached to ${input.InstanceId}`);
  const inst = ctx.state.instances[a.instanceId]!;
  if (a.deviceName === inst.rootDeviceName && instanceState(inst, ctx.clock.now()) !== 'stopped' && input.Force !== true) {
    throw ec2Error('OperationNotPermitted', `Unable to detach root volume '${v.volumeId}' from instance '${inst.instanceId}'`);
  }
  const out = { ...attachmentOf(v, inst), State: 'detaching' as const };
  v.attachment = undefined;
  inst.volumeIds = inst.volumeIds.filter((id) => id !== v.volumeId);
  return out;
}

export function deleteVolume(ctx: SimContext, input: DeleteVolumeCommandInput): Output<DeleteVolumeCommandOutput> {
  const v = findOne(requireValue(input.VolumeId, 'VolumeId'), ID_KINDS.volume, liveVolume(ctx));
  if (v.attachment !== undefined) throw ec2Error('VolumeInUse', `Volume ${v.volumeId} is currently attached to ${v.attachment.instanceId}`);
  delete ctx.state.volumes[v.volumeId];
  return {};
}

export function modifyInstanceAttribute(ctx: SimContext, input: ModifyInstanceAttributeCommandInput): Output<ModifyInstanceAttributeCommandOutput> {
  const inst = findOne(requireValue(input.InstanceId, 'InstanceId'), ID_KINDS.instance, lookups.instance(ctx));
  const mappings = input.BlockDeviceMappings;
  if (mappings === undefined || mappings.length === 0) throw invalidParameter('Attribute', 'only BlockDeviceMappings (DeleteOnTermination) is simulated');
  const byDevice = new Map(inst.volumeIds.flatMap((id) => { const v = ctx.state.volumes[id]; return v?.attachment ? [[v.attachment.deviceName, v] as const] : []; }));
  const plans = mappings.map((m) => {
    const device = requireValue(m.DeviceName, 'BlockDeviceMapping.DeviceName');
    const v = byDevice.get(device);
    if (v === undefined) throw invalidParameter('BlockDeviceMapping', `no EBS volume is attached at ${device} of ${inst.instanceId}`);
    if (m.Ebs?.VolumeId !== undefined && m.Ebs.VolumeId !== v.volumeId) throw invalidParameter('BlockDeviceMapping.Ebs.VolumeId', `${m.Ebs.VolumeId} is not attached at ${device}`);
    return { v, dot: m.Ebs?.DeleteOnTermination };
  });
  for (const { v, dot } of plans) if (dot !== undefined && v.attachment) v.attachment.deleteOnTermination = dot;
  return {};
}
