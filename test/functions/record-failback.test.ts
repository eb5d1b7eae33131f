import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../domain/incidents/index.ts';
import type { Run, RunMachine } from '../../domain/failover/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore, MemoryRunStore } from '../../functions/shared/adapters/memory/index.ts';
import {
  auditTypesOf, fixedClock, inventoryIndex, issuePaths, itExportsTheWrappedHandler, lambdaContext, makeApprovalFor,
  makeIncidentFor, makeRunMachine, memoryAdapters, NOW, pointsFor, rejectionOf, STATE_TABLE, storedProposalFor, stubHandlerEnv, wrapped, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/record-failback/handler.ts');
let mod: Module;

const index = inventoryIndex();
const NOW_ISO = new Date(NOW).toISOString();
let incident: Incident;
let failbackId: string;

/** The incident run (payments-db recovered) and the failback run whose primary was verified. */
function runs(): { incidentRun: Run; recovery: RunMachine[]; failbackRun: Run; primaries: RunMachine[] } {
  const id = incident.incidentId;
  const incidentRun: Run = { runId: id, kind: 'incident', incidentId: id, mode: 'recovery', createdAt: '2024-05-01T09:55:00.000Z', decidedAt: '2024-05-01T09:54:00.000Z', waves: [{ wave: 1, machines: ['payments-db'] }] };
  return {
    incidentRun,
    recovery: [makeRunMachine({ runId: id, mode: 'recovery', instanceId: 'i-0aaaaaaaaaaaaaaa1', readyAt: '2024-05-01T10:06:00.000Z' })],
    failbackRun: { ...incidentRun, runId: failbackId, kind: 'failback', createdAt: '2024-05-01T09:40:00.000Z', decidedAt: '2024-05-01T09:40:00.000Z' },
    primaries: [makeRunMachine({ runId: failbackId, mode: 'recovery', pointId: 'failback-of-i-0aaaaaaaaaaaaaaa1', instanceId: 'i-0bbbbbbbbbbbbbbb1', readyAt: '2024-05-01T09:52:00.000Z' })],
  };
}

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE });
  mod = await import('../../functions/record-failback/handler.ts');
  incident = makeIncidentFor(index, {}, { status: 'failing-back' });
  failbackId = `failback-${incident.incidentId}`;
});

