import { readFile } from 'node:fs/promises';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { indexInventory, parseInventoryText, type InventoryIndex } from '../../domain/inventory/index.ts';
import { DEFAULT_POLICY, parsePolicyText, type Policy } from '../../domain/findings/index.ts';
import { ssmClient } from './clients.ts';

/**
 * The inventory and policy are read once per container (SSM Parameter Store, on AWS and in the
 * local runtime; a file for unit tests) and validated with the same domain parser the CLI uses.
 * A broken inventory fails the invocation with a ValidationError naming every bad path, never
 * half-applies.
 */
async function readSource(source: string, client: SSMClient): Promise<string> {
  if (source.startsWith('file:')) return readFile(source.slice('file:'.length), 'utf8');
  const out = await client.send(new GetParameterCommand({ Name: source.slice('ssm:'.length), WithDecryption: true }));
  const value = out.Parameter?.Value;
  if (!value) throw new Error(`SSM parameter ${source.slice(4)} is empty`);
  return value;
}

// One cache per SSM client: a Lambda container has one client, so it reads each parameter once;
// in one process running several functions (the local runtime) each function has its own.
let caches = new WeakMap<SSMClient, Map<string, Promise<unknown>>>();

function cached<T>(client: SSMClient, key: string, load: () => Promise<T>): Promise<T> {
  let cache = caches.get(client);
  if (!cache) { cache = new Map(); caches.set(client, cache); }
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = load();
    cache.set(key, p);
    const owner = cache;
    p.catch(() => owner.delete(key)); // a failed load is retried on the next invocation
  }
  return p;
}

export function loadInventory(source: string, client: SSMClient = ssmClient): Promise<InventoryIndex> {
  return cached(client, `inventory:${source}`, async () => indexInventory(parseInventoryText(await readSource(source, client), source)));
}

export function loadPolicy(source: string | undefined, client: SSMClient = ssmClient): Promise<Policy> {
  if (!source) return Promise.resolve(DEFAULT_POLICY);
  return cached(client, `policy:${source}`, async () => parsePolicyText(await readSource(source, client), source));
}

/** For the local runtime and tests: forget cached documents (e.g. after editing the inventory). */
export function clearInventoryCache(): void {
  caches = new WeakMap();
}
