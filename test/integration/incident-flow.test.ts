import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.ts';
import { approvalLink, formFields, guardDutyEvent, httpGet, httpPostForm, startSeededRuntime, until } from '../helpers/local-runtime.ts';

let rt: LocalRuntime;

beforeAll(async () => { rt = await startSeededRuntime(); }, 120_000);
afterAll(async () => { await rt?.close(); });

async function incident(incidentId: string) {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  return stateStores({ STATE_TABLE: rt.tables.state }).incidents.getIncident(incidentId);
}

describe('incident-response workflow in the local runtime', () => {
  it('fails the payments group over to the latest clean points once a decider approves', async () => {
    // Prepare: a ransomware-like finding on the payments database
    const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0aa0000000000db01', minutesAgo: 30 }));
    expect(delivery?.status).toBe('delivered');
    const incidentId = (delivery!.result as { incidentId: string }).incidentId;

    // Act: the decider opens the personal link from the e-mail and approves
    const link = await approvalLink(rt, 'dana@example.com');
    const page = await httpGet(rt, link);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Approve recovery-mode failover of payments?');
    const approved = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
    expect(approved.statusCode).toBe(200);
    const execution = await until('the incident execution', () => rt.executionFor(incidentId));
    const done = await execution.done;

    // Assess: the workflow succeeded, the incident is recovered, machines run from pre-corruption points
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    const stored = await incident(incidentId);
    expect(stored?.status).toBe('recovered');
    expect(stored?.outcome?.machines.map((m) => m.state)).toEqual(['running', 'running', 'running']);
    const launched = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } }).filter((r) => r.type === 'instance');
    expect(launched).toHaveLength(3);
    expect(launched.every((r) => r.tags['cleanpoint:mode'] === 'recovery')).toBe(true);
    const suspected = Date.parse(stored!.suspectedSince!);
    for (const m of stored!.outcome!.machines) {
      const capturedAt = Date.parse(m.pointId.replace(/^rp-.*-(\d{8}T\d{4})$/, (_, t: string) => `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:00Z`));
      expect(capturedAt).toBeLessThanOrEqual(suspected);
    }
  }, 60_000);
});
