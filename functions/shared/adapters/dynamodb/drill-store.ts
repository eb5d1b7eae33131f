/**
 * Drills in the state table (layout in tables.ts, extended here):
 *   DRILL#<drillId> / META     the drill record; gsi1pk = DRILLS#<group>, gsi1sk = `${startedAt}#${drillId}`
 *                              (a group's drills newest first is one descending Query on gsi1)
 *   GROUP#<group>   / DRILLS   the group's drill status, next to the incident lock GROUP#<group> / LOCK
 * Single-item conditional writes only, as everywhere in this table.
 */
import { ConflictError, NotFoundError } from '../../../../domain/shared/index.ts';
import type { Drill, DrillStatus, GroupDrillStatus } from '../../../../domain/drills/index.ts';
import type { DrillStore } from '../../../../domain/ports/index.ts';
import { DynamoTable, isConditionFailed, omitAttributes, type DynamoAdapterOptions, type Item } from './client.ts';
import { STATE_GSI1 } from './tables.ts';

const drillKey = (drillId: string) => ({ pk: `DRILL#${drillId}`, sk: 'META' });
const groupKey = (group: string) => ({ pk: `GROUP#${group}`, sk: 'DRILLS' });
export const drillsPartition = (group: string) => `DRILLS#${group}`;
const KEYS = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'entity'] as const;
/** Attributes an update may not change: the identity and the listing keys. */
const FIXED = new Set(['drillId', 'group', 'startedAt']);

export class DynamoDrillStore implements DrillStore {
  private readonly table: DynamoTable;

  constructor(options: DynamoAdapterOptions) {
    this.table = new DynamoTable(options);
  }

  async createDrill(drill: Drill): Promise<{ created: boolean; drill: Drill }> {
    try {
      await this.table.put({
        Item: { ...drill, ...drillKey(drill.drillId), gsi1pk: drillsPartition(drill.group), gsi1sk: `${drill.startedAt}#${drill.drillId}`, entity: 'drill' },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return { created: true, drill: structuredClone(drill) };
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
    const existing = await this.getDrill(drill.drillId);
    if (!existing) throw new ConflictError(`drill ${drill.drillId} was created and deleted concurrently`);
    return { created: false, drill: existing };
  }

  async getDrill(drillId: string): Promise<Drill | null> {
    const out = await this.table.get({ Key: drillKey(drillId), ConsistentRead: true });
    return out.Item ? omitAttributes<Drill>(out.Item, KEYS) : null;
  }

  async updateDrill(drillId: string, changes: Partial<Omit<Drill, 'drillId' | 'group' | 'startedAt'>>, options: { ifStatusIn?: DrillStatus[] } = {}): Promise<Drill> {
    const names: Record<string, string> = { '#pk': 'pk' };
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    Object.entries(changes).filter(([k]) => !FIXED.has(k)).forEach(([k, v], i) => {
      names[`#a${i}`] = k;
      if (v === undefined) removes.push(`#a${i}`);
      else { sets.push(`#a${i} = :a${i}`); values[`:a${i}`] = v; }
    });
    let condition = 'attribute_exists(#pk)';
    if (options.ifStatusIn) {
      names['#status'] = 'status';
      const keys = options.ifStatusIn.map((s, i) => { values[`:s${i}`] = s; return `:s${i}`; });
      condition += ` AND #status IN (${keys.join(', ')})`;
    }
    if (!sets.length && !removes.length) {
      const d = await this.getDrill(drillId);
      if (!d) throw new NotFoundError(`drill ${drillId} not found`);
      return d;
    }
    try {
      const out = await this.table.update({
        Key: drillKey(drillId),
        UpdateExpression: `${sets.length ? `SET ${sets.join(', ')}` : ''}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`.trim(),
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
        ReturnValues: 'ALL_NEW',
      });
      return omitAttributes<Drill>(out.Attributes as Item, KEYS);
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
    const current = await this.getDrill(drillId);
    if (!current) throw new NotFoundError(`drill ${drillId} not found`);
    throw new ConflictError(`drill ${drillId} is ${current.status}, not ${options.ifStatusIn?.join(' or ')}`);
  }

  async listDrills(group: string, options: { limit?: number } = {}): Promise<Drill[]> {
    const limit = options.limit ?? 100;
    const out: Drill[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.query({
        IndexName: STATE_GSI1,
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': drillsPartition(group) },
        ScanIndexForward: false,
        Limit: limit - out.length,
        ExclusiveStartKey: start,
      });
      out.push(...((page.Items ?? []) as Item[]).map((i) => omitAttributes<Drill>(i, KEYS)));
      start = page.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out;
  }

  async getGroupStatus(group: string): Promise<GroupDrillStatus | null> {
    const out = await this.table.get({ Key: groupKey(group), ConsistentRead: true });
    return out.Item ? omitAttributes<GroupDrillStatus>(out.Item, KEYS) : null;
  }

  async putGroupStatus(status: GroupDrillStatus): Promise<void> {
    await this.table.put({ Item: { ...status, ...groupKey(status.group), entity: 'group-drill-status' } });
  }
}
