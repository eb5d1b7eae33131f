/**
 * Protection state in the state table (layout in tables.ts, extended here):
 *   RPO#<machineId>        / STATE     breach state of one machine; gsi1pk = RPO, gsi1sk = machineId
 *   RPO#GROUP#<group>      / HISTORY   achieved-RPO samples of a group (bounded list, versioned)
 *   READINESS#<group>      / LATEST    the latest readiness report; gsi1pk = READINESS, gsi1sk = group
 *   COVERAGE               / LATEST    the latest coverage report and its fingerprint
 * Machine and group names cannot contain "#", so the keys cannot collide.
 * Single-item conditional writes only, as everywhere in this table: a breach is opened (and
 * closed, and announced) by exactly one writer however many invocations overlap.
 */
import type { CoverageReport, GroupReadiness, RpoSample, RpoState } from '../../../../domain/protection/index.ts';
import type { ProtectionStore } from '../../../../domain/ports/index.ts';
import { DynamoTable, isConditionFailed, omitAttributes, type DynamoAdapterOptions, type Item } from './client.ts';
import { STATE_GSI1 } from './tables.ts';

const rpoKey = (machineId: string) => ({ pk: `RPO#${machineId}`, sk: 'STATE' });
const historyKey = (group: string) => ({ pk: `RPO#GROUP#${group}`, sk: 'HISTORY' });
const readinessKey = (group: string) => ({ pk: `READINESS#${group}`, sk: 'LATEST' });
const COVERAGE_KEY = { pk: 'COVERAGE', sk: 'LATEST' };
const KEYS = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'entity', 'version'] as const;
/** Coverage gaps kept in the stored report (the item must stay far below DynamoDB's 400 KB). */
export const MAX_STORED_GAPS = 500;
const HISTORY_WRITE_ATTEMPTS = 3;

type Last = NonNullable<RpoState['last']>;

export class DynamoProtectionStore implements ProtectionStore {
  private readonly table: DynamoTable;

  constructor(options: DynamoAdapterOptions) {
    this.table = new DynamoTable(options);
  }

  async getRpoState(machineId: string): Promise<RpoState | null> {
    const out = await this.table.get({ Key: rpoKey(machineId), ConsistentRead: true });
    return out.Item ? omitAttributes<RpoState>(out.Item, KEYS) : null;
  }

