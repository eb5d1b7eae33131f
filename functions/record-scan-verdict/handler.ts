import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { recordScanVerdict, type ScanVerdictDeps, type ScanVerdictResult } from '../../domain/recovery-points/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics, refusalsLogged } from '../shared/observability.ts';
import { catalogStore, estate, eventPublisher, imageDirectory, stateStores } from '../shared/wiring.ts';

/**
 * GuardDuty Malware Protection for Backup findings and AWS Backup "Scan Job State Change" ▶
 * verdicts on catalogue points. EventBridge delivers at least once and out of order: the use
 * case writes a point only when the verdict or its evidence changes, so redeliveries are no-ops.
 * An event that is not a usable verdict throws (ValidationError/UnsupportedEventError) and ends
 * in the dead-letter queue; a verdict on a resource no point holds is logged, not an error.
 */
export function makeHandler(deps: () => Promise<ScanVerdictDeps>) {
  return async (event: unknown): Promise<ScanVerdictResult> => {
    const result = await refusalsLogged('scan verdict event', async () => recordScanVerdict(await deps())(event));
    logger.appendKeys({ scanId: result.scanId });
    if (result.unmapped) logger.warn('scan verdict names no catalogue point', { target: result.target, verdict: result.verdict, reason: result.unmapped });
    else logger.info('scan verdict recorded', { source: result.source, verdict: result.verdict, ignored: result.ignored, points: result.points });
    const changed = result.points.filter((p) => p.outcome === 'verdict-changed');
    if (changed.length) metrics.addMetric(result.verdict === 'infected' ? 'PointsMarkedInfected' : 'PointsMarkedClean', MetricUnit.Count, changed.length);
    if (result.unmapped && result.verdict === 'infected') metrics.addMetric('UnmappedInfectedVerdicts', MetricUnit.Count, 1);
    return result;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<ScanVerdictDeps> {
  const config = loadConfig({
    CATALOG_TABLE: configVars.CATALOG_TABLE, STATE_TABLE: configVars.STATE_TABLE, EVENT_BUS_NAME: configVars.EVENT_BUS_NAME,
    INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
  }, env);
  const p = platform(overrides);
  const fixed = { catalog: catalogStore(config, p), images: imageDirectory(p), audit: stateStores(config, p).audit, events: eventPublisher(config, p), clock: p.clock };
  return async () => ({ ...fixed, index: (await estate(config, p)).index });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
