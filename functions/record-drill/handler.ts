import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { finishDrill, recordDrillResult, type FinishDrillDeps } from '../../domain/drills/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { compute, estate, notifier, stateStores } from '../shared/wiring.ts';

// Step Functions Catch puts {Error, Cause} in the state; both are bounded here.
const caught = z.looseObject({ Error: z.string().max(256).optional(), Cause: z.string().max(32_768).optional() });
const input = z.discriminatedUnion('step', [
  z.strictObject({ step: z.literal('result'), drillId: ids.runId, outcome: z.enum(['completed', 'failed']), error: caught.optional() }),
  z.strictObject({
    step: z.literal('finish'), drillId: ids.runId,
    cleanup: z.looseObject({ terminated: z.array(z.string()), deregistered: z.array(z.string()) }).optional(),
    cleanupError: caught.optional(),
  }),
]);

/**
 * Step Functions task, two steps of the drill machine:
 *   result  measure the drill (RTO overall and per wave, point age) and judge it against the
 *           group's objectives: pass, pass with warnings, or fail (with the caught error)
 *   finish  after the cleanup: record it (or, given the cleanup's error, find exactly what is
 *           left and raise the alarm), count instance-minutes, update the group's drill status,
 *           tell the executors
 */
export function makeHandler(deps: () => Promise<FinishDrillDeps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    logger.appendKeys({ runId: task.drillId });
    const d = await deps();
    if (task.step === 'result') {
      const out = await recordDrillResult(d)({ drillId: task.drillId, outcome: task.outcome, ...(task.error ? { error: task.error } : {}) });
      logger.info('drill recorded', { result: out.result, rtoMinutes: out.rtoMinutes });
      if (out.rtoMinutes !== null) metrics.addMetric('DrillRtoMinutes', MetricUnit.Count, out.rtoMinutes);
      return out;
    }
    const out = await finishDrill(d)({
      drillId: task.drillId, ...(task.cleanup ? { cleanup: task.cleanup } : {}), ...(task.cleanupError ? { cleanupError: task.cleanupError } : {}),
    });
    logger.info('drill finished', { status: out.status, result: out.result, cleanup: out.cleanup, remaining: out.remaining.length });
    metrics.addMetric(`Drill_${out.result}`, MetricUnit.Count, 1);
    if (out.cleanup !== 'clean') metrics.addMetric('DrillCleanupIncomplete', MetricUnit.Count, 1);
    return out;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<FinishDrillDeps> {
  const config = loadConfig({
    STATE_TABLE: configVars.STATE_TABLE, KMS_KEY_ID: configVars.KMS_KEY_ID, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
    NOTIFY_EMAIL_FROM: configVars.NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO: configVars.NOTIFY_EMAIL_TO,
  }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const fixed = { drills: stores.drills, runs: stores.runs, audit: stores.audit, compute: compute(config, p), notifier: notifier(config, p), clock: p.clock };
  return async () => ({ ...fixed, index: (await estate(config, p)).index });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
