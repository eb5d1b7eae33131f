import { z } from 'zod';
import { prepareFailback, type FailbackDeps } from '../../domain/failover/index.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { clock, compute, estate, stateStores } from '../shared/wiring.ts';

const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, KMS_KEY_ID: configVars.KMS_KEY_ID, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE });
const stores = stateStores(config);
const provider = compute(config);
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

export const handler = lambda(makeHandler(async () => ({ incidents: stores.incidents, runs: stores.runs, audit: stores.audit, compute: provider, index: (await estate(config)).index, clock })));
