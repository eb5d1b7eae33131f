/**
 * The append-only, hash-chained audit log in the state table: `AUDIT#<incidentId>` /
 * zero-padded seq. Each append reads the newest entry and writes the next one with a
 * conditional put on its key; two writers that read the same tail race for the same seq, the
 * loser re-reads and chains onto the winner. Entries are never updated or deleted.
 *
 * `data` is stored as its canonical JSON text: exactly the bytes the digest covers, with no
 * number or empty-value conversions in between.
 */
import { ConflictError } from '../../../../domain/shared/index.ts';
import type { AuditLog } from '../../../../domain/ports/index.ts';
import { canonicalJson, nextAuditEntry, type AuditEntry, type AuditEntryInput } from '../../../../domain/evidence/index.ts';
import { DynamoTable, isConditionFailed, sleep, type DynamoAdapterOptions, type Item } from './client.ts';

const SEQ_WIDTH = 9;
/** Enough for dozens of concurrent writers on one incident (a handful is the real case). */
const MAX_APPEND_ATTEMPTS = 60;

const partition = (incidentId: string) => `AUDIT#${incidentId}`;
export const auditSortKey = (seq: number) => String(seq).padStart(SEQ_WIDTH, '0');

export class DynamoAuditLog implements AuditLog {
  private readonly table: DynamoTable;

  constructor(options: DynamoAdapterOptions) {
    this.table = new DynamoTable(options);
  }

  async append(incidentId: string, input: AuditEntryInput): Promise<AuditEntry> {
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const last = await this.table.query({
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': partition(incidentId) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      });
      const tail = last.Items?.[0];
      const entry = nextAuditEntry(incidentId, tail ? { seq: tail['seq'] as number, digest: tail['digest'] as string } : null, input);
      try {
        await this.table.put({
          Item: {
            pk: partition(incidentId),
            sk: auditSortKey(entry.seq),
            entity: 'audit',
            incidentId,
            seq: entry.seq,
            type: entry.type,
            actor: entry.actor,
            at: entry.at,
            dataJson: canonicalJson(entry.data),
            prevDigest: entry.prevDigest,
            digest: entry.digest,
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        });
        return entry;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      // Lost the race for this seq: back off a little (jittered) and chain onto the winner.
      await sleep(Math.random() * Math.min(2 ** attempt, 20));
    }
    throw new ConflictError(`audit log of ${incidentId}: gave up appending after ${MAX_APPEND_ATTEMPTS} lost races`);
  }

  async list(incidentId: string): Promise<AuditEntry[]> {
    const items = await this.table.queryAll({
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': partition(incidentId) },
      ConsistentRead: true,
    });
    return items.map(toEntry);
  }
}

/**
 * A stored entry whose data no longer parses (damaged or tampered with) is still returned, with
 * the raw text, so listing keeps working and the digest check reports exactly where it broke.
 */
function readData(raw: unknown): Record<string, unknown> {
  try {
    return JSON.parse(String(raw)) as Record<string, unknown>;
  } catch {
    return { unreadableDataJson: String(raw) };
  }
}

function toEntry(item: Item): AuditEntry {
  return {
    incidentId: item['incidentId'] as string,
    seq: item['seq'] as number,
    type: item['type'] as string,
    actor: item['actor'] as string,
    at: item['at'] as string,
    data: readData(item['dataJson']),
    prevDigest: item['prevDigest'] as string,
    digest: item['digest'] as string,
  };
}
