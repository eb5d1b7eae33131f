import type { Finding } from '../findings/model.ts';
import type { Incident } from '../incidents/model.ts';
import { ValidationError } from '../shared/index.ts';

export type FindingDelivery = 'new' | 'update' | 'duplicate';

/** The first delivery recorded for a finding: which incident it opened, and how current it is. */
export interface FindingRecord {
  findingId: string;
  incidentId: string;
  updatedAt: string;
}

/**
 * Incidents, and the finding deliveries that opened or updated them. Implementations apply the
 * rules of versioned-store.ts (identity and version are the store's; listed newest first) and
 * order deliveries with findingUpdatedMs.
 */
export interface IncidentStore {
  /** Conditional create: only when no incident with this id exists. */
  createIncident(incident: Incident): Promise<{ created: boolean; incident: Incident }>;
  getIncident(incidentId: string): Promise<Incident | null>;
  /**
   * Apply `changes` only if the stored version is `expectedVersion`; returns the new incident
   * (version + 1). Throws ConflictError when somebody else changed it first.
   */
  updateIncident(incidentId: string, expectedVersion: number, changes: Partial<Omit<Incident, 'incidentId' | 'version'>>): Promise<Incident>;
  /** Newest first. */
  listIncidents(options?: { limit?: number }): Promise<Incident[]>;
  /**
   * Record one delivery of a finding: `new` the first time this finding id is seen, `update`
   * when GuardDuty's updatedAt moved on, `duplicate` for a redelivery. Idempotent.
   */
  recordFinding(incidentId: string, finding: Finding): Promise<FindingDelivery>;
  /** The first delivery's record of a finding: the incident it belongs to (first writer wins). */
  getFindingRecord(findingId: string): Promise<FindingRecord | null>;
  /**
   * Claim an application group for an open incident. Returns the owner after the attempt:
   * `incidentId` when the claim succeeded (or it already owned it), else the current owner.
   */
  claimGroup(group: string, incidentId: string): Promise<string>;
  releaseGroup(group: string, incidentId: string): Promise<void>;
}

/** Finding deliveries are ordered by GuardDuty's updatedAt, compared as instants. */
export function findingUpdatedMs(finding: Pick<Finding, 'updatedAt'>): number {
  const ms = Date.parse(finding.updatedAt);
  if (!Number.isFinite(ms)) throw new ValidationError('finding', [{ path: 'updatedAt', message: `${JSON.stringify(finding.updatedAt)} is not a timestamp` }]);
  return ms;
}
