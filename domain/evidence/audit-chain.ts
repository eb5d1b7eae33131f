/**
 * The audit log's hash chain: pure functions shared by every AuditLog implementation and by
 * whoever verifies an exported log.
 *
 * digest(n) = sha256(prevDigest(n) + canonicalJson({ incidentId, seq, type, actor, at, data }))
 * prevDigest(1) = 64 zeros. Changing, removing, inserting or reordering an entry breaks the
 * chain from that entry on. Truncating the newest entries, or rewriting the whole chain, is not
 * detectable from the entries alone: that needs the last digest anchored elsewhere.
 */
import { createHash } from 'node:crypto';
import type { AuditEntry, AuditEntryInput } from './audit-entry.ts';

export const GENESIS_DIGEST = '0'.repeat(64);

/**
 * JSON with object keys sorted (by UTF-16 code unit), no whitespace, and JSON.stringify's
 * rules otherwise: `undefined`, functions and symbols are dropped from objects and become
 * null in arrays, non-finite numbers become null, `toJSON` is honoured. bigint is refused.
 */
export function canonicalJson(value: unknown): string {
  return write(value) ?? 'null';
}

function write(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      throw new TypeError('canonicalJson: bigint values have no JSON form');
    default:
      break;
  }
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return write(withToJson.toJSON());
  if (Array.isArray(value)) return `[${value.map((v) => write(v) ?? 'null').join(',')}]`;
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const text = write(record[key]);
    if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

export type ChainedFields = Pick<AuditEntry, 'incidentId' | 'seq' | 'type' | 'actor' | 'at' | 'data'>;

export function auditDigest(prevDigest: string, entry: ChainedFields): string {
  const { incidentId, seq, type, actor, at, data } = entry;
  return createHash('sha256').update(prevDigest + canonicalJson({ incidentId, seq, type, actor, at, data })).digest('hex');
}

/**
 * The entry that follows `previous` (or opens the log when there is none). `data` is
 * normalised to its canonical JSON form, so what is stored is exactly what was hashed.
 */
export function nextAuditEntry(incidentId: string, previous: Pick<AuditEntry, 'seq' | 'digest'> | null, input: AuditEntryInput): AuditEntry {
  const seq = previous ? previous.seq + 1 : 1;
  const prevDigest = previous ? previous.digest : GENESIS_DIGEST;
  const data = JSON.parse(canonicalJson(input.data ?? {})) as Record<string, unknown>;
  const fields: ChainedFields = { incidentId, seq, type: input.type, actor: input.actor, at: input.at, data };
  return { ...fields, prevDigest, digest: auditDigest(prevDigest, fields) };
}

export interface ChainVerdict {
  ok: boolean;
  /** 0-based position in `entries` of the first entry that does not verify. */
  brokenAt?: number;
  reason?: string;
}

/** Check a whole log, oldest first, as `AuditLog.list` returns it. */
export function verifyAuditChain(entries: readonly AuditEntry[]): ChainVerdict {
  let prev = GENESIS_DIGEST;
  const incidentId = entries[0]?.incidentId;
  for (const [i, e] of entries.entries()) {
    const broken = (reason: string): ChainVerdict => ({ ok: false, brokenAt: i, reason: `entry ${i} (seq ${e.seq}): ${reason}` });
    if (e.incidentId !== incidentId) return broken(`belongs to incident ${e.incidentId}, not ${incidentId}`);
    if (e.seq !== i + 1) return broken(`expected seq ${i + 1}`);
    if (e.prevDigest !== prev) return broken('prevDigest is not the digest of the entry before it');
    if (auditDigest(prev, e) !== e.digest) return broken('digest does not match the entry');
    prev = e.digest;
  }
  return { ok: true };
}
