/**
 * Contract: AuditLog (append-only, hash-chained). One suite, run against the in-memory fake
 * and the DynamoDB adapter on an embedded dynalite; plus the chain helpers themselves.
 */
import { describe, expect, it } from 'vitest';
import type { AuditLog } from '../../domain/ports/index.ts';
import { auditDigest, canonicalJson, GENESIS_DIGEST, verifyAuditChain, type AuditEntry, type AuditEntryInput } from '../../domain/evidence/index.ts';
import { DynamoAuditLog } from '../../functions/shared/adapters/dynamodb/audit-log.ts';
import { MemoryAuditLog } from '../../functions/shared/adapters/memory/audit-log.ts';
import { embeddedDynamoBackends } from '../helpers/dynamo-backends.ts';
import { unique } from './contract-fixtures.ts';

function entry(n: number, data: Record<string, unknown> = {}): AuditEntryInput {
  return {
    type: ['finding.received', 'incident.created', 'approval.requested', 'decision.approved', 'launch.started'][n % 5]!,
    actor: n % 2 ? 'guardduty' : 'alice',
    at: new Date(Date.UTC(2024, 4, 1, 9, 0, n)).toISOString(),
    data: { n, findingId: 'a4c7d2e91f0b4e8c9d3b6a5f7e2c1d08', reasons: ['severity 8 (High) is at least 7'], ...data },
  };
}

async function appendMany(log: AuditLog, incidentId: string, count: number): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (let n = 1; n <= count; n++) out.push(await log.append(incidentId, entry(n)));
  return out;
}

export function auditLogContract(name: string, makeAdapter: () => Promise<AuditLog>): void {
  describe(`AuditLog contract: ${name}`, () => {
    it('numbers entries 1..n and chains each to the digest of the one before', async () => {
      // Prepare
      const log = await makeAdapter();
      const incidentId = unique('inc');
      // Act
      const appended = await appendMany(log, incidentId, 4);
      // Assess
      expect(appended.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(appended.map((e) => e.prevDigest)).toEqual([GENESIS_DIGEST, ...appended.slice(0, 3).map((e) => e.digest)]);
      expect(appended.map((e) => e.digest)).toEqual(appended.map((e) => auditDigest(e.prevDigest, e)));
      expect(appended[1]).toMatchObject({ incidentId, ...entry(2) });
    });

    it('lists exactly the appended entries in seq order, and they verify', async () => {
      // Prepare
      const log = await makeAdapter();
      const incidentId = unique('inc');
      const appended = await appendMany(log, incidentId, 5);
      // Act
      const listed = await log.list(incidentId);
      // Assess
      expect(listed).toEqual(appended);
      expect(verifyAuditChain(listed)).toEqual({ ok: true });
    });

    it('keeps a separate chain per incident and lists nothing for an unknown one', async () => {
      // Prepare
      const log = await makeAdapter();
      const [a, b] = [unique('inc'), unique('inc')];
      // Act
      await log.append(a, entry(1));
      const firstOfB = await log.append(b, entry(2));
      await log.append(a, entry(3));
      // Assess
      expect(firstOfB).toMatchObject({ incidentId: b, seq: 1, prevDigest: GENESIS_DIGEST });
      expect((await log.list(a)).map((e) => e.seq)).toEqual([1, 2]);
      expect(await log.list(unique('inc-unknown'))).toEqual([]);
    });

    it('stores data in its JSON form, so what is listed is what was hashed', async () => {
      // Prepare
      const log = await makeAdapter();
      const incidentId = unique('inc');
      // Act
      const appended = await log.append(incidentId, entry(1, { dropped: undefined, when: new Date('2024-05-01T09:00:00.000Z'), big: 1.5e300, empty: '', nested: { z: [1, null], a: {} } }));
      // Assess
      const [listed] = await log.list(incidentId);
      expect(listed).toEqual(appended);
      expect(listed!.data).not.toHaveProperty('dropped');
      expect(listed!.data).toMatchObject({ when: '2024-05-01T09:00:00.000Z', big: 1.5e300, empty: '', nested: { z: [1, null], a: {} } });
      expect(verifyAuditChain([listed!])).toEqual({ ok: true });
    });

    it('lands 20 concurrent appends with distinct seqs 1..20 and an intact chain', async () => {
      // Prepare
      const log = await makeAdapter();
      const incidentId = unique('inc');
      // Act
      const appended = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(incidentId, entry(i + 1))));
      // Assess
      expect(appended.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const listed = await log.list(incidentId);
      expect(listed).toHaveLength(20);
      expect(verifyAuditChain(listed)).toEqual({ ok: true });
      expect(new Set(listed.map((e) => e.data['n']))).toEqual(new Set(appended.map((e) => e.data['n'])));
    });

    it('hands out copies: changing a listed entry does not change the log', async () => {
      // Prepare
      const log = await makeAdapter();
      const incidentId = unique('inc');
      const appended = await log.append(incidentId, entry(1));
      // Act
      appended.data['n'] = 999;
      (await log.list(incidentId))[0]!.data['n'] = 998;
      // Assess
      expect((await log.list(incidentId))[0]!.data['n']).toBe(1);
    });

    describe('verifyAuditChain over a listed log', () => {
      async function listedLog(): Promise<AuditEntry[]> {
        const log = await makeAdapter();
        const incidentId = unique('inc');
        await appendMany(log, incidentId, 5);
        return log.list(incidentId);
      }

      it('detects one changed byte in the data of an entry', async () => {
        // Prepare
        const entries = await listedLog();
        // Act
        entries[2]!.data['findingId'] = 'a4c7d2e91f0b4e8c9d3b6a5f7e2c1d09';
        const verdict = verifyAuditChain(entries);
        // Assess
        expect(verdict).toMatchObject({ ok: false, brokenAt: 2 });
        expect(verdict.reason).toMatch(/digest/);
      });

      it('detects a changed entry whose digest was recomputed, at the entry after it', async () => {
        // Prepare
        const entries = await listedLog();
        // Act
        entries[1]!.actor = 'mallory';
        entries[1]!.digest = auditDigest(entries[1]!.prevDigest, entries[1]!);
        // Assess
        expect(verifyAuditChain(entries)).toMatchObject({ ok: false, brokenAt: 2 });
      });

      it('detects a removed entry', async () => {
        // Prepare
        const entries = await listedLog();
        // Act
        entries.splice(1, 1);
        // Assess
        expect(verifyAuditChain(entries)).toMatchObject({ ok: false, brokenAt: 1 });
      });

      it('detects two entries swapped', async () => {
        // Prepare
        const entries = await listedLog();
        // Act
        [entries[3], entries[4]] = [entries[4]!, entries[3]!];
        // Assess
        expect(verifyAuditChain(entries)).toMatchObject({ ok: false, brokenAt: 3 });
      });

      it('detects a removed first entry even with the rest renumbered', async () => {
        // Prepare
        const entries = await listedLog();
        // Act
        const rest = entries.slice(1).map((e, i) => ({ ...e, seq: i + 1 }));
        // Assess
        expect(verifyAuditChain(rest)).toMatchObject({ ok: false, brokenAt: 0 });
      });
    });
  });
}

