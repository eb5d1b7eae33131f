import type { z } from 'zod';
import { ValidationError, type Issue } from './errors.ts';

/** Render a zod issue path as `a.b[2].c`, with an optional prefix for envelopes. */
export function pathToString(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

export function zodIssues(error: z.ZodError, prefix = ''): Issue[] {
  return error.issues.map((i) => ({ path: pathToString(i.path, prefix), message: i.message }));
}

/** Parse with a zod schema; on failure throw a ValidationError naming every offending path. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string, prefix = ''): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(what, zodIssues(result.error, prefix));
  return result.data;
}

/** An ISO-8601 timestamp with a date, a time and a zone, e.g. 2021-03-07T00:29:35.498Z. */
export const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Also refuses calendar dates that do not exist (2021-02-30, T24:00), which Date.parse rolls forward. */
export function isIsoTimestamp(value: string): boolean {
  if (!ISO_TIMESTAMP.test(value) || !Number.isFinite(Date.parse(value))) return false;
  const [y, mo, d, h, mi, sec] = value.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/)!.slice(1).map((x) => Number(x ?? 0));
  const t = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, sec!));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo! - 1 && t.getUTCDate() === d && t.getUTCHours() === h &&
    t.getUTCMinutes() === mi && t.getUTCSeconds() === sec;
}

export const MINUTE_MS = 60_000;
export const toIso = (ms: number): string => new Date(ms).toISOString();
export const minutesBetween = (laterMs: number, earlierMs: number): number =>
  Math.round(((laterMs - earlierMs) / MINUTE_MS) * 100) / 100;
