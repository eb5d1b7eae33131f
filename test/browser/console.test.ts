import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/system.ts';
import { verifyFailover } from '../../local/verify-failover.ts';
import { launchChromium } from '../helpers/browser.ts';
import { getJson, inventoryWithLongDeadlines, postJson, ransomwareEvent, startTestSystem, until } from '../helpers/local-system.ts';

/**
 * The console and the approval page in real Chromium (Debian's package, driven by
 * playwright-core): a decider reads the proposal and clicks Approve; the console shows the
 * incident through to Recovered; drills of crm run through the local API and the drills page shows
 * their history and RTO trend. The screenshots it takes are the README's (docs/images/).
 */
const IMAGES = path.resolve('docs/images');

let system: LocalSystem;
let browser: Browser;
let page: Page;
const cspViolations: string[] = [];

beforeAll(async () => {
  [system, browser] = await Promise.all([startTestSystem({ inventoryFile: inventoryWithLongDeadlines() }), launchChromium()]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text()); });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await system?.close();
});

describe('the console and the approval page in Chromium', () => {
  it('takes a decider from the e-mailed link through Approve to a recovered incident', async () => {
    // Prepare: the ransomware finding arrives; the decider's link is in the outbox
    const sent = await postJson(system, '/local/findings', await ransomwareEvent(system));
    const incidentId = sent.body['incidentId'] as string;
    const approvalId = (sent.body['approval'] as { approvalId: string }).approvalId;
    const { body: outbox } = await getJson(system, '/local/outbox?to=dana@example.com');
    const email = (outbox['messages'] as { text: string }[]).find((m) => m.text.includes(`/approvals/${approvalId}?`));
    const link = email?.text.match(/http:\/\/\S+\/approvals\/\S+/)?.[0];
    expect(link, 'approval link in the outbox').toBeTruthy();

    // Act 1: open the link and read the proposal
    await page.goto(link!);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Approve recovery-mode failover of payments?');
    const proposed = Object.fromEntries(await page.locator('tr[data-machine]').evaluateAll((rows) =>
      rows.map((r) => [r.getAttribute('data-machine'), r.querySelector('[data-point]')?.textContent ?? ''])));
    expect(Object.keys(proposed)).toEqual(['payments-db-1', 'payments-api-1', 'payments-api-2']);

    // Act 2: approve
    const [decision] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/decision') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Approve failover', exact: true }).click(),
    ]);
    await page.waitForLoadState();
    expect(decision.status(), `the decision page said: ${await page.locator('main').innerText()}`).toBe(200);
    expect(await page.locator('[data-approval-status]').textContent()).toBe('APPROVED');

    // Act 3: follow the incident in the console until it shows Recovered
    await page.goto(`${system.url}/incidents/${incidentId}`);
    await until('the incident page to show Recovered', async () => {
      await page.reload();
      return (await page.locator('[data-incident-status]').textContent()) === 'Recovered';
    }, 20_000);

    // Assess: the page tells the whole story
    // The status flips a moment before the outcome's audit entry lands: reload until the timeline has it.
    await expect.poll(async () => { await page.reload(); return page.locator('ol.phases li.done').count(); }, { timeout: 10_000 }).toBe(7);
    expect(await page.locator('[data-outcome="recovered"] [data-rto]').textContent()).toMatch(/^[\d.]+ min/);
    expect(await page.locator('svg[data-chart="launch-timeline"] rect.boot').count()).toBe(3);
    expect(await page.locator('li[data-skipped]').count()).toBeGreaterThan(0);
    const shownPoints = Object.fromEntries(await page.locator('tr[data-machine]').evaluateAll((rows) =>
      rows.map((r) => [r.getAttribute('data-machine'), r.querySelector('[data-point]')?.textContent ?? ''])));
    expect(shownPoints).toEqual(proposed);

    // Assess: the simulator runs every machine from the point the decider approved, the latest clean one
    const verification = await verifyFailover({ rt: system.rt, stores: system.stores }, incidentId);
    expect(verification.problems).toEqual([]);
    expect(Object.fromEntries(verification.machines.map((m) => [m.machineId, m.used?.pointId]))).toEqual(proposed);
    expect(verification.machines.every((m) => m.instanceState === 'running')).toBe(true);

    mkdirSync(IMAGES, { recursive: true });
    await page.screenshot({ path: path.join(IMAGES, 'console-incident.png'), fullPage: true });
  }, 30_000);

  it('runs drills of crm through the local API and shows their history and RTO trend on the drills page', async () => {
    // Prepare / Act: three drills of crm, one after the other, each waited for through the local API:
    // a passing one, one that cannot launch crm-db-1 (no r6i.xlarge capacity), one with slower boots.
    const drills: string[] = [];
    for (const faults of [{}, { capacityErrors: { instanceTypes: ['r6i.xlarge'] } }, { slowBoot: { extraMs: 120_000 } }]) {
      expect((await postJson(system, '/local/faults', faults)).status).toBe(200);
      const started = await postJson(system, '/local/drills', { group: 'crm', requestedBy: 'eve' });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const drillId = started.body['drillId'] as string;
      drills.push(drillId);
      await until(`drill ${drillId} to finish`, async () => {
        const { status, body } = await getJson(system, `/local/drills/${drillId}`); // 404 until Start Drill has recorded it
        return status === 200 && (body['execution'] as { status: string }).status !== 'RUNNING' && (body['drill'] as { status: string }).status !== 'running';
      }, 15_000);
    }
    await postJson(system, '/local/faults', {});
    const results = await Promise.all(drills.map(async (id) => ((await getJson(system, `/local/drills/${id}`)).body['drill'] as { result: string }).result));
    expect(results).toEqual(['warn', 'fail', 'warn']); // crm has no acceptance checks: a pass is a pass with warnings

    // Act: open the drills page
    await page.goto(`${system.url}/drills`);

    // Assess: the lifecycle of every group (payments is held by its recovered incident)
    expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Drills');
    const lifecycle = Object.fromEntries(await page.locator('tr[data-group]').evaluateAll((rows) =>
      rows.map((r) => [r.getAttribute('data-group'), r.querySelector('[data-lifecycle]')?.textContent ?? ''])));
    expect(lifecycle).toEqual({ payments: 'Recovered', crm: 'Tested Recently', intranet: 'Never Tested' });
    // The history, newest first, and the RTO trend: a mark per drill (× for the one that did not recover)
    const crm = page.locator('[data-group-detail="crm"]');
    expect(await crm.locator('tr[data-drill]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-drill')))).toEqual([...drills].reverse());
    expect(await crm.locator('tr[data-drill] .badge').allTextContents()).toEqual(expect.arrayContaining(['pass with warnings', 'fail', 'clean']));
    const chart = crm.locator('svg[data-chart="rto-trend"]');
    expect(await chart.isVisible()).toBe(true);
    expect(await chart.locator('circle[data-verdict="warn"]').count()).toBe(2);
    expect(await chart.locator('path title').textContent()).toContain(`${drills[1]}: fail, no RTO`);
    expect(await chart.locator('text.objective-label').textContent()).toBe('RTO objective 120 min');
    const box = await chart.boundingBox();
    expect(box!.width).toBeGreaterThan(600);
    expect(box!.height).toBeGreaterThan(150);
    expect(await page.locator('[data-group-detail="intranet"]').textContent()).toContain('No drill yet');

    await page.screenshot({ path: path.join(IMAGES, 'console-drills.png'), fullPage: true });
  }, 30_000);

  it('shows each machine\'s DR lifecycle: the recovered ones with their instances, crm tested recently, intranet never tested', async () => {
    // Act
    await page.goto(`${system.url}/machines`);

    // Assess
    const lifecycle = Object.fromEntries(await page.locator('tr[data-machine]').evaluateAll((rows) =>
      rows.map((r) => [r.getAttribute('data-machine'), r.querySelector('[data-lifecycle]')?.textContent ?? ''])));
    expect(lifecycle).toEqual({
      'payments-db-1': 'Recovered', 'payments-api-1': 'Recovered', 'payments-api-2': 'Recovered',
      'crm-db-1': 'Tested Recently', 'crm-app-1': 'Tested Recently', 'intranet-web-1': 'Never Tested',
    });
    expect(await page.locator('tr[data-machine="payments-db-1"]').textContent()).toMatch(/i-[0-9a-f]+\s*running/);
    expect(await page.locator('tr[data-machine="payments-db-1"] [data-drill-state]').textContent()).toBe('Never Tested');
    expect(await page.locator('tr[data-machine] [data-test-mode]').count()).toBe(0); // a recovery-mode failover, no drill running
    // The last drill that reached crm-db-1 is the third (in the second it never launched), linked to its row on the drills page
    const lastDrill = page.locator('tr[data-machine="crm-db-1"] [data-last-drill] a');
    const href = await lastDrill.getAttribute('href');
    expect(href).toMatch(/^\/drills\/crm#drill-crm-/);
    await page.screenshot({ path: path.join(IMAGES, 'console-machines.png'), fullPage: true });
    await lastDrill.click();
    await page.waitForLoadState();
    expect(new URL(page.url()).pathname).toBe('/drills/crm');
    expect(await page.locator(`tr[id="${decodeURIComponent(href!.split('#')[1]!)}"]`).count()).toBe(1);
  });

  it('renders every page under its CSP without a single violation', async () => {
    // Act
    for (const p of ['/', '/incidents', '/outbox', '/machines', '/drills', '/drills/crm']) await page.goto(`${system.url}${p}`);

    // Assess: the stylesheet is allowed by its hash (a wrong hash would leave pages unstyled and log here)
    expect(cspViolations).toEqual([]);
    expect(await page.locator('header').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor)).toBe('rgb(29, 36, 48)');
  });
});
