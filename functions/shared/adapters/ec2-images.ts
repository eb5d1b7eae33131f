import { DescribeImagesCommand, type EC2Client, type Image, RegisterImageCommand, type Tag, type TagSpecification } from '@aws-sdk/client-ec2';
import type { ImageDirectory, RegisterImageInput } from '../../../domain/ports/index.ts';
import type { SnapshotRef } from '../../../domain/recovery-points/index.ts';
import { needsLicensedBase, platformLabel } from '../../../domain/recovery-points/model.ts';
import { ConflictError, ValidationError } from '../../../domain/shared/index.ts';
import { ec2ErrorCode, mapEc2Error } from './ec2-compute.ts';

/** AMIs that do not exist (any more) or were never valid: the answer is "no such image", not a failure. */
const NOT_FOUND = new Set(['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable', 'InvalidAMIID.Malformed']);

/**
 * The EBS snapshots behind an AMI's block devices, from DescribeImages (read-only; Describe*
 * calls take no resource-level permissions). A deregistered image comes back empty or as
 * InvalidAMIID.NotFound: both are null, so the caller can say the image is unknown.
 */
export class Ec2ImageDirectory implements ImageDirectory {
  constructor(private readonly client: EC2Client) {}

  async imageSnapshots(imageId: string): Promise<string[] | null> {
    try {
      const out = await this.client.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
      const image = (out.Images ?? []).find((i) => i.ImageId === imageId);
      if (!image) return null;
      return [...new Set((image.BlockDeviceMappings ?? []).flatMap((b) => (b.Ebs?.SnapshotId ? [b.Ebs.SnapshotId] : [])))];
    } catch (e) {
      if (NOT_FOUND.has(ec2ErrorCode(e))) return null;
      throw mapEc2Error('DescribeImages', e);
    }
  }
}

function toTagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** EBS device names of an image, root first as EC2 lists them. */
function ebsDevices(image: Image): string[] {
  return (image.BlockDeviceMappings ?? []).filter((m) => m.Ebs !== undefined && m.DeviceName).map((m) => m.DeviceName!);
}

/**
 * Registers recovery images over a point's EBS snapshots (RegisterImage) and remembers each
 * image's EBS devices, so a launch need not describe its image again. Used by Ec2ComputeProvider.
 *
 * Idempotency: images are found by name before registering (and a lost race on the name is
 * resolved by looking again).
 */
export class Ec2ImageRegistry {
  /** EBS device names per image seen by this container. */
  private readonly imageDevices = new Map<string, string[]>();

  constructor(private readonly client: EC2Client) {}

