import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../domain/evidence/index.ts';
import type { IncidentDetail, MachineView } from '../../local/read-model.ts';
import type { LocalSystem } from '../../local/system.ts';
import { verifyFailover } from '../../local/verify-failover.ts';
import { launchChromium } from '../helpers/browser.ts';
import { aboutMachine, getJson, inventoryWithLongDeadlines, postJson, ransomwareEvent, startTestSystem, until } from '../helpers/local-system.ts';

/**
 * The approval page in real Chromium (Debian's package, driven by playwright-core), beyond the
 * plain Approve of test/browser/console.test.ts: a decider rejects with a reason, a decider picks
 * an older restore point and approves it after the preview, and an altered link is refused. Each
 * test uses its own demo group (intranet, crm, payments), so their findings never correlate.
 */

let system: LocalSystem;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let cspViolations: string[] = [];

beforeAll(async () => {
  [system, browser] = await Promise.all([startTestSystem({ inventoryFile: inventoryWithLongDeadlines() }), launchChromium()]);
}, 60_000);

beforeEach(async () => {
  // A fresh browser context per test: no state carried from one decider to the next.
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  cspViolations = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text()); });
});

afterEach(async () => {
  await context?.close();
});

afterAll(async () => {
  await browser?.close();
  await system?.close();
});

/** The ransomware finding about another machine, sent through the local API; the decider's link from the outbox. */
async function findingAbout(machineId: string, instanceId: string, deciderEmail: string): Promise<{ incidentId: string; approvalId: string; link: string }> {
  const sent = await postJson(system, '/local/findings', aboutMachine(await ransomwareEvent(system), instanceId, machineId));
  expect(sent.status, JSON.stringify(sent.body)).toBe(201);
  expect(sent.body).toMatchObject({ action: 'failover-proposal', created: true, correlated: false });
  const incidentId = sent.body['incidentId'] as string;
  const approvalId = (sent.body['approval'] as { approvalId: string }).approvalId;
  const { body: outbox } = await getJson(system, `/local/outbox?to=${encodeURIComponent(deciderEmail)}`);
  const email = (outbox['messages'] as { text: string }[]).find((m) => m.text.includes(`/approvals/${approvalId}?`));
  const link = email?.text.match(/http:\/\/\S+\/approvals\/\S+/)?.[0];
  expect(link, `${deciderEmail}'s approval link in the outbox`).toBeTruthy();
  return { incidentId, approvalId, link: link! };
}

async function detailOf(incidentId: string): Promise<IncidentDetail> {
  const { status, body } = await getJson(system, `/local/incidents/${incidentId}`);
  expect(status).toBe(200);
  return body as unknown as IncidentDetail;
}

/** Submit a form of the approval page by clicking its button; the page the POST answered with is loaded. */
async function submit(buttonName: string): Promise<number> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/decision') && r.request().method() === 'POST'),
    page.getByRole('button', { name: buttonName, exact: true }).click(),
  ]);
  await page.waitForLoadState();
  return response.status();
}

/** Instances the simulator launched for a machine (anything but its seeded primary instance). */
function launchedFor(machineId: string, primaryInstanceId: string): string[] {
  return system.rt.sim.resources({ tag: { key: 'cleanpoint:machine', value: machineId } })
    .filter((r) => r.type === 'instance' && r.id !== primaryInstanceId).map((r) => r.id);
}

