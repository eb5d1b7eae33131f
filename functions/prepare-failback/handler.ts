import { z } from 'zod';
import { prepareFailback, type FailbackDeps } from '../../domain/failover/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { compute, estate, stateStores } from '../shared/wiring.ts';

const input = z.strictObject({ incidentId: ids.incidentId, requestedBy: z.string().min(1).max(128) });

/** Step Functions task: snapshot the recovery machines and store the failback run. */
export function makeHandler(deps: () => Promise<FailbackDeps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    const out = await prepareFailback(await deps())({ incidentId: task.incidentId, requestedBy: task.requestedBy });
    logger.info('failback prepared', { runId: out.runId });
    return out;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<FailbackDeps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, KMS_KEY_ID: configVars.KMS_KEY_ID, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const fixed = { incidents: stores.incidents, runs: stores.runs, audit: stores.audit, compute: compute(config, p), clock: p.clock };
  return async () => ({ ...fixed, index: (await estate(config, p)).index });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
