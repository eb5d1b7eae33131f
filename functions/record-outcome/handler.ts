import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { expireApprovals } from '../../domain/approvals/index.ts';
import { recordOutcome } from '../../domain/failover/index.ts';
import { onFirstUse, type Env, type Overrides } from '../shared/compose.ts';
import { composeRecorder } from '../shared/composers.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { caughtError, describeCaught, ids, taskInput } from '../shared/task-input.ts';

const input = z.looseObject({
  runId: ids.runId,
  kind: ids.kind.default('incident'),
  result: z.enum(['recovered', 'partial', 'failed', 'rejected', 'expired', 'no-eligible-point']),
  // Step Functions Catch puts {Error, Cause} here; only a bounded string is kept.
  error: caughtError.optional(),
});
type Deps = Parameters<typeof recordOutcome>[0] & Parameters<typeof expireApprovals>[0];

/** Step Functions task: achieved RTO/RPO and the incident's new status. */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    const error = describeCaught(task.error);
    const d = await deps();
    const out = await recordOutcome(d)({ runId: task.runId, result: task.result, ...(error ? { error } : {}) });
    // Nobody decided in time: the last request is marked expired too, so no channel shows it as open.
    if (task.result === 'expired') await expireApprovals(d)(out.incidentId, 'the approval wait timed out after escalation');
    // The workflow failed: a request it left pending can no longer take effect, so no channel may show it as open.
    if (task.result === 'failed' || task.result === 'no-eligible-point') await expireApprovals(d)(out.incidentId, 'the incident workflow ended before a decision could take effect');
    logger.info('outcome recorded', { result: out.result, rtoMinutes: out.rtoMinutes, rpoMinutes: out.rpoMinutes });
    metrics.addMetric(`Failover_${out.result}`, MetricUnit.Count, 1);
    if (out.rtoMinutes !== null) metrics.addMetric('AchievedRtoMinutes', MetricUnit.Count, out.rtoMinutes);
    if (out.rpoMinutes !== null) metrics.addMetric('AchievedRpoMinutes', MetricUnit.Count, out.rpoMinutes);
    return out;
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  return composeRecorder(env, overrides);
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
