import type { SnapshotInfo } from '../recovery-points/model.ts';

/** Looks up snapshot metadata (tags, start time) that EBS notifications do not carry. */
export interface SnapshotDirectory {
  describeSnapshots(snapshotIds: string[]): Promise<SnapshotInfo[]>;
}
