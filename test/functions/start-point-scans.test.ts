import { AccessDeniedException, GuardDutyClient, StartMalwareScanCommand } from '@aws-sdk/client-guardduty';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../domain/incidents/index.ts';
import type { StoredProposal } from '../../domain/failover/index.ts';
import type { RecoveryPoint } from '../../domain/recovery-points/index.ts';
import { MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryMalwareScanner } from '../../functions/shared/adapters/memory/malware-scanner.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { makePoint } from '../helpers/fixtures.ts';
import {
  auditTypesOf, CATALOG_TABLE, fixedClock, inventoryIndex, issuePaths, itExportsTheWrappedHandler, lambdaContext,
  makeIncidentFor, memoryAdapters, NOW, pointsFor, rejectionOf, removeTempFiles, STATE_TABLE, storedProposalFor,
  stubHandlerEnv, wrapped, writeInventorySource, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/start-point-scans/handler.ts');
let mod: Module;

const SCANNER_ROLE = 'arn:aws:iam::111122223333:role/cleanpoint-test-malware-scanner';
const REGION = 'eu-west-1';
const DB_SNAPSHOTS = ['snap-0d08000000000000a', 'snap-0d08000000000000b'];
const snapshotArn = (snapshotId: string) => `arn:aws:ec2:${REGION}:111122223333:snapshot/${snapshotId}`;

const index = inventoryIndex();
let incident: Incident;
/** A GuardDuty sample finding on payments-db (another finding, so another incident): test mode only. */
let sample: Incident;

/** The payments group's points (07:00Z and 08:00Z); the database's 08:00Z point has two volumes. */
function paymentsPoints(): RecoveryPoint[] {
  return pointsFor(index, 'payments').map((p) => (p.machineId === 'payments-db' && p.capturedAt === '2024-05-01T08:00:00.000Z'
    ? makePoint({
      machineId: 'payments-db', capturedAt: p.capturedAt,
      snapshots: [{ deviceName: '/dev/xvda', snapshotId: DB_SNAPSHOTS[0]!, volumeSize: 50 }, { deviceName: '/dev/sdf', snapshotId: DB_SNAPSHOTS[1]!, volumeSize: 200 }],
    })
    : p));
}

/** Every snapshot of every point the proposal chose. */
const chosenSnapshots = (proposal: StoredProposal) => proposal.selection.machines.flatMap((m) => m.snapshots.map((s) => s.snapshotId));

beforeAll(async () => {
  stubHandlerEnv({
    STATE_TABLE, CATALOG_TABLE, INVENTORY_SOURCE: writeInventorySource(), MALWARE_SCANNER_ROLE_ARN: SCANNER_ROLE, AWS_REGION: REGION,
  });
  mod = await import('../../functions/start-point-scans/handler.ts');
  incident = makeIncidentFor(index);
  sample = makeIncidentFor(index, { id: 'b5d8e3fa2a1c5f9d0e4c7b6a8f3d2e19', service: { additionalInfo: { sample: true } } });
});

afterAll(() => removeTempFiles());

describe('start-point-scans handler (factory, in-memory fakes)', () => {
  async function world(subject: Incident = incident) {
    const points = paymentsPoints();
    const proposal = await storedProposalFor(index, subject, points);
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident(subject);
    const runs = new MemoryRunStore();
    await runs.saveProposal(subject.incidentId, proposal);
    const audit = new MemoryAuditLog();
    const catalog = new MemoryRecoveryPointCatalog(points);
    const clock = fixedClock(NOW);
    const scanner = new MemoryMalwareScanner(clock, { durationMs: 5 * 60_000 });
    const handle = mod.makeHandler(async () => ({ runs, incidents, audit, catalog, points: catalog, scanner, index, clock }));
    return { proposal, runs, audit, scanner, handle };
  }

  it('starts one scan per chosen point with all its snapshots, remembers them in the proposal and answers not done', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle({ incidentId: incident.incidentId });

    // Assess
    expect(out).toEqual({
      incidentId: incident.incidentId, done: false, waitSeconds: 30, ready: true, machineCount: 3, blockerCount: 0,
      scans: { pending: 3, clean: 0, infected: 0, unverified: 0, steppedBack: 0 },
    });
    expect(w.scanner.started.map((s) => [s.machineId, s.pointId, s.snapshotIds])).toEqual(w.proposal.selection.machines.map((m) =>
      [m.machineId, m.pointId, m.snapshots.map((s) => s.snapshotId)]));
    expect(w.scanner.started.find((s) => s.machineId === 'payments-db')?.snapshotIds).toEqual(DB_SNAPSHOTS);
    const stored = await w.runs.getProposal(incident.incidentId);
    expect(stored?.scansStartedAt).toBe(new Date(NOW).toISOString());
    expect(stored?.scans?.['payments-db']).toMatchObject({
      pointId: 'payments-db@2024-05-01T08:00:00.000Z', scanId: expect.any(String), status: 'RUNNING', verdict: 'pending',
    });
    expect((await w.audit.list(incident.incidentId)).map((e) => e.type)).toEqual(['scan.started']);
  });

  it('starts nothing for a test-mode proposal under the default recovery policy and answers done', async () => {
    // Prepare
    const w = await world(sample);

    // Act
    const out = await w.handle({ incidentId: sample.incidentId });

    // Assess
    expect(w.proposal.plan.mode).toBe('test');
    expect(out).toMatchObject({ incidentId: sample.incidentId, done: true, ready: true, machineCount: 3, scans: { pending: 0, clean: 0, unverified: 0 } });
    expect(w.scanner.started).toEqual([]);
    expect((await w.runs.getProposal(sample.incidentId))?.scans).toBeUndefined();
    expect(await w.audit.list(sample.incidentId)).toEqual([]);
  });

  it('does not start a second scan of a point when the task is retried', async () => {
    // Prepare
    const w = await world();
    await w.handle({ incidentId: incident.incidentId });

    // Act
    const out = await w.handle({ incidentId: incident.incidentId });

    // Assess
    expect(w.scanner.started).toHaveLength(3);
    expect(out.scans.pending).toBe(3);
  });

  it('refuses an incident that has no proposal yet with NotFoundError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ incidentId: 'inc-fedcba9876543210fedc' }));

    // Assess
    expect(error.name).toBe('NotFoundError');
    expect(w.scanner.started).toEqual([]);
  });

  it.each([
    ['a missing incidentId', () => ({}), 'incidentId'],
    ['a malformed incidentId', () => ({ incidentId: 'inc-NOT-HEX-0000000000' }), 'incidentId'],
    ['an incidentId that is not text', () => ({ incidentId: 42 }), 'incidentId'],
  ])('refuses task input with %s with a ValidationError naming the path, starting and writing nothing', async (_what, input, path) => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(input()));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(w.scanner.started).toEqual([]);
    expect((await w.runs.getProposal(incident.incidentId))?.scans).toBeUndefined();
    expect(await w.audit.list(incident.incidentId)).toEqual([]);
  });

  it('refuses task input with a field the Scan Chosen Points state never sends', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ incidentId: incident.incidentId, scans: { pending: 0 } }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(error.message).toContain('scans');
    expect(w.scanner.started).toEqual([]);
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(incident.incidentId));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(w.scanner.started).toEqual([]);
  });
});

