import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import { DEMO_HIDDEN_THREAT } from '../../local/demo-estate.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { formFields, guardDutyEvent, httpGet, httpPostForm, inventoryWithGroups, startSeededRuntime, until } from '../helpers/local-runtime.ts';

/**
 * Scan before launch in the local runtime: the incident workflow scans each chosen point with
 * (simulated) GuardDuty Malware Protection before asking, steps back past a point whose scan
 * finds a threat, and shows a point whose scan did not finish in the budget as unverified,
 * which takes an explicit second confirmation to approve.
 */
let rt: LocalRuntime;

beforeAll(async () => {
  // payments-db-1's newest eligible point hides a threat only a scan can see (the demo estate's rule).
  rt = await startSeededRuntime({ inventoryFile: inventoryWithGroups([]), speed: 120, infected: { 'payments-db-1': 100 } });
}, 120_000);
afterAll(async () => { await rt?.close(); });

async function stores() {
  const { stateStores, catalogStore } = await import('../../functions/shared/wiring.ts');
  return { ...stateStores({ STATE_TABLE: rt.tables.state }, rt.platform), catalog: catalogStore({ CATALOG_TABLE: rt.tables.catalog }, rt.platform) };
}

async function pending(incidentId: string): Promise<ApprovalRequest> {
  const s = await stores();
  return until(`a pending request for ${incidentId}`, async () => (await s.approvals.listApprovals({ incidentId, status: 'pending' }))[0], 60_000);
}

async function pageFor(r: ApprovalRequest) {
  const msg = await until('the approval e-mail', () => [...rt.outbox].reverse().find((m) => m.text.includes(`/approvals/${r.approvalId}?`) && m.to.some((t) => t.includes('@'))));
  const link = new URL(msg.text.match(/https?:\/\/\S+\/approvals\/\S+/)![0]);
  return { link, page: await httpGet(rt, link), text: msg.text };
}

describe('scan before launch', () => {
  it('steps back past a point whose scan finds a threat and proposes the older point, scanned clean, with the scan on the page', async () => {
    // Prepare + Act: ransomware on the payments database
    const [delivered] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0aa0000000000db01', minutesAgo: 30, id: 'scan-a-000000000000000000000001' }));
    const incidentId = (delivered!.result as { incidentId: string }).incidentId;
    const request = await pending(incidentId);

    // Assess: the scanned point with the hidden threat is marked infected with the scan's evidence
    const s = await stores();
    const audit = await s.audit.list(incidentId);
    const found = audit.find((e) => e.type === 'scan.threats-found' && e.data['machineId'] === 'payments-db-1');
    expect(found).toBeDefined();
    const infectedPoint = String(found!.data['pointId']);
    const point = await s.catalog.getPoint('payments-db-1', infectedPoint);
    expect(point).toMatchObject({ scan: 'infected', scanRecord: { source: 'guardduty-scan', verdict: 'infected', threats: [expect.objectContaining({ name: DEMO_HIDDEN_THREAT.name, path: DEMO_HIDDEN_THREAT.path })] } });
    // ... and the request proposes an older point, scanned clean
    const db = request.proposal!.selection.machines.find((m) => m.machineId === 'payments-db-1')!;
    expect(db.pointId).not.toBe(infectedPoint);
    expect(Date.parse(db.capturedAt)).toBeLessThan(Date.parse(point!.capturedAt));
    expect(request.proposal!.scans?.['payments-db-1']).toMatchObject({ pointId: db.pointId, verdict: 'clean' });
    const { page, text } = await pageFor(request);
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/data-scan="clean"/);
    expect(page.body).toContain('newer point(s) had threats');
    expect(page.body).not.toContain('data-confirm-unverified');
    expect(text).toContain('Malware scan before launch');
  }, 90_000);

  it('shows a point whose scan outlasts the budget as unverified: approving without the second confirmation is refused, with it accepted and audited', async () => {
    // Prepare: every scan of the intranet machine's points takes longer than the 30-minute budget
    const s = await stores();
    for await (const p of s.catalog.pointsAtOrBefore('intranet-web-1', new Date(rt.clock.now()).toISOString())) {
      for (const snap of p.snapshots) rt.guardDuty.setDuration(snap.snapshotId, 3 * 3_600_000);
    }
    const [delivered] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0cc000000000a0101', minutesAgo: 30, id: 'scan-b-000000000000000000000001' }));
    const incidentId = (delivered!.result as { incidentId: string }).incidentId;

    // Act: the request arrives once the budget is spent; the decider first approves without confirming
    const request = await pending(incidentId);
    const { link, page } = await pageFor(request);
    expect(page.body).toMatch(/data-scan="unverified"/);
    expect(page.body).toContain('data-confirm-unverified');
    const fields = { ...formFields(page.body, 'approve'), step: 'confirm' };
    const refused = await httpPostForm(rt, `${link.pathname}/decision`, fields);
    const accepted = await httpPostForm(rt, `${link.pathname}/decision`, { ...fields, confirmUnverified: 'true' });

    // Assess
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('confirmUnverified');
    expect(accepted.statusCode, accepted.body).toBe(200);
    const types = (await s.audit.list(incidentId)).map((e) => e.type);
    expect(types).toContain('scan.unverified');
    expect(types).toContain('approval.refused');
    expect(types).toContain('decision.unverified-confirmed');
    expect((await s.approvals.getApproval(request.approvalId))?.status).toBe('approved');
  }, 90_000);
});
