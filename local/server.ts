import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localApiRoutes } from './api.ts';
import { incidentActionRoutes } from './incident-actions.ts';
import { drillApiRoutes } from './drills-api.ts';
import { consoleRoutes } from './console/index.ts';
import { errorPage } from './console/layout.ts';
import { apiGatewayEvent } from './http-event.ts';
import { bodyTooLarge, HttpError, MAX_BODY_BYTES } from '../functions/shared/edge/index.ts';
import { json, type LocalRequest, type LocalResponse, type Route, type RouteDeps } from './routes.ts';
import { httpRoutes } from './serverless-config.ts';

/**
 * The local HTTP server, bound to 127.0.0.1 only:
 *   - every `httpApi` route of serverless.yml, answered by its function's handler with an
 *     API Gateway HTTP API (payload 2.0) event, as on AWS;
 *   - the console pages (server-rendered, no scripts, strict CSP);
 *   - the local JSON API the CLI uses (/local/...), drills included (/local/drills, /local/schedules/tick).
 * Bodies over 16 KiB are refused with 413 before anything runs (API Gateway's own limit is
 * larger; the handlers' is 16 KiB, so the local server refuses early and the same way).
 */
export async function listenLocal(port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => reply(res, json(503, { error: 'starting up, try again in a moment' })));
  // Keep-alive connections of the CLI and browsers must not hold a shutdown open.
  server.keepAliveTimeout = 2_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Replace the start-up responder with the real routes. */
export function serveLocal(server: Server, deps: RouteDeps): void {
  const routes = [...functionRoutes(deps), ...localApiRoutes(deps), ...incidentActionRoutes(deps), ...drillApiRoutes(deps), ...consoleRoutes(deps)];
  const port = (server.address() as AddressInfo).port;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void handle(routes, port, req, res).catch((e) => {
      process.stderr.write(`local server: ${(e as Error).stack ?? String(e)}\n`);
      if (!res.headersSent) reply(res, json(500, { error: 'internal error' }));
      else res.destroy();
    });
  });
}

export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Requests still running (a long poll) get a moment, then their connections are cut.
  const timer = setTimeout(() => server.closeAllConnections(), 1_000);
  await closed;
  clearTimeout(timer);
}

async function handle(routes: Route[], port: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  const wantsJson = url.pathname.startsWith('/local/');
  const fail = (status: number, message: string, headers: Record<string, string> = {}) =>
    reply(res, wantsJson ? json(status, { error: message }, headers) : errorPage(status, message, headers));

  // DNS rebinding: a web page may resolve its own name to 127.0.0.1; only our own names are served.
  if (!allowedHost(req.headers.host, port)) { req.resume(); return fail(421, `this server answers only for 127.0.0.1:${port} and localhost:${port}`); }
  const matches = routes.map((r) => ({ route: r, params: matchPath(r.path, url.pathname) })).filter((m) => m.params !== null);
  if (matches.length === 0) { req.resume(); return fail(404, `no such page or endpoint: ${url.pathname}`); }
  const match = matches.find((m) => m.route.method === method);
  if (!match) {
    req.resume();
    return fail(405, `${method} is not allowed here; use ${[...new Set(matches.map((m) => m.route.method))].join(' or ')}`, { allow: [...new Set(matches.map((m) => m.route.method))].join(', ') });
  }
  let body: string;
  try {
    body = await readBody(req);
  } catch (e) {
    if (e instanceof HttpError) return fail(e.status, e.message, { connection: 'close' });
    throw e;
  }
  const request: LocalRequest = {
    method, path: url.pathname, params: match.params!, query: url.searchParams, headers: flatHeaders(req), body,
    sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
  };
  let response: LocalResponse;
  try {
    response = await match.route.handle(request);
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    response = wantsJson ? json(e.status, { error: e.message }, e.headers) : errorPage(e.status, e.message, e.headers);
  }
  reply(res, response);
}

function reply(res: ServerResponse, r: LocalResponse): void {
  res.writeHead(r.status, { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) });
  res.end(r.body);
}

function allowedHost(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** `/approvals/{approvalId}` → params, or null when the path does not fit. `{name+}` takes the rest. */
export function matchPath(template: string, pathname: string): Record<string, string> | null {
  const names: string[] = [];
  const pattern = template.replace(/[.*?^$()|[\]\\]/g, '\\$&').replace(/\{([A-Za-z0-9_]+)(\+?)\}/g, (_, name: string, greedy: string) => {
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  const m = new RegExp(`^${pattern}$`).exec(pathname);
  if (!m) return null;
  const params: Record<string, string> = {};
  try {
    names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]!); });
  } catch {
    return null; // malformed percent-encoding: no route can mean it
  }
  return params;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw bodyTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw bodyTooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(k === 'cookie' ? '; ' : ', ') : v;
  }
  return out;
}

/**
 * The functions' HTTP routes, read from serverless.yml (not copied): each request becomes the
 * API Gateway v2 event the deployed function receives, and its result the HTTP response.
 */
function functionRoutes(deps: RouteDeps): Route[] {
  return httpRoutes(deps.rt.def).map((r) => ({
    method: r.method, path: r.path,
    handle: async (req: LocalRequest): Promise<LocalResponse> => {
      const query: Record<string, string> = {};
      // API Gateway joins repeated query parameters with commas.
      for (const key of new Set(req.query.keys())) query[key] = req.query.getAll(key).join(',');
      const event = apiGatewayEvent({
        method: req.method, path: req.path, routeKey: `${r.method} ${r.path}`, query, headers: req.headers,
        ...(req.body ? { body: req.body } : {}), sourceIp: req.sourceIp, pathParameters: req.params,
      });
      let result: unknown;
      try {
        result = await deps.rt.invoke(r.functionName, event);
      } catch (e) {
        process.stderr.write(`local server: ${r.functionName} failed: ${(e as Error).stack ?? String(e)}\n`);
        return json(500, { message: 'Internal Server Error' }); // what API Gateway answers when the integration fails
      }
      return fromLambdaResult(result);
    },
  }));
}

/** API Gateway HTTP API payload 2.0 response mapping. */
function fromLambdaResult(result: unknown): LocalResponse {
  const r = result as { statusCode?: unknown; headers?: Record<string, unknown>; body?: unknown; isBase64Encoded?: boolean; cookies?: string[] } | null;
  if (!r || typeof r !== 'object' || typeof r.statusCode !== 'number') {
    // A result without statusCode is returned as a JSON 200.
    return { status: 200, headers: { 'content-type': 'application/json' }, body: typeof result === 'string' ? result : JSON.stringify(result) };
  }
  const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  const raw = typeof r.body === 'string' ? r.body : '';
  const body = r.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  return { status: r.statusCode, headers, body };
}
