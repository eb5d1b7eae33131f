import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * Builds the API Gateway HTTP API (payload 2.0) event that Lambda receives, so the local
 * server and tests call the approval functions exactly as API Gateway would.
 */
export function apiGatewayEvent(input: {
  method: string; path: string; routeKey?: string; query?: Record<string, string>; headers?: Record<string, string>;
  body?: string; sourceIp?: string; pathParameters?: Record<string, string>;
}): APIGatewayProxyEventV2 {
  const rawQueryString = new URLSearchParams(input.query ?? {}).toString();
  const headers = Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    version: '2.0',
    routeKey: input.routeKey ?? `${input.method} ${input.path}`,
    rawPath: input.path,
    rawQueryString,
    headers,
    ...(input.query && Object.keys(input.query).length ? { queryStringParameters: input.query } : {}),
    ...(input.pathParameters ? { pathParameters: input.pathParameters } : {}),
    requestContext: {
      accountId: '000000000000', apiId: 'local', domainName: 'localhost', domainPrefix: 'localhost', requestId: randomUUID(),
      routeKey: input.routeKey ?? `${input.method} ${input.path}`, stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
      http: { method: input.method, path: input.path, protocol: 'HTTP/1.1', sourceIp: input.sourceIp ?? '127.0.0.1', userAgent: headers['user-agent'] ?? 'local' },
    },
    ...(input.body !== undefined ? { body: input.body } : {}),
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}
