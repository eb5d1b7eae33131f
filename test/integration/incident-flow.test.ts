import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.ts';
import {
  approvalLink, formFields, guardDutyEvent, httpGet, httpPostForm, inventoryWithCopiesOf, startSeededRuntime, until,
} from '../helpers/local-runtime.ts';

let rt: LocalRuntime;

/**
 * Every test sets up its own state, so each passes alone and in any order. An open incident
 * (recovered included) owns its application groups until it closes, and a later finding on
 * them folds into it; so each test that needs a recovered incident recovers a group of its
 * own: a copy of payments (same networks, roles and approval window, its own machines).
 */
const GROUP = {
  failbackRejected: { name: 'billing', instanceIdPrefix: 'i-0ab' },
  failbackApproved: { name: 'ledger', instanceIdPrefix: 'i-0ac' },
  evidence: { name: 'payouts', instanceIdPrefix: 'i-0ad' },
  refusedClose: { name: 'refunds', instanceIdPrefix: 'i-0ae' },
} as const;
/** The database machine of a payments copy: a finding on it proposes a failover of the whole group. */
const databaseOf = (g: { instanceIdPrefix: string }) => `${g.instanceIdPrefix}0000000000db01`;
const PAYMENTS_PRIMARY_SUBNET = 'subnet-0a000000000000001';

// 120×: the one-hour approval window lasts 30 s of wall time, ample on a busy CI machine.
beforeAll(async () => {
  // Eight groups make a 9 KB inventory, more than one SSM parameter holds on AWS (8 KB): allowed here only.
  rt = await startSeededRuntime({ speed: 120, inventoryFile: inventoryWithCopiesOf('payments', Object.values(GROUP)), ssmParameterLimit: 'off' });
}, 120_000);
afterAll(async () => { await rt?.close(); });

async function incident(incidentId: string) {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  return stateStores({ STATE_TABLE: rt.tables.state }, rt.platform).incidents.getIncident(incidentId);
}

/** The recovery-mode instances launched for an incident. */
function recoveryInstances(incidentId: string) {
  return rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } }).filter((r) => r.type === 'instance');
}

/**
 * A recovered incident of the group an instance belongs to: a ransomware-like finding on the
 * instance, a decider (Dana) approves the failover from the e-mailed link, the workflow
 * succeeds. Returns the incident id.
 */
async function recoverGroup(instanceId: string): Promise<string> {
  const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId, minutesAgo: 30 }));
  expect(delivery?.status).toBe('delivered');
  const incidentId = (delivery!.result as { incidentId: string }).incidentId;
  const link = await approvalLink(rt, 'dana@example.com', incidentId);
  const page = await httpGet(rt, link);
  expect(page.statusCode).toBe(200);
  const approved = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
  expect(approved.statusCode).toBe(200);
  const done = await (await until('the incident execution', () => rt.executionFor(incidentId))).done;
  expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
  expect((await incident(incidentId))?.status).toBe('recovered');
  return incidentId;
}

/** The executor (Eve) asks for the failback of a recovered incident and a decider (Dana) approves it; resolves when the failback workflow ends. */
async function failBack(incidentId: string) {
  const started = await rt.invoke('manage-incident', { action: 'failback', incidentId, by: 'eve' }) as { executionName: string };
  const link = await approvalLink(rt, 'dana@example.com', incidentId);
  const page = await httpGet(rt, link);
  expect(page.statusCode).toBe(200);
  const approved = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
  expect(approved.statusCode).toBe(200);
  const done = await [...rt.engine.executions.values()].find((e) => e.name === started.executionName)!.done;
  expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
  return done;
}

