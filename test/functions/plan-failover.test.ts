import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import type { Run, RunMachine } from '../../domain/failover/index.ts';
import { DEFAULT_POLICY } from '../../domain/findings/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import {
  auditTypesOf, CATALOG_TABLE, fixedClock, inventoryIndex, issuePaths, itExportsTheWrappedHandler,
  lambdaContext, makeApprovalFor, makeIncidentFor, memoryAdapters, NOW, pointsFor, rejectionOf, removeTempFiles, STATE_TABLE,
  storedProposalFor, stubHandlerEnv, wrapped, writeInventorySource, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/plan-failover/handler.ts');
let mod: Module;

const index = inventoryIndex();
let incident: Incident;
let approved: ApprovalRequest;
const task = () => ({ incidentId: incident.incidentId, approvalId: approved.approvalId });

/** What plan-failover must return for the payments group: the Run Failover state passes it on as is. */
const expectedPlan = () => {
  const item = (machineId: string) => ({ runId: incident.incidentId, kind: 'incident', mode: 'recovery', machineId });
  return {
    runId: incident.incidentId, kind: 'incident', mode: 'recovery',
    waves: [{ wave: 1, machines: [item('payments-db')] }, { wave: 2, machines: [item('payments-api'), item('payments-web')] }],
    runName: expect.stringMatching(new RegExp(`^${incident.incidentId}-[0-9a-f]{8}$`)),
  };
};

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, CATALOG_TABLE, INVENTORY_SOURCE: writeInventorySource() });
  mod = await import('../../functions/plan-failover/handler.ts');
  incident = makeIncidentFor(index, {}, { status: 'awaiting-approval' });
  approved = makeApprovalFor(incident, await storedProposalFor(index, incident, pointsFor(index, 'payments')), {
    status: 'approved',
    decisions: [
      { personId: 'bob', decision: 'approve', at: '2024-05-01T09:55:00.000Z', channel: 'web', source: '198.51.100.7' },
      { personId: 'alice', decision: 'approve', at: '2024-05-01T09:58:00.000Z', channel: 'slack', source: 'T012AB/U012ABCDEF' },
    ],
  });
});

afterAll(() => removeTempFiles());

