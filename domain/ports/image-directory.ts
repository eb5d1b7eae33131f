/** The EBS snapshots behind an AMI's block devices (EC2 DescribeImages, read-only). */
export interface ImageDirectory {
  /** Snapshot ids of the image's EBS block devices, or null when the image does not exist (any more). */
  imageSnapshots(imageId: string): Promise<string[] | null>;
}
