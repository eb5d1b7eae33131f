import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionForm } from '../../local/demo.ts';
import { startScheduleTicker } from '../../local/main.ts';
import { httpRoutes } from '../../local/serverless-config.ts';
import type { LocalSystem } from '../../local/system.ts';
import { aboutMachine, getJson, inventoryWithLongDeadlines, postJson, ransomwareEvent, startTestSystem, storedState, until } from '../helpers/local-system.ts';

let system: LocalSystem;
let incidentId: string;
let approvalId: string;

beforeAll(async () => {
  system = await startTestSystem({ inventoryFile: inventoryWithLongDeadlines() });
  // Something worth protecting: an incident waiting for approval (deadline a day away).
  const sent = await postJson(system, '/local/findings', await ransomwareEvent(system));
  expect(sent.status).toBe(201);
  incidentId = sent.body['incidentId'] as string;
  approvalId = (sent.body['approval'] as { approvalId: string }).approvalId;
}, 60_000);
afterAll(async () => { await system?.close(); });

/** A request with full control over headers and framing (fetch will not send a foreign Host or a bare chunked body). */
function rawRequest(o: { method: string; path: string; headers?: Record<string, string>; chunks?: string[] }): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const port = (system.server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: o.method, path: o.path, headers: o.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    for (const c of o.chunks ?? []) req.write(c);
    req.end();
  });
}

const big = 'x'.repeat(17 * 1024);

interface BadCase { name: string; method: string; path: string; body?: string; contentType?: string; status: number; mentions: RegExp }

const BAD_REQUESTS: BadCase[] = [
  { name: 'a finding that is not JSON', method: 'POST', path: '/local/findings', body: '{"source": "aws.guardduty",', status: 400, mentions: /not valid JSON/ },
  { name: 'an empty finding body', method: 'POST', path: '/local/findings', body: '', status: 400, mentions: /empty/ },
  { name: 'a JSON array instead of a finding', method: 'POST', path: '/local/findings', body: '[1,2]', status: 400, mentions: /JSON object/ },
  { name: 'a finding nested deeper than 32 levels', method: 'POST', path: '/local/findings', body: `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`, status: 400, mentions: /nests deeper than 32 levels/ },
  { name: 'a finding sent as text/plain (what a cross-site form can send)', method: 'POST', path: '/local/findings', body: '{}', contentType: 'text/plain', status: 415, mentions: /application\/json/ },
  { name: 'a finding without its first-seen time', method: 'POST', path: '/local/findings', body: 'NO_FIRST_SEEN', status: 400, mentions: /eventFirstSeen/ },
  { name: 'an event from another service', method: 'POST', path: '/local/findings', body: '{"source":"aws.securityhub","detail-type":"Security Hub Findings - Imported","detail":{}}', status: 422, mentions: /aws\.securityhub/ },
  { name: 'a finding over 16 KiB', method: 'POST', path: '/local/findings', body: JSON.stringify({ pad: big }), status: 413, mentions: /larger than 16384 bytes/ },
  { name: 'a finding with a wait that is not a number', method: 'POST', path: '/local/findings?wait=soon', body: '{}', status: 400, mentions: /query\.wait/ },
  { name: 'an incident id that does not exist', method: 'GET', path: '/local/incidents/inc-00000000000000000000', status: 404, mentions: /no incident inc-0{20}/ },
  { name: 'an incident id of the wrong shape', method: 'GET', path: '/local/incidents/..%2Fapprovals', status: 400, mentions: /incidentId: must be an incident id/ },
  { name: 'a listing limit of zero', method: 'GET', path: '/local/incidents?limit=0', status: 400, mentions: /query\.limit/ },
  { name: 'an unknown approval status', method: 'GET', path: '/local/approvals?status=maybe', status: 400, mentions: /query\.status/ },
  { name: 'an unknown query parameter', method: 'GET', path: '/local/approvals?owner=me', status: 400, mentions: /unknown field owner/ },
  { name: 'a repeated query parameter', method: 'GET', path: '/local/outbox?to=a@example.com&to=b@example.com', status: 400, mentions: /more than once/ },
  { name: 'faults that are not JSON', method: 'POST', path: '/local/faults', body: 'failureRate=1', status: 400, mentions: /not valid JSON/ },
  { name: 'a failure rate above 1', method: 'POST', path: '/local/faults', body: '{"failureRate":2}', status: 400, mentions: /faults\.failureRate/ },
  { name: 'an unknown kind of fault', method: 'POST', path: '/local/faults', body: '{"meteorStrike":true}', status: 400, mentions: /unknown field meteorStrike/ },
  { name: 'a DELETE of the incident list', method: 'DELETE', path: '/local/incidents', status: 405, mentions: /use GET/ },
  { name: 'a GET of the findings endpoint', method: 'GET', path: '/local/findings', status: 405, mentions: /use POST/ },
  { name: 'a PUT of the faults', method: 'PUT', path: '/local/faults', body: '{}', status: 405, mentions: /use GET or POST/ },
  { name: 'an unknown local endpoint', method: 'GET', path: '/local/secrets', status: 404, mentions: /no such page or endpoint/ },
  { name: 'a drill request sent as text/plain', method: 'POST', path: '/local/drills', body: '{"group":"crm"}', contentType: 'text/plain', status: 415, mentions: /application\/json/ },
  { name: 'a drill request with an unknown field', method: 'POST', path: '/local/drills', body: '{"group":"crm","force":true}', status: 400, mentions: /body.*force/ },
  { name: 'a drill of a group the inventory does not have', method: 'POST', path: '/local/drills', body: '{"group":"nope"}', status: 422, mentions: /no group "nope"/ },
  { name: 'a drill from a point it cannot read', method: 'POST', path: '/local/drills', body: '{"group":"crm","point":"random-ish"}', status: 422, mentions: /random-within:Nd/ },
  { name: 'a drill of a group an open incident holds (refused, not started and failed)', method: 'POST', path: '/local/drills', body: '{"group":"payments"}', status: 409, mentions: /open incident inc-[0-9a-f]{20} \(awaiting-approval\)/ },
  { name: 'a drill id of the wrong shape', method: 'GET', path: '/local/drills/..%2Fincidents', status: 400, mentions: /drillId: must be a drill id/ },
  { name: 'a drill that does not exist', method: 'GET', path: '/local/drills/drill-crm-20260101T0300', status: 404, mentions: /no drill drill-crm-20260101T0300/ },
  { name: 'an abort of a drill that never ran', method: 'POST', path: '/local/drills/drill-crm-20260101T0300/abort', body: '{}', status: 404, mentions: /no drill execution/ },
  { name: 'the drills of a group the inventory does not have', method: 'GET', path: '/local/drills?group=nope', status: 404, mentions: /no group nope/ },
  { name: 'a GET of the schedule tick', method: 'GET', path: '/local/schedules/tick', status: 405, mentions: /use POST/ },
];

