import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../domain/incidents/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import {
  auditTypesOf, fixedClock, inventoryIndex, issuePaths, itExportsTheWrappedHandler, lambdaContext, makeIncidentFor,
  makeRunMachine, memoryAdapters, NOW, rejectionOf, STATE_TABLE, stubHandlerEnv, wrapped, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/record-outcome/handler.ts');
let mod: Module;

const index = inventoryIndex();
let incident: Incident;

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE });
  mod = await import('../../functions/record-outcome/handler.ts');
  incident = makeIncidentFor(index, {}, { status: 'failing-over' });
});

describe('record-outcome handler (factory, in-memory fakes)', () => {
  async function world(status: Incident['status'] = 'failing-over') {
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident({ ...incident, status });
    const runs = new MemoryRunStore();
    const runId = incident.incidentId;
    await runs.createRun(
      { runId, kind: 'incident', incidentId: runId, mode: 'recovery', createdAt: '2024-05-01T09:55:00.000Z', decidedAt: '2024-05-01T09:54:00.000Z', waves: [{ wave: 1, machines: ['payments-db'] }] },
      [makeRunMachine({ runId, mode: 'recovery', lossMinutes: 90, instanceId: 'i-0aaaaaaaaaaaaaaa1', readyAt: '2024-05-01T10:06:00.000Z' })],
    );
    const audit = new MemoryAuditLog();
    const approvals = new MemoryApprovalStore();
    const handle = mod.makeHandler(async () => ({ incidents, runs, audit, approvals, clock: fixedClock(NOW) }));
    return { incidents, audit, approvals, handle };
  }

  it('returns the result with the achieved RTO (decision to last machine ready) and RPO (clean data given up)', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle({ runId: incident.incidentId, kind: 'incident', result: 'recovered' });

    // Assess
    expect(out).toEqual({ incidentId: incident.incidentId, result: 'recovered', rtoMinutes: 12, rpoMinutes: 90 });
    expect((await w.incidents.getIncident(incident.incidentId))?.status).toBe('recovered');
  });

  it('keeps the Error and Cause a Catch handed over as one bounded string on the audit entry', async () => {
    // Prepare
    const w = await world();

    // Act
    await w.handle({ runId: incident.incidentId, kind: 'incident', result: 'failed', error: { Error: 'States.TaskFailed', Cause: 'x'.repeat(5000) } });

    // Assess
    const entry = (await w.audit.list(incident.incidentId)).find((e) => e.type === 'outcome.recorded');
    const error = String(entry?.data['error']);
    expect(error.startsWith('States.TaskFailed: xxx')).toBe(true);
    expect(error).toHaveLength(2000);
  });

  it.each([
    ['a result it does not know', { result: 'won' }, 'result'],
    ['a missing runId', { runId: undefined }, 'runId'],
    ['an error that is neither text nor a Catch object', { error: 500 }, 'error'],
  ])('refuses task input with %s with a ValidationError naming the path', async (_what, change, path) => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ runId: incident.incidentId, result: 'recovered', ...change }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(await w.audit.list(incident.incidentId)).toEqual([]);
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle('recovered'));

    // Assess
    expect(error.name).toBe('ValidationError');
  });
});

describe('record-outcome handler (wrapped: its composition over the memory stores)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;

  beforeEach(async () => {
    stores = memoryAdapters();
    await stores.incidents.createIncident({ ...incident, status: 'awaiting-approval' });
    for (const group of incident.groups) await stores.incidents.claimGroup(group, incident.incidentId);
    stores.calls.length = 0;
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('records a rejection on the incident and gives back the groups it held', async () => {
    // Act: what the Record Rejection state sends
    const out = await handler({ runId: incident.incidentId, kind: 'incident', result: 'rejected' }, lambdaContext());

    // Assess
    expect(out).toEqual({ incidentId: incident.incidentId, result: 'rejected', rtoMinutes: null, rpoMinutes: null });
    // A versioned update of the incident (the store refuses a stale version: contract-tested) and the group claim released, once
    const stored = await stores.incidents.getIncident(incident.incidentId);
    expect(stored).toMatchObject({ status: 'rejected', version: incident.version + 1 });
    expect(stores.calls.filter((c) => c === 'incidents.releaseGroup')).toHaveLength(1);
    expect(await stores.incidents.claimGroup('payments', 'inc-ffffffffffffffffffff')).toBe('inc-ffffffffffffffffffff');
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual(['outcome.recorded']);
  });
});

