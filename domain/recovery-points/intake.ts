import { z } from 'zod';
import { checkShape, toIso, DRS_SOURCE_SERVER_ARN, idSchema, isIsoTimestamp, parseWith, quoted, UnsupportedEventError, ValidationError } from '../shared/index.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import type { MachineDirectory, RecoveryPointWriter, SnapshotDirectory } from '../ports/index.ts';
import { DEFAULT_SNAPSHOT_WINDOW_MINUTES } from '../inventory/index.ts';
import type { MachineFacts } from './machine-facts.ts';
import type { SnapshotInfo } from './snapshot-info.ts';
import type { RecoveryPoint } from './catalogue.ts';

/** Snapshot tags Cleanpoint reads: which machine a snapshot belongs to, and as which device. */
export const SNAPSHOT_TAG = { machine: 'cleanpoint:machine', device: 'cleanpoint:device' } as const;

const snapshotArn = z.string().max(2048).regex(/snapshot\/snap-[0-9a-f]+$/, 'must be an EBS snapshot ARN');
const ebsSingle = z.looseObject({
  source: z.literal('aws.ec2'),
  'detail-type': z.literal('EBS Snapshot Notification'),
  time: z.string().optional(),
  detail: z.looseObject({ event: z.literal('createSnapshot'), result: z.string(), snapshot_id: snapshotArn, startTime: z.string().optional() }),
});
const ebsMulti = z.looseObject({
  source: z.literal('aws.ec2'),
  'detail-type': z.literal('EBS Multi-Volume Snapshots Completion Status'),
  time: z.string().optional(),
  detail: z.looseObject({
    event: z.literal('createSnapshots'), result: z.string(), startTime: z.string().optional(),
    snapshots: z.array(z.looseObject({ snapshot_id: snapshotArn, status: z.string().optional() })).min(1),
  }),
});
const drsPit = z.looseObject({
  source: z.literal('aws.drs'),
  'detail-type': z.literal('DRS PIT Snapshot Taken'),
  time: z.string().refine(isIsoTimestamp, 'must be an ISO-8601 timestamp'),
  resources: z.array(idSchema(DRS_SOURCE_SERVER_ARN)).min(1),
  // DrsSnapshotID becomes part of a catalogue key (DynamoDB refuses sort keys over 1024 bytes):
  // DRS's own ids are `pit-` and 17 hex digits (21 characters); 128 is ours, for any future form.
  detail: z.looseObject({
    DrsSnapshotID: z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/, 'must be a DRS snapshot id'),
    EbsSnapshotIDs: z.string().max(4096).regex(/^[\sA-Za-z0-9,-]*$/, 'must be snapshot ids separated by commas').optional(),
  }),
});

const idFromArn = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
const normaliseSnapshotId = (id: string) => (id.startsWith('snap-') ? id : `snap-${id}`);

export interface RecordedPoints {
  recorded: RecoveryPoint[];
  /** Snapshots that belong to no protected machine (untagged or unknown machine). */
  ignored: { snapshotId: string; reason: string }[];
}

/**
 * recordRecoveryPoints(deps)(event)
 *
 * Keeps the catalogue current from EBS snapshot notifications and DRS "PIT Snapshot Taken".
 * 1. Accept only successful snapshot events (failed ones carry no usable point).
 * 2. Look up the snapshots' tags and start time (the events carry neither).
 * 3. Group them per machine (`cleanpoint:machine` tag, or the DRS source server in the
 *    inventory); a multi-volume set is one crash-consistent point.
 * 4. Describe the source machine (architecture, boot mode, platform, device name per volume)
 *    and keep it with the point. A single volume's snapshot of a machine with more volumes is
 *    assembled with the snapshots of its other volumes started within the group's window; a
 *    set that lacks a volume of the machine is `incomplete`, never launchable.
 * 5. Write each point idempotently: redelivered events rewrite the same point.
 */