async function send(c: BadCase) {
  let body = c.body;
  if (body === 'NO_FIRST_SEEN') {
    const event = await ransomwareEvent(system);
    delete ((event['detail'] as Record<string, unknown>)['service'] as Record<string, unknown>)['eventFirstSeen'];
    body = JSON.stringify(event);
  }
  const res = await fetch(`${system.url}${c.path}`, {
    method: c.method, ...(body !== undefined ? { body, headers: { 'content-type': c.contentType ?? 'application/json' } } : {}),
  });
  return { status: res.status, type: res.headers.get('content-type'), allow: res.headers.get('allow'), body: (await res.json()) as { error?: unknown } };
}

describe('local API: a bad request is refused with a clear 4xx and changes nothing', () => {
  it.each(BAD_REQUESTS)('refuses $name', async (c) => {
    // Prepare
    const before = await storedState(system);

    // Act
    const res = await send(c);

    // Assess
    expect(res.status).toBe(c.status);
    expect(res.type).toMatch(/^application\/json/);
    expect(typeof res.body.error).toBe('string');
    expect(res.body.error).toMatch(c.mentions);
    if (c.status === 405) expect(res.allow).toBeTruthy();
    expect(await storedState(system)).toEqual(before);
  });

  it('refuses an oversized chunked body (no Content-Length) with 413 before reading it all', async () => {
    const before = await storedState(system);
    const res = await rawRequest({ method: 'POST', path: '/local/findings', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks: [big.slice(0, 9000), big.slice(9000)] });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toMatch(/larger than 16384 bytes/);
    expect(await storedState(system)).toEqual(before);
  });

  it('answers only for its own host name, so a rebinding web page cannot read or drive it', async () => {
    const before = await storedState(system);
    const res = await rawRequest({ method: 'GET', path: '/local/incidents', headers: { host: 'attacker.example:80' } });
    expect(res.status).toBe(421);
    expect(res.body).not.toContain(incidentId);
    expect(await storedState(system)).toEqual(before);
  });

  it('refuses an oversized decision with 413 before the approval handler runs', async () => {
    const before = await storedState(system);
    const res = await fetch(`${system.url}/approvals/${approvalId}/decision`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `decision=approve&reason=${big}`,
    });
    expect(res.status).toBe(413);
    expect(await storedState(system)).toEqual(before);
    expect((await system.stores.approvals.getApproval(approvalId))?.status).toBe('pending');
  });

  it('answers a wrong method on an approval route with 405 and its allowed method', async () => {
    const before = await storedState(system);
    const res = await fetch(`${system.url}/approvals/${approvalId}`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect(await storedState(system)).toEqual(before);
  });

  it('answers an unknown console page or incident with a 404 page', async () => {
    const before = await storedState(system);
    const [unknownPage, unknownIncident] = await Promise.all([fetch(`${system.url}/nowhere`), fetch(`${system.url}/incidents/inc-00000000000000000000`)]);
    expect(unknownPage.status).toBe(404);
    expect(unknownIncident.status).toBe(404);
    expect(await unknownIncident.text()).toContain('There is no incident inc-00000000000000000000');
    expect(await storedState(system)).toEqual(before);
  });

  it.each([
    ['/drills/nope', 404, 'There is no group &quot;nope&quot; in the inventory.'],
    ['/drills?group=nope', 404, 'There is no group &quot;nope&quot; in the inventory.'],
    ['/drills?group=crm&group=intranet', 400, 'name one group: ?group=NAME'],
    ['/drills?colour=red', 400, 'this page takes only ?group=NAME (got colour)'],
    ['/drills/crm?group=crm', 400, 'this page takes no query parameters (got group)'],
  ])('answers the drills page %s with %i and says why', async (p, status, message) => {
    const res = await fetch(`${system.url}${p}`);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain(message);
  });
});

