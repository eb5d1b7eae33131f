import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import { currentCutoff } from '../../domain/incidents/index.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { formFields, guardDutyEvent, httpGet, httpPostForm, inventoryWithGroups, startSeededRuntime, until } from '../helpers/local-runtime.ts';

/**
 * Incidents evolve: evidence arrives while the deciders read and while machines launch. One rule
 * holds at every step — nothing Cleanpoint launches was known to be unsafe at its launch. Each
 * test below sets up its own group's incident in one shared local runtime (real ASL, handlers,
 * DynamoDB, EC2 simulator, GuardDuty scan simulator).
 */
let rt: LocalRuntime;


beforeAll(async () => {
  // Boots take 5 virtual minutes (2.5 s of wall time at ×120): evidence can arrive between waves.
  rt = await startSeededRuntime({ inventoryFile: inventoryWithGroups([{ name: 'archive', machineId: 'archive-1', instanceId: 'i-0dd0000000000db01' }, { name: 'vault', machineId: 'vault-1', instanceId: 'i-0ee0000000000db01' }]), speed: 120, infected: {}, ec2: { bootMs: 300_000, statusCheckMs: 60_000 } });
}, 120_000);
afterAll(async () => { await rt?.close(); });

async function stores() {
  const { stateStores, catalogStore } = await import('../../functions/shared/wiring.ts');
  return { ...stateStores({ STATE_TABLE: rt.tables.state }, rt.platform), catalog: catalogStore({ CATALOG_TABLE: rt.tables.catalog }, rt.platform) };
}

async function pendingRequest(incidentId: string, except: string[] = []): Promise<ApprovalRequest> {
  const s = await stores();
  return until(`a new pending approval request for ${incidentId}`, async () => {
    const [r] = (await s.approvals.listApprovals({ incidentId, status: 'pending' })).filter((a) => !except.includes(a.approvalId));
    const sent = r && (await s.audit.list(incidentId)).some((e) => e.type === 'approval.requested' && e.data['approvalId'] === r.approvalId);
    return sent ? r : undefined;
  }, 60_000);
}

/** A decider's personal link for a request, from the local outbox. */
async function linkFor(approvalId: string): Promise<URL> {
  const msg = await until(`the e-mail for ${approvalId}`, () => [...rt.outbox].reverse().find((m) => m.to.some((t) => t.includes('@')) && m.text.includes(`/approvals/${approvalId}?`)));
  return new URL(msg.text.match(/https?:\/\/\S+\/approvals\/\S+/)![0]);
}

async function approve(approvalId: string): Promise<void> {
  const link = await linkFor(approvalId);
  const page = await httpGet(rt, link);
  expect(page.statusCode, page.body).toBe(200);
  const res = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm', confirmUnverified: 'true' });
  expect(res.statusCode, res.body).toBe(200);
}

async function settled(incidentId: string, status: string) {
  const s = await stores();
  return until(`incident ${incidentId} ${status}`, async () => {
    const i = await s.incidents.getIncident(incidentId);
    return i?.status === status ? i : undefined;
  }, 60_000);
}

/** A GuardDuty finding on an instance carrying tags (a recovery instance, or one naming a machine). */
function taggedFinding(o: { instanceId: string; tags: Record<string, string>; minutesAgo?: number; id: string }) {
  const e = guardDutyEvent(rt, { instanceId: o.instanceId, minutesAgo: o.minutesAgo ?? 10, id: o.id, type: 'Backdoor:EC2/C&CActivity.B' });
  e.detail.resource.instanceDetails.tags = Object.entries(o.tags).map(([key, value]) => ({ key, value })) as never;
  return e;
}