describe('record-failback handler (factory, in-memory fakes)', () => {
  async function world(status: Incident['status'] = 'failing-back') {
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident({ ...incident, status });
    await incidents.claimGroup('payments', incident.incidentId);
    const store = new MemoryRunStore();
    const r = runs();
    await store.createRun(r.incidentRun, r.recovery);
    await store.createRun(r.failbackRun, r.primaries);
    const audit = new MemoryAuditLog();
    const approvals = new MemoryApprovalStore();
    const handle = mod.makeHandler(async () => ({ incidents, runs: store, audit, approvals, clock: fixedClock(NOW) }));
    const stored = async () => incidents.getIncident(incident.incidentId);
    const types = async () => (await audit.list(incident.incidentId)).map((e) => e.type);
    return { incidents, approvals, audit, handle, stored, types };
  }

  it('closes the incident after a verified failback, with the primary and the retired recovery machine, and releases the group', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle({ incidentId: incident.incidentId, result: 'completed' });

    // Assess
    expect(out).toEqual({ incidentId: incident.incidentId, result: 'completed', runId: failbackId });
    expect(await w.stored()).toMatchObject({
      status: 'closed',
      closure: { by: 'cleanpoint', at: NOW_ISO, withFailback: true },
      failback: { result: 'completed', startedAt: '2024-05-01T09:40:00.000Z', finishedAt: NOW_ISO, machines: [{ machineId: 'payments-db', primaryInstanceId: 'i-0bbbbbbbbbbbbbbb1', retiredInstanceId: 'i-0aaaaaaaaaaaaaaa1' }] },
    });
    expect(await w.incidents.claimGroup('payments', 'inc-ffffffffffffffffffff')).toBe('inc-ffffffffffffffffffff');
    expect(await w.types()).toEqual(['failback.completed']);
  });

  it('keeps a failed failback pending with the Catch\'s Error and Cause, the group held and nothing retired', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle({ incidentId: incident.incidentId, result: 'failed', error: { Error: 'MachineCheckFailedError', Cause: 'payments-db (i-0bbbbbbbbbbbbbbb1): instance is stopped' } });

    // Assess
    expect(out).toEqual({ incidentId: incident.incidentId, result: 'failed', runId: failbackId });
    expect(await w.stored()).toMatchObject({
      status: 'failback-pending',
      failback: { result: 'failed', error: 'MachineCheckFailedError: payments-db (i-0bbbbbbbbbbbbbbb1): instance is stopped', machines: [{ machineId: 'payments-db', retiredInstanceId: null }] },
    });
    expect(await w.incidents.claimGroup('payments', 'inc-ffffffffffffffffffff')).toBe(incident.incidentId);
    expect((await w.audit.list(incident.incidentId)).at(-1)?.data).toMatchObject({ note: 'recovery machines kept running' });
  });

  it('records a timed-out approval as not approved: the incident stays as it was and the pending request expires', async () => {
    // Prepare
    const w = await world('recovered');
    const proposal = await storedProposalFor(index, incident, pointsFor(index, 'payments'));
    await w.approvals.createApproval(makeApprovalFor(incident, proposal));

    // Act
    const out = await w.handle({ incidentId: incident.incidentId, result: 'not-approved', error: { Error: 'States.Timeout', Cause: '' } });

    // Assess
    expect(out).toEqual({ incidentId: incident.incidentId, result: 'not-approved', status: 'recovered' });
    expect((await w.stored())?.status).toBe('recovered');
    expect((await w.approvals.getApproval('k3JbP1x0ZQyq2m7R4vT9Aw'))?.status).toBe('expired');
    expect(await w.types()).toEqual(['approval.expired', 'failback.not-approved']);
    expect((await w.audit.list(incident.incidentId)).at(-1)?.data).toMatchObject({ outcome: 'nobody decided in time', reason: 'nobody decided in time' });
  });

  it('records a rejection as not approved with the decider\'s reason, leaving any request alone', async () => {
    // Prepare
    const w = await world('recovered');
    const proposal = await storedProposalFor(index, incident, pointsFor(index, 'payments'));
    await w.approvals.createApproval(makeApprovalFor(incident, proposal));

    // Act
    const out = await w.handle({ incidentId: incident.incidentId, result: 'not-approved', error: { Error: 'ApprovalRejected', Cause: 'the primary network is not clean yet' } });

    // Assess
    expect(out).toEqual({ incidentId: incident.incidentId, result: 'not-approved', status: 'recovered' });
    expect((await w.approvals.getApproval('k3JbP1x0ZQyq2m7R4vT9Aw'))?.status).toBe('pending');
    expect((await w.audit.list(incident.incidentId)).map((e) => [e.type, e.data['outcome'], e.data['reason']])).toEqual([
      ['failback.not-approved', 'rejected', 'ApprovalRejected: the primary network is not clean yet'],
    ]);
  });

  it('records a callback that did not say approved (no error at all) as a rejection, never as a go', async () => {
    // Prepare
    const w = await world('recovered');

    // Act
    const out = await w.handle({ incidentId: incident.incidentId, result: 'not-approved' });

    // Assess
    expect(out.status).toBe('recovered');
    expect((await w.audit.list(incident.incidentId))[0]?.data).toMatchObject({ outcome: 'rejected', reason: 'the callback did not say approved' });
  });

  it.each([
    ['a missing incidentId', { incidentId: undefined }, 'incidentId'],
    ['a malformed incidentId', { incidentId: 'failback-inc-0123' }, 'incidentId'],
    ['a missing result', { result: undefined }, 'result'],
    ['a result it does not know', { result: 'recovered' }, 'result'],
    ['an error that is neither text nor a Catch object', { error: 500 }, 'error'],
  ])('refuses task input with %s with a ValidationError naming the path, and writes nothing', async (_what, change, path) => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ incidentId: incident.incidentId, result: 'completed', ...change }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(await w.types()).toEqual([]);
    expect((await w.stored())?.status).toBe('failing-back');
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle('completed'));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(await w.types()).toEqual([]);
  });

  // GAP (reported): the schema is z.looseObject, so a key the Record Failback states never send
  // is accepted and ignored. `it.fails` until the schema is strict — then flip it to `it`.
  it('refuses task input with an extra key with a ValidationError, and writes nothing', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ incidentId: incident.incidentId, result: 'completed', runId: failbackId }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(await w.types()).toEqual([]);
  });
});

