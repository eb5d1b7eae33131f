import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import type { Io } from '../../cli/io.ts';
import { decisionForm } from '../../local/demo.ts';
import type { LocalSystem } from '../../local/system.ts';
import { aboutMachine, inventoryWithLongDeadlines, postJson, RANSOMWARE_FILE, startTestSystem } from '../helpers/local-system.ts';

let system: LocalSystem;
let url: string;
const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-cli-'));

beforeAll(async () => {
  system = await startTestSystem({ inventoryFile: inventoryWithLongDeadlines() });
  url = system.url;
}, 60_000);
afterAll(async () => { await system?.close(); });

/** Runs the CLI in-process with captured output. */
async function cli(argv: string[], stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), readStdin: async () => stdin };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function fileWith(name: string, content: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** What a decider does in the browser: open the personal link, press a button. */
async function decide(link: string, decision: 'approve' | 'reject') {
  const form = decisionForm(await (await fetch(link)).text(), decision);
  const res = await fetch(new URL(form.action, link), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form.fields, ...(decision === 'approve' ? { step: 'confirm' } : { reason: 'test' }) }).toString(),
  });
  expect(res.status).toBe(200);
}

const idIn = (text: string) => text.match(/inc-[0-9a-f]{20}/)?.[0] ?? '';
const linkIn = (text: string) => text.match(/http:\/\/127\.0\.0\.1:\d+\/approvals\/\S+/)?.[0] ?? '';

describe('cleanpoint CLI against the running local system', () => {
  let incidentId = '';
  let link = '';

  it('findings send prints the incident id, the action and the first decider\'s approval link', async () => {
    // Act
    const r = await cli(['findings', 'send', RANSOMWARE_FILE, '--url', url]);

    // Assess
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Incident\s+inc-[0-9a-f]{20}\s+\(new incident\)/);
    expect(r.out).toMatch(/Action\s+failover-proposal/);
    expect(r.out).toMatch(/Status\s+awaiting-approval/);
    expect(r.out).toContain('Dana Decider <dana@example.com>');
    incidentId = idIn(r.out);
    link = linkIn(r.out);
    expect(link.startsWith(`${url}/approvals/`)).toBe(true);
  });

  it('findings send - reads the finding from standard input (a second finding joins the open incident)', async () => {
    // Act
    const r = await cli(['findings', 'send', '-', '--url', url, '--json'], readFileSync(RANSOMWARE_FILE, 'utf8'));

    // Assess
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ incidentId, correlated: true, created: false });
  });

  it('approvals list shows the pending request with the decider\'s link', async () => {
    // Act
    const r = await cli(['approvals', 'list', '--status', 'pending', '--url', url]);

    // Assess
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`\\S{22}\\s+${incidentId}\\s+pending\\s+payments\\s+recovery\\s+0/1`));
    expect(r.out).toContain(link);
  });

  it('incidents list and show describe the incident and the proposed recovery points', async () => {
    // Act
    const list = await cli(['incidents', 'list', '--url', url]);
    const show = await cli(['incidents', 'show', incidentId, '--url', url]);

    // Assess
    expect(list.code).toBe(0);
    expect(list.out).toMatch(new RegExp(`${incidentId}\\s+awaiting-approval\\s+failover-proposal\\s+payments`));
    expect(show.code, show.err).toBe(0);
    expect(show.out).toContain(`Incident  ${incidentId}  awaiting-approval  (recovery mode)`);
    expect(show.out).toMatch(/payments-db-1\s+rp-payments-db-1-\d{8}T\d{4}/);
    expect(show.out).toMatch(/skipped \d+ newer \((infected|quarantined)/);
  });

  it('incidents watch follows the failover after the approval and exits 0 when recovered', async () => {
    // Prepare
    const watching = cli(['incidents', 'watch', incidentId, '--url', url, '--interval', '50', '--timeout', '25']);

    // Act
    await decide(link, 'approve');
    const r = await watching;

    // Assess
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/status awaiting-approval; waiting for a decision/);
    expect(r.out).toMatch(/decision\.approved/);
    expect(r.out.match(/machine\.launched .* launched as i-[0-9a-f]+/g)).toHaveLength(3);
    expect(r.out.match(/machine\.ready/g)).toHaveLength(3);
    expect(r.out).toMatch(/Finished: recovered \(RTO [\d.]+ min, RPO [\d.]+ min\)/);
  }, 30_000);

  it('machines list shows the payments machines recovered and the others protected', async () => {
    // Act
    const r = await cli(['machines', 'list', '--url', url]);

    // Assess
    expect(r.code, r.err).toBe(0);
    for (const m of ['payments-db-1', 'payments-api-1', 'payments-api-2']) expect(r.out).toMatch(new RegExp(`${m}\\s+payments.*Recovered\\s+i-[0-9a-f]+ running from rp-${m}-`));
    expect(r.out).toMatch(/crm-db-1\s+crm\s+1.*Protected\s+-\s+Never Tested/);
  });

  it('incidents watch exits 1 when the failover fails (no capacity for the CRM database)', async () => {
    // Prepare
    await postJson(system, '/local/faults', { capacityErrors: { instanceTypes: ['r6i.xlarge'] } });
    const event = aboutMachine(JSON.parse(readFileSync(RANSOMWARE_FILE, 'utf8')) as unknown, 'i-0bb0000000000db01', 'crm-db-1');
    const sent = await cli(['findings', 'send', fileWith('crm.json', JSON.stringify(event)), '--url', url]);
    expect(linkIn(sent.out), sent.out + sent.err).not.toBe('');
    const watching = cli(['incidents', 'watch', idIn(sent.out), '--url', url, '--interval', '50', '--timeout', '25']);

    // Act
    await decide(linkIn(sent.out), 'approve');
    const r = await watching;
    await postJson(system, '/local/faults', {});

    // Assess
    expect(sent.code, sent.err).toBe(0);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/machine\.launch-failed\s+crm-db-1 could not be launched: .*no capacity/);
    expect(r.out).toMatch(/Finished: failover-failed/);
  }, 30_000);
});

