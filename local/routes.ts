import { JSON_HEADERS } from '../functions/shared/edge/index.ts';
import type { LocalRuntime } from './runtime.ts';
import type { LocalStores } from './stores.ts';

/**
 * What the local server's routes share: the request as parsed once, the response. Refusals are
 * the edge's HttpError (functions/shared/edge/), bodies are bounded by its MAX_BODY_BYTES.
 */
export interface RouteDeps {
  rt: LocalRuntime;
  stores: LocalStores;
}

export interface LocalRequest {
  method: string;
  path: string;
  /** Path parameters from the route template (`{id}`), URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
  sourceIp: string;
}

export interface LocalResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Route {
  method: string;
  /** Template with `{name}` parameters, as in serverless.yml. */
  path: string;
  handle(req: LocalRequest): Promise<LocalResponse>;
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): LocalResponse {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(value, null, 2) };
}
