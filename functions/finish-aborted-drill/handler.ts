import { z } from 'zod';
import { handleDrillExecutionEnded } from '../../domain/drills/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { taskInput } from '../shared/task-input.ts';
import { drillWorkflows, stateStores } from '../shared/wiring.ts';

/** EventBridge "Step Functions Execution Status Change" (the rule in serverless.yml matches the drill machine only). */
const statusChange = z.looseObject({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.looseObject({
    executionArn: z.string().max(2048).regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:.+:[A-Za-z0-9_-]{1,80}$/, 'must be an execution ARN'),
    name: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/),
    status: z.enum(['ABORTED', 'TIMED_OUT']),
    input: z.string().max(262_144).nullable().optional(),
    stopDate: z.number().nullable().optional(),
  }),
});
type Deps = Parameters<typeof handleDrillExecutionEnded>[0];

/**
 * A drill execution was aborted or timed out, so it never reached its cleanup: mark the drill
 * aborted and start the drill machine's cleanup path for it (named after the ended execution:
 * a redelivered event starts it once). EventBridge delivers at least once; this is idempotent.
 */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const { detail } = taskInput(statusChange, event);
    const out = await handleDrillExecutionEnded(await deps())({
      executionArn: detail.executionArn, name: detail.name, status: detail.status, input: detail.input ?? null, stopDate: detail.stopDate ?? null,
    });
    logger.appendKeys({ runId: out.drillId, executionId: detail.executionArn });
    logger.info('drill execution ended without its cleanup', { status: detail.status, action: out.action });
    return out;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, DRILL_STATE_MACHINE_ARN: configVars.DRILL_STATE_MACHINE_ARN }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const deps = { drills: stores.drills, workflows: drillWorkflows(config, p), audit: stores.audit, clock: p.clock };
  return async () => deps;
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
