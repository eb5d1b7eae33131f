import { z } from 'zod';
import { INSTANCE_ID } from '../../domain/shared/index.ts';
import { checkMachine } from '../../domain/failover/index.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { clock, compute, stateStores } from '../shared/wiring.ts';

const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, KMS_KEY_ID: configVars.KMS_KEY_ID });
const stores = stateStores(config);
const provider = compute(config);
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

export const handler = lambda(makeHandler(async () => ({ runs: stores.runs, audit: stores.audit, compute: provider, clock })));
