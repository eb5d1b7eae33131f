import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { intakeFinding, type IntakeDeps, type IntakeResult } from '../../domain/findings/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics, refusalsLogged } from '../shared/observability.ts';
import { catalogStore, estate, eventPublisher, notifier, stateStores, workflowEngine } from '../shared/wiring.ts';

/**
 * EventBridge → GuardDuty finding. EventBridge delivers at least once and GuardDuty re-sends
 * recurring findings: intakeFinding makes every delivery after the first a no-op. An event
 * that is not a usable finding throws (ValidationError/UnsupportedEventError) so it ends in the
 * dead-letter queue, where it can be inspected, rather than vanishing.
 */
export function makeHandler(deps: () => Promise<IntakeDeps>) {
  return async (event: unknown): Promise<Omit<IntakeResult, 'incident' | 'assessment'> & { action: string }> => {
    const result = await refusalsLogged('finding', async () => intakeFinding(await deps())(event));
    logger.appendKeys({ incidentId: result.incidentId });
    logger.info('finding assessed', { delivery: result.delivery, action: result.assessment.action, created: result.created, correlated: result.correlated });
    if (result.created) metrics.addMetric(result.assessment.action === 'failover-proposal' ? 'FailoverProposals' : 'IncidentsOpened', MetricUnit.Count, 1);
    if (result.delivery === 'duplicate') metrics.addMetric('DuplicateDeliveries', MetricUnit.Count, 1);
    const { incident: _i, assessment, ...rest } = result;
    return { ...rest, action: assessment.action };
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<IntakeDeps> {
  const config = loadConfig({
    STATE_TABLE: configVars.STATE_TABLE, CATALOG_TABLE: configVars.CATALOG_TABLE, EVENT_BUS_NAME: configVars.EVENT_BUS_NAME, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
    POLICY_SOURCE: configVars.POLICY_SOURCE, INCIDENT_STATE_MACHINE_ARN: configVars.INCIDENT_STATE_MACHINE_ARN,
    NOTIFY_EMAIL_FROM: configVars.NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO: configVars.NOTIFY_EMAIL_TO,
  }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  // runs + catalog: a compromise of an instance Cleanpoint launched marks the point it came from infected.
  const fixed = {
    store: stores.incidents, audit: stores.audit, workflows: workflowEngine(config, p), events: eventPublisher(config, p), notifier: notifier(config, p), clock: p.clock,
    runs: stores.runs, catalog: catalogStore(config, p),
  };
  return async () => ({ ...(await estate(config, p)), ...fixed });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
