import type { LocalRuntime } from './runtime.ts';
import type { LocalStores } from './stores.ts';

/** What the local server's routes share: the request as parsed once, the response, the errors. */
export const MAX_BODY_BYTES = 16 * 1024;

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

/** A request the server refuses: the status and a message the caller may see. */
export class HttpFailure extends Error {
  override readonly name = 'HttpFailure' as const;
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) { super(message); }
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): LocalResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers }, body: JSON.stringify(value, null, 2) };
}
