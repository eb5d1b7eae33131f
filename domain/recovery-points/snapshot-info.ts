/** An EBS snapshot's metadata (tags, start time) that EBS notifications do not carry. */
export interface SnapshotInfo {
  snapshotId: string;
  state: 'pending' | 'completed' | 'error' | 'recoverable' | 'recovering';
  startTime: string;
  volumeId?: string;
  volumeSize?: number;
  tags: Record<string, string>;
}
