import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTML_SECURITY_HEADERS } from '../../functions/shared/edge/index.ts';
import { localApiRoutes } from '../../local/api.ts';
import { consoleRoutes } from '../../local/console/index.ts';
import { drillApiRoutes } from '../../local/drills-api.ts';
import { incidentActionRoutes } from '../../local/incident-actions.ts';
import { httpRoutes } from '../../local/serverless-config.ts';
import type { LocalSystem } from '../../local/system.ts';
import { inventoryWithLongDeadlines, postJson, ransomwareEvent, startTestSystem } from '../helpers/local-system.ts';

/**
 * Issue 15, item 4: every HTML response carries the same security headers — the console pages,
 * the approval pages the functions render, the evidence export and every error page. The walk
 * takes every route the local server serves (serverless.yml's httpApi routes and the local
 * routes, read from where they are defined, not listed here), asks each as a browser would, and
 * holds every HTML answer to the set; then the error pages (400, 404, 405, 413, 421).
 */
let system: LocalSystem;
let incidentId: string;
let approvalUrl: URL;

beforeAll(async () => {
  system = await startTestSystem({ inventoryFile: inventoryWithLongDeadlines() });
  const sent = await postJson(system, '/local/findings', await ransomwareEvent(system));
  expect(sent.status).toBe(201);
  incidentId = sent.body['incidentId'] as string;
  approvalUrl = new URL((sent.body['approval'] as { url: string }).url);
}, 60_000);
afterAll(async () => { await system?.close(); });

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function ask(o: { method: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  const port = (system.server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: o.method, path: o.path, headers: o.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

/**
 * What every HTML answer must carry. The pages the approval functions render keep a same-origin
 * referrer (their form's post is checked by its Origin, which no-referrer withholds: headers.ts);
 * every other page sends none.
 */
function expectSecurityHeaders(what: string, a: Answer, referrer: 'no-referrer' | 'same-origin' = /^(GET|POST) \/approvals\//.test(what) ? 'same-origin' : 'no-referrer'): void {
  const h = a.headers;
  expect(Object.keys(h), what).toEqual(expect.arrayContaining([...HTML_SECURITY_HEADERS]));
  expect(String(h['content-security-policy']), what).toMatch(/(^|; )frame-ancestors 'none'(;|$)/);
  expect(String(h['content-security-policy']), what).toMatch(/(^|; )default-src 'none'(;|$)/);
  expect(h['x-frame-options'], what).toBe('DENY');
  expect(h['x-content-type-options'], what).toBe('nosniff');
  expect(h['cache-control'], what).toBe('no-store');
  expect(h['referrer-policy'], what).toBe(referrer);
}

const isHtml = (a: Answer) => String(a.headers['content-type'] ?? '').startsWith('text/html');

describe('every HTML response carries the security headers', () => {
  it('on every route the local server serves, including the evidence export and the approval pages', async () => {
    // Prepare: every route, from where it is defined
    const deps = { rt: system.rt, stores: system.stores };
    const routes = [
      ...httpRoutes(system.rt.def).map((r) => ({ method: r.method, path: r.path })),
      ...localApiRoutes(deps), ...incidentActionRoutes(deps), ...drillApiRoutes(deps), ...consoleRoutes(deps),
    ].map((r) => ({ method: r.method, path: r.path }));
    const approvalId = approvalUrl.pathname.split('/')[2]!;
    const params: Record<string, string> = { incidentId, approvalId, group: 'payments', drillId: 'drill-payments-20240501T0000' };
    const queries: Record<string, string> = { [`GET /approvals/{approvalId}`]: approvalUrl.search, 'GET /local/incidents/{incidentId}/evidence': '?format=html' };

    // Act
    const html: string[] = [];
    for (const r of routes) {
      const path = r.path.replace(/\{([A-Za-z0-9_]+)\+?\}/g, (_, name: string) => encodeURIComponent(params[name] ?? 'x'));
      const key = `${r.method} ${r.path}`;
      // A POST is sent empty (as a form where the route is a page): what it refuses is a page too.
      const answer = await ask({
        method: r.method, path: `${path}${queries[key] ?? ''}`,
        ...(r.method === 'POST' ? { headers: { 'content-type': r.path.startsWith('/local/') ? 'application/json' : 'application/x-www-form-urlencoded' }, body: r.path === '/local/findings' ? '[]' : '' } : {}),
      });
      if (!isHtml(answer)) continue;
      html.push(key);
      expectSecurityHeaders(key, answer);
    }

    // Assess: the walk reached the pages that matter (so it cannot pass by serving nothing)
    expect(html).toEqual(expect.arrayContaining([
      'GET /approvals/{approvalId}', 'POST /approvals/{approvalId}/decision', 'GET /local/incidents/{incidentId}/evidence',
      'GET /', 'GET /machines', 'GET /incidents', 'GET /incidents/{incidentId}', 'GET /drills', 'GET /drills/{group}', 'GET /outbox',
    ]));
  });

  it('on the approval page itself, as rendered for the decider (200), and on the evidence export as exported (200)', async () => {
    // Act
    const page = await ask({ method: 'GET', path: `${approvalUrl.pathname}${approvalUrl.search}` });
    const evidence = await ask({ method: 'GET', path: `/local/incidents/${incidentId}/evidence?format=html` });

    // Assess
    expect([page.status, evidence.status]).toEqual([200, 200]);
    expectSecurityHeaders('GET /approvals/{approvalId}', page);
    expectSecurityHeaders('GET /local/incidents/{incidentId}/evidence', evidence);
    // A saved copy keeps its policy and sends no referrer (a <meta> cannot forbid framing).
    expect(evidence.body).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'">/);
    expect(evidence.body).toContain('<meta name="referrer" content="no-referrer">');
  });

  it.each([
    // The server's own refusals (before any function runs) send no referrer, on approval paths too.
    ['an unknown page (404)', { method: 'GET', path: '/no-such-page' }, 404, 'no-referrer'],
    ['a console page with a query it does not take (400)', { method: 'GET', path: '/machines?x=1' }, 400, 'no-referrer'],
    ['a wrong method on a page (405)', { method: 'DELETE', path: '/incidents' }, 405, 'no-referrer'],
    ['a decision body over 16 KiB (413)', { method: 'POST', path: '/approvals/abcdefghijklmnopqrstuv/decision', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `reason=${'x'.repeat(17 * 1024)}` }, 413, 'no-referrer'],
    ['a foreign Host (421)', { method: 'GET', path: '/', headers: { host: 'attacker.example' } }, 421, 'no-referrer'],
    ['an approval link that is not valid (4xx from the function)', { method: 'GET', path: '/approvals/abcdefghijklmnopqrstuv' }, null, 'same-origin'],
  ] as const)('on the error page for %s', async (_what, req, status, referrer) => {
    // Act
    const answer = await ask(req);

    // Assess
    if (status !== null) expect(answer.status).toBe(status);
    else expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(isHtml(answer)).toBe(true);
    expectSecurityHeaders(`${req.method} ${req.path}`, answer, referrer);
  });
});