describe('record-failback handler (wrapped: its composition over the memory stores)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;

  beforeEach(async () => {
    stores = memoryAdapters();
    await stores.incidents.createIncident(incident);
    for (const group of incident.groups) await stores.incidents.claimGroup(group, incident.incidentId);
    const r = runs();
    for (const [run, machines] of [[r.incidentRun, r.recovery], [r.failbackRun, r.primaries]] as const) await stores.runs.createRun(run, machines);
    stores.calls.length = 0;
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
  });

  /** The store writes, in order. */
  const writes = () => stores.calls.filter((c) => ['audit.append', 'incidents.updateIncident', 'incidents.releaseGroup'].includes(c));

  itExportsTheWrappedHandler(() => mod.handler);

  it('audits the completion, then closes the incident on its version with the failback, then releases the group lock it holds', async () => {
    // Act: what the Record Failback state sends
    const out = await handler({ incidentId: incident.incidentId, result: 'completed' }, lambdaContext());

    // Assess
    expect(out).toEqual({ incidentId: incident.incidentId, result: 'completed', runId: failbackId });
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual(['failback.completed']);
    // Closed on its version (the store refuses a stale one: contract-tested), with the failback
    expect(await stores.incidents.getIncident(incident.incidentId)).toMatchObject({
      status: 'closed', version: incident.version + 1,
      failback: expect.objectContaining({ result: 'completed', runId: failbackId, machines: [{ machineId: 'payments-db', primaryInstanceId: 'i-0bbbbbbbbbbbbbbb1', retiredInstanceId: 'i-0aaaaaaaaaaaaaaa1' }] }),
    });
    // The group lock it held is released, once, and nobody else's
    expect(await stores.incidents.claimGroup('payments', 'inc-ffffffffffffffffffff')).toBe('inc-ffffffffffffffffffff');
    expect(writes()).toEqual(['audit.append', 'incidents.updateIncident', 'incidents.releaseGroup']);
  });

  it('on failure moves the incident to failback-pending and releases nothing', async () => {
    // Act: what the Record Failback Failure state sends after a Catch
    const out = await handler({ incidentId: incident.incidentId, result: 'failed', error: { Error: 'States.TaskFailed', Cause: 'launch failed' } }, lambdaContext());

    // Assess
    expect(out).toEqual({ incidentId: incident.incidentId, result: 'failed', runId: failbackId });
    expect((await stores.incidents.getIncident(incident.incidentId))?.status).toBe('failback-pending');
    expect(stores.calls).not.toContain('incidents.releaseGroup');
    expect(await stores.incidents.claimGroup('payments', 'inc-ffffffffffffffffffff')).toBe(incident.incidentId);
    const [audit] = await stores.audit.list(incident.incidentId);
    expect(audit?.data).toMatchObject({ error: 'States.TaskFailed: launch failed', note: 'recovery machines kept running' });
  });

  it('refuses a result it does not know with a ValidationError before any call to DynamoDB', async () => {
    // Act
    const error = await rejectionOf(handler({ incidentId: incident.incidentId, result: 'closed' }, lambdaContext()));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['result']);
    expect(stores.calls).toEqual([]);
  });
});
