/**
 * The schedule, the lifecycle, the local drills API and the console page in the local runtime:
 * one tick of the schedules declared in serverless.yml starts the never-drilled weekly group's
 * drill; the lifecycle turns from Never Tested to Tested Recently, and to Test Overdue once the
 * (virtual) clock moves past the group's window, when the daily check tells its executor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillApiRoutes, drillExecution } from '../../local/drills-api.ts';
import { drillsPageData, renderDrillsPage } from '../../local/console/drills.ts';
import { HttpError } from '../../functions/shared/edge/index.ts';
import type { LocalRequest, Route } from '../../local/routes.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { localStores, type LocalStores } from '../../local/stores.ts';
import { startSeededRuntime, until } from '../helpers/local-runtime.ts';

let rt: LocalRuntime;
let stores: LocalStores;
let routes: Route[];

beforeAll(async () => {
  rt = await startSeededRuntime({ speed: 240, infected: {} });
  stores = await localStores(rt);
  routes = drillApiRoutes({ rt, stores });
  for (const fn of ['check-drill-schedule', 'start-drill', 'launch-machine', 'check-machine', 'run-acceptance-checks', 'record-drill', 'cleanup-test-machines']) {
    await rt.invoke(fn, {}).catch(() => undefined);
  }
}, 120_000);
afterAll(async () => { await rt?.close(); });

function call(method: string, routePath: string, opts: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {}) {
  const route = routes.find((r) => r.method === method && r.path === routePath)!;
  const req: LocalRequest = {
    method, path: routePath, params: opts.params ?? {}, query: new URLSearchParams(opts.query ?? {}), headers: { 'content-type': 'application/json' },
    body: opts.body === undefined ? '' : JSON.stringify(opts.body), sourceIp: '127.0.0.1',
  };
  // As the local server does: a refusal (HttpError) becomes its status and {error}.
  return route.handle(req).then(
    (r) => ({ status: r.status, json: JSON.parse(r.body) as Record<string, unknown> }),
    (e: unknown) => {
      if (e instanceof HttpError) return { status: e.status, json: { error: e.message } as Record<string, unknown> };
      throw e;
    },
  );
}

const DAY = 86_400_000;

describe('scheduled drills and the Tested Recently lifecycle in the local runtime', () => {
  let crmDrill = '';

  it('one tick starts the weekly crm drill (never drilled), which passes with a warning (crm has no acceptance checks)', async () => {
    // Act: one tick of every schedule in serverless.yml (hourly start, daily report)
    const runs = await rt.runSchedules();

    // Assess
    const tick = runs.find((r) => (r.input as { task?: string }).task === 'start-due-drills')!;
    expect(tick.error).toBeUndefined();
    const decisions = (tick.result as { decisions: { group: string; action: string; drillId?: string }[] }).decisions;
    const crm = decisions.find((d) => d.group === 'crm')!;
    expect(crm.action).toBe('started');
    crmDrill = crm.drillId!;
    expect(crmDrill).toMatch(/^drill-crm-\d{8}T\d{4}$/);
    const report = runs.find((r) => (r.input as { task?: string }).task === 'report-lifecycle')!;
    expect((report.result as { groups: { group: string; state: string; notified: boolean }[] }).groups).toContainEqual({ group: 'intranet', state: 'Never Tested', notified: true });

    const done = await drillExecution(rt, crmDrill)!.done;
    // payments' Sunday slot may be due too if this runs on a Sunday morning: let it finish as well.
    for (const d of decisions.filter((x) => x.action === 'started' && x.drillId !== crmDrill)) await drillExecution(rt, d.drillId!)!.done;
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    const drill = (await stores.drills.getDrill(crmDrill))!;
    expect(drill).toMatchObject({ trigger: 'schedule', requestedBy: 'schedule', status: 'finished', result: 'warn', cleanup: { status: 'clean' } });
    expect(drill.reasons).toContain('the group has no acceptance checks: only EC2 status checks were verified');

    // A second tick in the same hour starts nothing new for crm.
    const again = await rt.runSchedules();
    const second = (again.find((r) => (r.input as { task?: string }).task === 'start-due-drills')!.result as { decisions: { group: string; action: string }[] }).decisions;
    expect(second.find((d) => d.group === 'crm')?.action).toBe('not-due');
  }, 60_000);

  it('serves the lifecycle through the local API and the console page: crm Tested Recently, intranet Never Tested', async () => {
    const listed = await call('GET', '/local/drills');
    expect(listed.status).toBe(200);
    const groups = listed.json['groups'] as { group: string; lifecycle: { state: string }; drills: { drillId: string }[] }[];
    expect(groups.find((g) => g.group === 'crm')!.lifecycle.state).toBe('Tested Recently');
    expect(groups.find((g) => g.group === 'crm')!.drills[0]!.drillId).toBe(crmDrill);
    expect(groups.find((g) => g.group === 'intranet')!.lifecycle.state).toBe('Never Tested');
    const one = await call('GET', '/local/drills/{drillId}', { params: { drillId: crmDrill } });
    expect(one.json).toMatchObject({ drill: { drillId: crmDrill }, execution: { status: 'SUCCEEDED' } });
    expect((await call('GET', '/local/drills', { query: { group: 'nope' } })).status).toBe(404);

    const html = renderDrillsPage(await drillsPageData({ rt, stores }, 'crm'));
    expect(html).toContain('<tr data-group="crm">');
    expect(html).toContain('data-chart="rto-trend"');
    expect(html).toContain(`data-drill="${crmDrill}"`);
  });

  it('starts an on-demand drill through the local API and refuses a group that does not exist', async () => {
    const started = await call('POST', '/local/drills', { body: { group: 'intranet', point: 'random-within:2d', requestedBy: 'eve' } });
    expect(started.status).toBe(202);
    const drillId = String(started.json['drillId']);
    expect(drillId).toMatch(/^drill-intranet-\d{8}T\d{6}-[0-9a-f]{4}$/);
    await drillExecution(rt, drillId)!.done;
    expect((await stores.drills.getDrill(drillId))!.pointSpec).toBe('random-within:2d');
    expect(await call('POST', '/local/drills', { body: { group: 'nope' } })).toEqual({ status: 422, json: { error: 'there is no group "nope" in the inventory' } });
  }, 60_000);

  it('turns crm Test Overdue once the clock moves past its 14-day window, and the daily check tells its executor', async () => {
    // Act: move the runtime's (virtual) clock 15 days on, then the daily check runs
    rt.clock.advance(15 * DAY);
    const out = await rt.invoke('check-drill-schedule', { task: 'report-lifecycle' }) as { groups: { group: string; state: string; notified: boolean }[] };

    // Assess
    expect(out.groups.find((g) => g.group === 'crm')).toEqual({ group: 'crm', state: 'Test Overdue', notified: true });
    const mail = await until('the overdue notice', () => rt.outbox.find((m) => m.subject === 'Drills of crm: Test Overdue'));
    expect(mail.to).toEqual(['eve@example.com']);
    const listed = await call('GET', '/local/drills', { query: { group: 'crm' } });
    expect((listed.json['groups'] as { lifecycle: { state: string; overdueByDays: number } }[])[0]!.lifecycle).toMatchObject({ state: 'Test Overdue' });
  });
});
