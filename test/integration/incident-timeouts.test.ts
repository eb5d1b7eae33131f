import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.ts';
import { approvalLink, formFields, guardDutyEvent, httpGet, httpPostForm, startSeededRuntime, until } from '../helpers/local-runtime.ts';

let rt: LocalRuntime;
let expiredIncident = '';

beforeAll(async () => {
  // One-minute approval timeout; at 600× that is 100 ms of wall time.
  rt = await startSeededRuntime({ inventoryFile: path.resolve('test/fixtures/inventory-fast.yaml'), infected: {} });
}, 120_000);
afterAll(async () => { await rt?.close(); });

async function stores() {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  return stateStores({ STATE_TABLE: rt.tables.state }, rt.platform);
}

describe('incident-response workflow: waiting for a decision', () => {
  it('escalates to the next deciders on timeout and ends as expired when nobody decides', async () => {
    // Prepare
    const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0dd0000000000db01', minutesAgo: 10 }));
    const incidentId = (delivery!.result as { incidentId: string }).incidentId;
    expiredIncident = incidentId;

    // Act: nobody decides
    const done = await (await until('execution', () => rt.executionFor(incidentId))).done;

    // Assess
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('ApprovalExpired');
    const entered = done.events.filter((e) => e.type === 'StateEntered').map((e) => e.state?.name);
    expect(entered).toContain('Escalate To Next Deciders');
    expect(entered).toContain('Record Expiry');
    expect(rt.outbox.some((m) => m.to.includes('esme@example.com') && m.subject.startsWith('[ESCALATED]'))).toBe(true);
    expect((await (await stores()).incidents.getIncident(incidentId))?.status).toBe('expired');
    expect(await (await stores()).approvals.listApprovals({ incidentId, status: 'pending' })).toEqual([]);
    expect(rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } })).toEqual([]);
  }, 60_000);

  it('refuses a decision on the first request once it has timed out', async () => {
    // Prepare: the first request of the previous incident has expired; its e-mailed link still exists
    const [first] = (await (await stores()).approvals.listApprovals({ incidentId: expiredIncident })).filter((a) => !a.escalation);
    const mail = rt.outbox.find((m) => m.text.includes(`/approvals/${first!.approvalId}?`))!;
    const link = new URL(mail.text.match(/https?:\/\/\S+\/approvals\/\S+/)![0]);
    const page = await httpGet(rt, link);
    const auditBefore = (await (await stores()).audit.list(expiredIncident)).length;

    // Act: the page no longer offers a decision; a hand-made POST is refused
    const late = await httpPostForm(rt, `${link.pathname}/decision`, {
      p: link.searchParams.get('p')!, e: link.searchParams.get('e')!, s: link.searchParams.get('s')!, csrf: 'made-up', decision: 'approve', step: 'confirm',
    });

    // Assess: refused, audited, nothing launched
    expect(page.body).not.toContain('name="decision" value="approve"');
    expect([403, 409, 410]).toContain(late.statusCode);
    expect((await (await stores()).audit.list(expiredIncident)).length).toBe(auditBefore + 1);
    expect(rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: expiredIncident } })).toEqual([]);
  }, 60_000);

  it('cleans up everything a failed test-mode run launched', async () => {
    // Prepare: a GuardDuty sample finding (test mode only); the second wave's type has no capacity
    rt.sim.setFaults({ capacityErrors: { instanceTypes: ['c6i.large'] } });
    const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0ee0000000000db01', sample: true, minutesAgo: 15 }));
    const incidentId = (delivery!.result as { incidentId: string }).incidentId;
    const link = await approvalLink(rt, 'dana@example.com', incidentId);
    const page = await httpGet(rt, link);
    expect(page.body).toContain('TEST MODE');

    // Act
    await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
    const done = await (await until('execution', () => rt.executionFor(incidentId))).done;
    rt.sim.clearFaults();

    // Assess: wave 1 launched in test mode, wave 2 failed, cleanup removed everything
    expect(done.status).toBe('FAILED');
    const audit = await (await stores()).audit.list(incidentId);
    expect(audit.some((a) => a.type === 'machine.launched' && (a.data as { mode?: string }).mode === 'test'), JSON.stringify(audit.map((a) => [a.type, a.data])).slice(0, 2500)).toBe(true);
    expect(audit.some((a) => a.type === 'cleanup.done')).toBe(true);
    const left = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } }).filter((r) => r.type === 'instance' || r.type === 'image');
    expect(left).toEqual([]);
  }, 60_000);
});