describe('evidence that arrives while a proposal waits for a decision', () => {
  it('supersedes the request when a finding moves the cutoff earlier: the old link refuses, the new proposal comes from earlier points, and only those launch', async () => {
    // Prepare: ransomware on the payments database, the deciders asked
    const [first] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0aa0000000000db01', minutesAgo: 30, id: 'evolve-a-0000000000000000000001' }));
    const incidentId = (first!.result as { incidentId: string }).incidentId;
    const old = await pendingRequest(incidentId);
    const oldLink = await linkFor(old.approvalId);

    // Act: another finding shows the compromise began five hours earlier
    await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0aa0000000000db01', minutesAgo: 300, id: 'evolve-a-0000000000000000000002', type: 'Trojan:EC2/DNSDataExfiltration' }));
    const fresh = await pendingRequest(incidentId, [old.approvalId]);

    // Assess: the old request is superseded and its link refuses, audited
    const s = await stores();
    expect((await s.approvals.getApproval(old.approvalId))?.status).toBe('superseded');
    const refused = await httpGet(rt, oldLink);
    expect(refused.statusCode).toBe(410);
    expect(refused.body).toContain('superseded by a newer proposal');
    const audit = await s.audit.list(incidentId);
    expect(audit.some((e) => e.type === 'approval.superseded' && e.data['approvalId'] === old.approvalId)).toBe(true);
    expect(audit.some((e) => e.type === 'approval.refused' && String(e.data['outcome']).startsWith('superseded by a newer proposal'))).toBe(true);
    // ... the new one says what changed and proposes points at or before the earlier cutoff
    expect(fresh.supersedes?.approvalId).toBe(old.approvalId);
    expect(Date.parse(fresh.supersedes!.cutoff)).toBeLessThan(Date.parse(fresh.supersedes!.previousCutoff));
    expect(fresh.supersedes!.machines.length).toBeGreaterThan(0);
    const mail = [...rt.outbox].reverse().find((m) => m.text.includes(`/approvals/${fresh.approvalId}?`))!;
    expect(mail.text).toContain('NEW PROPOSAL');
    const incident = (await s.incidents.getIncident(incidentId))!;
    for (const m of fresh.proposal!.selection.machines) expect(Date.parse(m.capturedAt)).toBeLessThanOrEqual(Date.parse(currentCutoff(incident, m.group)!));

    // Act: approve the new proposal
    await approve(fresh.approvalId);
    await settled(incidentId, 'recovered');

    // Assess: every launched point is at or before the cutoff in force at its launch
    const machines = await s.runs.listMachines(incidentId);
    expect(machines.every((m) => m.instanceId && m.readyAt)).toBe(true);
    for (const m of machines) expect(Date.parse(m.capturedAt)).toBeLessThanOrEqual(Date.parse(currentCutoff(incident, m.group)!));
    expect(machines.map((m) => m.pointId).sort()).toEqual(fresh.proposal!.selection.machines.map((m) => m.pointId).sort());
  }, 120_000);
});

describe('a point that turns infected between the approval and its launch', () => {
  it('stops that machine before launch and asks again; the machine comes back from an older point', async () => {
    // Prepare: the crm group is proposed and approved
    const [first] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0bb0000000000db01', minutesAgo: 30, id: 'evolve-b-0000000000000000000001' }));
    const incidentId = (first!.result as { incidentId: string }).incidentId;
    const request = await pendingRequest(incidentId);
    const app = request.proposal!.selection.machines.find((m) => m.machineId === 'crm-app-1')!;
    await approve(request.approvalId);

    // Act: while wave 1 boots, AWS Backup's scan of the app server's approved snapshot finds malware
    const scan = JSON.parse(readFileSync('../shared/fixtures/eventbridge/backup/awsdocs-backup_Scan-Job-State-Change_COMPLETED_THREATS_FOUND.json', 'utf8')) as Record<string, any>;
    const arn = `arn:aws:ec2:us-east-1::snapshot/${app.snapshots[0]!.snapshotId}`;
    scan['region'] = 'us-east-1';
    scan['resources'] = [arn];
    scan['detail']['recoveryPointArn'] = arn;
    const [delivered] = await rt.putEvent(scan);
    expect(delivered?.status, delivered?.error).toBe('delivered');

    // Assess: the app server was stopped before launch, and the deciders are asked again
    const again = await pendingRequest(incidentId, [request.approvalId]);
    const s = await stores();
    const stopped = (await s.runs.getMachine(incidentId, 'crm-app-1'))!;
    expect(stopped.instanceId).toBeUndefined();
    expect(stopped.error).toMatch(/^stopped before launch: point .* is now infected/);
    const launchedFromInfected = rt.sim.resources({ tag: { key: 'cleanpoint:machine', value: 'crm-app-1' } })
      .filter((r) => r.type === 'instance' && r.tags['cleanpoint:incident'] === incidentId);
    expect(launchedFromInfected).toHaveLength(0);
    const newPoint = again.proposal!.selection.machines.find((m) => m.machineId === 'crm-app-1')!;
    expect(newPoint.pointId).not.toBe(app.pointId);
    expect(Date.parse(newPoint.capturedAt)).toBeLessThan(Date.parse(app.capturedAt));
    expect(again.supersedes?.machines.map((m) => m.machineId)).toContain('crm-app-1');

    // Act: approve the new proposal
    await approve(again.approvalId);
    await settled(incidentId, 'recovered');

    // Assess: the database kept its instance, the app server runs from the older point
    const after = await s.runs.listMachines(incidentId);
    expect(after.find((m) => m.machineId === 'crm-app-1')).toMatchObject({ pointId: newPoint.pointId, readyAt: expect.any(String) });
    expect((await s.catalog.getPoint('crm-app-1', app.pointId))?.scan).toBe('infected');
  }, 120_000);
});

