import type { MachineFacts, SnapshotInfo } from '../recovery-points/model.ts';

/**
 * The source machines as EC2 describes them (read-only): what a recovery point must carry to
 * boot again (architecture, boot mode, platform, disk layout), and the snapshots of a machine's
 * volumes around a moment (a machine snapshotted volume by volume).
 */
export interface MachineDirectory {
  /** The instance and its AMI described now; null when the instance does not exist (any more). */
  describeMachine(instanceId: string): Promise<MachineFacts | null>;
  /** Snapshots this account owns of these volumes that started within [from, to] (ISO), any state. */
  snapshotsOfVolumes(volumeIds: string[], from: string, to: string): Promise<SnapshotInfo[]>;
}
