import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_SKIPPED_LISTED, POINT_STATUSES, SCAN_VERDICTS, parseCatalog, selectRecoveryPoints,
  type RecoveryPoint, type Selection,
} from '../../domain/recovery-points/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { makePoint } from '../helpers/fixtures.ts';

const EVIDENCE = '2024-05-01T09:30:00.000Z';
const CUTOFF = '2024-05-01T08:30:00.000Z';

/** 2024-05-01 at hh:mm UTC, as the catalogue stores it. */
const at = (hhmm: string) => `2024-05-01T${hhmm}:00.000Z`;

async function select(
  points: RecoveryPoint[],
  request: { cutoff?: string; machines?: string[]; evidenceAt?: string; alternatives?: number } = {},
): Promise<Selection> {
  const catalog = new InMemoryRecoveryPointCatalog(points);
  return selectRecoveryPoints({ catalog })({
    groups: [{ group: 'payments', cutoff: request.cutoff ?? CUTOFF, machines: request.machines ?? ['payments-db'] }],
    evidenceAt: request.evidenceAt ?? EVIDENCE,
    ...(request.alternatives !== undefined ? { alternatives: request.alternatives } : {}),
  });
}

describe('selectRecoveryPoints', () => {
  it('takes the latest available point at or before the cutoff', async () => {
    // Prepare
    const points = [makePoint({ capturedAt: at('07:00') }), makePoint({ capturedAt: at('08:00') }), makePoint({ capturedAt: at('06:00') })];
    // Act
    const selection = await select(points);
    // Assess
    expect(selection.blockers).toEqual([]);
    expect(selection.machines.map((m) => m.capturedAt)).toEqual([at('08:00')]);
    expect(selection.machines[0]).toMatchObject({ machineId: 'payments-db', group: 'payments', pointId: `payments-db@${at('08:00')}` });
  });

  it('skips a quarantined point and takes the next older one', async () => {
    // Prepare
    const points = [
      makePoint({ capturedAt: at('08:15'), status: 'quarantined' }),
      makePoint({ capturedAt: at('08:00') }),
    ];
    // Act
    const selection = await select(points);
    // Assess
    expect(selection.machines[0]!.capturedAt).toBe(at('08:00'));
    expect(selection.machines[0]!.skipped).toEqual([{ pointId: `payments-db@${at('08:15')}`, capturedAt: at('08:15'), reason: 'quarantined' }]);
  });

  it('skips a point whose scan found malware', async () => {
    // Prepare
    const points = [makePoint({ capturedAt: at('08:15'), scan: 'infected' }), makePoint({ capturedAt: at('07:45') })];
    // Act
    const selection = await select(points);
    // Assess
    expect(selection.machines[0]!.capturedAt).toBe(at('07:45'));
    expect(selection.machines[0]!.skipped.map((s) => s.reason)).toEqual(['infected']);
  });

  it('accepts an unscanned point (only infected points are refused)', async () => {
    // Prepare
    const points = [makePoint({ capturedAt: at('08:15'), scan: 'unscanned' }), makePoint({ capturedAt: at('07:45') })];
    // Act
    const selection = await select(points);
    // Assess
    expect(selection.machines[0]!.capturedAt).toBe(at('08:15'));
  });

  it('skips incomplete and expired points', async () => {
    // Prepare
    const points = [
      makePoint({ capturedAt: at('08:20'), status: 'incomplete' }),
      makePoint({ capturedAt: at('08:10'), status: 'expired' }),
      makePoint({ capturedAt: at('07:30') }),
    ];
    // Act
    const selection = await select(points);
    // Assess
    expect(selection.machines[0]!.capturedAt).toBe(at('07:30'));
    expect(selection.machines[0]!.skipped.map((s) => s.reason)).toEqual(['incomplete', 'expired']);
    expect(selection.machines[0]!.skippedCount).toBe(2);
  });

  it('keeps looking however many points it has to skip', async () => {
    // Prepare: 45 quarantined points, one a minute, down from 08:29; the only good one at 07:00
    const bad = Array.from({ length: 45 }, (_, i) => makePoint({ capturedAt: new Date(Date.parse(at('08:29')) - i * 60_000).toISOString(), status: 'quarantined' }));
    const points = [...bad, makePoint({ capturedAt: at('07:00') })];
    // Act
    const selection = await select(points);
    // Assess
    expect(selection.machines[0]!.capturedAt).toBe(at('07:00'));
    expect(selection.machines[0]!.skippedCount).toBe(45);
    expect(selection.machines[0]!.skipped).toHaveLength(MAX_SKIPPED_LISTED);
  });

  it('treats a point captured exactly at the cutoff as eligible', async () => {
    // Prepare
    const points = [makePoint({ capturedAt: at('08:30') }), makePoint({ capturedAt: at('08:00') })];
    // Act
    const selection = await select(points, { cutoff: '2024-05-01T10:30:00+02:00' });
    // Assess
    expect(selection.machines[0]!.capturedAt).toBe(at('08:30'));
    expect(selection.groups[0]!.cutoff).toBe(at('08:30'));
  });

  it('never chooses a point captured after the cutoff, even one millisecond after', async () => {
    // Prepare
    const points = [makePoint({ capturedAt: '2024-05-01T08:30:00.001Z' }), makePoint({ capturedAt: at('09:00') }), makePoint({ capturedAt: at('06:00') })];
    // Act
    const selection = await select(points);
    // Assess
    expect(selection.machines[0]!.capturedAt).toBe(at('06:00'));
    expect(selection.machines[0]!.alternatives).toEqual([]);
  });

  it('reports a blocker, not a silent omission, when every point before the cutoff is unusable', async () => {
    // Prepare
    const points = [
      makePoint({ capturedAt: at('09:00') }),
      makePoint({ capturedAt: at('08:00'), status: 'quarantined' }),
      makePoint({ capturedAt: at('07:00'), scan: 'infected' }),
    ];
    // Act
    const selection = await select(points);
    // Assess
    expect(selection.machines).toEqual([]);
    expect(selection.blockers).toHaveLength(1);
    expect(selection.blockers[0]).toMatchObject({ machineId: 'payments-db', group: 'payments', skippedCount: 2 });
    expect(selection.blockers[0]!.reason).toContain('1 quarantined');
    expect(selection.blockers[0]!.reason).toContain('1 infected');
    expect(selection.groups[0]).toMatchObject({ chosen: 0, blocked: 1, consistencySkewMinutes: null });
  });

  it('reports a blocker when the machine has no recovery point at all', async () => {
    // Prepare
    const points = [makePoint({ machineId: 'payments-api', capturedAt: at('08:00') })];
    // Act
    const selection = await select(points, { machines: ['payments-db', 'payments-api'] });
    // Assess
    expect(selection.machines.map((m) => m.machineId)).toEqual(['payments-api']);
    expect(selection.blockers.map((b) => b.machineId)).toEqual(['payments-db']);
    expect(selection.blockers[0]!.reason).toContain('no recovery point at or before');
    expect(selection.blockers[0]!.skippedCount).toBe(0);
  });

  it('reports lossMinutes as the time from the chosen point to the earliest evidence', async () => {
    // Prepare
    const points = [makePoint({ capturedAt: '2024-05-01T07:59:30.000Z' })];
    // Act
    const selection = await select(points, { evidenceAt: EVIDENCE });
    // Assess
    expect(selection.machines[0]!.lossMinutes).toBe(90.5);
  });

  it('reports the consistency skew of a group as newest minus oldest chosen point', async () => {
    // Prepare
    const points = [
      makePoint({ machineId: 'payments-db', capturedAt: at('08:20') }),
      makePoint({ machineId: 'payments-api', capturedAt: at('08:25'), status: 'incomplete' }),
      makePoint({ machineId: 'payments-api', capturedAt: at('07:35') }),
      makePoint({ machineId: 'payments-web', capturedAt: at('08:05') }),
    ];
    // Act
    const selection = await select(points, { machines: ['payments-db', 'payments-api', 'payments-web'] });
    // Assess
    expect(selection.groups).toEqual([{ group: 'payments', cutoff: CUTOFF, consistencySkewMinutes: 45, chosen: 3, blocked: 0 }]);
  });

  it('reports zero skew for a group with one machine', async () => {
    // Act
    const selection = await select([makePoint({ capturedAt: at('08:00') })]);
    // Assess
    expect(selection.groups[0]!.consistencySkewMinutes).toBe(0);
  });

  it('applies each group its own cutoff', async () => {
    // Prepare
    const catalog = new InMemoryRecoveryPointCatalog([
      makePoint({ machineId: 'payments-db', capturedAt: at('08:00') }),
      makePoint({ machineId: 'payments-db', capturedAt: at('06:00') }),
      makePoint({ machineId: 'ledger-db', capturedAt: at('08:00') }),
      makePoint({ machineId: 'ledger-db', capturedAt: at('06:00') }),
    ]);
    // Act
    const selection = await selectRecoveryPoints({ catalog })({
      groups: [
        { group: 'payments', cutoff: at('08:30'), machines: ['payments-db'] },
        { group: 'ledger', cutoff: at('07:00'), machines: ['ledger-db'] },
      ],
      evidenceAt: EVIDENCE,
    });
    // Assess
    expect(selection.machines.map((m) => [m.machineId, m.capturedAt])).toEqual([['payments-db', at('08:00')], ['ledger-db', at('06:00')]]);
  });

  describe('gapToNextMinutes', () => {
    it('measures the gap to the next newer point even when that point is after the cutoff', async () => {
      // Prepare
      const points = [makePoint({ capturedAt: at('08:00') }), makePoint({ capturedAt: at('09:15') })];
      // Act
      const selection = await select(points);
      // Assess
      expect(selection.machines[0]!.gapToNextMinutes).toBe(75);
    });

    it('measures the gap to the next newer point even when that point was skipped', async () => {
      // Prepare
      const points = [makePoint({ capturedAt: at('08:00') }), makePoint({ capturedAt: at('08:10'), status: 'quarantined' }), makePoint({ capturedAt: at('08:20'), scan: 'infected' })];
      // Act
      const selection = await select(points);
      // Assess
      expect(selection.machines[0]!.gapToNextMinutes).toBe(10);
    });

    it('is null when the chosen point is the newest in the catalogue', async () => {
      // Prepare
      const points = [makePoint({ capturedAt: at('07:00') }), makePoint({ capturedAt: at('08:00') })];
      // Act
      const selection = await select(points);
      // Assess
      expect(selection.machines[0]!.gapToNextMinutes).toBeNull();
    });
  });

  describe('alternatives', () => {
    const history = [
      makePoint({ capturedAt: at('08:00') }),
      makePoint({ capturedAt: at('07:00') }),
      makePoint({ capturedAt: at('06:30'), status: 'expired' }),
      makePoint({ capturedAt: at('06:00') }),
      makePoint({ capturedAt: at('05:00'), scan: 'infected' }),
      makePoint({ capturedAt: at('04:00') }),
      makePoint({ capturedAt: at('03:00') }),
    ];

    it('offers the next three older eligible points, newest first, with their loss', async () => {
      // Act
      const selection = await select(history);
      // Assess
      expect(selection.machines[0]!.alternatives).toEqual([
        { pointId: `payments-db@${at('07:00')}`, capturedAt: at('07:00'), lossMinutes: 150 },
        { pointId: `payments-db@${at('06:00')}`, capturedAt: at('06:00'), lossMinutes: 210 },
        { pointId: `payments-db@${at('04:00')}`, capturedAt: at('04:00'), lossMinutes: 330 },
      ]);
    });

    it('offers as many alternatives as asked, and none when asked for none', async () => {
      // Act
      const one = await select(history, { alternatives: 1 });
      const none = await select(history, { alternatives: 0 });
      // Assess
      expect(one.machines[0]!.alternatives.map((a) => a.capturedAt)).toEqual([at('07:00')]);
      expect(none.machines[0]!.alternatives).toEqual([]);
      expect(none.machines[0]!.capturedAt).toBe(at('08:00'));
    });
  });

  it('never chooses a point after the cutoff when capturedAt carries a time-zone offset', async () => {
    // Prepare: 10:00+05:00 is 05:00Z (before the 05:30Z cutoff) but sorts after 06:00Z as text
    const points = [
      makePoint({ pointId: 'rp-before', capturedAt: '2024-05-01T10:00:00+05:00', status: 'quarantined' }),
      makePoint({ pointId: 'rp-after', capturedAt: '2024-05-01T06:00:00Z' }),
    ];
    // Act
    const selection = await select(points, { cutoff: '2024-05-01T05:30:00Z' });
    // Assess
    expect(selection.machines).toEqual([]);
    expect(selection.blockers.map((b) => b.machineId)).toEqual(['payments-db']);
  });
});