describe('a recovered machine compromised again (re-infection)', () => {
  it('marks the restored point infected, re-opens the incident and proposes a point from before it', async () => {
    // Prepare: the intranet is recovered
    const [first] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0cc000000000a0101', minutesAgo: 30, id: 'evolve-c-0000000000000000000001' }));
    const incidentId = (first!.result as { incidentId: string }).incidentId;
    const request = await pendingRequest(incidentId);
    await approve(request.approvalId);
    await settled(incidentId, 'recovered');
    const s = await stores();
    const restored = (await s.runs.getMachine(incidentId, 'intranet-web-1'))!;

    // Act: GuardDuty reports a backdoor on the recovery instance itself
    const [delivered] = await rt.putEvent(taggedFinding({
      instanceId: restored.instanceId!, id: 'evolve-c-0000000000000000000002',
      tags: { 'cleanpoint:incident': incidentId, 'cleanpoint:machine': 'intranet-web-1', Name: 'cleanpoint-intranet-web-1' },
    }));
    expect((delivered!.result as { reinfected: boolean }).reinfected).toBe(true);

    // Assess: the point it came from is infected; a new round proposes an earlier point; people were told
    const point = await s.catalog.getPoint('intranet-web-1', restored.pointId);
    expect(point).toMatchObject({ scan: 'infected', scanRecord: { source: 'reinfection', verdict: 'infected' } });
    const next = await pendingRequest(incidentId, [request.approvalId]);
    const chosen = next.proposal!.selection.machines.find((m) => m.machineId === 'intranet-web-1')!;
    expect(Date.parse(chosen.capturedAt)).toBeLessThan(Date.parse(restored.capturedAt));
    const incident = (await s.incidents.getIncident(incidentId))!;
    expect(incident.round).toBe(2);
    expect((await s.audit.list(incidentId)).map((e) => e.type)).toContain('incident.reinfected');
    expect(rt.outbox.some((m) => m.subject.includes('RE-INFECTION') && m.to.includes('dana@example.com'))).toBe(true);
    expect([...rt.engine.executions.values()].some((e) => e.name === `incident-${incidentId}-r2`)).toBe(true);

    // Act: approve
    await approve(next.approvalId);
    await settled(incidentId, 'recovered');

    // Assess: the machine runs from the earlier point; the replaced instance is on record
    const after = (await s.runs.getMachine(incidentId, 'intranet-web-1'))!;
    expect(after.pointId).toBe(chosen.pointId);
    expect(after.instanceId).not.toBe(restored.instanceId);
    expect(after.replaced).toEqual([expect.objectContaining({ pointId: restored.pointId, instanceId: restored.instanceId })]);
  }, 150_000);
});

describe('a finding that touches a group the open incident does not cover', () => {
  it('gives that group its own correlated proposal instead of dropping it', async () => {
    // Prepare: the archive group has an open incident
    const [first] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0dd0000000000db01', minutesAgo: 30, id: 'evolve-d-0000000000000000000001' }));
    const archiveIncident = (first!.result as { incidentId: string }).incidentId;
    await pendingRequest(archiveIncident);

    // Act: a finding on the archive machine whose tag also names the vault machine
    const [second] = await rt.putEvent(taggedFinding({ instanceId: 'i-0dd0000000000db01', id: 'evolve-d-0000000000000000000002', tags: { 'cleanpoint:machine': 'vault-1' } }));
    const out = second!.result as { incidentId: string; alsoFolded: string[] };

    // Assess: vault has an incident of its own, correlated with archive's, and its deciders are asked
    expect(out.incidentId).not.toBe(archiveIncident);
    expect(out.alsoFolded).toEqual([archiveIncident]);
    const s = await stores();
    const vault = (await s.incidents.getIncident(out.incidentId))!;
    expect(vault.groups).toEqual(['vault']);
    expect(vault.correlated).toEqual([archiveIncident]);
    const archive = (await s.incidents.getIncident(archiveIncident))!;
    expect(archive.groups).toEqual(['archive']);
    expect(archive.findingIds).toContain('evolve-d-0000000000000000000002');
    expect(archive.correlated).toEqual([out.incidentId]);
    const vaultRequest = await pendingRequest(out.incidentId);
    expect(vaultRequest.groups).toEqual(['vault']);
  }, 90_000);
});