export function recordRecoveryPoints(deps: { snapshots: SnapshotDirectory; writer: RecoveryPointWriter; index: InventoryIndex; machines?: MachineDirectory }) {
  return async (event: unknown): Promise<RecordedPoints> => {
    checkShape(event, 'snapshot event'); // before anything recursive sees it
    const e = event as { source?: unknown; 'detail-type'?: unknown };
    let snapshotIds: string[];
    let pointKey: string;
    let machineHint: string | undefined;
    let capturedHint: string | undefined;
    let source: RecoveryPoint['source'];
    let perVolume = false;
    if (e?.source === 'aws.drs') {
      const ev = parseWith(drsPit, event, 'DRS PIT snapshot event');
      const server = idFromArn(ev.resources[0]!);
      const entry = [...deps.index.machineById.values()].find((m) => m.machine.drsSourceServerId === server);
      if (!entry) return { recorded: [], ignored: [{ snapshotId: ev.detail.DrsSnapshotID, reason: `DRS source server ${server} is not in the inventory` }] };
      snapshotIds = (ev.detail.EbsSnapshotIDs ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(normaliseSnapshotId);
      pointKey = `drs-${ev.detail.DrsSnapshotID}`;
      machineHint = entry.machine.id;
      capturedHint = ev.time;
      source = 'drs';
    } else if (e?.['detail-type'] === 'EBS Multi-Volume Snapshots Completion Status') {
      const ev = parseWith(ebsMulti, event, 'EBS multi-volume snapshot event');
      if (ev.detail.result !== 'succeeded') throw new UnsupportedEventError(`createSnapshots result ${ev.detail.result}: nothing to record`);
      snapshotIds = ev.detail.snapshots.map((s) => idFromArn(s.snapshot_id));
      pointKey = `ebs-${[...snapshotIds].sort()[0]}`;
      source = 'ebs';
    } else if (e?.['detail-type'] === 'EBS Snapshot Notification') {
      const ev = parseWith(ebsSingle, event, 'EBS snapshot event');
      if (ev.detail.result !== 'succeeded') throw new UnsupportedEventError(`createSnapshot result ${ev.detail.result}: nothing to record`);
      snapshotIds = [idFromArn(ev.detail.snapshot_id)];
      pointKey = `ebs-${snapshotIds[0]}`;
      perVolume = true;
      source = 'ebs';
    } else {
      throw new UnsupportedEventError(`not a snapshot event (source ${quoted(e?.source)}, detail-type ${quoted(e?.['detail-type'])})`);
    }

    const infos = snapshotIds.length ? await deps.snapshots.describeSnapshots(snapshotIds) : [];
    const ignored: RecordedPoints['ignored'] = [];
    // A set with a snapshot that no longer exists cannot restore the machine (a data disk would be
    // missing): the point is kept but marked incomplete, so selection skips it.
    const missing = snapshotIds.filter((id) => !infos.some((i) => i.snapshotId === id));
    for (const id of missing) ignored.push({ snapshotId: id, reason: 'snapshot not found' });
    const byMachine = new Map<string, SnapshotInfo[]>();
    for (const info of infos) {
      const machineId = machineHint ?? info.tags[SNAPSHOT_TAG.machine];
      if (!machineId) { ignored.push({ snapshotId: info.snapshotId, reason: `no ${SNAPSHOT_TAG.machine} tag` }); continue; }
      if (!deps.index.machineById.has(machineId)) { ignored.push({ snapshotId: info.snapshotId, reason: `machine ${machineId} is not in the inventory` }); continue; }
      byMachine.set(machineId, [...(byMachine.get(machineId) ?? []), info]);
    }
    const recorded: RecoveryPoint[] = [];
    for (const [machineId, eventSnaps] of byMachine) {
      const entry = deps.index.machineById.get(machineId)!;
      // The machine as EC2 describes it now: architecture, boot mode, platform, which volume is
      // at which device. A source instance that is gone leaves the point without facts.
      const facts = deps.machines ? await deps.machines.describeMachine(entry.machine.instanceId) : null;
      let snaps = eventSnaps;
      let key = byMachine.size > 1 ? `${pointKey}-${machineId}` : pointKey;
      if (facts && perVolume && facts.blockDevices.length > 1) {
        // One volume's snapshot of a machine snapshotted volume by volume: the point is the
        // machine's snapshots that started within the group's window of this one, assembled
        // from EC2 itself, so every event of the set (in any order, redelivered or not) writes
        // the same point, complete once the last volume's snapshot is.
        const windowMs = (entry.group.snapshotWindowMinutes ?? DEFAULT_SNAPSHOT_WINDOW_MINUTES) * 60_000;
        const anchor = Math.min(...eventSnaps.map((x) => Date.parse(x.startTime)).filter(Number.isFinite));
        if (Number.isFinite(anchor)) {
          const around = await deps.machines!.snapshotsOfVolumes(facts.blockDevices.map((b) => b.volumeId), toIso(anchor - windowMs), toIso(anchor + windowMs));
          snaps = assembleAround(anchor, eventSnaps, around);
          const root = snaps.find((x) => deviceOf(facts, x) === facts.rootDeviceName);
          key = `ebs-${root?.snapshotId ?? [...snaps.map((x) => x.snapshotId)].sort()[0]}`;
        }
      }
      const times = snaps.map((x) => Date.parse(x.startTime)).filter(Number.isFinite);
      const capturedMs = capturedHint ? Date.parse(capturedHint) : times.length ? Math.min(...times) : NaN;
      if (!Number.isFinite(capturedMs)) throw new ValidationError('snapshot', [{ path: 'startTime', message: `no start time known for ${snaps.map((x) => x.snapshotId).join(', ')}` }]);
      const capturedAt = new Date(capturedMs).toISOString();
      const refs = snapshotRefs(snaps, facts);
      // Complete: every volume the machine has (as EC2 lists them) is in the set, each completed.
      const covered = facts ? facts.blockDevices.every((b) => snaps.some((x) => x.volumeId === b.volumeId)) : true;
      const point: RecoveryPoint = {
        machineId,
        pointId: key,
        capturedAt,
        status: missing.length === 0 && covered && snaps.every((x) => x.state === 'completed') ? 'available' : 'incomplete',
        scan: 'unscanned',
        snapshots: refs,
        source,
        ...(facts ? { machine: facts } : {}),
      };
      await deps.writer.putPoint(point);
      recorded.push(point);
    }
    return { recorded, ignored };
  };
}

/** Per volume, the snapshot nearest the anchor; the event's own snapshots always win for their volumes. */
function assembleAround(anchor: number, own: SnapshotInfo[], around: SnapshotInfo[]): SnapshotInfo[] {
  const byVolume = new Map<string, SnapshotInfo>();
  for (const x of own) if (x.volumeId) byVolume.set(x.volumeId, x);
  const distance = (x: SnapshotInfo) => Math.abs(Date.parse(x.startTime) - anchor);
  for (const x of around) {
    if (!x.volumeId || own.some((o) => o.volumeId === x.volumeId)) continue;
    const cur = byVolume.get(x.volumeId);
    if (!cur || distance(x) < distance(cur) || (distance(x) === distance(cur) && x.snapshotId < cur.snapshotId)) byVolume.set(x.volumeId, x);
  }
  return [...own.filter((x) => !x.volumeId), ...byVolume.values()];
}

/** The device a snapshot's volume is at on the source machine (its block device mapping), if known. */
function deviceOf(facts: MachineFacts | null, x: SnapshotInfo): string | undefined {
  return facts?.blockDevices.find((b) => b.volumeId === x.volumeId)?.deviceName;
}

/**
 * The point's disks, root first. The device name is the source machine's own for the volume;
 * without facts (instance gone) the `cleanpoint:device` tag, else by position as before.
 */
function snapshotRefs(snaps: SnapshotInfo[], facts: MachineFacts | null): RecoveryPoint['snapshots'] {
  const refs = snaps.map((x, i) => ({
    deviceName: deviceOf(facts, x) ?? x.tags[SNAPSHOT_TAG.device] ?? (i === 0 ? '/dev/xvda' : `/dev/xvd${String.fromCharCode(0x66 + i - 1)}`),
    snapshotId: x.snapshotId,
    ...(x.volumeSize ? { volumeSize: x.volumeSize } : {}),
    ...(x.volumeId ? { volumeId: x.volumeId } : {}),
  }));
  if (!facts) return refs;
  return refs.sort((a, b) => (a.deviceName === facts.rootDeviceName ? -1 : b.deviceName === facts.rootDeviceName ? 1 : a.deviceName.localeCompare(b.deviceName)));
}
