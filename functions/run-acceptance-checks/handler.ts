import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { runAcceptanceChecks, type AcceptanceDeps } from '../../domain/drills/index.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { acceptanceChecker, clock, compute, estate, stateStores } from '../shared/wiring.ts';

const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, KMS_KEY_ID: configVars.KMS_KEY_ID, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE });
const stores = stateStores(config);
const provider = compute(config);
const checker = acceptanceChecker();
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

export const handler = lambda(makeHandler(async () => ({
  drills: stores.drills, runs: stores.runs, audit: stores.audit, compute: provider, checker, clock, index: (await estate(config)).index,
})));
