import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { requestApproval, type RequestApprovalDeps } from '../../domain/approvals/index.ts';
import { slackConfigVars } from '../shared/adapters/slack-notifier.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { estate, notifier, secret, stateStores } from '../shared/wiring.ts';

const input = z.strictObject({
  incidentId: ids.incidentId,
  // Step Functions task tokens are opaque and long; only their presence and size are checked.
  taskToken: z.string().min(1).max(2048),
  timeoutSeconds: z.number().int().min(60).max(7 * 24 * 3600),
  escalation: z.boolean().default(false),
  /** The person who asked for a manual failover or the failback (may not approve it when the group forbids that). */
  requestedBy: z.string().min(1).max(128).optional(),
  /** What is to be approved: the failover (default) or the failback of a recovered incident. */
  purpose: z.enum(['failover', 'failback']).default('failover'),
});

/**
 * Step Functions `.waitForTaskToken` task. The token is stored server side with the request
 * and never logged (the logger masks any `taskToken` key; nothing here passes it anyway).
 * The workflow resumes when post-decision or decide-slack-action calls SendTaskSuccess/Failure.
 */
export function makeHandler(deps: () => Promise<RequestApprovalDeps>) {
  return async (event: unknown) => {
    const { incidentId, taskToken, timeoutSeconds, escalation, requestedBy, purpose } = taskInput(input, event);
    const result = await requestApproval(await deps())({ incidentId, taskToken, timeoutSeconds, escalation, purpose, ...(requestedBy ? { requestedBy } : {}) });
    logger.info('approval requested', { approvalId: result.approvalId, expiresAt: result.expiresAt, deciders: result.deciders.length, escalation, purpose });
    metrics.addMetric(escalation ? 'ApprovalEscalations' : 'ApprovalRequests', MetricUnit.Count, 1);
    return { approvalId: result.approvalId, expiresAt: result.expiresAt };
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<RequestApprovalDeps> {
  const config = loadConfig({
    STATE_TABLE: configVars.STATE_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, PUBLIC_BASE_URL: configVars.PUBLIC_BASE_URL,
    NOTIFY_EMAIL_FROM: configVars.NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO: configVars.NOTIFY_EMAIL_TO, ...slackConfigVars,
    LINK_SECRET_PARAMETER: configVars.LINK_SECRET_PARAMETER,
  }, env);
  const p = platform(overrides);
  const fixed = { ...stateStores(config, p), notifier: notifier(config, p), clock: p.clock, publicBaseUrl: config.PUBLIC_BASE_URL };
  return async () => ({ ...fixed, index: (await estate(config, p)).index, linkSecret: await secret(config.LINK_SECRET_PARAMETER, p) });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
