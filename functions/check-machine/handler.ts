import { z } from 'zod';
import { INSTANCE_ID } from '../../domain/shared/index.ts';
import { checkMachine } from '../../domain/failover/index.ts';
import { onFirstUse, type Env, type Overrides } from '../shared/compose.ts';
import { composeRunCompute } from '../shared/composers.ts';
import { lambda } from '../shared/middleware.ts';
import { ids, taskInput } from '../shared/task-input.ts';

const input = z.looseObject({ runId: ids.runId, kind: ids.kind, machineId: ids.machineId, instanceId: z.string().regex(INSTANCE_ID.pattern) });
type Deps = Parameters<typeof checkMachine>[0];

/**
 * Step Functions task: throws MachineNotReadyError while the instance boots (the workflow
 * retries with backoff) and MachineCheckFailedError when it will never be ready.
 */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    const result = await checkMachine(await deps())({ runId: task.runId, machineId: task.machineId });
    return { runId: task.runId, kind: task.kind, machineId: task.machineId, instanceId: result.instanceId, ready: true };
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  return composeRunCompute(env, overrides);
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
