import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { APPROVAL_PAGE_HEADERS, SECURITY_HEADERS } from './headers.ts';

/** What a Lambda behind API Gateway (HTTP API, payload 2.0) answers. */
export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string>; body: string };

export function html(statusCode: number, body: string): HttpResult {
  return { statusCode, headers: { ...APPROVAL_PAGE_HEADERS }, body };
}

export function json(statusCode: number, value: unknown): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json', ...SECURITY_HEADERS }, body: JSON.stringify(value) };
}

/** A request header by name, whatever its case. */
export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
}
