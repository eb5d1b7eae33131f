import { z } from 'zod';
import { recordFailback } from '../../domain/failback.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { clock, stateStores } from '../shared/wiring.ts';

const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE });
const stores = stateStores(config);
const input = z.looseObject({
  incidentId: ids.incidentId,
  result: z.enum(['completed', 'failed']),
  error: z.union([z.string(), z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() })]).optional(),
});
type Deps = Parameters<typeof recordFailback>[0];

/** Step Functions task: close the incident after a verified failback, or keep it pending. */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    const error = typeof task.error === 'string' ? task.error : task.error ? `${task.error.Error ?? 'Error'}: ${task.error.Cause ?? ''}` : undefined;
    const out = await recordFailback(await deps())({ incidentId: task.incidentId, result: task.result, ...(error ? { error } : {}) });
    return { incidentId: task.incidentId, result: out.result, runId: out.runId };
  };
}

export const handler = lambda(makeHandler(async () => ({ incidents: stores.incidents, runs: stores.runs, audit: stores.audit, clock })));
