import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { isSnapshotDeletion, recordRecoveryPoints, recordSnapshotDeletion, type RecordedPoints } from '../../domain/recovery-points/index.ts';
import type { Clock } from '../../domain/shared/index.ts';
import type { InventoryIndex } from '../../domain/inventory/index.ts';
import type { AuditLog, EventPublisher, MachineDirectory, RecoveryPointSnapshotIndex, RecoveryPointWriter, SnapshotDirectory } from '../../domain/ports/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics, refusalsLogged } from '../shared/observability.ts';
import { catalogStore, estate, eventPublisher, machineDirectory, snapshotDirectory, stateStores } from '../shared/wiring.ts';

export interface Deps {
  snapshots: SnapshotDirectory; writer: RecoveryPointWriter & RecoveryPointSnapshotIndex; index: InventoryIndex;
  /** The source machines as EC2 describes them (absent in older tests: points then carry no facts). */
  machines?: MachineDirectory;
  audit: AuditLog; events: EventPublisher; clock: Clock;
}

/**
 * EBS snapshot notifications and DRS "PIT Snapshot Taken" → catalogue; a DeleteSnapshot call
 * (CloudTrail) → the points that need the snapshot expire. Writes are idempotent by point id,
 * so EventBridge's redeliveries rewrite the same point.
 */
export function makeHandler(deps: () => Promise<Deps>) {
  type Out = { recorded: { machineId: string; pointId: string; capturedAt: string }[]; ignored: RecordedPoints['ignored']; expired?: { machineId: string; pointId: string }[] };
  return (event: unknown): Promise<Out> => refusalsLogged('snapshot event', async () => {
    const d = await deps();
    if (isSnapshotDeletion(event)) {
      const out = await recordSnapshotDeletion({ catalog: d.writer, audit: d.audit, events: d.events, clock: d.clock })(event);
      logger.info('snapshot deleted', { snapshotId: out.snapshotId, expired: out.expired.length, ignored: out.ignored });
      return { recorded: [], ignored: out.ignored ? [{ snapshotId: out.snapshotId, reason: out.ignored }] : [], expired: out.expired };
    }
    const result = await recordRecoveryPoints(d)(event);
    for (const i of result.ignored) logger.info('snapshot ignored', i);
    if (result.recorded.length) metrics.addMetric('RecoveryPointsRecorded', MetricUnit.Count, result.recorded.length);
    return { recorded: result.recorded.map((p) => ({ machineId: p.machineId, pointId: p.pointId, capturedAt: p.capturedAt })), ignored: result.ignored };
  });
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  const config = loadConfig({ CATALOG_TABLE: configVars.CATALOG_TABLE, STATE_TABLE: configVars.STATE_TABLE, EVENT_BUS_NAME: configVars.EVENT_BUS_NAME, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE }, env);
  const p = platform(overrides);
  const fixed = { snapshots: snapshotDirectory(p), machines: machineDirectory(p), writer: catalogStore(config, p), audit: stateStores(config, p).audit, events: eventPublisher(config, p), clock: p.clock };
  return async () => ({ ...fixed, index: (await estate(config, p)).index });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
