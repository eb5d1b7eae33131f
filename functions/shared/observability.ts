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
