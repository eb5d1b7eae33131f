import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { cleanupTestRun } from '../../domain/failover/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { compute, stateStores } from '../shared/wiring.ts';

const input = z.looseObject({ runId: ids.runId, kind: ids.kind });
type Deps = Parameters<typeof cleanupTestRun>[0];

/**
 * Step Functions task: removes everything a test-mode run created (found by tags, so it
 * also finds what a crashed launch left) and verifies nothing remains.
 */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    const result = await cleanupTestRun(await deps())({ runId: task.runId });
    logger.info('test machines cleaned up', { terminated: result.terminated.length, deregistered: result.deregistered.length });
    metrics.addMetric('TestMachinesTerminated', MetricUnit.Count, result.terminated.length);
    return result;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, KMS_KEY_ID: configVars.KMS_KEY_ID }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const deps = { audit: stores.audit, compute: compute(config, p), clock: p.clock };
  return async () => deps;
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
