import { parseSlackJob } from '../shared/adapters/slack/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { refusalsLogged } from '../shared/observability.ts';
import { estate, secret, stateStores, workflowEngine } from '../shared/wiring.ts';
import { decideClick, type SlackDecideDeps, type SlackJobOutcome } from './click.ts';

/**
 * EventBridge "Slack Interaction Received" (queued by receive-slack-action, delivered
 * asynchronously, retried, then dead-lettered): decide a verified Slack click and write the
 * outcome back to Slack. A detail that is not a job is refused (a ValidationError, dead-lettered),
 * never acted on.
 */
export function makeHandler(deps: () => Promise<SlackDecideDeps>) {
  return async (event: unknown): Promise<SlackJobOutcome> => {
    const detail = refusalsLogged('Slack job', async () => parseSlackJob(event));
    return decideClick(await deps(), await detail);
  };
}

/** The dependencies from the function's environment (compose.ts). Task tokens are answered by token: no state machine ARN needed. */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<SlackDecideDeps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, SLACK_SIGNING_SECRET_PARAMETER: configVars.SLACK_SIGNING_SECRET_PARAMETER }, env);
  const p = platform(overrides);
  const name = config.SLACK_SIGNING_SECRET_PARAMETER;
  const fixed = {
    ...stateStores(config, p), workflows: workflowEngine({}, p), clock: p.clock, wallClock: p.wallClock, slackTransport: p.slackTransport,
    slackSigningSecret: async () => (name ? secret(name, p) : null),
  };
  return async () => ({ ...fixed, index: (await estate(config, p)).index });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
