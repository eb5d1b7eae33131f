import { z } from 'zod';
import { retireRunMachines } from '../../domain/failover/index.ts';
import { onFirstUse, type Env, type Overrides } from '../shared/compose.ts';
import { composeRunCompute } from '../shared/composers.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';

const input = z.strictObject({ runId: ids.runId });
type Deps = Parameters<typeof retireRunMachines>[0];

/** Step Functions task: terminate a run's machines and deregister its images, then verify. */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const out = await retireRunMachines(await deps())(taskInput(input, event));
    logger.info('run machines retired', { terminated: out.terminated.length, deregistered: out.deregistered.length });
    return out;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  return composeRunCompute(env, overrides);
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
