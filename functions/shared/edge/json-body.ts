import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpError } from './errors.ts';

/**
 * Request bodies: bounded in size (16 KiB, the handlers' limit; the local server refuses the
 * same way before a byte is handled) and, for JSON, in nesting depth. Every refusal is a 4xx
 * that names what is wrong, never a 5xx.
 */
export const MAX_BODY_BYTES = 16 * 1024;
export const MAX_JSON_DEPTH = 32;

export const bodyTooLarge = (): HttpError => new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);

/** The text of an API Gateway event's body (base64 decoded), refused with 413 over MAX_BODY_BYTES. */
export function rawBody(event: APIGatewayProxyEventV2): string {
  const body = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw bodyTooLarge();
  return text;
}

/** The media type of a Content-Type header, lower case, without parameters (`''` when absent). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** How deep arrays and objects nest in JSON text (brackets inside strings do not count). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/**
 * Where JSON text first nests deeper than `max` levels, as a path (`detail.evidence[0][0]`),
 * or null when it never does. One pass over the text, no recursion and no parse, so it is safe
 * on any input; the text need not be valid JSON (JSON.parse judges that afterwards).
 */
export function jsonTooDeepAt(text: string, max: number): string | null {
  const frames: { object: boolean; key: string; index: number }[] = [];
  let expectKey = false;
  let start = -1;
  const where = () => {
    let out = '';
    for (const f of frames) out += f.object ? (out ? `.${f.key}` : f.key) : `[${f.index}]`;
    return out;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (start >= 0) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) {
        const top = frames[frames.length - 1];
        if (top?.object && expectKey) {
          let key: string;
          try { key = JSON.parse(text.slice(start, i + 1)) as string; } catch { key = text.slice(start + 1, i); }
          top.key = key.length > 64 ? `${key.slice(0, 64)}…` : key;
          expectKey = false;
        }
        start = -1;
      }
    } else if (c === 0x22) start = i;
    else if (c === 0x7b || c === 0x5b) {
      if (frames.length + 1 > max) return where();
      frames.push({ object: c === 0x7b, key: '', index: 0 });
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      frames.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      const top = frames[frames.length - 1];
      if (top?.object) expectKey = true;
      else if (top) top.index++;
    }
  }
  return null;
}

export interface JsonBodyOptions {
  /** What an empty body stands for; without it an empty body is refused. */
  ifEmpty?: unknown;
  /** Refuse anything but a JSON object (an array, a string, a number, null). */
  object?: boolean;
}

/**
 * Parse a JSON request body: 415 unless it is sent as application/json (a page on another
 * origin can only send "simple" form or text bodies without a CORS preflight), 413 over the
 * size limit, 400 when empty (unless `ifEmpty`), not JSON, nested deeper than MAX_JSON_DEPTH,
 * or (with `object`) not a JSON object.
 */
export function parseJsonBody(body: string, contentType: string | undefined, options: JsonBodyOptions = {}): unknown {
  const type = mediaType(contentType);
  if (type !== 'application/json') throw new HttpError(415, `send the body as application/json (got ${type ? JSON.stringify(type) : 'no content-type'})`);
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) throw bodyTooLarge();
  if (!body.trim()) {
    if ('ifEmpty' in options) return options.ifEmpty;
    throw new HttpError(400, `the request body is empty; expected ${options.object ? 'a JSON object' : 'JSON'}`);
  }
  const tooDeep = jsonTooDeepAt(body, MAX_JSON_DEPTH);
  if (tooDeep !== null) throw new HttpError(400, `the request body nests deeper than ${MAX_JSON_DEPTH} levels${tooDeep ? ` at ${tooDeep}` : ''}`);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON (${(e as Error).message})`);
  }
  if (options.object && (typeof value !== 'object' || value === null || Array.isArray(value))) throw new HttpError(400, 'the request body must be a JSON object');
  return value;
}
