import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type Mode } from '../../domain/findings/index.ts';
import { indexInventory, parseInventory, type ScanPolicy } from '../../domain/inventory/index.ts';
import { buildFailoverPlan } from '../../domain/failover/index.ts';
import { checkPointScans, scanRequired, selectRecoveryPoints, startPointScans, type RecoveryPoint } from '../../domain/recovery-points/index.ts';
import { MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryMalwareScanner } from '../../functions/shared/adapters/memory/malware-scanner.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { makeIncident } from '../contract/contract-fixtures.ts';
import { makePoint } from '../helpers/fixtures.ts';

const INCIDENT = 'inc-0123456789abcdef0123';
const START = Date.parse('2024-05-01T10:00:00.000Z');
const CUTOFF = '2024-05-01T09:00:00.000Z';
const EVIDENCE = '2024-05-01T09:30:00.000Z';
const at = (hhmm: string) => `2024-05-01T${hhmm}:00.000Z`;

/** A point with its own snapshot, so a verdict can be set for exactly that point. */
function point(machineId: string, hhmm: string, extra: Partial<RecoveryPoint> = {}): RecoveryPoint {
  const snap = `snap-${(machineId === 'payments-db' ? 'd' : 'a')}${hhmm.replace(':', '')}00000000`;
  return makePoint({ machineId, capturedAt: at(hhmm), snapshots: [{ deviceName: '/dev/xvda', snapshotId: snap, volumeSize: 50 }], ...extra });
}
const snapOf = (p: RecoveryPoint) => p.snapshots[0]!.snapshotId;

async function world(o: { policy?: ScanPolicy; budgetMinutes?: number; mode?: Mode; points?: RecoveryPoint[] } = {}) {
  const inventory = parseInventory({
    groups: [{
      name: 'payments', scanBeforeLaunch: o.policy ?? 'recovery', scanBudgetMinutes: o.budgetMinutes ?? 30,
      networks: {
        recovery: { subnetId: 'subnet-0b000000000000001', securityGroupIds: ['sg-0b000000000000001'] },
        test: { subnetId: 'subnet-0c000000000000001', securityGroupIds: ['sg-0c000000000000001'] },
      },
      deciders: ['dev'],
      machines: [
        { id: 'payments-db', instanceId: 'i-0aaaaaaaaaaaaaaa1', wave: 1 },
        { id: 'payments-app', instanceId: 'i-0aaaaaaaaaaaaaaa2', wave: 2 },
      ],
    }],
  });
  const index = indexInventory(inventory);
  const points = o.points ?? [
    point('payments-db', '08:30'), point('payments-db', '08:00'), point('payments-db', '07:00'),
    point('payments-app', '08:30'),
  ];
  const catalog = new MemoryRecoveryPointCatalog(points);
  const clock = new VirtualClock({ startMs: START, autoAdvance: false });
  const runs = new MemoryRunStore();
  const audit = new MemoryAuditLog();
  const incidents = new MemoryIncidentStore();
  await incidents.createIncident(makeIncident({ incidentId: INCIDENT, evidenceAt: EVIDENCE, groups: ['payments'] }));
  const selection = await selectRecoveryPoints({ catalog })({ groups: [{ group: 'payments', cutoff: CUTOFF, machines: ['payments-db', 'payments-app'] }], evidenceAt: EVIDENCE });
  const plan = buildFailoverPlan(DEFAULT_POLICY, index)({ mode: o.mode ?? 'recovery', selection });
  await runs.saveProposal(INCIDENT, { incidentId: INCIDENT, createdAt: new Date(START).toISOString(), cutoff: CUTOFF, selection, plan });
  const scanner = new MemoryMalwareScanner(clock, { durationMs: 5 * 60_000 });
  const deps = { runs, incidents, audit, catalog, points: catalog, scanner, index, clock, pollSeconds: 60 };
  return {
    clock, runs, audit, catalog, scanner, points,
    start: () => startPointScans(deps)({ incidentId: INCIDENT }),
    check: () => checkPointScans(deps)({ incidentId: INCIDENT }),
    proposal: async () => (await runs.getProposal(INCIDENT))!,
    types: async () => (await audit.list(INCIDENT)).map((e) => e.type),
  };
}

describe('scanRequired', () => {
  it('scans in recovery mode by default, in test mode only when the policy says always, never when it says never', () => {
    expect(scanRequired({ scanBeforeLaunch: 'recovery' }, 'recovery')).toBe(true);
    expect(scanRequired({ scanBeforeLaunch: 'recovery' }, 'test')).toBe(false);
    expect(scanRequired({ scanBeforeLaunch: 'always' }, 'test')).toBe(true);
    expect(scanRequired({ scanBeforeLaunch: 'never' }, 'recovery')).toBe(false);
    expect(scanRequired(undefined, 'recovery')).toBe(true);
  });
});