describe('parseCatalog', () => {
  it('normalises capturedAt to UTC and defaults the scan to unscanned', () => {
    // Prepare
    const raw = [{ ...makePoint({ capturedAt: '2024-05-01T10:00:00+02:00' }), scan: undefined }];
    // Act
    const [point] = parseCatalog(raw);
    // Assess
    expect(point).toMatchObject({ capturedAt: '2024-05-01T08:00:00.000Z', scan: 'unscanned' });
  });

  it('refuses a point without snapshots or with an unknown status, naming the path', () => {
    // Prepare
    const raw = [makePoint({ snapshots: [] }), { ...makePoint(), status: 'ready' }];
    // Act / Assess
    expect(() => parseCatalog(raw)).toThrowError(/\[0\]\.snapshots.*\[1\]\.status|\[1\]\.status.*\[0\]\.snapshots/s);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random catalogues, checked against a brute-force oracle over the raw list.
// ---------------------------------------------------------------------------------------------

const T0 = Date.parse('2024-05-01T00:00:00.000Z');
const MINUTE = 60_000;
const RUNS = { numRuns: 150 };

const pointArb = (machineId: string, minute: number) =>
  fc.record({ status: fc.constantFrom(...POINT_STATUSES), scan: fc.constantFrom(...SCAN_VERDICTS) }).map(({ status, scan }) =>
    makePoint({ machineId, pointId: `${machineId}-${minute}`, capturedAt: new Date(T0 + minute * MINUTE).toISOString(), status, scan }));

/** 0–25 points of one machine at distinct whole minutes within 0..300, in random order. */
const historyArb = (machineId: string) =>
  fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 25 })
    .chain((minutes) => fc.tuple(...minutes.map((m) => pointArb(machineId, m))))
    .map((points) => points as RecoveryPoint[]);

/** A cutoff that often lands exactly on a point (whole minutes) and sometimes outside the history. */
const cutoffArb = fc.integer({ min: -10, max: 310 }).map((m) => new Date(T0 + m * MINUTE).toISOString());

const ms = (iso: string) => Date.parse(iso);
const isEligible = (p: RecoveryPoint) => p.status === 'available' && p.scan !== 'infected';
/** Eligible points at or before the cutoff, newest first: what the selection must be based on. */
const oracle = (points: RecoveryPoint[], cutoff: string) =>
  points.filter((p) => ms(p.capturedAt) <= ms(cutoff) && isEligible(p)).sort((a, b) => ms(b.capturedAt) - ms(a.capturedAt));

describe('selectRecoveryPoints (properties)', () => {
  it('chooses exactly the newest eligible point at or before the cutoff, or reports a blocker when there is none', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb('m1'), cutoffArb, async (points, cutoff) => {
        // Act
        const selection = await select(points, { cutoff, machines: ['m1'] });
        // Assess
        const expected = oracle(points, cutoff);
        if (expected.length === 0) {
          expect(selection.machines).toEqual([]);
          expect(selection.blockers.map((b) => b.machineId)).toEqual(['m1']);
        } else {
          expect(selection.blockers).toEqual([]);
          expect(selection.machines.map((m) => m.pointId)).toEqual([expected[0]!.pointId]);
        }
      }),
      RUNS,
    );
  });

  it('never chooses or offers a point after the cutoff, or one that is quarantined, infected, incomplete or expired', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb('m1'), cutoffArb, async (points, cutoff) => {
        // Act
        const selection = await select(points, { cutoff, machines: ['m1'], alternatives: 5 });
        // Assess
        const byId = new Map(points.map((p) => [p.pointId, p]));
        for (const m of selection.machines) {
          for (const id of [m.pointId, ...m.alternatives.map((a) => a.pointId)]) {
            const p = byId.get(id)!;
            expect(ms(p.capturedAt)).toBeLessThanOrEqual(ms(cutoff));
            expect(p.status).toBe('available');
            expect(p.scan).not.toBe('infected');
          }
        }
      }),
      RUNS,
    );
  });

  it('offers as alternatives the next older eligible points, and skips exactly the unusable newer ones', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb('m1'), cutoffArb, fc.integer({ min: 0, max: 4 }), async (points, cutoff, wanted) => {
        // Act
        const selection = await select(points, { cutoff, machines: ['m1'], alternatives: wanted });
        // Assess
        const expected = oracle(points, cutoff);
        fc.pre(expected.length > 0);
        const chosen = selection.machines[0]!;
        expect(chosen.alternatives.map((a) => a.pointId)).toEqual(expected.slice(1, 1 + wanted).map((p) => p.pointId));
        const newerUnusable = points.filter((p) => ms(p.capturedAt) <= ms(cutoff) && ms(p.capturedAt) > ms(chosen.capturedAt));
        expect(chosen.skippedCount).toBe(newerUnusable.length);
        expect(newerUnusable.every((p) => !isEligible(p))).toBe(true);
      }),
      RUNS,
    );
  });

  it('reports the gap to the next newer point of the whole catalogue and the loss to the evidence', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb('m1'), cutoffArb, async (points, cutoff) => {
        // Act
        const selection = await select(points, { cutoff, machines: ['m1'], evidenceAt: new Date(T0 + 400 * MINUTE).toISOString() });
        // Assess
        const expected = oracle(points, cutoff);
        fc.pre(expected.length > 0);
        const chosen = selection.machines[0]!;
        const newer = points.map((p) => ms(p.capturedAt)).filter((t) => t > ms(chosen.capturedAt));
        expect(chosen.gapToNextMinutes).toBe(newer.length ? (Math.min(...newer) - ms(chosen.capturedAt)) / MINUTE : null);
        expect(chosen.lossMinutes).toBe((T0 + 400 * MINUTE - ms(chosen.capturedAt)) / MINUTE);
      }),
      RUNS,
    );
  });

  it('reports a group skew of newest minus oldest chosen point over several machines', async () => {
    await fc.assert(
      fc.asyncProperty(fc.tuple(historyArb('m1'), historyArb('m2'), historyArb('m3')), cutoffArb, async (histories, cutoff) => {
        // Act
        const selection = await select(histories.flat(), { cutoff, machines: ['m1', 'm2', 'm3'] });
        // Assess
        const chosenTimes = histories.map((h) => oracle(h, cutoff)[0]).filter((p) => p !== undefined).map((p) => ms(p.capturedAt));
        expect(selection.machines).toHaveLength(chosenTimes.length);
        expect(selection.blockers).toHaveLength(3 - chosenTimes.length);
        expect(selection.groups[0]!.consistencySkewMinutes).toBe(
          chosenTimes.length ? (Math.max(...chosenTimes) - Math.min(...chosenTimes)) / MINUTE : null,
        );
      }),
      RUNS,
    );
  });
});

