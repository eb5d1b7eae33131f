import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ApprovalExpiredError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../../domain/shared/index.ts';
import { logger } from '../observability.ts';

/**
 * Errors become HTTP responses only here, at the edge: 4xx messages reach the caller,
 * 5xx internals never do (they are logged with the request id instead).
 */
export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string>; body: string };

export const MAX_BODY_BYTES = 16 * 1024;

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // The page URL carries the personal link's signature: never send it to another site.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

export function html(statusCode: number, body: string): HttpResult {
  return { statusCode, headers: { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS }, body };
}

export function json(statusCode: number, value: unknown): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json', ...SECURITY_HEADERS }, body: JSON.stringify(value) };
}

export class HttpError extends Error {
  override readonly name = 'HttpError' as const;
  constructor(readonly statusCode: number, message: string) { super(message); }
}

export function statusFor(e: unknown): number {
  if (e instanceof HttpError) return e.statusCode;
  if (e instanceof ValidationError) return 400;
  if (e instanceof ForbiddenError) return 403;
  if (e instanceof NotFoundError) return 404;
  if (e instanceof ConflictError) return 409;
  if (e instanceof ApprovalExpiredError) return 410;
  return 500;
}

/** Message safe to show: the error's own message for 4xx, a generic line for 5xx. */
export function publicMessage(e: unknown, status: number): string {
  if (status < 500) return (e as Error).message;
  logger.error('request failed', { error: e as Error });
  return 'Something went wrong on our side. The request was not changed; try again or use another channel.';
}

export function rawBody(event: APIGatewayProxyEventV2): string {
  const body = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
  return text;
}

export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

export const escapeHtml = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
