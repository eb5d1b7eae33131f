import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { reportDrillLifecycle, startDueDrills, type ScheduleDeps } from '../../domain/drills/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { taskInput } from '../shared/task-input.ts';
import { drillWorkflows, estate, notifier, stateStores } from '../shared/wiring.ts';

// The scheduled rules' fixed input (serverless.yml); the tick interval must match the rule's rate.
const input = z.discriminatedUnion('task', [
  z.strictObject({ task: z.literal('start-due-drills'), tickMinutes: z.number().int().min(1).max(1440).default(60) }),
  z.strictObject({ task: z.literal('report-lifecycle') }),
]);

/**
 * Scheduled (EventBridge rules in serverless.yml): every hour, start the drills whose inventory
 * schedule (cron or rate) is due; once a day, tell the executors about groups that are never
 * tested, overdue, failed or left resources behind. Both are idempotent per slot / per day,
 * so EventBridge's at-least-once delivery and Lambda's retries are harmless.
 */
export function makeHandler(deps: () => Promise<ScheduleDeps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    const d = await deps();
    if (task.task === 'start-due-drills') {
      const decisions = await startDueDrills(d)({ tickMinutes: task.tickMinutes });
      for (const x of decisions.filter((y) => y.action !== 'not-due')) logger.info('drill schedule', { ...x });
      metrics.addMetric('ScheduledDrillsStarted', MetricUnit.Count, decisions.filter((x) => x.action === 'started' && !x.alreadyStarted).length);
      return { task: task.task, decisions };
    }
    const groups = await reportDrillLifecycle(d)();
    metrics.addMetric('GroupsNeedingDrillAttention', MetricUnit.Count, groups.filter((g) => g.notified).length);
    return { task: task.task, groups };
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<ScheduleDeps> {
  const config = loadConfig({
    STATE_TABLE: configVars.STATE_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, DRILL_STATE_MACHINE_ARN: configVars.DRILL_STATE_MACHINE_ARN,
    NOTIFY_EMAIL_FROM: configVars.NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO: configVars.NOTIFY_EMAIL_TO,
  }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const fixed = { drills: stores.drills, incidents: stores.incidents, workflows: drillWorkflows(config, p), notifier: notifier(config, p), clock: p.clock };
  return async () => ({ ...fixed, index: (await estate(config, p)).index });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