describe('InMemoryRecoveryPointCatalog (properties)', () => {
  it('yields the points at or before the cutoff, newest first, each with the time of the next newer point', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb('m1'), historyArb('m2'), cutoffArb, async (mine, other, cutoff) => {
        // Prepare
        const catalog = new InMemoryRecoveryPointCatalog([...mine, ...other]);
        // Act
        const yielded: RecoveryPoint[] = [];
        for await (const p of catalog.pointsAtOrBefore('m1', cutoff)) yielded.push(p);
        // Assess
        const ascending = [...mine].sort((a, b) => ms(a.capturedAt) - ms(b.capturedAt));
        const expected = ascending
          .map((p, i) => ({ pointId: p.pointId, capturedAt: p.capturedAt, nextCapturedAt: ascending[i + 1]?.capturedAt ?? null }))
          .filter((p) => ms(p.capturedAt) <= ms(cutoff))
          .reverse();
        expect(yielded.map((p) => ({ pointId: p.pointId, capturedAt: p.capturedAt, nextCapturedAt: p.nextCapturedAt }))).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('keeps one copy of a point that is put twice, with the newer content', async () => {
    // Prepare
    const catalog = new InMemoryRecoveryPointCatalog([makePoint({ pointId: 'rp-1', capturedAt: at('08:00') })]);
    // Act
    catalog.put(makePoint({ pointId: 'rp-1', capturedAt: at('08:00'), status: 'quarantined' }));
    // Assess
    expect(catalog.all('payments-db').map((p) => [p.pointId, p.status])).toEqual([['rp-1', 'quarantined']]);
  });
});