describe('start-point-scans handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for GuardDuty)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const gd = mockClient(GuardDutyClient);
  let proposal: StoredProposal;
  let testProposal: StoredProposal;

  /** Each proposal the handler stored for the incident (its saveProposal calls). */
  const storedProposal = (incidentId: string) => stores.log
    .filter((c) => c.call === 'runs.saveProposal' && c.args[0] === incidentId)
    .map((c) => c.args[1] as StoredProposal);

  beforeAll(async () => {
    proposal = await storedProposalFor(index, incident, paymentsPoints());
    testProposal = await storedProposalFor(index, sample, paymentsPoints());
  });

  beforeEach(async () => {
    gd.reset();
    stores = memoryAdapters();
    await stores.incidents.createIncident(incident);
    await stores.runs.saveProposal(incident.incidentId, proposal);
    await stores.incidents.createIncident(sample);
    await stores.runs.saveProposal(sample.incidentId, testProposal);
    stores.reset();
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
    let n = 0;
    gd.on(StartMalwareScanCommand).callsFake(() => ({ ScanId: `gd-scan-${++n}` }));
  });

  afterAll(() => {
    gd.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('starts one StartMalwareScan per snapshot of each chosen point, as the scanner role, and stores the scan ids in the proposal', async () => {
    // Act
    const out = await handler({ incidentId: incident.incidentId }, lambdaContext());

    // Assess: 2 snapshots for the database + 1 each for api and web
    expect(out).toMatchObject({ incidentId: incident.incidentId, done: false, waitSeconds: 30, ready: true, scans: { pending: 3 } });
    const snapshots = chosenSnapshots(proposal);
    expect(snapshots).toHaveLength(4);
    expect(gd).toHaveReceivedCommandTimes(StartMalwareScanCommand, 4);
    for (const snapshotId of snapshots) {
      expect(gd).toHaveReceivedCommandWith(StartMalwareScanCommand, {
        ResourceArn: snapshotArn(snapshotId), ScanConfiguration: { Role: SCANNER_ROLE },
      });
    }
    for (const call of gd.commandCalls(StartMalwareScanCommand)) {
      expect(call.args[0].input.ResourceArn).toMatch(/^arn:aws:ec2:eu-west-1:111122223333:snapshot\/snap-[0-9a-f]+$/);
      expect(call.args[0].input.ClientToken).toMatch(/^[0-9a-f]{64}$/);
    }
    const [stored] = storedProposal(incident.incidentId);
    expect(stored?.scansStartedAt).toBe(new Date(NOW).toISOString());
    expect(Object.keys(stored?.scans ?? {}).sort()).toEqual(['payments-api', 'payments-db', 'payments-web']);
    // The database's two GuardDuty scans are remembered together, as the point's one scan.
    expect(stored?.scans?.['payments-db']?.scanId?.split(',')).toHaveLength(2);
    expect(Object.values(stored?.scans ?? {}).every((s) => s.verdict === 'pending' && s.status === 'RUNNING')).toBe(true);
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual(['scan.started']);
  });

  it('starts no scan for a test-mode proposal under the default recovery policy and answers done', async () => {
    // Act
    const out = await handler({ incidentId: sample.incidentId }, lambdaContext());

    // Assess
    expect(out).toMatchObject({ incidentId: sample.incidentId, done: true, ready: true, scans: { pending: 0 } });
    expect(gd).not.toHaveReceivedCommand(StartMalwareScanCommand);
    expect(storedProposal(sample.incidentId)).toEqual([]);
    expect(await auditTypesOf(stores.audit, sample.incidentId)).toEqual([]);
  });

  it('rejects with ForbiddenError when GuardDuty denies StartMalwareScan, storing no scan', async () => {
    // Prepare
    gd.on(StartMalwareScanCommand).rejects(Object.assign(
      new AccessDeniedException({ message: 'User is not authorized to perform: iam:PassRole on resource: cleanpoint-test-malware-scanner', $metadata: {} }),
      { $metadata: { httpStatusCode: 403 } },
    ));

    // Act
    const error = await rejectionOf(handler({ incidentId: incident.incidentId }, lambdaContext()));

    // Assess
    expect(error.name).toBe('ForbiddenError');
    expect(error.message).toContain('AccessDeniedException');
    expect(storedProposal(incident.incidentId)).toEqual([]);
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual([]);
  });

  it('refuses malformed task input with a ValidationError naming the path, sending nothing to GuardDuty or DynamoDB', async () => {
    // Act
    const error = await rejectionOf(handler({ incidentId: 'inc-0123' }, lambdaContext()));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['incidentId']);
    expect(gd).not.toHaveReceivedCommand(StartMalwareScanCommand);
    expect(stores.calls).toEqual([]);
  });
});