  /**
   * RegisterImage over a point's snapshots. With the machine facts captured with the point: the
   * source's architecture, boot mode, NitroTPM, IMDS requirement, ENA and SR-IOV, its root device,
   * each snapshot at its original device name (root first). AWS documents that an AMI registered
   * from a Windows snapshot does not launch and that one registered from a RHEL/SLES or other
   * billing-coded snapshot loses its billing product code, so such a point is refused here (it is
   * restored by the root-swap path, docs/platforms.md). A point without facts (recorded before facts
   * were captured) keeps the old layout: x86_64 HVM with ENA and the first snapshot as root, which is
   * right only for the Linux/x86 machines of that time (docs/platforms.md "Older points").
   */
  async registerImage(input: RegisterImageInput): Promise<{ imageId: string }> {
    const [first] = input.snapshots;
    if (!first) throw new ValidationError('registerImage', [{ path: 'snapshots', message: 'a recovery point needs at least one snapshot' }]);
    const facts = input.machine;
    if (facts && needsLicensedBase(facts)) {
      throw new ValidationError('registerImage', [{
        path: 'machine.platform',
        message: `${platformLabel(facts)} cannot be restored through RegisterImage (an AMI registered from a Windows snapshot does not launch; a billing-coded one loses its code): use the root-swap path`,
      }]);
    }
    const rootDeviceName = facts?.rootDeviceName ?? first.deviceName;
    const root = input.snapshots.find((s) => s.deviceName === rootDeviceName);
    if (!root) {
      throw new ValidationError('registerImage', [{ path: 'snapshots', message: `the machine's root device ${rootDeviceName} has no snapshot in this point (${input.snapshots.map((s) => s.deviceName).join(', ')})` }]);
    }
    const ordered = [root, ...input.snapshots.filter((s) => s !== root)];
    const existing = await this.findImageByName(input.name, input.snapshots);
    if (existing) return { imageId: existing };
    const tagSpecifications: TagSpecification[] = Object.keys(input.tags).length ? [{ ResourceType: 'image', Tags: toTagList(input.tags) }] : [];
    try {
      const out = await this.client.send(new RegisterImageCommand({
        Name: input.name,
        Description: `Cleanpoint recovery image (${ordered.map((s) => s.snapshotId).join(', ')})`.slice(0, 255),
        Architecture: facts?.architecture ?? 'x86_64',
        VirtualizationType: 'hvm',
        EnaSupport: facts ? facts.enaSupport : true,
        ...(facts?.sriovNetSupport ? { SriovNetSupport: facts.sriovNetSupport } : {}),
        ...(facts?.bootMode ? { BootMode: facts.bootMode } : {}),
        ...(facts?.tpmSupport ? { TpmSupport: facts.tpmSupport } : {}),
        ...(facts?.imdsSupport ? { ImdsSupport: facts.imdsSupport } : {}),
        RootDeviceName: rootDeviceName,
        BlockDeviceMappings: ordered.map((s) => ({
          DeviceName: s.deviceName,
          Ebs: { SnapshotId: s.snapshotId, DeleteOnTermination: true, VolumeType: 'gp3' },
        })),
        ...(tagSpecifications.length ? { TagSpecifications: tagSpecifications } : {}),
      }));
      if (!out.ImageId) throw new Error(`EC2 RegisterImage returned no image id for ${input.name}`);
      this.imageDevices.set(out.ImageId, ordered.map((s) => s.deviceName));
      return { imageId: out.ImageId };
    } catch (e) {
      // Another invocation registered the same name between our lookup and our call: use theirs.
      if (ec2ErrorCode(e) === 'InvalidAMIName.Duplicate') {
        const raced = await this.findImageByName(input.name, input.snapshots);
        if (raced) return { imageId: raced };
      }
      throw mapEc2Error('RegisterImage', e);
    }
  }

  /** Forget a deregistered image's devices. */
  forget(imageId: string): void {
    this.imageDevices.delete(imageId);
  }

  /** The image's EBS devices, to override each with encryption at launch. */
  async devicesOf(imageId: string): Promise<string[]> {
    const known = this.imageDevices.get(imageId);
    if (known) return known;
    const out = await this.call('DescribeImages', () => this.client.send(new DescribeImagesCommand({ ImageIds: [imageId] })));
    const image = out.Images?.find((i) => i.ImageId === imageId);
    if (!image) throw new Error(`EC2 DescribeImages failed: InvalidAMIID.NotFound: image ${imageId} does not exist`);
    const devices = ebsDevices(image);
    this.imageDevices.set(imageId, devices);
    return devices;
  }

  /**
   * The image already registered under `name`, if any. It must be built from the same snapshots:
   * launching another machine's (or another point's) image because two names collide would
   * restore the wrong data, so a mismatch is a ConflictError, not a reuse.
   */
  private async findImageByName(name: string, snapshots: SnapshotRef[]): Promise<string | undefined> {
    const out = await this.call('DescribeImages', () => this.client.send(new DescribeImagesCommand({
      Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }],
    })));
    const image = (out.Images ?? []).find((i) => i.Name === name && i.ImageId);
    if (!image) return undefined;
    const have = (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [])).sort();
    const want = snapshots.map((s) => s.snapshotId).sort();
    if (have.join() !== want.join()) {
      throw new ConflictError(`image name ${name} is already used by ${image.ImageId} over snapshots ${have.join(', ') || 'none'}, not ${want.join(', ')}`);
    }
    this.imageDevices.set(image.ImageId!, ebsDevices(image));
    return image.ImageId!;
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      throw mapEc2Error(operation, e);
    }
  }
}
