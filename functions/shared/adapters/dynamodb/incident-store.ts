/**
 * Incidents, finding deliveries and application-group claims in the state table (layout in
 * tables.ts). Every write is a single-item conditional write: EventBridge delivers at least
 * once and Lambda retries, so each operation is safe to repeat.
 */
import { ConflictError, NotFoundError } from '../../../../domain/shared/index.ts';
import type { Finding } from '../../../../domain/findings/index.ts';
import type { Incident } from '../../../../domain/incidents/index.ts';
import { assertNoIdentityChange, findingUpdatedMs, listingKey, type FindingDelivery, type FindingRecord, type IncidentStore } from '../../../../domain/ports/index.ts';
import {
  DynamoTable, isConditionFailed, omitAttributes, versionedUpdate, type DynamoAdapterOptions, type Item,
} from './client.ts';
import { STATE_GSI1 } from './tables.ts';

const META = 'META';
const LOCK = 'LOCK';
export const INCIDENTS_PARTITION = 'INCIDENTS';
/** Attributes the table adds to an entity; stripped on read. */
export const STATE_ITEM_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'entity'] as const;
const MAX_CLAIM_ATTEMPTS = 5;

const incidentKey = (incidentId: string) => ({ pk: `INCIDENT#${incidentId}`, sk: META });
const findingKey = (findingId: string) => ({ pk: `FINDING#${findingId}`, sk: META });
const groupKey = (group: string) => ({ pk: `GROUP#${group}`, sk: LOCK });

export class DynamoIncidentStore implements IncidentStore {
  private readonly table: DynamoTable;

  constructor(options: DynamoAdapterOptions) {
    this.table = new DynamoTable(options);
  }

  async createIncident(incident: Incident): Promise<{ created: boolean; incident: Incident }> {
    try {
      await this.table.put({
        Item: {
          ...incident,
          ...incidentKey(incident.incidentId),
          gsi1pk: INCIDENTS_PARTITION,
          gsi1sk: listingKey(incident.createdAt, incident.incidentId),
          entity: 'incident',
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return { created: true, incident: structuredClone(incident) };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    const existing = await this.getIncident(incident.incidentId);
    if (!existing) throw new ConflictError(`incident ${incident.incidentId} was created and deleted concurrently`);
    return { created: false, incident: existing };
  }

  async getIncident(incidentId: string): Promise<Incident | null> {
    const out = await this.table.get({ Key: incidentKey(incidentId), ConsistentRead: true });
    return out.Item ? toIncident(out.Item) : null;
  }

  async updateIncident(
    incidentId: string, expectedVersion: number, changes: Partial<Omit<Incident, 'incidentId' | 'version'>>,
  ): Promise<Incident> {
    assertNoIdentityChange('incident', changes, 'incidentId');
    // The listing index orders by creation time: keep it in step if createdAt is corrected.
    const index = changes.createdAt !== undefined ? { gsi1sk: listingKey(changes.createdAt, incidentId) } : {};
    try {
      const out = await this.table.update({
        Key: incidentKey(incidentId),
        ...versionedUpdate(changes, expectedVersion, index),
        ReturnValues: 'ALL_NEW',
      });
      return toIncident(out.Attributes ?? {});
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    const current = await this.getIncident(incidentId);
    if (!current) throw new NotFoundError(`incident ${incidentId} does not exist`);
    throw new ConflictError(`incident ${incidentId} is at version ${current.version}, not ${expectedVersion}: somebody changed it first`);
  }

  async listIncidents(options: { limit?: number } = {}): Promise<Incident[]> {
    const limit = options.limit;
    if (limit !== undefined && limit <= 0) return [];
    const query = {
      IndexName: STATE_GSI1,
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': INCIDENTS_PARTITION },
      ScanIndexForward: false,
    };
    // The index is eventually consistent on AWS: a just-created incident may show up a moment later.
    if (limit === undefined) return (await this.table.queryAll(query)).map(toIncident);
    // A page holds at most 1 MB of data, whatever `Limit` says: page on until `limit` incidents
    // (large incidents would otherwise cut a listing short, e.g. the open-incident check of a drill).
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.query({ ...query, Limit: limit - items.length, ExclusiveStartKey: start });
      items.push(...((page.Items ?? []) as Item[]));
      start = page.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items.map(toIncident);
  }

  async recordFinding(incidentId: string, finding: Finding): Promise<FindingDelivery> {
    const updatedAtMs = findingUpdatedMs(finding);
    try {
      await this.table.put({
        Item: { ...findingKey(finding.id), entity: 'finding', findingId: finding.id, incidentId, updatedAt: finding.updatedAt, updatedAtMs },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return 'new';
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    try {
      // GuardDuty re-sends a finding with a later updatedAt as it aggregates new activity;
      // the incident it first opened stays its incident.
      await this.table.update({
        Key: findingKey(finding.id),
        UpdateExpression: 'SET updatedAt = :u, updatedAtMs = :ms',
        ConditionExpression: 'attribute_exists(pk) AND updatedAtMs < :ms',
        ExpressionAttributeValues: { ':u': finding.updatedAt, ':ms': updatedAtMs },
      });
      return 'update';
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return 'duplicate';
    }
  }

  /** Not part of the port (yet): which incident a finding belongs to, for routing updates. */
  async getFindingRecord(findingId: string): Promise<FindingRecord | null> {
    const out = await this.table.get({ Key: findingKey(findingId), ConsistentRead: true });
    if (!out.Item) return null;
    const { incidentId, updatedAt } = out.Item as { incidentId: string; updatedAt: string };
    return { findingId, incidentId, updatedAt };
  }

  async claimGroup(group: string, incidentId: string): Promise<string> {
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      try {
        await this.table.put({
          Item: { ...groupKey(group), entity: 'group-claim', group, owner: incidentId },
          ConditionExpression: 'attribute_not_exists(pk) OR #owner = :me',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': incidentId },
        });
        return incidentId;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      const out = await this.table.get({ Key: groupKey(group), ConsistentRead: true });
      const owner = out.Item?.['owner'] as string | undefined;
      if (owner !== undefined) return owner;
      // Released between our attempt and the read: try again.
    }
    throw new ConflictError(`group ${group} kept changing hands while ${incidentId} tried to claim it`);
  }

  /** Only the owner can release; releasing a group one does not hold changes nothing. */
  async releaseGroup(group: string, incidentId: string): Promise<void> {
    try {
      await this.table.delete({
        Key: groupKey(group),
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':me': incidentId },
      });
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }
}

function toIncident(item: Item): Incident {
  return omitAttributes<Incident>(item, STATE_ITEM_ATTRIBUTES);
}
