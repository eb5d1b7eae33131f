import { ValidationError } from './errors.ts';

/**
 * Bounds on an event from outside before anything recursive touches it (zod, JSON.stringify,
 * structuredClone, a DynamoDB marshaller all recurse and overflow the stack somewhere past a few
 * thousand levels). The walk below is iterative, so it cannot overflow, and it stops at the first
 * value that crosses a limit, naming its path.
 */
export interface ShapeLimits {
  /** Arrays and objects nested inside each other; the event itself is level 1. */
  maxDepth: number;
  /** UTF-8 bytes of the value as JSON text (counted as the walk goes, without serializing). */
  maxBytes: number;
}

/**
 * What an EventBridge event may be. 256 KiB is EventBridge's own limit on a PutEvents entry, so
 * no event AWS delivers is ever larger; 32 levels is the HTTP edge's limit on JSON bodies too
 * (functions/shared/edge/json-body.ts) — the deepest AWS sample findings nest 8 levels.
 */
export const EVENT_LIMITS: ShapeLimits = { maxDepth: 32, maxBytes: 256 * 1024 };

/** A path segment as `pathToString` writes it, a long key shortened (the path must stay short). */
function segment(out: string, key: string | number): string {
  if (typeof key === 'number') return `${out}[${key}]`;
  const k = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return out ? `${out}.${k}` : k;
}

/** UTF-8 bytes of a string as JSON text (quotes included; escapes are not counted). */
function stringBytes(s: string): number {
  // Buffer is not in the domain: count UTF-16 units, surrogate pairs as 4 bytes.
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; } else n += 3;
  }
  return n;
}

/**
 * The first way `value` breaks `limits` (or is not JSON data at all), as a path and a message;
 * null when it is within them. Iterative: safe on any depth.
 */
export function shapeIssue(value: unknown, limits: ShapeLimits = EVENT_LIMITS, prefix = ''): { path: string; message: string } | null {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: prefix, depth: 0 }];
  let bytes = 0;
  while (stack.length) {
    const { v, path, depth } = stack.pop()!;
    switch (typeof v) {
      case 'string': bytes += stringBytes(v); break;
      case 'number':
        if (!Number.isFinite(v)) return { path, message: 'must be a finite number' };
        bytes += String(v).length;
        break;
      case 'boolean': bytes += 5; break;
      case 'undefined': break; // dropped by JSON, as an absent field
      case 'object': {
        if (v === null) { bytes += 4; break; }
        if (depth + 1 > limits.maxDepth) return { path, message: `nests deeper than ${limits.maxDepth} levels` };
        bytes += 2;
        if (Array.isArray(v)) {
          for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: segment(path, i), depth: depth + 1 });
          bytes += v.length;
        } else {
          const proto = Object.getPrototypeOf(v) as unknown;
          if (proto !== Object.prototype && proto !== null) return { path, message: 'must be JSON data' };
          const keys = Object.keys(v);
          for (let i = keys.length - 1; i >= 0; i--) {
            const key = keys[i]!;
            bytes += stringBytes(key) + 2;
            stack.push({ v: (v as Record<string, unknown>)[key], path: segment(path, key), depth: depth + 1 });
          }
        }
        break;
      }
      default: return { path, message: 'must be JSON data' };
    }
    if (bytes > limits.maxBytes) return { path, message: `the event is larger than ${limits.maxBytes} bytes (EventBridge's limit) at this value` };
  }
  return null;
}

/** Throw a ValidationError naming the first value of `value` that breaks `limits`. */
export function checkShape(value: unknown, what: string, limits: ShapeLimits = EVENT_LIMITS, prefix = ''): void {
  const issue = shapeIssue(value, limits, prefix);
  if (issue) throw new ValidationError(what, [issue]);
}

/** A value quoted for a message, at most `max` characters of it (never a whole foreign value). */
export function quoted(value: unknown, max = 60): string {
  if (typeof value === 'string') return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
  if (value === undefined) return 'nothing';
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
