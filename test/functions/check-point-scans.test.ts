import {
  AccessDeniedException, GetMalwareScanCommand, GuardDutyClient, StartMalwareScanCommand, type GetMalwareScanCommandOutput,
} from '@aws-sdk/client-guardduty';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../domain/incidents/index.ts';
import { startPointScans, type RecoveryPoint, type PointScan } from '../../domain/recovery-points/index.ts';
import type { StoredProposal } from '../../domain/failover/index.ts';
import { MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryMalwareScanner } from '../../functions/shared/adapters/memory/malware-scanner.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { makePoint } from '../helpers/fixtures.ts';
import {
  auditTypesOf, CATALOG_TABLE, fixedClock, inventoryIndex, issuePaths, itExportsTheWrappedHandler, lambdaContext,
  makeIncidentFor, memoryAdapters, NOW, rejectionOf, removeTempFiles, STATE_TABLE, storedProposalFor,
  stubHandlerEnv, wrapped, writeInventorySource, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/check-point-scans/handler.ts');
let mod: Module;

const SCANNER_ROLE = 'arn:aws:iam::111122223333:role/cleanpoint-test-malware-scanner';
const REGION = 'eu-west-1';
const MINUTE = 60_000;
const T0700 = '2024-05-01T07:00:00.000Z';
const T0800 = '2024-05-01T08:00:00.000Z';
const DB_0800 = `payments-db@${T0800}`;
const DB_0700 = `payments-db@${T0700}`;
const THREATS = [{ name: 'EICAR-Test-File', path: '/var/lib/app/eicar.com' }];

const index = inventoryIndex();
let incident: Incident;

/** Snapshot ids per machine and hour: the database's points have two volumes, the others one. */
const SNAPSHOTS: Record<string, Record<string, string[]>> = {
  'payments-db': { [T0700]: ['snap-0d07000000000000a', 'snap-0d07000000000000b'], [T0800]: ['snap-0d08000000000000a', 'snap-0d08000000000000b'] },
  'payments-api': { [T0700]: ['snap-0a07000000000000a'], [T0800]: ['snap-0a08000000000000a'] },
  'payments-web': { [T0700]: ['snap-0e07000000000000a'], [T0800]: ['snap-0e08000000000000a'] },
};

/** Unscanned points at 07:00Z and 08:00Z for every payments machine (both before the 08:30Z cutoff). */
function paymentsPoints(): RecoveryPoint[] {
  return Object.entries(SNAPSHOTS).flatMap(([machineId, byTime]) => Object.entries(byTime).map(([capturedAt, ids]) => makePoint({
    machineId, capturedAt, scan: 'unscanned',
    snapshots: ids.map((snapshotId, i) => ({ deviceName: i === 0 ? '/dev/xvda' : '/dev/sdf', snapshotId, volumeSize: 50 })),
  })));
}

beforeAll(async () => {
  stubHandlerEnv({
    STATE_TABLE, CATALOG_TABLE, INVENTORY_SOURCE: writeInventorySource(), MALWARE_SCANNER_ROLE_ARN: SCANNER_ROLE, AWS_REGION: REGION,
  });
  mod = await import('../../functions/check-point-scans/handler.ts');
  incident = makeIncidentFor(index);
});

afterAll(() => removeTempFiles());

describe('check-point-scans handler (factory, in-memory fakes)', () => {
  /** The proposal as Scan Chosen Points left it: one 5-minute scan per chosen point, started at NOW. */
  async function world() {
    const points = paymentsPoints();
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident(incident);
    const runs = new MemoryRunStore();
    await runs.saveProposal(incident.incidentId, await storedProposalFor(index, incident, points));
    const audit = new MemoryAuditLog();
    const catalog = new MemoryRecoveryPointCatalog(points);
    const clock = fixedClock(NOW);
    const scanner = new MemoryMalwareScanner(clock, { durationMs: 5 * MINUTE });
    const deps = { runs, incidents, audit, catalog, points: catalog, scanner, index, clock };
    const handle = mod.makeHandler(async () => deps);
    return {
      runs, audit, catalog, scanner, clock, handle,
      /** Start the scans as the previous state did (its own handler is tested elsewhere). */
      started: async () => { await startPointScans(deps)({ incidentId: incident.incidentId }); },
      proposal: async () => (await runs.getProposal(incident.incidentId))!,
      types: async () => (await audit.list(incident.incidentId)).map((e) => e.type),
      scanOf: async (pointId: string, machineId = 'payments-db') => (await catalog.getPoint(machineId, pointId))?.scan,
    };
  }
  const task = () => ({ incidentId: incident.incidentId });

  it('answers not done, with the poll wait, while the scans run, and judges no point', async () => {
    // Prepare
    const w = await world();
    await w.started();
    w.clock.advance(MINUTE);

    // Act
    const out = await w.handle(task());

    // Assess
    expect(out).toEqual({
      incidentId: incident.incidentId, done: false, waitSeconds: 30, ready: true, machineCount: 3, blockerCount: 0,
      scans: { pending: 3, clean: 0, infected: 0, unverified: 0, steppedBack: 0 },
    });
    expect(await w.scanOf(DB_0800)).toBe('unscanned');
    expect(Object.values((await w.proposal()).scans ?? {}).map((s) => s.verdict)).toEqual(['pending', 'pending', 'pending']);
  });

  it('never waits past the scan budget', async () => {
    // Prepare: 29:50 into the default 30-minute budget, a scan still runs
    const w = await world();
    w.scanner.durations.set(SNAPSHOTS['payments-db']![T0800]![1]!, 60 * MINUTE);
    await w.started();
    w.clock.advance(29 * MINUTE + 50_000);

    // Act
    const out = await w.handle(task());

    // Assess
    expect(out).toMatchObject({ done: false, waitSeconds: 10, scans: { pending: 1, clean: 2 } });
  });

  it('marks every point clean in the catalogue, with the scan as evidence, when the scans found nothing, and answers done', async () => {
    // Prepare
    const w = await world();
    await w.started();
    w.clock.advance(6 * MINUTE);

    // Act
    const out = await w.handle(task());

    // Assess
    expect(out).toMatchObject({ done: true, ready: true, machineCount: 3, scans: { pending: 0, clean: 3, infected: 0, unverified: 0, steppedBack: 0 } });
    for (const machineId of ['payments-db', 'payments-api', 'payments-web']) {
      const point = await w.catalog.getPoint(machineId, `${machineId}@${T0800}`);
      expect(point).toMatchObject({ scan: 'clean', scanRecord: { verdict: 'clean', source: 'guardduty-scan', status: 'COMPLETED', scanId: expect.any(String) } });
      expect(await w.scanOf(`${machineId}@${T0700}`, machineId)).toBe('unscanned');
    }
    expect((await w.proposal()).scans?.['payments-db']).toMatchObject({ pointId: DB_0800, verdict: 'clean', status: 'COMPLETED', result: 'NO_THREATS_FOUND' });
    expect(await w.types()).toEqual(['scan.started', 'scan.clean', 'scan.clean', 'scan.clean']);
  });

  it('marks a point with threats infected, steps the machine back to its next older point and scans that one, audited', async () => {
    // Prepare: the second volume of the database's 08:00Z point holds a threat
    const w = await world();
    w.scanner.threats.set(SNAPSHOTS['payments-db']![T0800]![1]!, THREATS);
    await w.started();
    w.clock.advance(6 * MINUTE);

    // Act
    const out = await w.handle(task());

    // Assess: the 08:00Z point is infected with the scan's threats as evidence
    expect(out).toMatchObject({ done: false, ready: true, machineCount: 3, blockerCount: 0, scans: { pending: 1, clean: 2, steppedBack: 1 } });
    expect(await w.catalog.getPoint('payments-db', DB_0800)).toMatchObject({
      scan: 'infected', scanRecord: { verdict: 'infected', source: 'guardduty-scan', threats: THREATS },
    });
    // ... and the machine now launches from 07:00Z, whose scan was started with both its volumes
    const stored = await w.proposal();
    expect(stored.selection.machines.find((m) => m.machineId === 'payments-db')?.pointId).toBe(DB_0700);
    expect(stored.plan.machines.find((m) => m.machineId === 'payments-db')?.pointId).toBe(DB_0700);
    expect(w.scanner.started.at(-1)).toMatchObject({ machineId: 'payments-db', pointId: DB_0700, snapshotIds: SNAPSHOTS['payments-db']![T0700] });
    expect(stored.scans?.['payments-db']).toMatchObject({
      pointId: DB_0700, verdict: 'pending', steppedBack: [{ pointId: DB_0800, capturedAt: T0800, threats: THREATS }],
    });
    expect(await w.types()).toEqual(['scan.started', 'scan.threats-found', 'scan.stepped-back', 'scan.started', 'scan.clean', 'scan.clean']);
    const threatsFound = (await w.audit.list(incident.incidentId)).find((e) => e.type === 'scan.threats-found');
    expect(threatsFound?.data).toMatchObject({ machineId: 'payments-db', pointId: DB_0800, threats: THREATS });
  });

  it('answers done once the older point a step back chose is scanned clean', async () => {
    // Prepare
    const w = await world();
    w.scanner.threats.set(SNAPSHOTS['payments-db']![T0800]![0]!, THREATS);
    await w.started();
    w.clock.advance(6 * MINUTE);
    await w.handle(task());
    w.clock.advance(6 * MINUTE);

    // Act
    const out = await w.handle(task());

    // Assess
    expect(out).toMatchObject({ done: true, ready: true, machineCount: 3, scans: { pending: 0, clean: 3, infected: 0, unverified: 0, steppedBack: 1 } });
    expect(await w.scanOf(DB_0700)).toBe('clean');
    expect(await w.scanOf(DB_0800)).toBe('infected');
  });

  it('makes the machine a blocker when every older point is infected too', async () => {
    // Prepare
    const w = await world();
    w.scanner.threats.set(SNAPSHOTS['payments-db']![T0800]![0]!, THREATS);
    w.scanner.threats.set(SNAPSHOTS['payments-db']![T0700]![0]!, THREATS);
    await w.started();
    w.clock.advance(6 * MINUTE);
    await w.handle(task());
    w.clock.advance(6 * MINUTE);

    // Act
    const out = await w.handle(task());

    // Assess
    expect(out).toMatchObject({ done: true, machineCount: 2, blockerCount: 1, scans: { pending: 0, clean: 2, infected: 1 } });
    const stored = await w.proposal();
    expect(stored.plan.machines.map((m) => m.machineId)).toEqual(['payments-api', 'payments-web']);
    expect(stored.selection.blockers.map((b) => b.machineId)).toEqual(['payments-db']);
    expect(await w.types()).toContain('scan.machine-blocked');
  });

  it.each([
    ['SKIPPED', 'SNAPSHOT_SIZE_LIMIT_EXCEEDED'],
    ['FAILED', 'ACCESS_DENIED'],
  ] as const)('leaves a point whose scan was %s unverified, its catalogue verdict as it was, once done', async (status, reason) => {
    // Prepare
    const w = await world();
    w.scanner.outcomes.set(SNAPSHOTS['payments-db']![T0800]![0]!, { status, reason });
    await w.started();
    w.clock.advance(6 * MINUTE);

    // Act
    const out = await w.handle(task());

    // Assess
    expect(out).toMatchObject({ done: true, ready: true, machineCount: 3, scans: { pending: 0, clean: 2, unverified: 1, infected: 0 } });
    expect(await w.scanOf(DB_0800)).toBe('unscanned');
    expect((await w.proposal()).scans?.['payments-db']).toMatchObject({ pointId: DB_0800, verdict: 'unverified', status, reason: `${status}: ${reason}` });
    expect(await w.types()).toContain('scan.unverified');
  });

  it('leaves a point unverified and answers done when its scan is still running after the budget is spent', async () => {
    // Prepare: the database's scan takes an hour; the default budget is 30 minutes
    const w = await world();
    w.scanner.durations.set(SNAPSHOTS['payments-db']![T0800]![0]!, 60 * MINUTE);
    await w.started();
    w.clock.advance(31 * MINUTE);

    // Act
    const out = await w.handle(task());

    // Assess
    expect(out).toMatchObject({ done: true, ready: true, scans: { pending: 0, clean: 2, unverified: 1 } });
    expect(await w.scanOf(DB_0800)).toBe('unscanned');
    expect((await w.proposal()).scans?.['payments-db']).toMatchObject({ verdict: 'unverified', status: 'RUNNING', reason: expect.stringContaining('30-minute scan budget') });
  });

  it('refuses an incident that has no proposal yet with NotFoundError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ incidentId: 'inc-fedcba9876543210fedc' }));

    // Assess
    expect(error.name).toBe('NotFoundError');
  });

  it.each([
    ['a missing incidentId', () => ({}), 'incidentId'],
    ['a malformed incidentId', () => ({ incidentId: 'inc-NOT-HEX-0000000000' }), 'incidentId'],
    ['an incidentId that is not text', () => ({ incidentId: ['inc-0123456789abcdef0123'] }), 'incidentId'],
  ])('refuses task input with %s with a ValidationError naming the path, judging nothing', async (_what, input, path) => {
    // Prepare: the scans are finished, so a check that ran would mark the points
    const w = await world();
    await w.started();
    w.clock.advance(6 * MINUTE);

    // Act
    const error = await rejectionOf(w.handle(input()));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(await w.scanOf(DB_0800)).toBe('unscanned');
    expect(Object.values((await w.proposal()).scans ?? {}).map((s) => s.verdict)).toEqual(['pending', 'pending', 'pending']);
    expect(await w.types()).toEqual(['scan.started']);
  });

  it('refuses task input with a field the Check Point Scans state never sends', async () => {
    // Prepare
    const w = await world();
    await w.started();
    w.clock.advance(6 * MINUTE);

    // Act
    const error = await rejectionOf(w.handle({ incidentId: incident.incidentId, waitSeconds: 30 }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(error.message).toContain('waitSeconds');
    expect(await w.scanOf(DB_0800)).toBe('unscanned');
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(undefined));

    // Assess
    expect(error.name).toBe('ValidationError');
  });
});

describe('check-point-scans handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for GuardDuty)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const gd = mockClient(GuardDutyClient);
  let proposal: StoredProposal;

  /** GuardDuty scan ids of each machine's scan, one per snapshot of its 08:00Z point. */
  const GD_SCANS: Record<string, string[]> = {
    'payments-db': ['8ac6f1d0a0e1b2c3d4e5f60718293a4b', '8ac6f1d0a0e1b2c3d4e5f60718293a4c'],
    'payments-api': ['9bd7e2c1b1f2c3d4e5f60718293a4b5c'],
    'payments-web': ['0ce8f3d2c2a3d4e5f60718293a4b5c6d'],
  };
  const clean: Partial<GetMalwareScanCommandOutput> = { ScanStatus: 'COMPLETED', ScanResultDetails: { ScanResultStatus: 'NO_THREATS_FOUND' } };
  const running: Partial<GetMalwareScanCommandOutput> = { ScanStatus: 'RUNNING' };

  /** The proposal as Scan Chosen Points stored it, its scans started `minutesAgo` before NOW. */
  const withScans = (minutesAgo: number): StoredProposal => {
    const startedAt = new Date(NOW - minutesAgo * MINUTE).toISOString();
    const scans: Record<string, PointScan> = Object.fromEntries(proposal.selection.machines.map((m) => [m.machineId, {
      pointId: m.pointId, scanId: GD_SCANS[m.machineId]!.join(','), status: 'RUNNING', threats: [], verdict: 'pending', startedAt,
    } satisfies PointScan]));
    return { ...proposal, scans, scansStartedAt: startedAt };
  };

  /** Every GuardDuty scan answers `answer`, unless a test says otherwise for one scan id. */
  const answerAll = (answer: Partial<GetMalwareScanCommandOutput>) => gd.on(GetMalwareScanCommand).resolves(answer);

  const seedProposal = async (p: StoredProposal) => { await stores.runs.saveProposal(incident.incidentId, p); stores.reset(); };

  /** The verdicts written to the catalogue: [machineId, pointId, change] of each markPoint. */
  const catalogUpdates = () => stores.log.filter((c) => c.call === 'catalog.markPoint').map((c) => c.args as [string, string, Record<string, unknown>]);
  /** Each proposal the handler stored (its saveProposal calls). */
  const storedProposals = () => stores.log.filter((c) => c.call === 'runs.saveProposal').map((c) => c.args[1] as StoredProposal);

  beforeAll(async () => {
    proposal = await storedProposalFor(index, incident, paymentsPoints());
  });

  beforeEach(async () => {
    gd.reset();
    // The catalogue holds the points; re-selection reads them newest first from the cutoff, with the verdicts written so far.
    stores = memoryAdapters(paymentsPoints());
    await stores.incidents.createIncident(incident);
    await seedProposal(withScans(5));
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
    let n = 0;
    gd.on(StartMalwareScanCommand).callsFake(() => ({ ScanId: `1df9a4e3d3b4e5f60718293a4b5c6d${String(++n).padStart(2, '0')}` }));
  });

  afterAll(() => {
    gd.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('reads every GuardDuty scan of every pending point and answers not done, with a wait, while they run', async () => {
    // Prepare
    answerAll(running);

    // Act
    const out = await handler({ incidentId: incident.incidentId }, lambdaContext());

    // Assess
    expect(out).toMatchObject({ incidentId: incident.incidentId, done: false, waitSeconds: 30, scans: { pending: 3 } });
    expect(gd.commandCalls(GetMalwareScanCommand).map((c) => c.args[0].input.ScanId).sort()).toEqual(Object.values(GD_SCANS).flat().sort());
    expect(catalogUpdates()).toEqual([]);
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual([]);
  });

  it('marks each point clean in the catalogue table when GuardDuty reports COMPLETED / NO_THREATS_FOUND, and answers done', async () => {
    // Prepare
    answerAll(clean);

    // Act
    const out = await handler({ incidentId: incident.incidentId }, lambdaContext());

    // Assess
    expect(out).toMatchObject({ done: true, ready: true, scans: { pending: 0, clean: 3, infected: 0, unverified: 0 } });
    expect(catalogUpdates()).toContainEqual(['payments-db', DB_0800, {
      scan: 'clean',
      scanRecord: { verdict: 'clean', source: 'guardduty-scan', scanId: GD_SCANS['payments-db']!.join(','), status: 'COMPLETED', at: new Date(NOW).toISOString() },
    }]);
    expect(await stores.catalog.getPoint('payments-db', DB_0800)).toMatchObject({ scan: 'clean' });
    expect(catalogUpdates().map(([machineId, , change]) => [machineId, change['scan']]).sort()).toEqual([
      ['payments-api', 'clean'], ['payments-db', 'clean'], ['payments-web', 'clean'],
    ]);
    expect(storedProposals().at(-1)?.scans?.['payments-db']).toMatchObject({ verdict: 'clean', status: 'COMPLETED', result: 'NO_THREATS_FOUND' });
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual(['scan.clean', 'scan.clean', 'scan.clean']);
  });

  it('marks the point infected on THREATS_FOUND, steps back to the next older point and starts its scans, audited', async () => {
    // Prepare: the database's second volume holds a threat
    answerAll(clean);
    gd.on(GetMalwareScanCommand, { ScanId: GD_SCANS['payments-db']![1] }).resolves({
      ScanStatus: 'COMPLETED',
      ScanResultDetails: { ScanResultStatus: 'THREATS_FOUND', Threats: [{ Name: THREATS[0]!.name, ItemDetails: [{ ItemPath: THREATS[0]!.path }] }] },
    });

    // Act
    const out = await handler({ incidentId: incident.incidentId }, lambdaContext());

    // Assess: the 08:00Z point is infected in the catalogue, with the threats as evidence
    expect(out).toMatchObject({ done: false, ready: true, machineCount: 3, scans: { pending: 1, clean: 2, steppedBack: 1 } });
    expect(catalogUpdates()).toContainEqual(['payments-db', DB_0800, {
      scan: 'infected',
      scanRecord: expect.objectContaining({ verdict: 'infected', source: 'guardduty-scan', scanId: GD_SCANS['payments-db']!.join(','), threats: THREATS }),
    }]);
    expect(await stores.catalog.getPoint('payments-db', DB_0800)).toMatchObject({ scan: 'infected' });
    // ... and both volumes of the 07:00Z point are scanned, as the scanner role
    expect(gd).toHaveReceivedCommandTimes(StartMalwareScanCommand, 2);
    for (const snapshotId of SNAPSHOTS['payments-db']![T0700]!) {
      expect(gd).toHaveReceivedCommandWith(StartMalwareScanCommand, {
        ResourceArn: `arn:aws:ec2:${REGION}:111122223333:snapshot/${snapshotId}`, ScanConfiguration: { Role: SCANNER_ROLE },
      });
    }
    const stored = storedProposals().at(-1)!;
    expect(stored.selection.machines.find((m) => m.machineId === 'payments-db')?.pointId).toBe(DB_0700);
    expect(stored.scans?.['payments-db']).toMatchObject({ pointId: DB_0700, verdict: 'pending', steppedBack: [{ pointId: DB_0800, threats: THREATS }] });
    const types = await auditTypesOf(stores.audit, incident.incidentId);
    expect(types).toEqual(expect.arrayContaining(['scan.threats-found', 'scan.stepped-back', 'scan.started']));
    expect(types.indexOf('scan.threats-found')).toBeLessThan(types.indexOf('scan.stepped-back'));
  });

  it.each([
    ['SKIPPED', 'UNSUPPORTED_SNAPSHOT'],
    ['FAILED', 'ACCESS_DENIED'],
  ] as const)('leaves the point unverified when a scan is %s, writing no verdict to the catalogue, once done', async (status, reason) => {
    // Prepare
    answerAll(clean);
    gd.on(GetMalwareScanCommand, { ScanId: GD_SCANS['payments-db']![0] }).resolves({
      ScanStatus: status, ScanStatusReason: reason, ResourceArn: `arn:aws:ec2:${REGION}:111122223333:snapshot/${SNAPSHOTS['payments-db']![T0800]![0]}`,
    });

    // Act
    const out = await handler({ incidentId: incident.incidentId }, lambdaContext());

    // Assess
    expect(out).toMatchObject({ done: true, ready: true, scans: { pending: 0, clean: 2, unverified: 1 } });
    expect(catalogUpdates().map(([machineId]) => machineId)).not.toContain('payments-db');
    expect(storedProposals().at(-1)?.scans?.['payments-db']).toMatchObject({ verdict: 'unverified', status, reason: expect.stringContaining(reason) });
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toContain('scan.unverified');
  });

  it('answers done with every point unverified when the scans still run after the budget is spent', async () => {
    // Prepare: started 31 minutes ago, the default budget is 30
    await seedProposal(withScans(31));
    answerAll(running);

    // Act
    const out = await handler({ incidentId: incident.incidentId }, lambdaContext());

    // Assess
    expect(out).toMatchObject({ done: true, ready: true, scans: { pending: 0, clean: 0, unverified: 3 } });
    expect(catalogUpdates()).toEqual([]);
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual(['scan.unverified', 'scan.unverified', 'scan.unverified']);
  });

  it('rejects with ForbiddenError when GuardDuty denies GetMalwareScan, judging and storing nothing', async () => {
    // Prepare
    gd.on(GetMalwareScanCommand).rejects(Object.assign(
      new AccessDeniedException({ message: 'User is not authorized to perform: guardduty:GetMalwareScan', $metadata: {} }),
      { $metadata: { httpStatusCode: 403 } },
    ));

    // Act
    const error = await rejectionOf(handler({ incidentId: incident.incidentId }, lambdaContext()));

    // Assess
    expect(error.name).toBe('ForbiddenError');
    expect(error.message).toContain('AccessDeniedException');
    expect(catalogUpdates()).toEqual([]);
    expect(storedProposals()).toEqual([]);
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual([]);
  });

  it.each([
    ['a missing incidentId', {}, 'incidentId'],
    ['a malformed incidentId', { incidentId: 'INC-0123456789ABCDEF0123' }, 'incidentId'],
  ])('refuses task input with %s with a ValidationError naming the path, calling neither GuardDuty nor DynamoDB', async (_what, input, path) => {
    // Prepare
    answerAll(clean);

    // Act
    const error = await rejectionOf(handler(input, lambdaContext()));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(gd).not.toHaveReceivedCommand(GetMalwareScanCommand);
    expect(stores.calls).toEqual([]);
  });
});