describe('startPointScans', () => {
  it('starts one scan per chosen point with all its snapshots and remembers the scan ids in the proposal', async () => {
    // Prepare
    const w = await world();
    // Act
    const progress = await w.start();
    // Assess
    expect(progress).toMatchObject({ done: false, waitSeconds: 60, ready: true, machineCount: 2, scans: { pending: 2 } });
    expect(w.scanner.started.map((s) => [s.machineId, s.pointId, s.snapshotIds])).toEqual([
      ['payments-db', `payments-db@${at('08:30')}`, ['snap-d083000000000']],
      ['payments-app', `payments-app@${at('08:30')}`, ['snap-a083000000000']],
    ]);
    const stored = await w.proposal();
    expect(stored.scansStartedAt).toBe(new Date(START).toISOString());
    expect(stored.scans?.['payments-db']).toMatchObject({ pointId: `payments-db@${at('08:30')}`, scanId: 'scan-1', status: 'RUNNING', verdict: 'pending', threats: [] });
    expect(await w.types()).toEqual(['scan.started']);
  });

  it('starts nothing when the group never scans, or in test mode under the default policy', async () => {
    for (const o of [{ policy: 'never' as const }, { mode: 'test' as const }]) {
      // Prepare
      const w = await world(o);
      // Act
      const progress = await w.start();
      // Assess
      expect(progress).toMatchObject({ done: true, ready: true, scans: { pending: 0 } });
      expect(w.scanner.started).toEqual([]);
      expect((await w.proposal()).scans).toBeUndefined();
    }
  });

  it('scans in test mode when the group says always', async () => {
    const w = await world({ policy: 'always', mode: 'test' });
    expect((await w.start()).scans.pending).toBe(2);
  });

  it('does not start a second scan of the same point when the task is retried', async () => {
    const w = await world();
    await w.start();
    await w.start();
    expect(w.scanner.started).toHaveLength(2);
  });
});

