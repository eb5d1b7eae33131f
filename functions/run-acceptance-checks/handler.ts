import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { runAcceptanceChecks, type AcceptanceDeps } from '../../domain/drills/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { acceptanceChecker, compute, estate, stateStores } from '../shared/wiring.ts';

const input = z.strictObject({ drillId: ids.runId });

/**
 * Step Functions task: every acceptance check of the drilled group, from inside its test
 * network, each until it passes or its timeout. Throws MachineCheckFailedError naming the
 * failed checks (the workflow records the drill as failed and cleans up). The function's own
 * timeout bounds the step: a check's timeout is capped at 600 s.
 */
export function makeHandler(deps: () => Promise<AcceptanceDeps>) {
  return async (event: unknown) => {
    const { drillId } = taskInput(input, event);
    logger.appendKeys({ runId: drillId });
    try {
      const out = await runAcceptanceChecks(await deps())({ drillId });
      logger.info('acceptance checks passed', { total: out.total });
      metrics.addMetric('DrillChecksPassed', MetricUnit.Count, out.passed);
      return out;
    } catch (e) {
      metrics.addMetric('DrillChecksFailed', MetricUnit.Count, 1);
      throw e;
    }
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<AcceptanceDeps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, KMS_KEY_ID: configVars.KMS_KEY_ID, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const fixed = { drills: stores.drills, runs: stores.runs, audit: stores.audit, compute: compute(config, p), checker: acceptanceChecker(p), clock: p.clock };
  return async () => ({ ...fixed, index: (await estate(config, p)).index });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