describe('local server: what it serves', () => {
  it('listens on 127.0.0.1 only', () => {
    // Act
    const address = system.server.address() as AddressInfo;

    // Assess
    expect(address.address).toBe('127.0.0.1');
    expect(system.url).toBe(`http://127.0.0.1:${address.port}`);
  });

  it('accepts a bare finding (no EventBridge envelope) and routes it like the event', async () => {
    // Prepare
    const event = aboutMachine(await ransomwareEvent(system), 'i-0cc000000000a0101', 'intranet-web-1');

    // Act
    const sent = await postJson(system, '/local/findings?wait=0', event['detail']);

    // Assess
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ created: true, action: 'failover-proposal' });
  });

  it('serves every httpApi route of serverless.yml through its function handler', async () => {
    // Prepare
    const routes = httpRoutes(system.rt.def);
    expect(routes.length).toBeGreaterThanOrEqual(2);

    // Act: an approval id that does not exist reaches show-approval, which answers with its own page
    const res = await fetch(`${system.url}/approvals/AAAAAAAAAAAAAAAAAAAAAA?p=dev&e=1&s=x`);

    // Assess
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('No approval request with this id exists');
  });

  it('returns the incident and the first decider\'s approval link for a new finding', async () => {
    // Prepare / Act: done in beforeAll; read it back
    const detail = await getJson(system, `/local/incidents/${incidentId}`);
    const approvals = await getJson(system, `/local/approvals?incidentId=${incidentId}&status=pending`);

    // Assess
    expect(detail.status).toBe(200);
    expect((detail.body['incident'] as { status: string }).status).toBe('awaiting-approval');
    const [approval] = approvals.body['approvals'] as { approvalId: string; link: { email: string; url: string }; taskToken?: string }[];
    expect(approval?.approvalId).toBe(approvalId);
    expect(approval?.link.email).toBe('dana@example.com');
    expect(approval?.link.url).toMatch(new RegExp(`^${system.url}/approvals/${approvalId}\\?`));
    expect(approval).not.toHaveProperty('taskToken');
    expect(JSON.stringify(detail.body)).not.toMatch(/taskToken/);
  });

  it('folds a second finding on the same group into the open incident, and a redelivery changes nothing', async () => {
    // Prepare
    const event = await ransomwareEvent(system);
    const first = await postJson(system, '/local/findings?wait=0', event);
    // Workflows of earlier findings move on by themselves (selection, scans, the approval request): let them reach the decision step.
    await until('every incident waiting for a decision', async () => (await system.stores.incidents.listIncidents()).every((i) => i.status !== 'proposed'));
    const before = await storedState(system);

    // Act
    const again = await postJson(system, '/local/findings?wait=0', event);

    // Assess
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ incidentId, correlated: true, created: false });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ incidentId, delivery: 'duplicate' });
    expect((await storedState(system)).incidents).toEqual(before.incidents);
  });

  it('replaces the simulator faults and clears them with {}', async () => {
    // Act
    const set = await postJson(system, '/local/faults', { capacityErrors: { instanceTypes: ['r6i.xlarge'] } });
    const cleared = await postJson(system, '/local/faults', {});

    // Assess
    expect(set.status).toBe(200);
    expect(set.body['faults']).toEqual({ capacityErrors: { instanceTypes: ['r6i.xlarge'] } });
    expect(cleared.body['faults']).toEqual({});
  });

  it.each(['/', '/machines', '/incidents', '/outbox', `/incidents/{id}`, '/drills', '/drills?group=crm', '/drills/intranet'])('serves %s as a script-free page under a strict CSP', async (p) => {
    // Act
    const res = await fetch(`${system.url}${p.replace('{id}', incidentId)}`);
    const html = await res.text();

    // Assess
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(html).not.toMatch(/<script|\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href)="https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('escapes what people typed (a rejection reason) on the incident page and in the outbox', async () => {
    // Prepare: an incident on the CRM database, and its decider's approval page
    const event = aboutMachine(await ransomwareEvent(system), 'i-0bb0000000000db01', 'crm-db-1');
    const sent = await postJson(system, '/local/findings', event);
    expect(sent.body).toMatchObject({ created: true, approval: { email: 'dominik@example.com' } });
    const link = (sent.body['approval'] as { url: string }).url;
    const form = decisionForm(await (await fetch(link)).text(), 'reject');
    const reason = '<script>alert(1)</script> "quoted" & <b>bold</b>';

    // Act
    const rejected = await fetch(new URL(form.action, link), {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...form.fields, reason }).toString(),
    });
    const crmIncident = sent.body['incidentId'] as string;
    await until('the rejection to be recorded', async () => (await system.stores.incidents.getIncident(crmIncident))?.status === 'rejected');
    const [page, outbox] = await Promise.all([fetch(`${system.url}/incidents/${crmIncident}`).then((r) => r.text()), fetch(`${system.url}/outbox`).then((r) => r.text())]);

    // Assess
    expect(rejected.status).toBe(200);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;');
    expect(page).not.toMatch(/<script|<b>bold/);
    expect(outbox).not.toMatch(/<script|<b>bold/);
  });
});