auditLogContract('MemoryAuditLog', async () => new MemoryAuditLog());

const backends = embeddedDynamoBackends();
for (const backend of backends.all) {
  auditLogContract(`DynamoAuditLog on ${backend.name}`, async () => new DynamoAuditLog({ client: backend.db().docClient, tableName: await backend.freshTable('state') }));
}

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    // Act
    const text = canonicalJson({ b: 1, a: { d: [3, 1, 2], c: 'x' } });
    // Assess
    expect(text).toBe('{"a":{"c":"x","d":[3,1,2]},"b":1}');
  });

  it('follows JSON.stringify for undefined, non-finite numbers and toJSON', () => {
    // Act
    const text = canonicalJson({ u: undefined, list: [undefined, Number.NaN], at: new Date(0), inf: Number.POSITIVE_INFINITY });
    // Assess
    expect(text).toBe('{"at":"1970-01-01T00:00:00.000Z","inf":null,"list":[null,null]}');
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify({ u: undefined, list: [undefined, Number.NaN], at: new Date(0), inf: Number.POSITIVE_INFINITY })));
  });

  it('gives equal objects the same text whatever order their keys were written in', () => {
    // Act
    const one = canonicalJson({ type: 'x', data: { a: 1, b: [{ y: 2, x: 1 }] } });
    const two = canonicalJson({ data: { b: [{ x: 1, y: 2 }], a: 1 }, type: 'x' });
    // Assess
    expect(one).toBe(two);
  });

  it('refuses bigint, which has no JSON form', () => {
    // Act
    const act = () => canonicalJson({ n: 10n });
    // Assess
    expect(act).toThrow(TypeError);
  });
});
