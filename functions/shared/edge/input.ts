import type { z } from 'zod';
import { HttpError } from './errors.ts';

/**
 * Request input (a body, a path parameter, the query) checked against a zod schema at the edge:
 * a refusal is a 400 naming every offending field as `what.path: message`.
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => {
    const where = [what, ...i.path.map(String)].join('.');
    return i.code === 'unrecognized_keys' ? `${where}: unknown ${i.keys.length > 1 ? 'fields' : 'field'} ${i.keys.join(', ')}` : `${where}: ${i.message}`;
  });
  throw new HttpError(400, issues.join('; '));
}

/** The query string checked against a schema; a parameter given more than once is refused. */
export function parseQuery<T extends z.ZodType>(query: URLSearchParams, schema: T): z.infer<T> {
  const seen = new Set<string>();
  for (const key of query.keys()) {
    if (seen.has(key)) throw new HttpError(400, `query parameter ${key} is given more than once`);
    seen.add(key);
  }
  return parseInput(schema, Object.fromEntries(query), 'query');
}