describe('npm start: the schedules tick every virtual hour (off unless asked)', () => {
  it('starts the due crm drill on a tick, says so, says how it ended, and stops ticking when stopped', async () => {
    // Prepare: nothing ticks by itself in a test system; this ticker runs a tick every 50 wall ms
    // (speed 72 000: a virtual hour), counting the ticks and keeping the lines it prints.
    let ticks = 0;
    const rt = { ...system.rt, runSchedules: () => { ticks++; return system.rt.runSchedules(); } };
    const lines: string[] = [];
    const errors: string[] = [];
    const drillsBefore = await system.stores.drills.listDrills('crm', { limit: 10 });
    expect(drillsBefore).toEqual([]);

    // Act
    const ticker = startScheduleTicker({ ...system, rt }, { speed: 72_000, out: (l) => lines.push(l), err: (l) => errors.push(l) });
    const started = await until('a tick to start the crm drill', () => lines.find((l) => l.startsWith('Drill started: drill-crm-')), 10_000);
    const drillId = started.match(/drill-crm-\d{8}T\d{4}/)![0];
    const ended = await until('the drill to end', () => lines.find((l) => l.startsWith(`Drill ${drillId} `)), 20_000);
    await until('another tick', () => ticks >= 3, 5_000);
    await ticker.stop();
    const ticksAtStop = ticks;
    await new Promise((r) => setTimeout(r, 200));

    // Assess
    expect(errors).toEqual([]);
    expect(started).toMatch(new RegExp(`^Drill started: ${drillId} \\(crm, scheduled for \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:00\\.000Z\\): ${system.url}/drills/crm$`));
    expect(ended).toMatch(new RegExp(`^Drill ${drillId} passed with warnings, RTO [\\d.]+ min\\.$`));
    expect(lines.filter((l) => l.startsWith('Drill started: drill-crm-'))).toHaveLength(1); // later ticks: the slot is taken
    expect(ticks).toBe(ticksAtStop);
    expect(await system.stores.drills.getDrill(drillId)).toMatchObject({ trigger: 'schedule', status: 'finished', result: 'warn' });
    const machines = await (await fetch(`${system.url}/machines`)).text();
    expect(machines).toMatch(/<tr data-machine="crm-db-1">[\s\S]*?data-lifecycle>Tested Recently<\/span>/);
  }, 40_000);
});
