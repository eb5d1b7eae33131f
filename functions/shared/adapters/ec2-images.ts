import { DescribeImagesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { ImageDirectory } from '../../../domain/ports/index.ts';
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
