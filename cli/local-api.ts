import { UsageError } from './io.ts';

/**
 * HTTP client for the local server's JSON API (`npm start`). A refusal (4xx) is the user's to
 * fix and becomes a UsageError (exit 2) carrying the server's message; an unreachable server
 * or a 5xx is exit 1.
 */
export const DEFAULT_URL = 'http://127.0.0.1:8787';

export const URL_OPTION = { url: { type: 'string' as const, default: DEFAULT_URL } };

export class LocalServerError extends Error {
  override readonly name = 'LocalServerError' as const;
}

export class LocalApi {
  readonly baseUrl: string;

  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--url ${JSON.stringify(url)} is not a URL (expected e.g. ${DEFAULT_URL})`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url must be http(s), not ${parsed.protocol}`);
    this.baseUrl = parsed.origin;
  }

  get<T>(path: string, context: string): Promise<T> {
    return this.request<T>('GET', path, undefined, context);
  }

  /** A GET whose answer is not JSON (an HTML export); errors are still JSON. */
  async getText(path: string, context: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(60_000) });
    } catch (e) {
      throw new LocalServerError(`cannot reach Cleanpoint at ${this.baseUrl} (${(e as Error).message}). Is \`npm start\` running?`);
    }
    const text = await res.text();
    if (res.ok) return text;
    let error: string | undefined;
    try { error = (JSON.parse(text) as { error?: string }).error; } catch { /* not JSON */ }
    if (res.status < 500) throw new UsageError(`${context}: ${error ?? `refused (${res.status})`}`);
    throw new LocalServerError(`${context}: the server failed (${res.status})`);
  }

  post<T>(path: string, body: unknown, context: string): Promise<T> {
    return this.request<T>('POST', path, body, context);
  }

  private async request<T>(method: string, path: string, body: unknown, context: string): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new LocalServerError(`cannot reach Cleanpoint at ${this.baseUrl} (${cause}). Is \`npm start\` running? Use --url if it listens elsewhere.`);
    }
    const text = await res.text();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new LocalServerError(`${this.baseUrl}${path} answered ${res.status} with something that is not JSON; is --url pointing at Cleanpoint?`);
    }
    const error = (value as { error?: string } | null)?.error;
    if (res.status >= 400 && res.status < 500) throw new UsageError(`${context}: ${error ?? `refused (${res.status})`}`);
    if (!res.ok) throw new LocalServerError(`${context}: the server failed (${res.status}${error ? `: ${error}` : ''})`);
    return value as T;
  }
}

/** Left-aligned columns, two spaces apart. */
export function columns(rows: string[][]): string {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** `2026-11-26T09:12:40.000Z` → `2026-11-26 09:12:40Z`. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}
