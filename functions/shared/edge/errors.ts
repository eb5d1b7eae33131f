import { randomUUID } from 'node:crypto';
import { ApprovalExpiredError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../../domain/shared/index.ts';
import { logger } from '../observability.ts';

/**
 * Errors become HTTP responses only at the edge: 4xx messages reach the caller, 5xx internals
 * never do (they are logged instead).
 */

/** A request the edge refuses: the status, a message the caller may see, and extra headers. */
export class HttpError extends Error {
  override readonly name = 'HttpError' as const;
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) { super(message); }
  /** The same status, named as API Gateway results name it. */
  get statusCode(): number { return this.status; }
}

/** The domain errors a caller can act on, and the status each one answers. */
const DOMAIN_ERROR_STATUS: readonly [new (...args: never[]) => Error, number][] = [
  [ValidationError, 400],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [ApprovalExpiredError, 410],
];
const STATUS_BY_NAME = new Map<string, number>([
  ['ValidationError', 400], ['ForbiddenError', 403], ['NotFoundError', 404], ['ConflictError', 409], ['ApprovalExpired', 410],
]);

/**
 * The HTTP status of an error: an HttpError's own, a domain error's (400, 403, 404, 409, 410),
 * else 500. `byName` also matches errors by their `name` alone (errors that crossed a function
 * invocation and are not instances of the domain classes).
 */
export function statusFor(e: unknown, options: { byName?: boolean } = {}): number {
  if (e instanceof HttpError) return e.status;
  for (const [type, status] of DOMAIN_ERROR_STATUS) if (e instanceof type) return status;
  const name = (e as { name?: unknown } | null)?.name;
  if (options.byName && typeof name === 'string') return STATUS_BY_NAME.get(name) ?? 500;
  return 500;
}

/**
 * Message safe to show: the error's own message for 4xx (ours, written for the caller), for 5xx
 * a generic line with a fresh reference and never a word of the error (a dependency's message —
 * DynamoDB's, the SDK's, a stack overflow's — says how the system is built). The error is logged
 * under the same reference, so what the caller quotes finds it.
 */
export function publicMessage(e: unknown, status: number): string {
  if (status < 500) return (e as Error).message;
  const reference = randomUUID();
  logger.error('request failed', { reference, status, error: e instanceof Error ? e : String(e) });
  return `Something went wrong on our side. The request was not changed; try again or use another channel (reference ${reference})`;
}

/** Runs `fn`; a domain error a caller can act on becomes an HttpError with its status, anything else is rethrown. */
export async function domainErrorsAsHttp<T>(fn: () => Promise<T>, options: { byName?: boolean } = {}): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof HttpError) throw e;
    const status = statusFor(e, options);
    if (status < 500) throw new HttpError(status, (e as Error).message);
    throw e;
  }
}