describe('checkPointScans', () => {
  it('marks clean points clean in the catalogue with the scan as evidence and is done', async () => {
    // Prepare
    const w = await world();
    await w.start();
    w.clock.advance(5 * 60_000);
    // Act
    const progress = await w.check();
    // Assess
    expect(progress).toMatchObject({ done: true, scans: { clean: 2, pending: 0 } });
    const db = w.catalog.all('payments-db').find((p) => p.capturedAt === at('08:30'))!;
    expect(db.scan).toBe('clean');
    expect(db.scanRecord).toMatchObject({ verdict: 'clean', source: 'guardduty-scan', scanId: 'scan-1', status: 'COMPLETED' });
    expect((await w.proposal()).scans?.['payments-db']).toMatchObject({ verdict: 'clean', result: 'NO_THREATS_FOUND', finishedAt: new Date(START + 5 * 60_000).toISOString() });
  });

  it('keeps waiting while scans run inside the budget', async () => {
    const w = await world();
    await w.start();
    w.clock.advance(60_000);
    expect(await w.check()).toMatchObject({ done: false, waitSeconds: 60, scans: { pending: 2 } });
  });

  it('marks a point with threats infected, steps back to the next older point and scans that one', async () => {
    // Prepare
    const w = await world();
    const newest = w.points[0]!;
    w.scanner.threats.set(snapOf(newest), [{ name: 'EICAR-Test-File', path: '/var/lib/pg/evil.bin' }]);
    await w.start();
    w.clock.advance(5 * 60_000);

    // Act
    const first = await w.check();
    const afterThreat = await w.proposal();
    w.clock.advance(5 * 60_000);
    const second = await w.check();
    const final = await w.proposal();

    // Assess
    const infected = w.catalog.all('payments-db').find((p) => p.pointId === newest.pointId)!;
    expect(infected.scan).toBe('infected');
    expect(infected.scanRecord).toMatchObject({ verdict: 'infected', source: 'guardduty-scan', scanId: 'scan-1', threats: [{ name: 'EICAR-Test-File', path: '/var/lib/pg/evil.bin' }] });
    expect(first).toMatchObject({ done: false, ready: true, machineCount: 2 });
    const db = afterThreat.selection.machines.find((m) => m.machineId === 'payments-db')!;
    expect(db.capturedAt).toBe(at('08:00'));
    expect(db.skipped).toEqual([{ pointId: newest.pointId, capturedAt: at('08:30'), reason: 'infected' }]);
    expect(afterThreat.plan.machines.find((m) => m.machineId === 'payments-db')).toMatchObject({ pointId: db.pointId, snapshots: db.snapshots });
    expect(afterThreat.scans?.['payments-db']).toMatchObject({ pointId: db.pointId, scanId: 'scan-3', verdict: 'pending', steppedBack: [{ pointId: newest.pointId, scanId: 'scan-1', threats: [{ name: 'EICAR-Test-File' }] }] });
    expect(w.scanner.started.map((s) => s.pointId)).toEqual([newest.pointId, `payments-app@${at('08:30')}`, db.pointId]);
    expect(second).toMatchObject({ done: true, scans: { clean: 2, steppedBack: 1 } });
    expect(final.scans?.['payments-db']?.verdict).toBe('clean');
    const types = await w.types();
    expect(types).toEqual(expect.arrayContaining(['scan.threats-found', 'scan.stepped-back', 'scan.clean']));
    expect(types.indexOf('scan.threats-found')).toBeLessThan(types.indexOf('scan.stepped-back'));
  });

  it('makes a machine whose every eligible point has threats a blocker of the proposal', async () => {
    // Prepare
    const points = [point('payments-db', '08:30'), point('payments-app', '08:30')];
    const w = await world({ points });
    w.scanner.threats.set(snapOf(points[0]!), [{ name: 'Ransom.Lockbit' }]);
    await w.start();
    w.clock.advance(5 * 60_000);
    // Act
    const progress = await w.check();
    // Assess
    const stored = await w.proposal();
    expect(progress).toMatchObject({ done: true, ready: true, machineCount: 1, blockerCount: 1 });
    expect(stored.selection.machines.map((m) => m.machineId)).toEqual(['payments-app']);
    expect(stored.selection.blockers).toMatchObject([{ machineId: 'payments-db', group: 'payments' }]);
    expect(stored.plan.machines.map((m) => m.machineId)).toEqual(['payments-app']);
    expect(stored.plan.waves).toEqual([{ wave: 2, machines: ['payments-app'] }]);
    expect(stored.plan.problems.join(' ')).toMatch(/payments-db/);
    expect(stored.selection.groups[0]).toMatchObject({ chosen: 1, blocked: 1 });
    expect(await w.types()).toContain('scan.machine-blocked');
  });

  it('reports not ready when the re-selection left no machine restorable', async () => {
    const points = [point('payments-db', '08:30'), point('payments-app', '08:30')];
    const w = await world({ points });
    for (const p of points) w.scanner.threats.set(snapOf(p), [{ name: 'Ransom.Lockbit' }]);
    await w.start();
    w.clock.advance(5 * 60_000);
    expect(await w.check()).toMatchObject({ done: true, ready: false, machineCount: 0, blockerCount: 2 });
  });

  it('leaves points unverified when the budget is spent before their scans finish', async () => {
    // Prepare
    const w = await world({ budgetMinutes: 10 });
    w.scanner.durations.set(snapOf(w.points[0]!), 60 * 60_000);
    await w.start();
    w.clock.advance(5 * 60_000);
    const halfway = await w.check();
    // Act
    w.clock.advance(5 * 60_000);
    const spent = await w.check();
    // Assess
    expect(halfway).toMatchObject({ done: false, waitSeconds: 60, scans: { clean: 1, pending: 1 } });
    expect(spent).toMatchObject({ done: true, ready: true, scans: { clean: 1, unverified: 1 } });
    const scan = (await w.proposal()).scans?.['payments-db'];
    expect(scan).toMatchObject({ verdict: 'unverified', status: 'RUNNING' });
    expect(scan?.reason).toMatch(/10-minute scan budget/);
    expect(w.catalog.all('payments-db').find((p) => p.pointId === w.points[0]!.pointId)!.scan).toBe('clean'); // unchanged: not judged
  });

  it('never waits past the budget: the wait shrinks to what is left of it', async () => {
    const w = await world({ budgetMinutes: 1 });
    await w.start();
    w.clock.advance(45_000);
    expect((await w.check()).waitSeconds).toBe(15);
  });

  it('treats skipped, failed and completed-with-issues scans as unverified, with GuardDuty\'s reason', async () => {
    // Prepare
    const w = await world();
    w.scanner.outcomes.set(snapOf(w.points[0]!), { status: 'SKIPPED', reason: 'SNAPSHOT_SIZE_LIMIT_EXCEEDED' });
    w.scanner.outcomes.set(snapOf(w.points[3]!), { status: 'COMPLETED_WITH_ISSUES' });
    await w.start();
    w.clock.advance(5 * 60_000);
    // Act
    const progress = await w.check();
    // Assess
    const scans = (await w.proposal()).scans!;
    expect(progress).toMatchObject({ done: true, scans: { unverified: 2 } });
    expect(scans['payments-db']).toMatchObject({ verdict: 'unverified', status: 'SKIPPED', reason: 'SKIPPED: SNAPSHOT_SIZE_LIMIT_EXCEEDED' });
    expect(scans['payments-app']).toMatchObject({ verdict: 'unverified', status: 'COMPLETED_WITH_ISSUES' });
  });

  it('does not start a new scan after a step back once the budget is spent: the older point is unverified', async () => {
    // Prepare
    const w = await world({ budgetMinutes: 5 });
    w.scanner.threats.set(snapOf(w.points[0]!), [{ name: 'Ransom.Lockbit' }]);
    await w.start();
    w.clock.advance(5 * 60_000);
    // Act
    const progress = await w.check();
    // Assess
    expect(progress.done).toBe(true);
    expect((await w.proposal()).scans?.['payments-db']).toMatchObject({ pointId: `payments-db@${at('08:00')}`, status: 'NOT_STARTED', verdict: 'unverified' });
    expect(w.scanner.started).toHaveLength(2);
  });
});
