import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { ssmClient } from './clients.ts';

/**
 * Secrets (link-signing secret, Slack signing secret) live in SSM Parameter Store as
 * SecureString; the environment only names the parameter. Values are cached for five minutes
 * so a rotation takes effect without a deploy, and are never logged. Locally the runtime
 * answers these same GetParameter calls from a secrets file it generates on first run.
 */
const TTL_MS = 5 * 60_000;
/** Per SSM client (the local runtime's client answers from its own parameter store), then per name. */
const caches = new Map<SSMClient, Map<string, { value: string; until: number }>>();

export async function getSecret(parameterName: string, now = Date.now(), client: SSMClient = ssmClient): Promise<string> {
  let cache = caches.get(client);
  if (!cache) caches.set(client, (cache = new Map()));
  const hit = cache.get(parameterName);
  if (hit && hit.until > now) return hit.value;
  const out = await client.send(new GetParameterCommand({ Name: parameterName, WithDecryption: true }));
  const value = out.Parameter?.Value;
  if (!value) throw new Error(`secret parameter ${parameterName} is empty`);
  cache.set(parameterName, { value, until: now + TTL_MS });
  return value;
}

/** A reader of secrets through one SSM client (what a composition hands its adapters). */
export function secretReader(client: SSMClient): (parameterName: string) => Promise<string> {
  return (parameterName) => getSecret(parameterName, Date.now(), client);
}

export function clearSecretCache(): void {
  caches.clear();
}
