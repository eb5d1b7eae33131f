import { ConflictError } from './errors.ts';
import { canTransition, type Incident, type IncidentStatus } from './incident.ts';
import type { IncidentStore } from './ports.ts';

/**
 * Read-modify-write of an incident under optimistic concurrency. Several writers touch an
 * incident at nearly the same moment (the intake recording the execution, the workflow moving
 * the status, a correlated finding), so a lost race re-reads and re-decides instead of failing.
 * `change` returns the changes to apply, or null when there is nothing to do.
 */
export async function changeIncident(
  store: IncidentStore, incidentId: string, change: (current: Incident) => Partial<Omit<Incident, 'incidentId' | 'version'>> | null, attempts = 8,
): Promise<Incident | null> {
  for (let i = 0; i < attempts; i++) {
    const current = await store.getIncident(incidentId);
    if (!current) return null;
    const changes = change(current);
    if (!changes) return current;
    try {
      return await store.updateIncident(incidentId, current.version, changes);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
    }
  }
  throw new ConflictError(`incident ${incidentId} kept changing; gave up after ${attempts} attempts`);
}

/** Move to `status` when the lifecycle allows it from wherever the incident is now. */
export function moveTo(status: IncidentStatus, extra: Partial<Incident> = {}) {
  return (current: Incident): Partial<Incident> | null => (current.status === status || !canTransition(current.status, status) ? null : { status, ...extra });
}
