import type { InstanceView } from '../inventory/index.ts';
import type { SnapshotRef } from '../recovery-points/model.ts';
import type { MachineFacts } from '../recovery-points/model.ts';

export interface LaunchRequest {
  imageId: string;
  instanceType: string;
  subnetId: string;
  securityGroupIds: string[];
  /** EC2 idempotency token: the same token returns the same instance on a retry. */
  clientToken: string;
  kmsKeyId?: string;
  /** Instance profile the instance runs with (RunInstances IamInstanceProfile.Arn); the caller must be allowed to pass its role. */
  instanceProfileArn?: string;
  /** Primary private IPv4 address to keep (recovery mode, preservePrivateIp); must lie in the subnet and be free. */
  privateIpAddress?: string;
  /** User data as plain text (the adapter base64-encodes it, as RunInstances wants); at most 16 KB raw. */
  userData?: string;
  tags: Record<string, string>;
}

/** What an image is registered from: the point's snapshots and, when captured, the source machine's facts. */
export interface RegisterImageInput {
  name: string;
  snapshots: SnapshotRef[];
  tags: Record<string, string>;
  /** Architecture, boot mode, TPM, ENA, root device of the source (absent: an older point; x86_64, first snapshot as root). */
  machine?: MachineFacts;
}

/** Launch machines from recovery points (EC2 snapshots first; DRS as a second backend). */
export interface ComputeProvider {
  /** Register (or find, by name) an image from a point's snapshots. */
  registerImage(input: RegisterImageInput): Promise<{ imageId: string }>;
  /** Throws ThrottledError / InsufficientCapacityError / TransientError for the launcher to handle. */
  runInstance(request: LaunchRequest): Promise<{ instanceId: string }>;
  describeInstances(instanceIds: string[]): Promise<InstanceView[]>;
  terminateInstances(instanceIds: string[]): Promise<void>;
  deregisterImage(imageId: string): Promise<void>;
  /** Everything not yet deleted that carries all these tags (instances not terminated, images). */
  findTagged(tags: Record<string, string>): Promise<{ instances: InstanceView[]; imageIds: string[] }>;
  /**
   * Crash-consistent snapshots of all of an instance's volumes (CreateSnapshots), tagged. Idempotent:
   * snapshots already carrying `tags` for this instance are returned instead of taking new ones.
   */
  snapshotInstance(instanceId: string, tags: Record<string, string>): Promise<{ snapshots: SnapshotRef[] }>;
}
