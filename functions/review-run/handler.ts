import { z } from 'zod';
import { reviewStoppedRun } from '../../domain/incidents/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { caughtError, ids, taskInput } from '../shared/task-input.ts';
import { stateStores } from '../shared/wiring.ts';

// The failed run's error (from the Catch) is accepted and ignored: the run records say what happened.
const input = z.strictObject({ incidentId: ids.incidentId, error: caughtError.optional() });
type Deps = Parameters<typeof reviewStoppedRun>[0];

/** Step Functions task after a failed failover run: ask the deciders again when launches were stopped for an unsafe point. */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const result = await reviewStoppedRun(await deps())({ incidentId: taskInput(input, event).incidentId });
    logger.info('failed run reviewed', { askAgain: result.askAgain, stopped: result.stopped.length });
    return result;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const deps = { runs: stores.runs, approvals: stores.approvals, audit: stores.audit, clock: p.clock };
  return async () => deps;
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
