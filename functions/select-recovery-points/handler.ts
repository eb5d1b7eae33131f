import { z } from 'zod';
import { selectForIncident } from '../../domain/recovery-points/index.ts';
import { onFirstUse, type Env, type Overrides } from '../shared/compose.ts';
import { composePlanner } from '../shared/composers.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';


const input = z.strictObject({ incidentId: ids.incidentId, groupCutoffs: z.record(z.string(), z.string()).optional() });
type Deps = Parameters<typeof selectForIncident>[0];

/** Step Functions task: latest clean point per machine; the proposal is stored, a summary returned. */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const result = await selectForIncident(await deps())(taskInput(input, event));
    logger.info('recovery points selected', { machines: result.machineCount, blockers: result.blockerCount, ready: result.ready });
    return result;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  return composePlanner(env, overrides);
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
