import { z } from 'zod';
import { startDrill, type StartDrillDeps } from '../../domain/drills/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { catalogStore, estate, stateStores } from '../shared/wiring.ts';

export const startDrillInput = z.strictObject({
  drillId: ids.runId,
  group: z.string().min(1).max(128),
  point: z.string().min(1).max(256),
  trigger: z.enum(['schedule', 'on-demand']),
  requestedBy: z.string().min(1).max(128),
});

/**
 * Step Functions task (first of the drill machine): the drill record, the recovery points
 * (one cutoff for the group) and the run; returns the waves for the failover machine.
 */
export function makeHandler(deps: () => Promise<StartDrillDeps>) {
  return async (event: unknown) => {
    const task = taskInput(startDrillInput, event);
    logger.appendKeys({ runId: task.drillId });
    const plan = await startDrill(await deps())(task);
    logger.info('drill started', { group: task.group, point: task.point, trigger: task.trigger, waves: plan.waves.length });
    return plan;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<StartDrillDeps> {
  const config = loadConfig({
    STATE_TABLE: configVars.STATE_TABLE, CATALOG_TABLE: configVars.CATALOG_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, POLICY_SOURCE: configVars.POLICY_SOURCE,
  }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const fixed = { drills: stores.drills, runs: stores.runs, incidents: stores.incidents, audit: stores.audit, catalog: catalogStore(config, p), clock: p.clock };
  return async () => ({ ...fixed, ...(await estate(config, p)) });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
