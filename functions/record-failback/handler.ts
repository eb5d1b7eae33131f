import { z } from 'zod';
import { recordFailback, recordFailbackNotApproved } from '../../domain/failover/index.ts';
import { onFirstUse, type Env, type Overrides } from '../shared/compose.ts';
import { composeRecorder } from '../shared/composers.ts';
import { lambda } from '../shared/middleware.ts';
import { caughtError, describeCaught, ids, taskInput } from '../shared/task-input.ts';

const input = z.strictObject({
  incidentId: ids.incidentId,
  result: z.enum(['completed', 'failed', 'not-approved']),
  error: caughtError.optional(),
});
type Deps = Parameters<typeof recordFailback>[0] & Parameters<typeof recordFailbackNotApproved>[0];

/**
 * Step Functions task: close the incident after a verified failback, or keep it pending; or,
 * when the deciders rejected the failback (or nobody decided in time), record that and leave
 * the incident as it was.
 */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    const error = describeCaught(task.error);
    if (task.result === 'not-approved') {
      const timedOut = typeof task.error === 'object' && task.error.Error === 'States.Timeout';
      const out = await recordFailbackNotApproved(await deps())({
        incidentId: task.incidentId, timedOut, why: timedOut ? 'nobody decided in time' : error ?? 'the callback did not say approved',
      });
      return { incidentId: task.incidentId, result: task.result, status: out.status };
    }
    const out = await recordFailback(await deps())({ incidentId: task.incidentId, result: task.result, ...(error ? { error } : {}) });
    return { incidentId: task.incidentId, result: out.result, runId: out.runId };
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  return composeRecorder(env, overrides);
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
