import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Logger and metrics, configured once. Task tokens, approval secrets, signatures and
 * Slack secrets must never reach a log line: besides never passing them, the JSON replacer
 * masks any attribute whose key names one, at any depth.
 */
const SECRET_KEY = /token|secret|signature|password|csrf|authorization|cookie|^sig$|^x-slack/i;
export const REDACTED = '[redacted]';

export function redactSecrets(key: string, value: unknown): unknown {
  if (key && SECRET_KEY.test(key) && value !== undefined && value !== null && value !== '') return REDACTED;
  return value;
}

const serviceName = process.env['POWERTOOLS_SERVICE_NAME'] ?? 'cleanpoint';

export const logger = new Logger({ serviceName, jsonReplacerFn: redactSecrets });
/**
 * Metrics log through our logger. Most invocations legitimately record no business metric
 * (a duplicate delivery, a status check that is not ready yet): that is debug, not a warning.
 */
const metricsLogger = {
  trace: (...a: unknown[]) => logger.debug(String(a[0] ?? '')),
  debug: (...a: unknown[]) => logger.debug(String(a[0] ?? '')),
  info: (...a: unknown[]) => logger.info(String(a[0] ?? '')),
  warn: (...a: unknown[]) => (String(a[0] ?? '').startsWith('No application metrics') ? logger.debug(String(a[0])) : logger.warn(String(a[0] ?? ''))),
  error: (...a: unknown[]) => logger.error(String(a[0] ?? '')),
};
export const metrics = new Metrics({ serviceName, namespace: process.env['POWERTOOLS_METRICS_NAMESPACE'] ?? 'Cleanpoint', logger: metricsLogger });

/**
 * An event refused at intake (ValidationError or UnsupportedEventError): logged with the paths
 * it broke and what was wrong (never the offending value itself), then rethrown, so on AWS it
 * ends in the function's dead-letter queue and the local runtime does not retry it.
 */
export async function refusalsLogged<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const name = (e as { name?: unknown } | null)?.name;
    if (name === 'ValidationError' || name === 'UnsupportedEventError') {
      const issues = (e as { issues?: { path: string; message: string }[] }).issues;
      logger.warn(`${what} refused`, { error: name, ...(issues ? { issues: issues.slice(0, 20) } : { reason: (e as Error).message.slice(0, 500) }) });
    }
    throw e;
  }
}
