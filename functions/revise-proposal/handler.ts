import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { reviseOnEvent, type ReviseDeps } from '../../domain/incidents/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { parseWith } from '../../domain/shared/index.ts';
import { ids } from '../shared/task-input.ts';
import { catalogStore, stateStores, workflowEngine } from '../shared/wiring.ts';

const event = z.looseObject({
  source: z.literal('cleanpoint'),
  'detail-type': z.enum(['Incident Evidence Changed', 'Recovery Point Verdict Changed', 'Recovery Point Status Changed']),
  detail: z.looseObject({
    incidentId: ids.incidentId.optional(),
    machineId: ids.machineId.optional(),
    pointId: z.string().min(1).max(256).optional(),
  }),
});

/**
 * `cleanpoint` bus ▶ re-judge pending proposals against the evidence as it is now. A request
 * whose points no longer stand is superseded and its waiting task failed with
 * ProposalSuperseded, so the incident workflow selects again and asks again.
 */
export function makeHandler(deps: () => Promise<ReviseDeps>) {
  return async (raw: unknown) => {
    const e = parseWith(event, raw, 'cleanpoint event');
    const results = await reviseOnEvent(await deps())({ detailType: e['detail-type'], detail: e.detail });
    const superseded = results.flatMap((r) => r.superseded);
    logger.info('proposals revised', { trigger: e['detail-type'], incidents: results.map((r) => r.incidentId), superseded: superseded.length });
    if (superseded.length) metrics.addMetric('ProposalsSuperseded', MetricUnit.Count, superseded.length);
    return { superseded, stillValid: results.flatMap((r) => r.stillValid) };
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<ReviseDeps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, CATALOG_TABLE: configVars.CATALOG_TABLE, INCIDENT_STATE_MACHINE_ARN: configVars.INCIDENT_STATE_MACHINE_ARN }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const deps = { incidents: stores.incidents, approvals: stores.approvals, audit: stores.audit, catalog: catalogStore(config, p), workflows: workflowEngine(config, p), clock: p.clock };
  return async () => deps;
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
