import type {
  DeregisterImageCommandInput,
  DeregisterImageCommandOutput,
  DescribeImagesCommandInput,
  DescribeImagesCommandOutput,
  RegisterImageCommandInput,
  RegisterImageCommandOutput,
} from '@aws-sdk/client-ec2';
import { ec2Error, invalidParameter, requireNonEmptyList, requireOneOf, requireValue } from '../errors.ts';
import { imageState, snapshotState } from '../lifecycle.ts';
import { applyFilters, ID_KINDS, paginate, selectByIds, tagsFromSpecifications } from '../query.ts';
import type { ImageDeviceRecord, ImageRecord, SimContext } from '../state.ts';
import { imageView } from '../views.ts';
import { createImage, findOne } from '../world.ts';
import type { Output } from './types.ts';

const IMAGE_NAME = /^[a-zA-Z0-9()[\] ./\-'@_]{3,128}$/;
const ARCHITECTURES = ['i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac'] as const;

/** Only EBS-backed registration from snapshots (BlockDeviceMappings with Ebs.SnapshotId) is simulated. */
export function registerImage(ctx: SimContext, input: RegisterImageCommandInput): Output<RegisterImageCommandOutput> {
  const name = requireValue(input.Name, 'Name');
  if (!IMAGE_NAME.test(name)) throw invalidParameter('Name', `'${name}' must be 3-128 characters of letters, numbers, spaces and ()[]./-'@_`);
  if (input.ImageLocation !== undefined) throw invalidParameter('ImageLocation', 'S3-backed images are not supported; register from EBS snapshots');
  const mappings = requireNonEmptyList(input.BlockDeviceMappings, 'BlockDeviceMappings');
  const devices: ImageDeviceRecord[] = [];
  for (const m of mappings) {
    const deviceName = requireValue(m.DeviceName, 'BlockDeviceMapping.DeviceName');
    if (devices.some((d) => d.deviceName === deviceName)) throw invalidParameter('BlockDeviceMapping.DeviceName', `'${deviceName}' is mapped twice`);
    const ebs = m.Ebs;
    if (ebs === undefined) continue; // NoDevice / instance-store entries add no EBS volume
    let volumeSize = ebs.VolumeSize;
    let encrypted = ebs.Encrypted === true;
    let kmsKeyId = ebs.KmsKeyId;
    if (ebs.SnapshotId !== undefined) {
      const snap = findOne(ebs.SnapshotId, ID_KINDS.snapshot, (id) => ctx.state.snapshots[id]);
      if (snapshotState(snap, ctx.clock.now()).state !== 'completed') {
        throw ec2Error('IncorrectState', `Snapshot '${snap.snapshotId}' is not completed`);
      }
      if (volumeSize !== undefined && volumeSize < snap.volumeSize) {
        throw invalidParameter(`BlockDeviceMapping.Ebs.VolumeSize (${deviceName})`, `${volumeSize} GiB is smaller than snapshot size ${snap.volumeSize} GiB`);
      }
      volumeSize ??= snap.volumeSize;
      encrypted ||= snap.encrypted;
      kmsKeyId ??= snap.kmsKeyId;
    }
    if (volumeSize === undefined) throw invalidParameter(`BlockDeviceMapping.Ebs.VolumeSize (${deviceName})`, 'required without a SnapshotId');
    devices.push({
      deviceName,
      snapshotId: ebs.SnapshotId,
      volumeSize,
      volumeType: ebs.VolumeType ?? 'gp3',
      encrypted,
      kmsKeyId,
      deleteOnTermination: ebs.DeleteOnTermination ?? true,
    });
  }
  const rootDeviceName = input.RootDeviceName ?? devices[0]?.deviceName;
  const root = devices.find((d) => d.deviceName === rootDeviceName);
  if (rootDeviceName === undefined || root?.snapshotId === undefined) {
    throw invalidParameter('RootDeviceName', `'${rootDeviceName ?? ''}' must name a block device mapping with an EBS snapshot`);
  }
  const image = createImage(ctx, {
    name,
    description: input.Description,
    architecture: requireOneOf(input.Architecture, ARCHITECTURES, 'Architecture') ?? 'x86_64',
    rootDeviceName,
    virtualizationType: requireOneOf(input.VirtualizationType, ['hvm', 'paravirtual'] as const, 'VirtualizationType') ?? 'hvm',
    enaSupport: input.EnaSupport ?? true,
    bootMode: requireOneOf(input.BootMode, ['legacy-bios', 'uefi', 'uefi-preferred'] as const, 'BootMode'),
    ...registeredPlatform(ctx, input, root.snapshotId),
    blockDeviceMappings: devices,
    tags: tagsFromSpecifications(input.TagSpecifications, 'image', ['image']),
  });
  return { ImageId: image.imageId };
}

/**
 * TPM, IMDS and SR-IOV as asked; the root snapshot's lineage is remembered (a Windows disk does not
 * boot from a registered image). No platform and no billing code: RegisterImage carries neither.
 */
function registeredPlatform(ctx: SimContext, input: RegisterImageCommandInput, rootSnapshotId: string): Partial<ImageRecord> {
  const tpm = requireOneOf(input.TpmSupport, ['v2.0'] as const, 'TpmSupport');
  const imds = requireOneOf(input.ImdsSupport, ['v2.0'] as const, 'ImdsSupport');
  const sriov = input.SriovNetSupport;
  if (sriov !== undefined && sriov !== 'simple') throw invalidParameter('SriovNetSupport', `'${sriov}' must be 'simple'`);
  if (tpm !== undefined && input.BootMode !== 'uefi') {
    throw invalidParameter('TpmSupport', 'NitroTPM requires the boot mode uefi');
  }
  const lineage = ctx.state.snapshots[rootSnapshotId]?.lineage;
  return {
    ...(tpm ? { tpmSupport: tpm } : {}),
    ...(imds ? { imdsSupport: imds } : {}),
    ...(sriov ? { sriovNetSupport: sriov } : {}),
    ...(lineage ? { rootLineage: { ...lineage } } : {}),
  };
}

export function deregisterImage(ctx: SimContext, input: DeregisterImageCommandInput): Output<DeregisterImageCommandOutput> {
  const image = findOne(requireValue(input.ImageId, 'ImageId'), ID_KINDS.image, (id) => ctx.state.images[id]);
  delete ctx.state.images[image.imageId];
  if (input.DeleteAssociatedSnapshots !== true) return { Return: true };
  const snapshotIds = image.blockDeviceMappings.flatMap((d) => (d.snapshotId === undefined ? [] : [d.snapshotId]));
  for (const id of snapshotIds) delete ctx.state.snapshots[id];
  return { Return: true, DeleteSnapshotResults: snapshotIds.map((SnapshotId) => ({ SnapshotId, ReturnCode: 'success' })) };
}

export function describeImages(ctx: SimContext, input: DescribeImagesCommandInput): Output<DescribeImagesCommandOutput> {
  const now = ctx.clock.now();
  // All simulated images belong to this account: other owners (amazon, aws-marketplace, ...) own none.
  const owners = input.Owners ?? [];
  const ownedHere = owners.length === 0 || owners.some((o) => o === 'self' || o === ctx.settings.accountId);
  const images = selectByIds(input.ImageIds, ID_KINDS.image, (id) => ctx.state.images[id], () => Object.values(ctx.state.images));
  const matching = applyFilters(ownedHere ? images : [], input.Filters, {
    'image-id': (i: ImageRecord) => i.imageId,
    name: (i) => i.name,
    description: (i) => i.description,
    state: (i) => imageState(i, now),
    architecture: (i) => i.architecture,
    platform: (i) => i.platform,
    'owner-id': () => ctx.settings.accountId,
    'root-device-name': (i) => i.rootDeviceName,
    'root-device-type': () => 'ebs',
    'is-public': () => 'false',
    'block-device-mapping.snapshot-id': (i) => i.blockDeviceMappings.map((d) => d.snapshotId),
    'block-device-mapping.encrypted': (i) => i.blockDeviceMappings.map((d) => String(d.encrypted)),
  });
  const { page, NextToken } = paginate(matching, input, { min: 1, max: 1000 });
  return { Images: page.map((i) => imageView(ctx, i)), NextToken };
}
