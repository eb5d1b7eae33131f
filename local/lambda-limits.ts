/**
 * Lambda invocation payload quotas the local runtime enforces as AWS does (Lambda API
 * Reference, Invoke: "For synchronous invocations, the maximum payload size is 6 MB. For
 * asynchronous invocations, the maximum payload size is 1 MB"; Developer Guide, "Lambda
 * quotas", where MB means 1,024 KB):
 *  - a synchronous invocation's event (what Step Functions, API Gateway and the CLI send) is at
 *    most 6 MB of JSON; a larger one is refused before the function runs, with
 *    RequestEntityTooLargeException (HTTP 413) "Request must be smaller than 6291456 bytes for
 *    the InvokeFunction operation";
 *  - an asynchronous invocation's event (what EventBridge rules deliver) is at most 1 MB; the
 *    quota was 256 KB until 2025 and older quota tables still say so. Refused the same way,
 *    before the function runs: nothing is queued, so nothing is retried;
 *  - a synchronous invocation's response is at most 6 MB too. The function has run (its side
 *    effects happened) but the caller gets a function error instead of the result:
 *    Function.ResponseSizeTooLarge, "Response payload size exceeded maximum allowed payload
 *    size (6291556 bytes)." (the figure Lambda's own message names, 100 bytes over 6 MB).
 *    An asynchronous invocation's response is discarded, so it has no limit.
 * Sizes are bytes of the UTF-8 JSON text, which is what crosses the Lambda boundary.
 */

export type InvocationType = 'RequestResponse' | 'Event';

/** 6 MB: a synchronous invocation's event. */
export const MAX_SYNC_REQUEST_BYTES = 6 * 1024 * 1024;
/** 1 MB: an asynchronous invocation's event. */
export const MAX_ASYNC_REQUEST_BYTES = 1024 * 1024;
/** What Lambda's ResponseSizeTooLarge message names for a synchronous response. */
export const MAX_SYNC_RESPONSE_BYTES = 6 * 1024 * 1024 + 100;

export const REQUEST_TOO_LARGE = 'RequestEntityTooLargeException';
export const RESPONSE_TOO_LARGE = 'Function.ResponseSizeTooLarge';

/** The error Lambda answers with (`name` is its error code or error type, as the SDK and Step Functions see it). */
export class LambdaLimitError extends Error {
  constructor(override readonly name: typeof REQUEST_TOO_LARGE | typeof RESPONSE_TOO_LARGE, message: string, readonly statusCode: number) {
    super(message);
  }
}

/** Bytes of UTF-8 JSON text. */
export const jsonBytes = (json: string): number => Buffer.byteLength(json, 'utf8');

/** The largest event an invocation of this type accepts. */
export function maxRequestBytes(type: InvocationType): number {
  return type === 'Event' ? MAX_ASYNC_REQUEST_BYTES : MAX_SYNC_REQUEST_BYTES;
}

/** Lambda's refusal of this event (its JSON text), or undefined when it is accepted. */
export function requestRefusal(eventJson: string, type: InvocationType): LambdaLimitError | undefined {
  const limit = maxRequestBytes(type);
  const bytes = jsonBytes(eventJson);
  if (bytes <= limit) return undefined;
  return new LambdaLimitError(REQUEST_TOO_LARGE, `Request must be smaller than ${limit} bytes for the InvokeFunction operation (the ${type === 'Event' ? 'asynchronous' : 'synchronous'} event is ${bytes} bytes)`, 413);
}

/** The function error a response this large becomes, or undefined when it is returned. */
export function responseRefusal(resultJson: string, type: InvocationType): LambdaLimitError | undefined {
  if (type === 'Event') return undefined; // discarded: nobody receives it
  if (jsonBytes(resultJson) <= MAX_SYNC_RESPONSE_BYTES) return undefined;
  return new LambdaLimitError(RESPONSE_TOO_LARGE, `Response payload size exceeded maximum allowed payload size (${MAX_SYNC_RESPONSE_BYTES} bytes).`, 200);
}

/** An error retrying cannot fix: the event itself is too large. */
export function isPayloadRefusal(error: unknown): boolean {
  return error instanceof Error && error.name === REQUEST_TOO_LARGE;
}
