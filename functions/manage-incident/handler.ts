import { z } from 'zod';
import { manageIncident } from '../../domain/incidents/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { estate, stateStores, workflowEngine } from '../shared/wiring.ts';

const input = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('failback'), incidentId: ids.incidentId, by: z.string().min(1).max(128) }),
  z.strictObject({ action: z.literal('close'), incidentId: ids.incidentId, by: z.string().min(1).max(128), reason: z.string().min(1).max(1000) }),
]);
type Deps = Parameters<typeof manageIncident>[0];

/**
 * Invoked directly by an executor (CLI or console with their AWS credentials): start the
 * failback of a recovered incident, or close an incident without failback, giving a reason,
 * from any status (a run still going is stopped first: closeIncident).
 */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    const out = await manageIncident(await deps())(task);
    logger.info('incident managed', { action: task.action, incidentId: task.incidentId, executionName: out.executionName });
    return { incidentId: out.incident.incidentId, status: out.incident.status, ...(out.executionName ? { executionName: out.executionName } : {}) };
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  const config = loadConfig({
    STATE_TABLE: configVars.STATE_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
    FAILBACK_STATE_MACHINE_ARN: configVars.INCIDENT_STATE_MACHINE_ARN, INCIDENT_STATE_MACHINE_ARN: configVars.INCIDENT_STATE_MACHINE_ARN,
  }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const fixed = { incidents: stores.incidents, audit: stores.audit, workflows: workflowEngine({ FAILBACK_STATE_MACHINE_ARN: config.FAILBACK_STATE_MACHINE_ARN, INCIDENT_STATE_MACHINE_ARN: config.INCIDENT_STATE_MACHINE_ARN }, p), clock: p.clock };
  return async () => ({ ...fixed, index: (await estate(config, p)).index });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
