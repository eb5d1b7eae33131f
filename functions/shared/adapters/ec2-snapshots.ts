import { DescribeSnapshotsCommand, type EC2Client, type Snapshot } from '@aws-sdk/client-ec2';
import type { SnapshotDirectory } from '../../../domain/ports/index.ts';
import type { SnapshotInfo } from '../../../domain/recovery-points/index.ts';
import { ec2ErrorCode, mapEc2Error } from './ec2-compute.ts';

const ID_BATCH = 100;
const STATES: readonly SnapshotInfo['state'][] = ['pending', 'completed', 'error', 'recoverable', 'recovering'];

function toInfo(s: Snapshot): SnapshotInfo {
  const tags: Record<string, string> = {};
  for (const t of s.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  const state = STATES.find((x) => x === s.State) ?? 'pending';
  return {
    snapshotId: s.SnapshotId!,
    state,
    // An unknown start time stays empty: the catalogue refuses a point it cannot place in time.
    startTime: s.StartTime ? s.StartTime.toISOString() : '',
    ...(s.VolumeId ? { volumeId: s.VolumeId } : {}),
    ...(s.VolumeSize !== undefined ? { volumeSize: s.VolumeSize } : {}),
    tags,
  };
}

/**
 * Snapshot metadata EBS notifications do not carry (tags, start time, size), from
 * DescribeSnapshots. Snapshots that do not exist (deleted since the event) are left out of the
 * answer rather than failing the lookup of the others; the caller sees which ids came back.
 */
export class Ec2SnapshotDirectory implements SnapshotDirectory {
  constructor(private readonly client: EC2Client) {}

  async describeSnapshots(snapshotIds: string[]): Promise<SnapshotInfo[]> {
    const ids = [...new Set(snapshotIds)];
    const found = new Map<string, SnapshotInfo>();
    for (let i = 0; i < ids.length; i += ID_BATCH) {
      for (const s of await this.describeBatch(ids.slice(i, i + ID_BATCH))) found.set(s.snapshotId, s);
    }
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  /** One unknown id fails the whole call (InvalidSnapshot.NotFound): then ask id by id. */
  private async describeBatch(ids: string[]): Promise<SnapshotInfo[]> {
    if (ids.length === 0) return [];
    try {
      const infos: SnapshotInfo[] = [];
      let token: string | undefined;
      do {
        // SnapshotIds cannot be combined with MaxResults; EC2 still pages with NextToken.
        const out = await this.client.send(new DescribeSnapshotsCommand({ SnapshotIds: ids, NextToken: token }));
        infos.push(...(out.Snapshots ?? []).filter((s) => s.SnapshotId).map(toInfo));
        token = out.NextToken || undefined;
      } while (token);
      return infos;
    } catch (e) {
      if (ec2ErrorCode(e) !== 'InvalidSnapshot.NotFound') throw mapEc2Error('DescribeSnapshots', e);
      if (ids.length === 1) return [];
      const each: SnapshotInfo[] = [];
      for (const id of ids) each.push(...(await this.describeBatch([id])));
      return each;
    }
  }
}
