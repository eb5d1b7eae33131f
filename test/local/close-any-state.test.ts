import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/system.ts';
import { inventoryWithLongDeadlines, RANSOMWARE_FILE, startTestSystem, cliAgainst } from '../helpers/local-system.ts';

/**
 * Issue 15, item 3, in the real local runtime (real state machines, per-function IAM): an executor
 * closes an incident whose incident-response run is still going; the run is stopped
 * (StopExecution through manage-incident's role), the groups are released and a new finding on
 * the same group opens a new incident instead of joining the closed one.
 */
let system: LocalSystem;
const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-close-'));

beforeAll(async () => { system = await startTestSystem({ inventoryFile: inventoryWithLongDeadlines() }); }, 60_000);
afterAll(async () => { await system?.close(); });

const cli = (argv: string[]) => cliAgainst(system, argv);

async function statusOf(id: string): Promise<string> {
  const shown = await cli(['incidents', 'show', id, '--json']);
  return (JSON.parse(shown.out) as { incident: { status: string } }).incident.status;
}

describe('incidents close from a state with a run still going', () => {
  it('stops the run, closes with the reason, and a new finding on the group opens a new incident', async () => {
    // Prepare: an incident waiting for its approval (its incident-response execution RUNNING)
    const sent = await cli(['findings', 'send', RANSOMWARE_FILE]);
    const incidentId = sent.out.match(/inc-[0-9a-f]{20}/)![0];
    for (let i = 0; i < 400 && (await statusOf(incidentId)) !== 'awaiting-approval'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await statusOf(incidentId)).toBe('awaiting-approval');

    // Act
    const closed = await cli(['incidents', 'close', incidentId, '--as', 'eve', '--reason', 'declared a false alarm at 3 a.m.']);

    // Assess: closed (not "wait until it settles"), the execution stopped, the audit says who and why
    expect(closed.code, closed.err).toBe(0);
    expect(await statusOf(incidentId)).toBe('closed');
    const execution = system.rt.executionFor(incidentId);
    await execution?.done;
    expect(execution?.status).toBe('ABORTED');
    const detail = JSON.parse((await cli(['incidents', 'show', incidentId, '--json'])).out) as { audit: { type: string; actor: string; data: Record<string, unknown> }[] };
    expect(detail.audit.find((a) => a.type === 'incident.closed')).toMatchObject({ actor: 'eve', data: { reason: 'declared a false alarm at 3 a.m.', stoppedRun: { status: 'awaiting-approval' } } });

    // Act: a new finding (another id) on the same machine
    const raw = JSON.parse(readFileSync(RANSOMWARE_FILE, 'utf8')) as Record<string, unknown>;
    const next = JSON.parse(JSON.stringify(raw).replaceAll(String((raw['detail'] as { id?: string } | undefined)?.id ?? (raw as { id?: string }).id), 'after-close-finding-0001')) as unknown;
    const file = path.join(dir, 'next.json');
    writeFileSync(file, JSON.stringify(next));
    const again = await cli(['findings', 'send', file]);

    // Assess: a new incident, not the closed one
    expect(again.code, again.err).toBe(0);
    const newId = again.out.match(/inc-[0-9a-f]{20}/)![0];
    expect(newId).not.toBe(incidentId);
    expect(await statusOf(incidentId)).toBe('closed');
  }, 90_000);
});
