import { z } from 'zod';
import { planIncidentRun } from '../../domain/failover/index.ts';
import { onFirstUse, type Env, type Overrides } from '../shared/compose.ts';
import { composePlanner } from '../shared/composers.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';

const input = z.strictObject({ incidentId: ids.incidentId, approvalId: ids.approvalId });
type Deps = Parameters<typeof planIncidentRun>[0];

/** Step Functions task: the approved selection becomes per-machine run records and waves. */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const plan = await planIncidentRun(await deps())(taskInput(input, event));
    logger.info('failover planned', { runId: plan.runId, mode: plan.mode, waves: plan.waves.length, machines: plan.waves.reduce((n, w) => n + w.machines.length, 0) });
    return plan;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  return composePlanner(env, overrides);
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