describe('cleanpoint CLI: invalid input is exit 2 with a message naming the file or field', () => {
  it('names a finding file that does not exist', async () => {
    const r = await cli(['findings', 'send', path.join(dir, 'missing.json'), '--url', url]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/missing\.json: cannot read the finding \(no such file\)/);
  });

  it('names a finding file that is not JSON', async () => {
    const file = fileWith('broken.json', '{"detail": ');
    const r = await cli(['findings', 'send', file, '--url', url]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('broken.json: not valid JSON');
  });

  it('names the file and the field of a finding with an impossible first-seen time', async () => {
    const event = JSON.parse(readFileSync(RANSOMWARE_FILE, 'utf8')) as { detail: { service: { eventFirstSeen: string } } };
    event.detail.service.eventFirstSeen = 'yesterday';
    const r = await cli(['findings', 'send', fileWith('bad-time.json', JSON.stringify(event)), '--url', url]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad-time\.json: .*detail\.service\.eventFirstSeen/);
  });

  it('names an ID that is not an incident id', async () => {
    const r = await cli(['incidents', 'show', 'payments', '--url', url]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ID "payments" must be an incident id/);
  });

  it('passes on the server\'s message for an incident that does not exist', async () => {
    const r = await cli(['incidents', 'show', 'inc-00000000000000000000', '--url', url]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('incident inc-00000000000000000000: no incident inc-00000000000000000000');
  });

  it('refuses an unknown approval status, a missing subcommand and a URL that is not one', async () => {
    const [status, missing, badUrl, flag] = await Promise.all([
      cli(['approvals', 'list', '--status', 'maybe', '--url', url]),
      cli(['incidents', '--url', url]),
      cli(['machines', 'list', '--url', 'not a url']),
      cli(['machines', 'list', '--colour']),
    ]);
    expect(status.code).toBe(2);
    expect(status.err).toContain('--status must be one of pending, approved, rejected, expired');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('usage: cleanpoint incidents list|show ID|watch ID');
    expect(badUrl.code).toBe(2);
    expect(badUrl.err).toContain('--url "not a url" is not a URL');
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/--colour/);
  });

  it('is exit 1 with a hint when nothing listens at --url', async () => {
    const r = await cli(['incidents', 'list', '--url', 'http://127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach Cleanpoint at http:\/\/127\.0\.0\.1:9 .*Is `npm start` running\?/);
  });
});
