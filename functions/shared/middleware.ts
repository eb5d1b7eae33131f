import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics } from './observability.ts';

/**
 * Adds the correlation keys every log line of an invocation must carry: the incident or run
 * id and the Step Functions execution, when the event names them.
 */
export function correlationKeys<E>(): MiddlewareObj<E, unknown, Error, Context> {
  return {
    before: (request) => {
      const e = (request.event ?? {}) as Record<string, unknown>;
      const keys: Record<string, string> = {};
      for (const k of ['incidentId', 'runId', 'approvalId', 'executionId', 'machineId'] as const) {
        if (typeof e[k] === 'string') keys[k] = e[k] as string;
      }
      if (Object.keys(keys).length) logger.appendKeys(keys);
    },
  };
}

/** Drops the invocation's business metrics instead of publishing them (the local runtime has no CloudWatch). */
function discardMetrics<E, R>(): MiddlewareObj<E, R, Error, Context> {
  return { after: () => metrics.clearMetrics(), onError: () => metrics.clearMetrics() };
}

/**
 * Wrap a handler the same way everywhere: logger context (keys reset per invocation so one
 * incident's id never leaks into the next), metrics flushed per invocation, correlation keys.
 * Middleware first, handler last. `publishMetrics: false` (the local runtime) drops them instead.
 */
export function lambda<E, R>(fn: (event: E, context: Context) => Promise<R>, options: { publishMetrics?: boolean } = {}) {
  return middy<E, R, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(options.publishMetrics === false ? discardMetrics<E, R>() : logMetrics(metrics))
    .use(correlationKeys<E>() as MiddlewareObj<E, R, Error, Context>)
    .handler(fn);
}
