import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { recordRecoveryPoints, type RecordedPoints } from '../../domain/catalogue-intake.ts';
import type { InventoryIndex } from '../../domain/inventory.ts';
import type { RecoveryPointWriter, SnapshotDirectory } from '../../domain/ports.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { catalogStore, estate, snapshotDirectory } from '../shared/wiring.ts';

const config = loadConfig({ CATALOG_TABLE: configVars.CATALOG_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE });
const writer = catalogStore(config);
const snapshots = snapshotDirectory();

/**
 * EBS snapshot notifications and DRS "PIT Snapshot Taken" → catalogue. Writes are idempotent
 * by point id, so EventBridge's redeliveries rewrite the same point.
 */
export function makeHandler(deps: () => Promise<{ snapshots: SnapshotDirectory; writer: RecoveryPointWriter; index: InventoryIndex }>) {
  return async (event: unknown): Promise<{ recorded: { machineId: string; pointId: string; capturedAt: string }[]; ignored: RecordedPoints['ignored'] }> => {
    const result = await recordRecoveryPoints(await deps())(event);
    for (const i of result.ignored) logger.info('snapshot ignored', i);
    if (result.recorded.length) metrics.addMetric('RecoveryPointsRecorded', MetricUnit.Count, result.recorded.length);
    return { recorded: result.recorded.map((p) => ({ machineId: p.machineId, pointId: p.pointId, capturedAt: p.capturedAt })), ignored: result.ignored };
  };
}

export const handler = lambda(makeHandler(async () => ({ snapshots, writer, index: (await estate(config)).index })));