describe('incident-response workflow in the local runtime', () => {
  it('fails the payments group over to the latest clean points once a decider approves', async () => {
    // Prepare: the daily readiness check has run; a ransomware-like finding on the payments database
    await rt.invoke('check-protection', { task: 'readiness' });
    const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0aa0000000000db01', minutesAgo: 30 }));
    expect(delivery?.status).toBe('delivered');
    const incidentId = (delivery!.result as { incidentId: string }).incidentId;

    // Act: the decider opens the personal link from the e-mail and approves
    const link = await approvalLink(rt, 'dana@example.com', incidentId);
    const page = await httpGet(rt, link);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Approve recovery-mode failover of payments?');
    // The demo estate's payments group is NOT READY, and the decider must see so before approving:
    // it has never passed a drill (the estate seeds no drill results), and payments-db-1's points
    // of the last 100 minutes are infected, so its newest restorable point is older than the group's
    // 60-minute RPO. Every other check passes (deciders on Slack, seeded networks with isolated test
    // subnets, the simulated key and sender usable, a 5,000-instance quota), so nothing else is listed.
    expect(page.body).toMatch(/data-readiness="payments"><b>payments<\/b>: <span class="badge rejected">NOT READY<\/span> <span class="muted">checked /);
    expect(page.body).toContain('group payments has never passed a drill');
    expect(page.body).toContain('machine payments-db-1 of group payments is outside its');
    const approved = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
    expect(approved.statusCode).toBe(200);
    const execution = await until('the incident execution', () => rt.executionFor(incidentId));
    const done = await execution.done;

    // Assess: the workflow succeeded, the incident is recovered, machines run from pre-corruption points
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    const stored = await incident(incidentId);
    expect(stored?.status).toBe('recovered');
    expect(stored?.outcome?.machines.map((m) => m.state)).toEqual(['running', 'running', 'running']);
    const launched = recoveryInstances(incidentId);
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
    // Prepare: a recovered incident of its own group
    const { name: group } = GROUP.failbackRejected;
    const incidentId = await recoverGroup(databaseOf(GROUP.failbackRejected));
    const { stateStores } = await import('../../functions/shared/wiring.ts');
    const { failbackRunId } = await import('../../domain/incidents/index.ts');
    const stores = stateStores({ STATE_TABLE: rt.tables.state }, rt.platform);

    // Act: the executor asks for the failback; the decider opens the personal link and rejects it
    const started = await rt.invoke('manage-incident', { action: 'failback', incidentId, by: 'eve' }) as { executionName: string };
    const link = await approvalLink(rt, 'dana@example.com', incidentId);
    // One failback at a time: asking again while the first waits for its decision is refused
    await expect(rt.invoke('manage-incident', { action: 'failback', incidentId, by: 'eve' })).rejects.toMatchObject({ name: 'ConflictError' });
    const page = await httpGet(rt, link);
    const rejected = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'reject'), reason: 'the attacker may still be in the primary network' });
    const execution = [...rt.engine.executions.values()].find((e) => e.name === started.executionName)!;
    const done = await execution.done;

    // Assess: a failback page (no restore points to pick), nothing touched, the rejection audited
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`Approve the failback of ${group} to the primary environment?`);
    expect(page.body).toContain(PAYMENTS_PRIMARY_SUBNET);
    expect(page.body).not.toContain('name="cutoff:');
    expect(rejected.statusCode).toBe(200);
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    expect(done.output).toMatchObject({ result: 'not-approved', status: 'recovered' });
    expect((await incident(incidentId))?.status).toBe('recovered');
    expect(recoveryInstances(incidentId).map((r) => r.state)).toEqual(['running', 'running', 'running']);
    expect(await stores.runs.getRun(failbackRunId(incidentId))).toBeNull();
    const [request] = await stores.approvals.listApprovals({ incidentId, status: 'rejected' });
    expect(request).toMatchObject({ purpose: 'failback', requestedBy: 'eve' });
    const audit = await stores.audit.list(incidentId);
    expect(audit.find((a) => a.type === 'decision.rejected')).toMatchObject({ actor: 'dev' });
    expect(audit.find((a) => a.type === 'failback.not-approved')?.data).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('the attacker may still be in the primary network') });
  }, 60_000);

  it('fails the recovered group back to its primary network once a decider approves, retires the recovery machines and closes the incident', async () => {
    // Prepare: a recovered incident of its own group, its three machines running from recovery points
    const incidentId = await recoverGroup(databaseOf(GROUP.failbackApproved));
    const recoveryIds = recoveryInstances(incidentId).map((r) => r.id);
    expect(recoveryIds).toHaveLength(3);

    // Act: the group's executor starts the failback; the decider approves it from the personal link
    const started = await rt.invoke('manage-incident', { action: 'failback', incidentId, by: 'eve' }) as { executionName: string };
    const link = await approvalLink(rt, 'dana@example.com', incidentId);
    const page = await httpGet(rt, link);
    expect(page.statusCode).toBe(200);
    for (const id of recoveryIds) expect(page.body).toContain(id);
    const approved = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
    expect(approved.statusCode).toBe(200);
    const execution = [...rt.engine.executions.values()].find((e) => e.name === started.executionName)!;
    const done = await execution.done;

    // Assess: primaries back in the primary subnets, recovery machines gone, incident closed
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    const stored = await incident(incidentId);
    expect(stored?.status).toBe('closed');
    expect(stored?.closure?.withFailback, JSON.stringify(stored?.closure)).toBe(true);
    expect(stored?.failback?.machines.every((m) => m.primaryInstanceId && m.retiredInstanceId), JSON.stringify(stored?.failback)).toBe(true);
    const stillRunning = recoveryInstances(incidentId).filter((r) => r.state !== 'shutting-down');
    expect(stillRunning).toEqual([]);
    const primaries = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: `failback-${incidentId}` } }).filter((r) => r.type === 'instance');
    expect(primaries).toHaveLength(3);
    const { DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
    const described = await rt.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: primaries.map((p) => p.id) }));
    const subnets = new Set(described.Reservations!.flatMap((r) => r.Instances!.map((i) => i.SubnetId)));
    expect([...subnets]).toEqual([PAYMENTS_PRIMARY_SUBNET]);
  }, 60_000);

  it('exports an evidence pack with every step, and detects one flipped byte in a stored audit item', async () => {
    // Prepare: an incident of its own group, recovered and failed back
    const incidentId = await recoverGroup(databaseOf(GROUP.evidence));
    await failBack(incidentId);
    const { buildEvidencePack } = await import('../../domain/evidence/index.ts');
    const { renderEvidenceHtml } = await import('../../functions/shared/presenters/evidence-html.ts');
    const { verifyAuditChain } = await import('../../domain/evidence/index.ts');
    const { stateStores } = await import('../../functions/shared/wiring.ts');
    const stores = stateStores({ STATE_TABLE: rt.tables.state }, rt.platform);
    const build = buildEvidencePack({ ...stores, index: rt.index, now: () => new Date(rt.clock.now()).toISOString() });

    // Act
    const pack = await build(incidentId);
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
    const dynamoClient = rt.clients.dynamo;
    const { GetItemCommand, PutItemCommand } = await import('@aws-sdk/client-dynamodb');
    const key = { pk: { S: `AUDIT#${incidentId}` }, sk: { S: String(pack.audit.entries[2]!.seq).padStart(9, '0') } };
    const item = (await dynamoClient.send(new GetItemCommand({ TableName: rt.tables.state, Key: key }))).Item!;
    const text = item['dataJson']!.S!;
    const i = text.indexOf('"', 2) + 1;
    item['dataJson'] = { S: text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1) };
    await dynamoClient.send(new PutItemCommand({ TableName: rt.tables.state, Item: item }));

    // Assess
    const verdict = verifyAuditChain(await stores.audit.list(incidentId));
    expect(verdict.ok).toBe(false);
    expect(verdict.brokenAt).toBe(2);
  }, 60_000);

  it('refuses a failback or a close from someone who is not an executor of the group, and audits it', async () => {
    // Prepare: a recovered incident of its own group (one its executor could close or fail back)
    const incidentId = await recoverGroup(databaseOf(GROUP.refusedClose));
    const { stateStores } = await import('../../functions/shared/wiring.ts');
    const audit = stateStores({ STATE_TABLE: rt.tables.state }, rt.platform).audit;
    const before = (await audit.list(incidentId)).length;

    // Act + Assess: a decider is not an executor
    await expect(rt.invoke('manage-incident', { action: 'close', incidentId, by: 'dev', reason: 'done' })).rejects.toMatchObject({ name: 'ForbiddenError' });
    const after = await audit.list(incidentId);
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)).toMatchObject({ type: 'close.refused', actor: 'dev' });
    await expect(rt.invoke('manage-incident', { action: 'failback', incidentId, by: 'dev' })).rejects.toMatchObject({ name: 'ForbiddenError' });
    const afterFailback = await audit.list(incidentId);
    expect(afterFailback).toHaveLength(before + 2);
    expect(afterFailback.at(-1)).toMatchObject({ type: 'failback.refused', actor: 'dev' });
    // Neither was done: the incident is still recovered, and no failback started
    expect((await incident(incidentId))?.status).toBe('recovered');
    expect(afterFailback.some((a) => a.type === 'failback.requested')).toBe(false);
  }, 60_000);
});

describe('incident-response workflow: the paths that do not end in a recovery', () => {
  it('records a rejection with its reason, launches nothing and ends without failing', async () => {
    // Prepare: a command-and-control finding on the intranet web server (a group of its own)
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
    // Prepare: no capacity for the CRM database's instance type (and it has no fallback); no other group uses it
    rt.sim.setFaults({ capacityErrors: { instanceTypes: ['r6i.xlarge'] } });
    let done: Awaited<NonNullable<ReturnType<LocalRuntime['executionFor']>>['done']>;
    let incidentId: string;
    try {
      const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0bb0000000000db01', minutesAgo: 45 }));
      incidentId = (delivery!.result as { incidentId: string }).incidentId;
      const link = await approvalLink(rt, 'dominik@example.com', incidentId);
      const page = await httpGet(rt, link);

      // Act
      await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
      done = await (await until('execution', () => rt.executionFor(incidentId))).done;
    } finally {
      // The fault is the runtime's, shared by every test of the file: cleared even when this one fails
      rt.sim.clearFaults();
    }

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
