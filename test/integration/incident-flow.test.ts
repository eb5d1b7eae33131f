import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.ts';
import { approvalLink, formFields, guardDutyEvent, httpGet, httpPostForm, startSeededRuntime, until } from '../helpers/local-runtime.ts';

let rt: LocalRuntime;
let recoveredIncident = '';

// 120×: the one-hour approval window lasts 30 s of wall time, ample on a busy CI machine.
beforeAll(async () => { rt = await startSeededRuntime({ speed: 120 }); }, 120_000);
afterAll(async () => { await rt?.close(); });

async function incident(incidentId: string) {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  return stateStores({ STATE_TABLE: rt.tables.state }).incidents.getIncident(incidentId);
}

describe('incident-response workflow in the local runtime', () => {
  it('fails the payments group over to the latest clean points once a decider approves', async () => {
    // Prepare: the daily readiness check has run; a ransomware-like finding on the payments database
    await rt.invoke('check-protection', { task: 'readiness' });
    const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0aa0000000000db01', minutesAgo: 30 }));
    expect(delivery?.status).toBe('delivered');
    const incidentId = (delivery!.result as { incidentId: string }).incidentId;
    recoveredIncident = incidentId;

    // Act: the decider opens the personal link from the e-mail and approves
    const link = await approvalLink(rt, 'dana@example.com', incidentId);
    const page = await httpGet(rt, link);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Approve recovery-mode failover of payments?');
    expect(page.body).toMatch(/data-readiness="payments"><b>payments<\/b>: <span class="badge [a-z]*">(ready|ready \(warnings\)|NOT READY)<\/span> <span class="muted">checked /);
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

describe('failback and closing an incident', () => {
  it('asks the deciders before a failback: a rejection leaves the incident recovered and the recovery machines running, audited', async () => {
    // Prepare: the payments incident recovered in the first test
    expect(recoveredIncident).not.toBe('');
    const { stateStores } = await import('../../functions/shared/wiring.ts');
    const { failbackRunId } = await import('../../domain/failback.ts');
    const stores = stateStores({ STATE_TABLE: rt.tables.state });

    // Act: the executor asks for the failback; the decider opens the personal link and rejects it
    const started = await rt.invoke('manage-incident', { action: 'failback', incidentId: recoveredIncident, by: 'eve' }) as { executionName: string };
    const link = await approvalLink(rt, 'dana@example.com', recoveredIncident);
    // One failback at a time: asking again while the first waits for its decision is refused
    await expect(rt.invoke('manage-incident', { action: 'failback', incidentId: recoveredIncident, by: 'eve' })).rejects.toMatchObject({ name: 'ConflictError' });
    const page = await httpGet(rt, link);
    const rejected = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'reject'), reason: 'the attacker may still be in the primary network' });
    const execution = [...rt.engine.executions.values()].find((e) => e.name === started.executionName)!;
    const done = await execution.done;

    // Assess: a failback page (no restore points to pick), nothing touched, the rejection audited
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Approve the failback of payments to the primary environment?');
    expect(page.body).toContain('subnet-0a000000000000001');
    expect(page.body).not.toContain('name="cutoff:');
    expect(rejected.statusCode).toBe(200);
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    expect(done.output).toMatchObject({ result: 'not-approved', status: 'recovered' });
    expect((await incident(recoveredIncident))?.status).toBe('recovered');
    const recovery = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: recoveredIncident } }).filter((r) => r.type === 'instance');
    expect(recovery.map((r) => r.state)).toEqual(['running', 'running', 'running']);
    expect(await stores.runs.getRun(failbackRunId(recoveredIncident))).toBeNull();
    const [request] = await stores.approvals.listApprovals({ incidentId: recoveredIncident, status: 'rejected' });
    expect(request).toMatchObject({ purpose: 'failback', requestedBy: 'eve' });
    const audit = await stores.audit.list(recoveredIncident);
    expect(audit.find((a) => a.type === 'decision.rejected')).toMatchObject({ actor: 'dev' });
    expect(audit.find((a) => a.type === 'failback.not-approved')?.data).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('the attacker may still be in the primary network') });
  }, 60_000);

  it('fails the recovered group back to its primary network once a decider approves, retires the recovery machines and closes the incident', async () => {
    // Prepare: the payments incident recovered in the first test (its first failback was rejected)
    expect(recoveredIncident).not.toBe('');
    const recoveryInstances = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: recoveredIncident } }).filter((r) => r.type === 'instance').map((r) => r.id);
    expect(recoveryInstances).toHaveLength(3);

    // Act: the group's executor starts the failback; the decider approves it from the personal link
    const started = await rt.invoke('manage-incident', { action: 'failback', incidentId: recoveredIncident, by: 'eve' }) as { executionName: string };
    const link = await approvalLink(rt, 'dana@example.com', recoveredIncident);
    const page = await httpGet(rt, link);
    expect(page.statusCode).toBe(200);
    for (const id of recoveryInstances) expect(page.body).toContain(id);
    const approved = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
    expect(approved.statusCode).toBe(200);
    const execution = [...rt.engine.executions.values()].find((e) => e.name === started.executionName)!;
    const done = await execution.done;

    // Assess: primaries back in the primary subnets, recovery machines gone, incident closed
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    const stored = await incident(recoveredIncident);
    expect(stored?.status).toBe('closed');
    expect(stored?.closure?.withFailback, JSON.stringify(stored?.closure)).toBe(true);
    expect(stored?.failback?.machines.every((m) => m.primaryInstanceId && m.retiredInstanceId), JSON.stringify(stored?.failback)).toBe(true);
    const stillRunning = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: recoveredIncident } }).filter((r) => r.type === 'instance' && r.state !== 'shutting-down');
    expect(stillRunning).toEqual([]);
    const primaries = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: `failback-${recoveredIncident}` } }).filter((r) => r.type === 'instance');
    expect(primaries).toHaveLength(3);
    const { ec2Client } = await import('../../functions/shared/clients.ts');
    const { DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
    const described = await ec2Client.send(new DescribeInstancesCommand({ InstanceIds: primaries.map((p) => p.id) }));
    const subnets = new Set(described.Reservations!.flatMap((r) => r.Instances!.map((i) => i.SubnetId)));
    expect([...subnets]).toEqual(['subnet-0a000000000000001']);
  }, 60_000);

  it('exports an evidence pack with every step, and detects one flipped byte in a stored audit item', async () => {
    // Prepare
    const { buildEvidencePack, renderEvidenceHtml } = await import('../../domain/evidence.ts');
    const { verifyAuditChain } = await import('../../domain/audit-chain.ts');
    const { stateStores } = await import('../../functions/shared/wiring.ts');
    const stores = stateStores({ STATE_TABLE: rt.tables.state });
    const build = buildEvidencePack({ ...stores, index: rt.index, now: () => new Date(rt.clock.now()).toISOString() });

    // Act
    const pack = await build(recoveredIncident);
    const html = renderEvidenceHtml(pack);

    // Assess: finding ▶ assessment ▶ proposal ▶ decision with identity ▶ points ▶ launches ▶ outcome ▶ failback, chain intact
    const types = pack.audit.entries.map((e) => e.type);
    for (const t of ['incident.created', 'points.selected', 'approval.requested', 'decision.approved', 'failover.planned', 'machine.launched', 'machine.ready', 'outcome.recorded', 'failback.started', 'failback.completed']) {
      expect(types, t).toContain(t);
    }
    expect(pack.audit.chain.ok).toBe(true);
    expect(pack.approvals[0]?.decisions[0]?.personId).toBe('dev');
    expect(pack.machines.filter((m) => m.run === 'failover' && m.instanceId)).toHaveLength(3);
    expect(pack.machines.filter((m) => m.run === 'failback' && m.readyAt)).toHaveLength(3);
    expect(pack.measured.rtoMinutes).not.toBeNull();
    expect(pack.failback?.result).toBe('completed');
    expect(JSON.stringify(pack)).not.toMatch(/taskToken/);
    expect(html).toContain('Audit chain: <b class="ok">intact');

    // Act: flip one byte of one stored audit item, directly in DynamoDB
    const { dynamoClient } = await import('../../functions/shared/clients.ts');
    const { GetItemCommand, PutItemCommand } = await import('@aws-sdk/client-dynamodb');
    const key = { pk: { S: `AUDIT#${recoveredIncident}` }, sk: { S: String(pack.audit.entries[2]!.seq).padStart(9, '0') } };
    const item = (await dynamoClient.send(new GetItemCommand({ TableName: rt.tables.state, Key: key }))).Item!;
    const text = item['dataJson']!.S!;
    const i = text.indexOf('"', 2) + 1;
    item['dataJson'] = { S: text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1) };
    await dynamoClient.send(new PutItemCommand({ TableName: rt.tables.state, Item: item }));

    // Assess
    const verdict = verifyAuditChain(await stores.audit.list(recoveredIncident));
    expect(verdict.ok).toBe(false);
    expect(verdict.brokenAt).toBe(2);
  }, 60_000);

  it('refuses a failback or a close from someone who is not an executor of the group, and audits it', async () => {
    // Prepare
    const { stateStores } = await import('../../functions/shared/wiring.ts');
    const audit = stateStores({ STATE_TABLE: rt.tables.state }).audit;
    const before = (await audit.list(recoveredIncident)).length;

    // Act + Assess: a decider is not an executor
    await expect(rt.invoke('manage-incident', { action: 'close', incidentId: recoveredIncident, by: 'dev', reason: 'done' })).rejects.toMatchObject({ name: 'ForbiddenError' });
    const after = await audit.list(recoveredIncident);
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)).toMatchObject({ type: 'close.refused', actor: 'dev' });
  }, 30_000);
});

