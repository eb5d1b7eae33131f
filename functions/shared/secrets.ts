import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { ssmClient } from './clients.ts';

/**
 * Secrets (link-signing secret, Slack signing secret) live in SSM Parameter Store as
 * SecureString; the environment only names the parameter. Values are cached for five minutes
 * so a rotation takes effect without a deploy, and are never logged. Locally the runtime
 * answers these same GetParameter calls from a secrets file it generates on first run.
 */
const TTL_MS = 5 * 60_000;
const cache = new Map<string, { value: string; until: number }>();

export async function getSecret(parameterName: string, now = Date.now()): Promise<string> {
  const hit = cache.get(parameterName);
  if (hit && hit.until > now) return hit.value;
  const out = await ssmClient.send(new GetParameterCommand({ Name: parameterName, WithDecryption: true }));
  const value = out.Parameter?.Value;
  if (!value) throw new Error(`secret parameter ${parameterName} is empty`);
  cache.set(parameterName, { value, until: now + TTL_MS });
  return value;
}

export function clearSecretCache(): void {
  cache.clear();
}
