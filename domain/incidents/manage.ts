import { ConflictError, ForbiddenError, NotFoundError, toIso, ValidationError, type Clock } from '../shared/index.ts';
import { failbackRunId, type Incident } from './incident.ts';
import { changeIncident, moveTo } from './updates.ts';
import { peopleInRole, type InventoryIndex } from '../inventory/index.ts';
import type { AuditLog, IncidentStore, WorkflowEngine } from '../ports/index.ts';

/**
 * What an executor does to an incident after the failover: start the failback, or close it
 * without one (with a reason). Only executors of every affected group may; both are audited.
 * Starting the failback only starts the failback machine: its first step asks the deciders,
 * with the same rules as a failover (the executor who asked may not approve it where the
 * group forbids self-approval).
 */
export function manageIncident(deps: { incidents: IncidentStore; audit: AuditLog; workflows: WorkflowEngine; index: InventoryIndex; clock: Clock }) {
  return async (input: { action: 'failback' | 'close'; incidentId: string; by: string; reason?: string }): Promise<{ incident: Incident; executionName?: string }> => {
    const incident = await deps.incidents.getIncident(input.incidentId);
    if (!incident) throw new NotFoundError(`incident ${input.incidentId} not found`);
    const executors = incident.groups.map((g) => deps.index.groupByName.get(g)).filter((g) => g !== undefined).map((g) => peopleInRole(g, 'executor'));
    if (executors.length === 0 || !executors.every((list) => list.includes(input.by))) {
      await deps.audit.append(incident.incidentId, { type: `${input.action}.refused`, actor: input.by, at: toIso(deps.clock.now()), data: { reason: 'not an executor of every affected group' } });
      throw new ForbiddenError(`${input.by} is not an executor of every affected group (${incident.groups.join(', ')})`);
    }
    if (input.action === 'close') return { incident: await closeIncident(deps)({ incidentId: incident.incidentId, by: input.by, reason: input.reason ?? '' }) };
    if (!['recovered', 'failback-pending'].includes(incident.status)) throw new ConflictError(`incident is ${incident.status}; only a recovered incident can fail back`);
    const name = failbackRunId(incident.incidentId);
    // Step Functions refuses a second execution with a running name; a retried failback after a
    // failure gets a suffixed name.
    const audit = await deps.audit.list(incident.incidentId);
    const attempt = audit.filter((a) => a.type === 'failback.requested').length;
    const ended = audit.filter((a) => ['failback.not-approved', 'failback.failed', 'failback.completed'].includes(a.type)).length;
    // One failback at a time: a second request while the first waits for its decision (or runs)
    // would ask the deciders twice and could launch the primaries twice.
    if (attempt > ended) throw new ConflictError('a failback of this incident is already waiting for approval or running');
    const executionName = attempt === 0 ? name : `${name}-${attempt + 1}`.slice(0, 80);
    await deps.workflows.startExecution({ machine: 'failback', name: executionName, input: { incidentId: incident.incidentId, requestedBy: input.by } });
    await deps.audit.append(incident.incidentId, { type: 'failback.requested', actor: input.by, at: toIso(deps.clock.now()), data: { executionName } });
    return { incident, executionName };
  };
}

/**
 * closeIncident(deps)({ incidentId, by, reason })
 *
 * Closing without a failback needs a reason; it is audited and releases the groups. An
 * incident in the middle of a failover or failback cannot be closed.
 */
export function closeIncident(deps: { incidents: IncidentStore; audit: AuditLog; clock: Clock }) {
  return async (input: { incidentId: string; by: string; reason: string }): Promise<Incident> => {
    const reason = input.reason.trim();
    if (!reason) throw new ValidationError('close', [{ path: 'reason', message: 'closing an incident without failback needs a reason' }]);
    const now = toIso(deps.clock.now());
    const current = await deps.incidents.getIncident(input.incidentId);
    if (!current) throw new NotFoundError(`incident ${input.incidentId} not found`);
    if (current.status === 'closed') return current;
    if (['failing-over', 'failing-back', 'approved'].includes(current.status)) throw new ConflictError(`incident is ${current.status}; wait until it settles`);
    const closed = await changeIncident(deps.incidents, input.incidentId, moveTo('closed', { updatedAt: now, closure: { by: input.by, at: now, reason, withFailback: false } }));
    if (!closed || closed.status !== 'closed') throw new ConflictError(`an incident that is ${current.status} cannot be closed`);
    await Promise.all(closed.groups.map((g) => deps.incidents.releaseGroup(g, input.incidentId)));
    await deps.audit.append(input.incidentId, { type: 'incident.closed', actor: input.by, at: now, data: { reason, withFailback: false } });
    return closed;
  };
}
