import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/system.ts';
import { inventoryWithLongDeadlines, RANSOMWARE_FILE, startTestSystem, cliAgainst } from '../helpers/local-system.ts';

let system: LocalSystem;
const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-after-'));

beforeAll(async () => { system = await startTestSystem({ inventoryFile: inventoryWithLongDeadlines() }); }, 60_000);
afterAll(async () => { await system?.close(); });

const cli = (argv: string[]) => cliAgainst(system, argv);

const approvalIdIn = (text: string) => text.match(/\/approvals\/([A-Za-z0-9_-]{22,64})\?/)?.[1] ?? '';

describe('cleanpoint CLI after the proposal: decide, watch, export, verify, fail back', () => {
  let incidentId = '';

  it('approves from the CLI as a named decider, and the failover recovers', async () => {
    // Prepare
    const sent = await cli(['findings', 'send', RANSOMWARE_FILE]);
    incidentId = sent.out.match(/inc-[0-9a-f]{20}/)![0];
    const approvalId = approvalIdIn(sent.out);

    // Act
    const refused = await cli(['approvals', 'approve', approvalId, '--as', 'ana']);
    const approved = await cli(['approvals', 'approve', approvalId, '--as', 'dev']);
    const watched = await cli(['incidents', 'watch', incidentId, '--interval', '50', '--timeout', '60']);

    // Assess: an analyst is refused (403 → exit 2), the decider's approval counts, the incident recovers
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/not a decider/);
    expect(approved.code, approved.err).toBe(0);
    expect(approved.out).toContain('request is approved');
    expect(watched.code, watched.err).toBe(0);
    expect(watched.out).toMatch(/recovered/);
  }, 90_000);

  it('exports the evidence pack as HTML and verifies the audit chain', async () => {
    const file = path.join(dir, 'evidence.html');
    const exported = await cli(['incidents', 'export', incidentId, '--format', 'html', '--out', file]);
    const verified = await cli(['incidents', 'verify', incidentId]);

    expect(exported.code, exported.err).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain(`Evidence pack — incident ${incidentId}`);
    expect(html).toMatch(/<td>dev<\/td><td>decision\.approved<\/td><td>cli<\/td>/);
    expect(verified.code).toBe(0);
    expect(verified.out).toMatch(/audit chain of inc-[0-9a-f]{20} intact \(\d+ entries\)/);
  }, 30_000);

  it('refuses a close without a reason, then fails back as the executor once a decider approves, and closes the incident', async () => {
    const noReason = await cli(['incidents', 'close', incidentId, '--as', 'eve']);
    expect(noReason.code).toBe(2);

    const started = await cli(['incidents', 'failback', incidentId, '--as', 'eve']);
    expect(started.code, started.err).toBe(0);
    expect(started.out).toMatch(/waits for a decider's approval/);

    // The failback asks the deciders: find its pending request and approve it as the decider
    let failbackApproval: { approvalId: string; purpose?: string; requestedBy?: string } | undefined;
    for (let i = 0; i < 600 && !failbackApproval; i++) {
      const listed = await cli(['approvals', 'list', '--status', 'pending', '--json']);
      failbackApproval = (JSON.parse(listed.out) as { approvalId: string; incidentId: string; purpose?: string; requestedBy?: string }[])
        .find((a) => a.incidentId === incidentId && a.purpose === 'failback');
      if (!failbackApproval) await new Promise((r) => setTimeout(r, 50));
    }
    expect(failbackApproval?.requestedBy).toBe('eve');
    const approved = await cli(['approvals', 'approve', failbackApproval!.approvalId, '--as', 'dev']);
    expect(approved.code, approved.err).toBe(0);
    expect(approved.out).toContain('request is approved');

    let status = '';
    for (let i = 0; i < 600 && status !== 'closed' && status !== 'failback-pending'; i++) {
      status = JSON.parse((await cli(['incidents', 'show', incidentId, '--json'])).out).incident.status;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('closed');
  }, 90_000);
});
