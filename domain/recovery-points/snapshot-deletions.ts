import { z } from 'zod';
import { checkShape, idSchema, NotFoundError, parseWith, SNAPSHOT_ID, toIso, UnsupportedEventError, type Clock } from '../shared/index.ts';
import type { AuditLog, EventPublisher, RecoveryPointSnapshotIndex, RecoveryPointWriter } from '../ports/index.ts';
import { catalogAuditStream } from './verdicts.ts';

/**
 * A snapshot deleted in EC2 takes every catalogue point that needs it with it: such a point can
 * no longer be restored. EC2 reports deletions only through CloudTrail (`AWS API Call via
 * CloudTrail`, eventName DeleteSnapshot, delivered to the default bus on a best-effort basis);
 * the launch checks EC2 itself again before every launch, so a lost event cannot launch a
 * deleted point — it only notices later.
 */
const deleteSnapshotSchema = z.looseObject({
  source: z.literal('aws.ec2'),
  'detail-type': z.literal('AWS API Call via CloudTrail'),
  time: z.string().optional(),
  detail: z.looseObject({
    eventSource: z.literal('ec2.amazonaws.com'),
    eventName: z.literal('DeleteSnapshot'),
    eventTime: z.string().optional(),
    errorCode: z.string().max(256).optional(),
    requestParameters: z.looseObject({ snapshotId: idSchema(SNAPSHOT_ID) }),
  }),
});

export function isSnapshotDeletion(event: unknown): boolean {
  const e = event as { source?: unknown; 'detail-type'?: unknown; detail?: { eventName?: unknown } } | null;
  return e?.source === 'aws.ec2' && e['detail-type'] === 'AWS API Call via CloudTrail' && e.detail?.eventName === 'DeleteSnapshot';
}

export interface DeletionResult { snapshotId: string; expired: { machineId: string; pointId: string }[]; ignored: string | null }

/**
 * recordSnapshotDeletion(deps)(event)
 *
 * 1. Accept only a successful DeleteSnapshot call (a refused call deleted nothing).
 * 2. Mark every point that holds the snapshot `expired` (idempotent: a redelivery marks it again),
 *    audit it in the machine's catalogue stream, and announce `Recovery Point Status Changed`, so
 *    a pending proposal that chose the point is superseded.
 */
export function recordSnapshotDeletion(deps: {
  catalog: RecoveryPointSnapshotIndex & Pick<RecoveryPointWriter, 'markPoint'>; audit: AuditLog; events: EventPublisher; clock: Clock;
}) {
  return async (event: unknown): Promise<DeletionResult> => {
    checkShape(event, 'DeleteSnapshot event'); // before anything recursive sees it
    if (!isSnapshotDeletion(event)) throw new UnsupportedEventError('not a DeleteSnapshot call recorded by CloudTrail');
    const e = parseWith(deleteSnapshotSchema, event, 'DeleteSnapshot event');
    const snapshotId = e.detail.requestParameters.snapshotId;
    if (e.detail.errorCode) return { snapshotId, expired: [], ignored: `the call failed (${e.detail.errorCode}): nothing was deleted` };
    const expired: DeletionResult['expired'] = [];
    const at = toIso(deps.clock.now());
    for (const point of await deps.catalog.findPointsBySnapshot(snapshotId)) {
      if (point.status === 'expired') continue;
      try {
        await deps.catalog.markPoint(point.machineId, point.pointId, { status: 'expired' });
      } catch (err) {
        if (err instanceof NotFoundError) continue; // moved or removed meanwhile
        throw err;
      }
      expired.push({ machineId: point.machineId, pointId: point.pointId });
      await deps.audit.append(catalogAuditStream(point.machineId), {
        type: 'point.expired', actor: 'aws.ec2', at,
        data: { pointId: point.pointId, snapshotId, outcome: `snapshot ${snapshotId} was deleted (DeleteSnapshot at ${e.detail.eventTime ?? e.time ?? 'an unknown time'})` },
      });
      await deps.events.publish([{ detailType: 'Recovery Point Status Changed', detail: { machineId: point.machineId, pointId: point.pointId, status: 'expired', snapshotId } }]);
    }
    return { snapshotId, expired, ignored: expired.length ? null : 'no catalogue point holds this snapshot (or it was already expired)' };
  };
}
