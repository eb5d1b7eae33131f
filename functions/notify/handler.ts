import { z } from 'zod';
import { notifyAbout } from '../../domain/incidents/index.ts';
import { slackConfigVars } from '../shared/adapters/slack-notifier.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { estate, notifier, stateStores } from '../shared/wiring.ts';

const input = z.looseObject({
  runId: ids.runId,
  event: z.enum(['outcome', 'escalation', 'failure', 'cleanup-failed', 'no-eligible-point', 'rejected', 'expired', 'failback-complete', 'failback-not-approved']),
  detail: z.unknown().optional(),
});
type Deps = Parameters<typeof notifyAbout>[0];

/** Step Functions task: a message to the people of the affected groups. */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    const detail = task.detail === undefined ? undefined : typeof task.detail === 'string' ? task.detail : JSON.stringify(task.detail);
    return notifyAbout(await deps())({ runId: task.runId, event: task.event, ...(detail ? { detail } : {}) });
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  const config = loadConfig({
    STATE_TABLE: configVars.STATE_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
    NOTIFY_EMAIL_FROM: configVars.NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO: configVars.NOTIFY_EMAIL_TO, ...slackConfigVars,
  }, env);
  const p = platform(overrides);
  const fixed = { incidents: stateStores(config, p).incidents, notifier: notifier(config, p) };
  return async () => ({ ...fixed, index: (await estate(config, p)).index });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
