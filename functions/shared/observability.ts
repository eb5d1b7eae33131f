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
export const metrics = new Metrics({ serviceName, namespace: process.env['POWERTOOLS_METRICS_NAMESPACE'] ?? 'Cleanpoint' });