describe('incident-response workflow: the paths that do not end in a recovery', () => {
  it('records a rejection with its reason, launches nothing and ends without failing', async () => {
    // Prepare
    const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0cc000000000a0101', type: 'Backdoor:EC2/C&CActivity.B', minutesAgo: 20 }));
    const incidentId = (delivery!.result as { incidentId: string }).incidentId;
    const link = await approvalLink(rt, 'dana@example.com', incidentId);
    const page = await httpGet(rt, link);
    expect(page.body).toContain('intranet');

    // Act
    const rejected = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'reject'), reason: 'false positive: planned pentest' });
    const done = await (await until('execution', () => rt.executionFor(incidentId))).done;

    // Assess
    expect(rejected.statusCode).toBe(200);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'Record Rejection')).toBe(true);
    expect((await incident(incidentId))?.status).toBe('rejected');
    expect(rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } })).toEqual([]);
  }, 60_000);

  it('stops after a failed first wave: the second wave never launches and the incident is failover-failed', async () => {
    // Prepare: no capacity for the CRM database's instance type (and it has no fallback)
    rt.sim.setFaults({ capacityErrors: { instanceTypes: ['r6i.xlarge'] } });
    const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0bb0000000000db01', minutesAgo: 45 }));
    const incidentId = (delivery!.result as { incidentId: string }).incidentId;
    const link = await approvalLink(rt, 'dominik@example.com', incidentId);
    const page = await httpGet(rt, link);

    // Act
    await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
    const done = await (await until('execution', () => rt.executionFor(incidentId))).done;
    rt.sim.clearFaults();

    // Assess
    expect(done.status).toBe('FAILED');
    const stored = await incident(incidentId);
    expect(stored?.status).toBe('failover-failed');
    const byMachine = Object.fromEntries(stored!.outcome!.machines.map((m) => [m.machineId, m]));
    expect(byMachine['crm-db-1']?.state).toBe('failed');
    expect(byMachine['crm-db-1']?.error).toMatch(/no capacity/);
    expect(byMachine['crm-app-1']?.instanceId).toBeNull();
    expect(rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } }).filter((r) => r.type === 'instance')).toEqual([]);
  }, 60_000);
});
