import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../domain/shared/index.ts';
import { closeIncident, type Incident } from '../../domain/incidents/index.ts';
import type { WorkflowControl } from '../../domain/ports/index.ts';
import { MemoryAuditLog, MemoryIncidentStore } from '../../functions/shared/adapters/memory/index.ts';
import { makeInventory } from '../helpers/fixtures.ts';
import { inventoryIndex, makeIncidentFor, rejectionOf } from '../functions/support.ts';

/**
 * Issue 15, item 3: an operator way out of every state. `close` was refused while a run was
 * going ("incident is failing-over; wait until it settles"), so a stuck incident could never end.
 */
const NOW = Date.parse('2024-05-02T09:00:00.000Z');

async function world(overrides: Partial<Incident>) {
  const index = inventoryIndex(makeInventory());
  const incidents = new MemoryIncidentStore();
  const audit = new MemoryAuditLog();
  const incident = makeIncidentFor(index, {}, overrides);
  await incidents.createIncident(incident);
  for (const g of incident.groups) await incidents.claimGroup(g, incident.incidentId);
  const stopped: { machine: string; name: string; cause: string }[] = [];
  const workflows: WorkflowControl = { stopExecution: async (input) => { stopped.push(input); } };
  const close = closeIncident({ incidents, audit, clock: fixedClock(NOW), workflows });
  return { incidents, audit, incident, stopped, close };
}

describe('closeIncident from any state', () => {
  it.each<Incident['status']>(['failing-over', 'approved', 'awaiting-approval', 'reinfected'])(
    'closes an incident that is %s, stopping its incident-response execution first, and audits who, when and why',
    async (status) => {
      // Prepare
      const w = await world({ status, executionName: 'incident-x', executionArn: 'arn:aws:states:us-east-1:123456789012:execution:m:incident-x' });

      // Act
      const closed = await w.close({ incidentId: w.incident.incidentId, by: 'carol', reason: 'stuck after a crash; recovering by hand' });

      // Assess
      expect(closed.status).toBe('closed');
      expect(closed.closure).toMatchObject({ by: 'carol', reason: 'stuck after a crash; recovering by hand' });
      expect(w.stopped).toEqual([{ machine: 'incident-response', name: 'incident-x', cause: expect.stringContaining('closed by carol') }]);
      const entry = (await w.audit.list(w.incident.incidentId)).find((e) => e.type === 'incident.closed');
      expect(entry).toMatchObject({ actor: 'carol', at: new Date(NOW).toISOString(), data: { reason: 'stuck after a crash; recovering by hand', stoppedRun: { status, execution: 'incident-x' } } });
    },
  );

  it('closes a failing-back incident, stopping the failback execution', async () => {
    const w = await world({ status: 'failing-back', executionName: 'incident-x' });
    await w.audit.append(w.incident.incidentId, { type: 'failback.requested', actor: 'carol', at: new Date(NOW).toISOString(), data: { executionName: 'failback-x' } });
    const closed = await w.close({ incidentId: w.incident.incidentId, by: 'carol', reason: 'primaries restored by hand' });
    expect(closed.status).toBe('closed');
    expect(w.stopped.map((s) => [s.machine, s.name])).toEqual([['failback', 'failback-x']]);
  });

  it('stops nothing when no run is going (recovered), and a second close changes nothing', async () => {
    const w = await world({ status: 'recovered', executionName: 'incident-x' });
    await w.close({ incidentId: w.incident.incidentId, by: 'carol', reason: 'done' });
    const again = await w.close({ incidentId: w.incident.incidentId, by: 'carol', reason: 'done' });
    expect(again.status).toBe('closed');
    expect(w.stopped).toEqual([]);
    expect((await w.audit.list(w.incident.incidentId)).filter((e) => e.type === 'incident.closed')).toHaveLength(1);
  });

  it('releases the groups, so a new finding on them opens a new incident', async () => {
    const w = await world({ status: 'failing-over', executionName: 'incident-x' });
    await w.close({ incidentId: w.incident.incidentId, by: 'carol', reason: 'stuck' });
    for (const g of w.incident.groups) expect(await w.incidents.claimGroup(g, 'inc-00000000000000000001')).toBe('inc-00000000000000000001');
  });

  it('still needs a reason', async () => {
    const w = await world({ status: 'failing-over' });
    expect((await rejectionOf(w.close({ incidentId: w.incident.incidentId, by: 'carol', reason: ' ' }))).name).toBe('ValidationError');
    expect(w.stopped).toEqual([]);
  });
});