describe('plan-failover handler (factory, in-memory fakes)', () => {
  async function world(request: ApprovalRequest = approved, current: Incident = incident) {
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident(current);
    const approvals = new MemoryApprovalStore();
    await approvals.createApproval(request);
    const runs = new MemoryRunStore();
    const audit = new MemoryAuditLog();
    const catalog = new MemoryRecoveryPointCatalog(pointsFor(index, 'payments'));
    const handle = mod.makeHandler(async () => ({ incidents, approvals, runs, audit, catalog, policy: DEFAULT_POLICY, index, clock: fixedClock(NOW) }));
    return { incidents, approvals, runs, audit, catalog, handle };
  }

  it('refuses an approved point that turned infected since the decision: the approval is superseded, nothing is planned', async () => {
    // Prepare: the database's approved point is found infected after the deciders approved it
    const w = await world();
    const db = approved.proposal!.selection.machines.find((m) => m.machineId === 'payments-db')!;
    await w.catalog.markPoint('payments-db', db.pointId, { scan: 'infected' });

    // Act
    const error = await rejectionOf(w.handle(task()));

    // Assess: the workflow is told to select again; the request says why; no run exists
    expect(error.name).toBe('ProposalSuperseded');
    expect(error.message).toContain(`payments-db point ${db.pointId} is now infected`);
    expect((await w.approvals.getApproval(approved.approvalId))?.status).toBe('superseded');
    expect((await w.audit.list(incident.incidentId)).map((e) => e.type)).toContain('failover.revalidation-failed');
    expect(await w.runs.getRun(incident.incidentId)).toBeNull();
  });

  it('refuses approved points captured after a cutoff that new evidence moved earlier', async () => {
    // Prepare: a later finding put the suspected start before every approved point
    const earlier = { ...incident, suspectedSince: '2024-05-01T06:00:00.000Z' };
    const w = await world(approved, earlier);

    // Act
    const error = await rejectionOf(w.handle(task()));

    // Assess
    expect(error.name).toBe('ProposalSuperseded');
    expect(error.message).toMatch(/is after the current cutoff 2024-05-01T06:00:00.000Z/);
    expect(await w.runs.getRun(incident.incidentId)).toBeNull();
  });

  it('re-plans an existing run onto newly approved points, keeping the earlier point and instance, with a fresh execution name', async () => {
    // Prepare: a first run launched the database from its first point; a second approval chose an older one
    const w = await world();
    const first = await w.handle(task());
    const dbPoint = approved.proposal!.selection.machines.find((m) => m.machineId === 'payments-db')!;
    await w.runs.updateMachine(incident.incidentId, 'payments-db', { instanceId: 'i-0aaaaaaaaaaaaaaa1', readyAt: '2024-05-01T10:20:00.000Z' });
    const older = pointsFor(index, 'payments').filter((p) => p.machineId === 'payments-db' && p.capturedAt < dbPoint.capturedAt).sort((a, b) => b.capturedAt.localeCompare(a.capturedAt))[0]!;
    const machines = approved.proposal!.selection.machines.map((m) => (m.machineId === 'payments-db' ? { ...m, pointId: older.pointId, capturedAt: older.capturedAt, snapshots: older.snapshots } : m));
    const plan = { ...approved.proposal!.plan, machines: approved.proposal!.plan.machines.map((m) => (m.machineId === 'payments-db' ? { ...m, pointId: older.pointId, capturedAt: older.capturedAt, snapshots: older.snapshots } : m)) };
    const second = { ...approved, approvalId: 'second-approval-0000000001', proposal: { ...approved.proposal!, selection: { ...approved.proposal!.selection, machines }, plan } };
    await w.approvals.createApproval(second);

    // Act
    const out = await w.handle({ incidentId: incident.incidentId, approvalId: second.approvalId });

    // Assess: the database moves to the older point and launches again; the others keep their records
    const db = await w.runs.getMachine(incident.incidentId, 'payments-db');
    expect(db).toMatchObject({ pointId: older.pointId, capturedAt: older.capturedAt });
    expect(db?.instanceId).toBeUndefined();
    expect(db?.replaced).toEqual([expect.objectContaining({ pointId: dbPoint.pointId, instanceId: 'i-0aaaaaaaaaaaaaaa1' })]);
    expect((await w.runs.getMachine(incident.incidentId, 'payments-api'))?.pointId).toBe(approved.proposal!.selection.machines.find((m) => m.machineId === 'payments-api')!.pointId);
    expect(out.runName).not.toBe(first.runName);
    expect((await w.audit.list(incident.incidentId)).map((e) => e.type)).toContain('failover.replanned');
  });

  it('returns the run id, kind, mode and waves the Run Failover state passes on, one launch item per machine', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle(task());

    // Assess
    expect(out).toEqual(expectedPlan());
    expect((await w.runs.getRun(incident.incidentId))?.decidedAt).toBe('2024-05-01T09:58:00.000Z');
    expect((await w.incidents.getIncident(incident.incidentId))?.status).toBe('failing-over');
  });

  it('refuses to plan from a request that is still pending with ConflictError', async () => {
    // Prepare
    const w = await world({ ...approved, status: 'pending', decisions: [] });

    // Act
    const error = await rejectionOf(w.handle(task()));

    // Assess
    expect(error.name).toBe('ConflictError');
    expect(await w.runs.getRun(incident.incidentId)).toBeNull();
  });

  it.each([
    ['a missing incidentId', { incidentId: undefined }, 'incidentId'],
    ['a malformed incidentId', { incidentId: 'inc-NOT-HEX-0000000000' }, 'incidentId'],
    ['a missing approvalId', { approvalId: undefined }, 'approvalId'],
    ['an approvalId too short to be one', { approvalId: 'abc' }, 'approvalId'],
  ])('refuses task input with %s with a ValidationError naming the path', async (_what, change, path) => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ ...task(), ...change }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(await w.runs.getRun(incident.incidentId)).toBeNull();
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(42));

    // Assess
    expect(error.name).toBe('ValidationError');
  });
});

describe('plan-failover handler (wrapped: its composition over the memory stores)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;

  beforeEach(async () => {
    stores = memoryAdapters(pointsFor(index, 'payments'));
    await stores.incidents.createIncident(incident);
    await stores.approvals.createApproval(approved);
    stores.reset();
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('stores the run with a record per machine (the run store writes them conditionally: contract-tested) and moves the incident to failing-over', async () => {
    // Act
    const out = await handler(task(), lambdaContext());

    // Assess
    expect(out).toEqual(expectedPlan());
    const [created] = stores.log.filter((c) => c.call === 'runs.createRun').map((c) => c.args as [Run, RunMachine[]]);
    expect(created?.[1].map((m) => m.machineId)).toEqual(['payments-db', 'payments-api', 'payments-web']);
    expect(await stores.runs.getRun(incident.incidentId)).toMatchObject({ runId: incident.incidentId, kind: 'incident' });
    expect(await stores.runs.getMachine(incident.incidentId, 'payments-db')).toMatchObject({ mode: 'recovery', network: { subnetId: 'subnet-0a1b2c3d' }, pointId: 'payments-db@2024-05-01T08:00:00.000Z' });
    expect((await stores.incidents.getIncident(incident.incidentId))?.status).toBe('failing-over');
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual(['failover.planned']);
  });
});