  async listRpoStates(): Promise<RpoState[]> {
    const items = await this.table.queryAll({ IndexName: STATE_GSI1, KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': 'RPO' } });
    return items.map((i) => omitAttributes<RpoState>(i, KEYS));
  }

  async openRpoBreach(machineId: string, breach: { group: string; since: string; reason: string; last: Last }): Promise<{ opened: boolean }> {
    const opened = await this.conditionalUpdate(machineId, {
      sets: { inBreach: true, breachSince: breach.since, reason: breach.reason, group: breach.group, last: breach.last, notice: { kind: 'start', at: breach.since, sent: false }, updatedAt: breach.since },
      removes: ['breachEndedAt'],
      condition: (e) => `attribute_not_exists(${e.n('pk')}) OR attribute_not_exists(${e.n('inBreach')}) OR #inBreach = ${e.v('false', false)}`,
    });
    return { opened };
  }

  async closeRpoBreach(machineId: string, end: { group: string; endedAt: string; last: Last }): Promise<{ closed: boolean }> {
    const closed = await this.conditionalUpdate(machineId, {
      sets: { inBreach: false, breachEndedAt: end.endedAt, group: end.group, last: end.last, notice: { kind: 'end', at: end.endedAt, sent: false }, updatedAt: end.endedAt },
      removes: ['reason'],
      condition: (e) => `${e.n('inBreach')} = ${e.v('true', true)}`,
    });
    return { closed };
  }

  async observeRpo(machineId: string, observation: { group: string; last: Last; reason?: string }): Promise<void> {
    await this.conditionalUpdate(machineId, {
      sets: { group: observation.group, last: observation.last, updatedAt: observation.last.at, ...(observation.reason ? { reason: observation.reason } : {}) },
      removes: observation.reason ? [] : ['reason'],
    });
  }

  async setReplicationStalled(machineId: string, change: { group: string; stalled: boolean; at: string }): Promise<boolean> {
    return this.conditionalUpdate(machineId, {
      sets: { stalled: change.stalled, stalledChangedAt: change.at, group: change.group, updatedAt: change.at },
      condition: (e) => `attribute_not_exists(${e.n('stalledChangedAt')}) OR #stalledChangedAt < ${e.v('stalledChangedAt', change.at)}`,
    });
  }

  async markRpoNoticeSent(machineId: string, noticeAt: string): Promise<void> {
    try {
      await this.table.update({
        Key: rpoKey(machineId),
        UpdateExpression: 'SET #notice.#sent = :true',
        ConditionExpression: '#notice.#at = :at',
        ExpressionAttributeNames: { '#notice': 'notice', '#sent': 'sent', '#at': 'at' },
        ExpressionAttributeValues: { ':true': true, ':at': noticeAt },
      });
    } catch (e) {
      if (!isConditionFailed(e)) throw e; // a later transition replaced the notice: nothing to mark
    }
  }

  async claimRpoNotice(machineId: string, noticeAt: string, at: string): Promise<boolean> {
    try {
      await this.table.update({
        Key: rpoKey(machineId),
        UpdateExpression: 'SET #notice.#at = :new',
        ConditionExpression: '#notice.#at = :old AND #notice.#sent = :false',
        ExpressionAttributeNames: { '#notice': 'notice', '#sent': 'sent', '#at': 'at' },
        ExpressionAttributeValues: { ':new': at, ':old': noticeAt, ':false': false },
      });
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  async appendRpoSample(group: string, sample: RpoSample, options: { keep: number; minIntervalMs: number }): Promise<boolean> {
    for (let attempt = 1; attempt <= HISTORY_WRITE_ATTEMPTS; attempt++) {
      const out = await this.table.get({ Key: historyKey(group), ConsistentRead: true });
      const samples = ((out.Item?.['samples'] ?? []) as RpoSample[]);
      const version = (out.Item?.['version'] as number | undefined) ?? 0;
      const last = samples.at(-1);
      if (last && Date.parse(sample.at) - Date.parse(last.at) < options.minIntervalMs) return false;
      try {
        await this.table.put({
          Item: { ...historyKey(group), entity: 'rpo-history', group, samples: [...samples, sample].slice(-options.keep), version: version + 1 },
          ...(version === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: '#version = :v', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':v': version } }),
        });
        return true;
      } catch (e) {
        if (!isConditionFailed(e)) throw e; // another run appended first: read again
      }
    }
    return false;
  }

  async getRpoHistory(group: string): Promise<RpoSample[]> {
    const out = await this.table.get({ Key: historyKey(group), ConsistentRead: true });
    return ((out.Item?.['samples'] ?? []) as RpoSample[]);
  }

  async putReadiness(report: GroupReadiness): Promise<{ previous: GroupReadiness | null }> {
    const out = await this.table.put({
      Item: { ...report, ...readinessKey(report.group), gsi1pk: 'READINESS', gsi1sk: report.group, entity: 'readiness' },
      ReturnValues: 'ALL_OLD',
    });
    return { previous: out.Attributes ? omitAttributes<GroupReadiness>(out.Attributes as Item, KEYS) : null };
  }

  async getReadiness(group: string): Promise<GroupReadiness | null> {
    const out = await this.table.get({ Key: readinessKey(group), ConsistentRead: true });
    return out.Item ? omitAttributes<GroupReadiness>(out.Item, KEYS) : null;
  }

  async recordCoverage(report: CoverageReport & { fingerprint: string }): Promise<{ changed: boolean; first: boolean }> {
    const stored = { ...report, gaps: report.gaps.slice(0, MAX_STORED_GAPS) };
    try {
      const out = await this.table.put({
        Item: { ...stored, ...COVERAGE_KEY, entity: 'coverage' },
        ConditionExpression: 'attribute_not_exists(pk) OR fingerprint <> :f',
        ExpressionAttributeValues: { ':f': report.fingerprint },
        ReturnValues: 'ALL_OLD',
      });
      return { changed: true, first: out.Attributes === undefined };
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
    // Same gaps as last time: only the time of the check moves on.
    await this.table.update({ Key: COVERAGE_KEY, UpdateExpression: 'SET checkedAt = :c', ExpressionAttributeValues: { ':c': report.checkedAt } });
    return { changed: false, first: false };
  }

  async getCoverage(): Promise<(CoverageReport & { fingerprint: string }) | null> {
    const out = await this.table.get({ Key: COVERAGE_KEY, ConsistentRead: true });
    return out.Item ? omitAttributes<CoverageReport & { fingerprint: string }>(out.Item, KEYS) : null;
  }

  /**
   * SET the given attributes (plus identity and listing keys, and the defaults of a new state)
   * and REMOVE the listed ones, under an optional condition. False when the condition failed.
   * Only the names and values an expression uses are sent: DynamoDB refuses unused ones.
   */
  private async conditionalUpdate(machineId: string, u: { sets: Record<string, unknown>; removes?: string[]; condition?: (e: Expr) => string }): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const e: Expr = {
      n: (k) => { names[`#${k}`] = k; return `#${k}`; },
      v: (k, value) => { values[`:${k}`] = value; return `:${k}`; },
    };
    const sets = [`${e.n('machineId')} = ${e.v('machineId', machineId)}`, `${e.n('gsi1pk')} = ${e.v('gsi1pk', 'RPO')}`, `${e.n('gsi1sk')} = :machineId`, `${e.n('entity')} = ${e.v('entity', 'rpo-state')}`];
    if (!('inBreach' in u.sets)) sets.push(`${e.n('inBreach')} = if_not_exists(#inBreach, ${e.v('false', false)})`);
    if (!('stalled' in u.sets)) sets.push(`${e.n('stalled')} = if_not_exists(#stalled, ${e.v('false', false)})`);
    for (const [k, value] of Object.entries(u.sets)) sets.push(`${e.n(k)} = ${e.v(k, value)}`);
    const removes = (u.removes ?? []).map((k) => e.n(k));
    const condition = u.condition?.(e);
    try {
      await this.table.update({
        Key: rpoKey(machineId),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ...(condition ? { ConditionExpression: condition } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      });
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }
}

/** Expression placeholders: `n` for an attribute name, `v` for a value. */
interface Expr {
  n(name: string): string;
  v(key: string, value: unknown): string;
}
