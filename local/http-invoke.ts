import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { apiGatewayEvent } from './http-event.ts';
import type { LocalRuntime } from './runtime.ts';
import { matchPath } from './server.ts';
import { httpRoutes, type ServerlessDefinition } from './serverless-config.ts';

/**
 * API Gateway's routing of a request to a function, from the `httpApi` events of serverless.yml
 * (the routes are declared there once; the functions do not route): what the local server does
 * for a request, without the socket. Tests and tools call the functions through it.
 */
export type RouteMatch =
  | { ok: true; functionName: string; routeKey: string; pathParameters: Record<string, string> }
  | { ok: false; status: 404 } | { ok: false; status: 405; allow: string[] };

export function resolveHttpRoute(def: ServerlessDefinition, method: string, pathname: string): RouteMatch {
  const matches = httpRoutes(def).map((r) => ({ r, params: matchPath(r.path, pathname) })).filter((m) => m.params !== null);
  if (matches.length === 0) return { ok: false, status: 404 };
  const match = matches.find((m) => m.r.method === method.toUpperCase());
  if (!match) return { ok: false, status: 405, allow: [...new Set(matches.map((m) => m.r.method))] };
  return { ok: true, functionName: match.r.functionName, routeKey: `${match.r.method} ${match.r.path}`, pathParameters: match.params! };
}

export type HttpAnswer = { statusCode: number; body: string; headers: Record<string, string> };

/** The request as API Gateway (HTTP API, payload 2.0) hands it to the function its route names; 404/405 when none does. */
export async function invokeHttp(
  rt: Pick<LocalRuntime, 'def' | 'invoke'>,
  input: { method: string; path: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string; sourceIp?: string },
): Promise<HttpAnswer> {
  const route = resolveHttpRoute(rt.def, input.method, input.path);
  if (!route.ok) return { statusCode: route.status, headers: route.status === 405 ? { allow: route.allow.join(', ') } : {}, body: route.status === 404 ? 'Not Found' : 'Method Not Allowed' };
  const event: APIGatewayProxyEventV2 = apiGatewayEvent({ ...input, routeKey: route.routeKey, pathParameters: route.pathParameters });
  return rt.invoke(route.functionName, event) as Promise<HttpAnswer>;
}
