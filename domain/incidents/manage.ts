import { ConflictError, ForbiddenError, NotFoundError, toIso, ValidationError, type Clock } from '../shared/index.ts';
import { failbackRunId, type Incident } from './incident.ts';
import { changeIncident, moveTo } from './updates.ts';
import { peopleInRole, type InventoryIndex } from '../inventory/index.ts';
import type { AuditLog, IncidentStore, WorkflowControl, WorkflowEngine } from '../ports/index.ts';

/**
 * What an executor does to an incident after the failover: start the failback, or close it
 * without one (with a reason). Only executors of every affected group may; both are audited.
 * Starting the failback only starts the failback machine: its first step asks the deciders,
 * with the same rules as a failover (the executor who asked may not approve it where the
 * group forbids self-approval).
 */
export function manageIncident(deps: { incidents: IncidentStore; audit: AuditLog; workflows: WorkflowEngine & WorkflowControl; index: InventoryIndex; clock: Clock }) {
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

/** Statuses in which a workflow of the incident is still going, and which machine runs it. */
const RUNNING_MACHINE: Partial<Record<Incident['status'], 'incident-response' | 'failback'>> = {
  proposed: 'incident-response', 'awaiting-approval': 'incident-response', approved: 'incident-response',
  'failing-over': 'incident-response', reinfected: 'incident-response', 'failback-pending': 'failback', 'failing-back': 'failback',
};

/**
 * closeIncident(deps)({ incidentId, by, reason })
 *
 * Closing without a failback needs a reason; it is audited (who, when, why, which run it
 * stopped) and releases the groups, so a later finding on them opens a new incident.
 * Allowed from any status: an operator at 3 a.m. who closes a stuck or still-running incident
 * means "this is over", so a run still going (the incident-response workflow while proposed,
 * awaiting approval, approved, failing over or re-infected; the failback while pending or failing
 * back) is stopped first (StopExecution; Step Functions stops its .sync children too). Machines it
 * launched are left as they are. Closing a closed incident changes nothing (duplicate delivery).
 *
 * 1. Validate the reason; read the incident (NotFoundError).
 * 2. Already closed: return it.
 * 3. Stop the running workflow, if the status says one is going.
 * 4. Conditional move to closed (lost races re-read), release the groups, audit.
 */
export function closeIncident(deps: { incidents: IncidentStore; audit: AuditLog; clock: Clock; workflows?: WorkflowControl }) {
  return async (input: { incidentId: string; by: string; reason: string }): Promise<Incident> => {
    const reason = input.reason.trim();
    if (!reason) throw new ValidationError('close', [{ path: 'reason', message: 'closing an incident without failback needs a reason' }]);
    const now = toIso(deps.clock.now());
    const current = await deps.incidents.getIncident(input.incidentId);
    if (!current) throw new NotFoundError(`incident ${input.incidentId} not found`);
    if (current.status === 'closed') return current;
    const stoppedRun = await stopRunning(deps, current, `closed by ${input.by}: ${reason}`.slice(0, 256));
    const closed = await changeIncident(deps.incidents, input.incidentId, moveTo('closed', { updatedAt: now, closure: { by: input.by, at: now, reason, withFailback: false } }));
    if (!closed || closed.status !== 'closed') throw new ConflictError(`an incident that is ${current.status} cannot be closed`);
    await Promise.all(closed.groups.map((g) => deps.incidents.releaseGroup(g, input.incidentId)));
    await deps.audit.append(input.incidentId, { type: 'incident.closed', actor: input.by, at: now, data: { reason, withFailback: false, ...(stoppedRun ? { stoppedRun } : {}) } });
    return closed;
  };
}

async function stopRunning(deps: { audit: AuditLog; workflows?: WorkflowControl }, incident: Incident, cause: string): Promise<{ status: string; machine: string; execution: string } | null> {
  const machine = RUNNING_MACHINE[incident.status];
  if (!machine) return null;
  let name: string | undefined;
  if (machine === 'incident-response') name = incident.executionName;
  else name = (await deps.audit.list(incident.incidentId)).filter((a) => a.type === 'failback.requested').map((a) => (a.data as { executionName?: string } | undefined)?.executionName).filter((n): n is string => !!n).at(-1);
  if (!name) return null;
  if (!deps.workflows) throw new ConflictError(`incident is ${incident.status} and its ${machine} run ${name} cannot be stopped from here`);
  await deps.workflows.stopExecution({ machine, name, cause });
  return { status: incident.status, machine, execution: name };
}
