import { ConflictError } from '../shared/index.ts';
import { canTransition, type Incident, type IncidentStatus } from './incident.ts';
import type { IncidentStore } from '../ports/index.ts';

export interface ChangeOptions {
  /** Rounds before giving up (default 40: a burst of 50 writers resolves well within it). */
  attempts?: number;
  /** Waits between rounds; default a real-time pause (contention is resolved in real time). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Read-modify-write of an incident under optimistic concurrency. Several writers touch an
 * incident at nearly the same moment (a burst of findings for one compromise, the intake
 * recording the execution, the workflow moving the status), so a lost race re-reads and
 * re-decides instead of failing. Each round at least one writer wins; losers wait a jittered,
 * growing pause (full jitter, capped at 50 ms) so a burst spreads out instead of colliding again.
 * `change` returns the changes to apply, or null when there is nothing to do.
 */
export async function changeIncident(
  store: IncidentStore, incidentId: string, change: (current: Incident) => Partial<Omit<Incident, 'incidentId' | 'version'>> | null,
  options: ChangeOptions = {},
): Promise<Incident | null> {
  const attempts = options.attempts ?? 40;
  const sleep = options.sleep ?? pause;
  const random = options.random ?? Math.random;
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
    await sleep(Math.floor(random() * Math.min(50, 2 ** i)));
  }
  throw new ConflictError(`incident ${incidentId} kept changing; gave up after ${attempts} attempts`);
}

/** Move to `status` when the lifecycle allows it from wherever the incident is now. */
export function moveTo(status: IncidentStatus, extra: Partial<Incident> = {}) {
  return (current: Incident): Partial<Incident> | null => (current.status === status || !canTransition(current.status, status) ? null : { status, ...extra });
}
