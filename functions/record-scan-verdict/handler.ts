import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { recordScanVerdict, type ScanVerdictDeps, type ScanVerdictResult } from '../../domain/recovery-points/index.ts';
import { Ec2ImageDirectory } from '../shared/adapters/ec2-images.ts';
import { ec2Client } from '../shared/clients.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { catalogStore, clock, estate, eventPublisher, stateStores } from '../shared/wiring.ts';

const config = loadConfig({
  CATALOG_TABLE: configVars.CATALOG_TABLE, STATE_TABLE: configVars.STATE_TABLE, EVENT_BUS_NAME: configVars.EVENT_BUS_NAME,
  INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
});
const fixed = { catalog: catalogStore(config), images: new Ec2ImageDirectory(ec2Client), audit: stateStores(config).audit, events: eventPublisher(config), clock };

/**
 * GuardDuty Malware Protection for Backup findings and AWS Backup "Scan Job State Change" ▶
 * verdicts on catalogue points. EventBridge delivers at least once and out of order: the use
 * case writes a point only when the verdict or its evidence changes, so redeliveries are no-ops.
 * An event that is not a usable verdict throws (ValidationError/UnsupportedEventError) and ends
 * in the dead-letter queue; a verdict on a resource no point holds is logged, not an error.
 */
export function makeHandler(deps: () => Promise<ScanVerdictDeps>) {
  return async (event: unknown): Promise<ScanVerdictResult> => {
    const result = await recordScanVerdict(await deps())(event);
    logger.appendKeys({ scanId: result.scanId });
    if (result.unmapped) logger.warn('scan verdict names no catalogue point', { target: result.target, verdict: result.verdict, reason: result.unmapped });
    else logger.info('scan verdict recorded', { source: result.source, verdict: result.verdict, ignored: result.ignored, points: result.points });
    const changed = result.points.filter((p) => p.outcome === 'verdict-changed');
    if (changed.length) metrics.addMetric(result.verdict === 'infected' ? 'PointsMarkedInfected' : 'PointsMarkedClean', MetricUnit.Count, changed.length);
    if (result.unmapped && result.verdict === 'infected') metrics.addMetric('UnmappedInfectedVerdicts', MetricUnit.Count, 1);
    return result;
  };
}

export const handler = lambda(makeHandler(async () => ({ ...fixed, index: (await estate(config)).index })));
