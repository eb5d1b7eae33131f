/** In-memory IncidentStore with the DynamoDB adapter's semantics (see the contract suite). */
import { ConflictError, NotFoundError } from '../../../../domain/shared/index.ts';
import type { Finding } from '../../../../domain/findings/index.ts';
import type { Incident } from '../../../../domain/incidents/index.ts';
import { assertNoIdentityChange, findingUpdatedMs, listingKey, newestFirst, type FindingDelivery, type FindingRecord, type IncidentStore } from '../../../../domain/ports/index.ts';

/** Apply changes like a DynamoDB update: `undefined` removes the attribute. */
export function applyChanges<T extends object>(current: T, changes: object, version: number): T {
  const next = { ...current } as Record<string, unknown>;
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete next[k];
    else next[k] = structuredClone(v);
  }
  next['version'] = version;
  return next as T;
}

export class MemoryIncidentStore implements IncidentStore {
  private readonly incidents = new Map<string, Incident>();
  private readonly findings = new Map<string, FindingRecord & { updatedAtMs: number }>();
  private readonly groups = new Map<string, string>();

  async createIncident(incident: Incident): Promise<{ created: boolean; incident: Incident }> {
    const existing = this.incidents.get(incident.incidentId);
    if (existing) return { created: false, incident: structuredClone(existing) };
    this.incidents.set(incident.incidentId, structuredClone(incident));
    return { created: true, incident: structuredClone(incident) };
  }

  async getIncident(incidentId: string): Promise<Incident | null> {
    const found = this.incidents.get(incidentId);
    return found ? structuredClone(found) : null;
  }

  async updateIncident(
    incidentId: string, expectedVersion: number, changes: Partial<Omit<Incident, 'incidentId' | 'version'>>,
  ): Promise<Incident> {
    assertNoIdentityChange('incident', changes, 'incidentId');
    const current = this.incidents.get(incidentId);
    if (!current) throw new NotFoundError(`incident ${incidentId} does not exist`);
    if (current.version !== expectedVersion) {
      throw new ConflictError(`incident ${incidentId} is at version ${current.version}, not ${expectedVersion}: somebody changed it first`);
    }
    const next = applyChanges(current, changes, expectedVersion + 1);
    this.incidents.set(incidentId, next);
    return structuredClone(next);
  }

  async listIncidents(options: { limit?: number } = {}): Promise<Incident[]> {
    const { limit } = options;
    if (limit !== undefined && limit <= 0) return [];
    const sorted = [...this.incidents.values()].sort(newestFirst((i) => listingKey(i.createdAt, i.incidentId)));
    return structuredClone(limit === undefined ? sorted : sorted.slice(0, limit));
  }

  async recordFinding(incidentId: string, finding: Finding): Promise<FindingDelivery> {
    const updatedAtMs = findingUpdatedMs(finding);
    const known = this.findings.get(finding.id);
    if (!known) {
      this.findings.set(finding.id, { findingId: finding.id, incidentId, updatedAt: finding.updatedAt, updatedAtMs });
      return 'new';
    }
    if (known.updatedAtMs < updatedAtMs) {
      // The incident the finding first opened stays its incident.
      this.findings.set(finding.id, { ...known, updatedAt: finding.updatedAt, updatedAtMs });
      return 'update';
    }
    return 'duplicate';
  }

  /** Not part of the port (yet): which incident a finding belongs to, for routing updates. */
  async getFindingRecord(findingId: string): Promise<FindingRecord | null> {
    const known = this.findings.get(findingId);
    return known ? { findingId, incidentId: known.incidentId, updatedAt: known.updatedAt } : null;
  }

  async claimGroup(group: string, incidentId: string): Promise<string> {
    const owner = this.groups.get(group);
    if (owner !== undefined) return owner;
    this.groups.set(group, incidentId);
    return incidentId;
  }

  /** Only the owner can release; releasing a group one does not hold changes nothing. */
  async releaseGroup(group: string, incidentId: string): Promise<void> {
    if (this.groups.get(group) === incidentId) this.groups.delete(group);
  }
}
