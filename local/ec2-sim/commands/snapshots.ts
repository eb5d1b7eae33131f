import type {
  CreateSnapshotCommandInput,
  CreateSnapshotCommandOutput,
  CreateSnapshotsCommandInput,
  CreateSnapshotsCommandOutput,
  DeleteSnapshotCommandInput,
  DeleteSnapshotCommandOutput,
  DescribeSnapshotsCommandInput,
  DescribeSnapshotsCommandOutput,
} from '@aws-sdk/client-ec2';
import { ec2Error, requireOneOf, requireValue } from '../errors.ts';
import { instanceState, snapshotState } from '../lifecycle.ts';
import { applyFilters, ID_KINDS, paginate, selectByIds, tagsFromSpecifications } from '../query.ts';
import type { SimContext, SnapshotRecord, VolumeRecord } from '../state.ts';
import { snapshotView } from '../views.ts';
import { findOne, lookups, snapshotVolume } from '../world.ts';
import type { Output } from './types.ts';

export function describeSnapshots(ctx: SimContext, input: DescribeSnapshotsCommandInput): Output<DescribeSnapshotsCommandOutput> {
  if ((input.SnapshotIds?.length ?? 0) > 0 && input.MaxResults !== undefined) {
    throw ec2Error('InvalidParameterCombination', 'SnapshotIds cannot be combined with MaxResults');
  }
  const now = ctx.clock.now();
  const owners = input.OwnerIds ?? [];
  const ownedHere = owners.length === 0 || owners.some((o) => o === 'self' || o === ctx.settings.accountId);
  const snapshots = selectByIds(input.SnapshotIds, ID_KINDS.snapshot, (id) => ctx.state.snapshots[id], () => Object.values(ctx.state.snapshots));
  const matching = applyFilters(ownedHere ? snapshots : [], input.Filters, {
    'snapshot-id': (s: SnapshotRecord) => s.snapshotId,
    status: (s) => snapshotState(s, now).state,
    progress: (s) => snapshotState(s, now).progress,
    'volume-id': (s) => s.volumeId,
    'volume-size': (s) => s.volumeSize,
    encrypted: (s) => s.encrypted,
    'kms-key-id': (s) => s.kmsKeyId,
    description: (s) => s.description,
    'owner-id': () => ctx.settings.accountId,
    'start-time': (s) => new Date(s.startedAt).toISOString(),
  });
  const { page, NextToken } = paginate(matching, input, { min: 5, max: 1000 });
  return { Snapshots: page.map((s) => snapshotView(ctx, s)), NextToken };
}

export function createSnapshot(ctx: SimContext, input: CreateSnapshotCommandInput): Output<CreateSnapshotCommandOutput> {
  const volume = findOne(requireValue(input.VolumeId, 'VolumeId'), ID_KINDS.volume, lookups.volume(ctx));
  const tags = tagsFromSpecifications(input.TagSpecifications, 'snapshot', ['snapshot']);
  return snapshotView(ctx, snapshotVolume(ctx, volume, input.Description ?? '', tags));
}

/** Crash-consistent snapshots of an instance's volumes (used for failback). */
export function createSnapshots(ctx: SimContext, input: CreateSnapshotsCommandInput): Output<CreateSnapshotsCommandOutput> {
  const spec = requireValue(input.InstanceSpecification, 'InstanceSpecification');
  const instance = findOne(requireValue(spec.InstanceId, 'InstanceSpecification.InstanceId'), ID_KINDS.instance, lookups.instance(ctx));
  if (instanceState(instance, ctx.clock.now()) === 'terminated') {
    throw ec2Error('IncorrectState', `The instance '${instance.instanceId}' is terminated`);
  }
  const copyTags = requireOneOf(input.CopyTagsFromSource, ['volume'] as const, 'CopyTagsFromSource') === 'volume';
  const tags = tagsFromSpecifications(input.TagSpecifications, 'snapshot', ['snapshot']);
  const excluded = new Set(spec.ExcludeDataVolumeIds ?? []);
  const volumes = instance.volumeIds
    .map((id) => ctx.state.volumes[id])
    .filter((v): v is VolumeRecord => v !== undefined)
    .filter((v) => {
      const isBoot = v.attachment?.deviceName === instance.rootDeviceName;
      return isBoot ? spec.ExcludeBootVolume !== true : !excluded.has(v.volumeId);
    });
  const snapshots = volumes.map((v) => snapshotVolume(ctx, v, input.Description ?? '', copyTags ? { ...v.tags, ...tags } : tags));
  return {
    Snapshots: snapshots.map((s) => {
      const view = snapshotView(ctx, s);
      return {
        SnapshotId: view.SnapshotId,
        VolumeId: view.VolumeId,
        VolumeSize: view.VolumeSize,
        State: view.State,
        Progress: view.Progress,
        StartTime: view.StartTime,
        Encrypted: view.Encrypted,
        Description: view.Description,
        OwnerId: view.OwnerId,
        Tags: view.Tags,
      };
    }),
  };
}

export function deleteSnapshot(ctx: SimContext, input: DeleteSnapshotCommandInput): Output<DeleteSnapshotCommandOutput> {
  const snap = findOne(requireValue(input.SnapshotId, 'SnapshotId'), ID_KINDS.snapshot, (id) => ctx.state.snapshots[id]);
  const user = Object.values(ctx.state.images).find((i) => i.blockDeviceMappings.some((d) => d.snapshotId === snap.snapshotId));
  if (user !== undefined) {
    throw ec2Error('InvalidSnapshot.InUse', `The snapshot ${snap.snapshotId} is currently in use by ${user.imageId}`);
  }
  delete ctx.state.snapshots[snap.snapshotId];
  return {};
}