describe('the approval page in Chromium', () => {
  it('rejects the intranet failover with a reason: REJECTED on the page, the incident rejected, nothing launched, the reason in the audit trail', async () => {
    // Prepare: a finding on intranet-web-1; Dana decides intranet
    const { incidentId, approvalId, link } = await findingAbout('intranet-web-1', 'i-0cc000000000a0101', 'dana@example.com');
    const reason = 'False positive: the SOC confirmed a scheduled backup job <encrypt-archive> & nothing else';
    await page.goto(link);
    expect(await page.locator('h1').textContent()).toBe('Approve recovery-mode failover of intranet?');
    expect(await page.locator('[data-approval-status]').textContent()).toBe('PENDING');

    // Act 1: Reject without a reason is stopped by the browser (the field is required): nothing is posted
    let posted = false;
    page.on('request', (r) => { if (r.method() === 'POST') posted = true; });
    await page.getByRole('button', { name: 'Reject failover', exact: true }).click();
    expect(await page.locator('textarea[name="reason"]').evaluate((el) => (el as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing)).toBe(true);
    expect(posted).toBe(false);

    // Act 2: Reject with the reason
    await page.locator('textarea[name="reason"]').fill(reason);
    const status = await submit('Reject failover');

    // Assess: the page says REJECTED, names the decider and quotes the reason, and offers no form any more
    expect(status, `the decision page said: ${await page.locator('main').innerText()}`).toBe(200);
    expect(await page.locator('[data-approval-status]').textContent()).toBe('REJECTED');
    expect(await page.locator('[data-decided]').textContent()).toBe('You rejected this request.');
    expect(await page.locator('main').innerText()).toMatch(/Dana Decider rejected at \S+ via web/);
    expect(await page.locator('main').innerText()).toContain(`“${reason}”`);
    expect(await page.locator('form').count()).toBe(0);

    // Assess: the incident ends rejected (through the workflow) and nothing was launched
    const detail = await until('the incident to end rejected', async () => {
      const d = await detailOf(incidentId);
      return d.incident.status === 'rejected' && d.execution?.status !== 'RUNNING' ? d : null;
    }, 15_000);
    expect(detail.approvals.map((a) => [a.approvalId, a.status])).toEqual([[approvalId, 'rejected']]);
    expect(detail.machines).toEqual([]);
    expect(launchedFor('intranet-web-1', 'i-0cc000000000a0101')).toEqual([]);
    expect(system.rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } })).toEqual([]);
    const { body } = await getJson(system, '/local/machines');
    const intranet = (body['machines'] as MachineView[]).find((m) => m.machineId === 'intranet-web-1');
    expect(intranet).toMatchObject({ lifecycle: 'Protected', recovery: null, incidentId: null, pendingIncidentId: null });

    // Assess: the audit trail holds the rejection, attributed to Dana on the web channel, with her reason
    const rejected = detail.audit.filter((a: AuditEntry) => a.type === 'decision.rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ actor: 'dev', data: { approvalId, decision: 'reject', channel: 'web', reason } });
    expect(detail.audit.some((a) => a.type === 'approval.refused')).toBe(false);

    // Assess: the console's incident page tells the same, the reason as typed (escaped, not markup)
    await page.goto(`${system.url}/incidents/${incidentId}`);
    expect(await page.locator('[data-incident-status]').textContent()).toBe('Rejected');
    const decision = (await page.locator('main li').allInnerTexts()).find((d) => d.startsWith('dev rejected at '));
    expect(decision).toContain(' via web from ');
    expect(decision?.endsWith(` — “${reason}”`), decision).toBe(true);
    expect(cspViolations).toEqual([]);
  }, 30_000);

  it('restores crm from an older point the decider picked: preview at or before the cutoff, confirm, machines launched from those points', async () => {
    // Prepare: a finding on crm-db-1; Dominik decides crm
    const { incidentId, approvalId, link } = await findingAbout('crm-db-1', 'i-0bb0000000000db01', 'dominik@example.com');
    await page.goto(link);
    expect(await page.locator('h1').textContent()).toBe('Approve recovery-mode failover of crm?');
    const proposed = Object.fromEntries(await page.locator('tr[data-machine]').evaluateAll((rows) =>
      rows.map((r) => [r.getAttribute('data-machine'), r.querySelector('[data-point]')?.textContent ?? ''])));
    expect(Object.keys(proposed).sort()).toEqual(['crm-app-1', 'crm-db-1']);

    // Act 1: pick the second option of crm's cutoff select (the newest older point offered)
    const select = page.locator('select[name="cutoff:crm"]');
    const options = await select.locator('option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    expect(options.length, 'older points offered for crm').toBeGreaterThanOrEqual(2);
    expect(options[0]).toBe(''); // the proposed cutoff
    const chosen = options[1]!;
    await select.selectOption({ index: 1 });
    expect(await select.inputValue()).toBe(chosen);
    const previewStatus = await submit('Review selection with these points');

    // Assess: the preview shows, for every machine, a point at or before the chosen time; nothing is decided yet
    expect(previewStatus, `the preview said: ${await page.locator('main').innerText()}`).toBe(200);
    expect(await page.locator('h1').textContent()).toBe('Restore from older points?');
    expect(await page.locator('main').innerText()).toContain(`crm ≤ ${chosen}`);
    const preview = await page.locator('tr[data-machine]').evaluateAll((rows) => rows.map((r) => ({
      machineId: r.getAttribute('data-machine') ?? '',
      pointId: r.querySelector('[data-point]')?.textContent ?? '',
      capturedAt: r.querySelector('[data-point]')?.parentElement?.querySelector('.muted')?.textContent ?? '',
    })));
    expect(preview.map((p) => p.machineId).sort()).toEqual(['crm-app-1', 'crm-db-1']);
    for (const p of preview) expect(Date.parse(p.capturedAt), `${p.machineId} at ${p.capturedAt}`).toBeLessThanOrEqual(Date.parse(chosen));
    expect(preview.some((p) => p.pointId !== proposed[p.machineId]), 'at least one machine moves to an older point').toBe(true);
    expect(await page.locator('[data-preview-blockers]').count()).toBe(0);
    expect((await detailOf(incidentId)).approvals[0]?.status).toBe('pending');

    // Act 2: confirm
    const confirmStatus = await submit('Approve failover with these points');

    // Assess: approved with the decider's cutoff, then recovered from exactly the previewed points
    expect(confirmStatus, `the decision page said: ${await page.locator('main').innerText()}`).toBe(200);
    expect(await page.locator('[data-approval-status]').textContent()).toBe('APPROVED');
    const detail = await until('the incident to be recovered', async () => {
      const d = await detailOf(incidentId);
      if (d.incident.status === 'failover-failed') throw new Error(`the failover failed: ${JSON.stringify(d.incident.outcome)}`);
      return d.incident.status === 'recovered' ? d : null;
    }, 20_000);
    expect(detail.approvals.find((a) => a.approvalId === approvalId)?.groupCutoffs).toEqual({ crm: chosen });
    const previewed = Object.fromEntries(preview.map((p) => [p.machineId, p.pointId]));
    expect(Object.fromEntries(detail.machines.map((m) => [m.machineId, m.pointId]))).toEqual(previewed);
    for (const m of detail.machines) expect(Date.parse(m.capturedAt), `${m.machineId} ran from ${m.capturedAt}`).toBeLessThanOrEqual(Date.parse(chosen));
    expect(Object.fromEntries(detail.incident.outcome!.machines.map((m) => [m.machineId, m.pointId]))).toEqual(previewed);
    expect(detail.incident.outcome!.machines.every((m) => m.state === 'running')).toBe(true);
    const approved = detail.audit.find((a) => a.type === 'decision.approved');
    expect(approved).toMatchObject({ actor: 'dom', data: { channel: 'web', groupCutoffs: { crm: chosen } } });
    // Independently of what the workflow recorded: the simulator's instances run from those points' snapshots
    const verification = await verifyFailover({ rt: system.rt, stores: system.stores }, incidentId);
    expect(verification.problems).toEqual([]);
    expect(Object.fromEntries(verification.machines.map((m) => [m.machineId, m.used?.pointId]))).toEqual(previewed);
    expect(verification.machines.every((m) => m.instanceState === 'running' && m.problems.length === 0)).toBe(true);
    expect(cspViolations).toEqual([]);
  }, 30_000);

  it('refuses an altered payments link (other signature, or another person under the same signature) with "not valid" and no form', async () => {
    // Prepare: a finding on payments-db-1; Dana's link, and two alterations of it
    const { incidentId, approvalId, link } = await findingAbout('payments-db-1', 'i-0aa0000000000db01', 'dana@example.com');
    const url = new URL(link);
    const signature = url.searchParams.get('s')!;
    const forged = new URL(link);
    forged.searchParams.set('s', `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`);
    const otherPerson = new URL(link);
    otherPerson.searchParams.set('p', 'dom');

    for (const altered of [forged, otherPerson]) {
      // Act
      const response = await page.goto(altered.toString());

      // Assess: refused, with no way to decide from it
      expect(response?.status()).toBe(403);
      expect(await page.locator('h1').textContent()).toBe('Not allowed');
      expect(await page.locator('[role="alert"]').textContent()).toBe('This approval link is not valid for this request.');
      expect(await page.locator('form, button, textarea, select').count()).toBe(0);
    }

    // Assess: both attempts are audited as unverified claims; the request is still pending, undecided
    const detail = await detailOf(incidentId);
    const refused = detail.audit.filter((a) => a.type === 'approval.refused').map((a) => [a.actor, a.data['outcome']]);
    expect(refused).toEqual([['unverified:dev', 'link bad-signature'], ['unverified:dom', 'link bad-signature']]);
    expect(detail.approvals.map((a) => [a.approvalId, a.status, a.decisions.length])).toEqual([[approvalId, 'pending', 0]]);
    expect(detail.incident.status).toBe('awaiting-approval');

    // Assess: the unaltered link still opens Dana's page with its forms
    await page.goto(link);
    expect(await page.locator('[data-person]').textContent()).toBe('Dana Decider');
    expect(await page.getByRole('button', { name: 'Approve failover', exact: true }).count()).toBe(1);
    expect(cspViolations).toEqual([]);
  }, 30_000);
});
