import { DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../domain/incidents/index.ts';
import { DEFAULT_POLICY } from '../../domain/findings/index.ts';
import type { RecoveryPoint } from '../../domain/recovery-points/index.ts';
import { MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { INSTANCES } from '../helpers/fixtures.ts';
import {
  auditTypesOf, CATALOG_TABLE, fixedClock, inventoryIndex, issuePaths, itExportsTheWrappedHandler, lambdaContext,
  makeIncidentFor, memoryAdapters, NOW, pointsFor, rejectionOf, removeTempFiles, STATE_TABLE, stubHandlerEnv,
  wrapped, writeInventorySource, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/select-recovery-points/handler.ts');
let mod: Module;

const index = inventoryIndex();
let incident: Incident;

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, CATALOG_TABLE, INVENTORY_SOURCE: writeInventorySource() });
  mod = await import('../../functions/select-recovery-points/handler.ts');
  incident = makeIncidentFor(index);
});

afterAll(() => removeTempFiles());

describe('select-recovery-points handler (factory, in-memory fakes)', () => {
  async function world(points: RecoveryPoint[], subject: Incident = incident) {
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident(subject);
    const runs = new MemoryRunStore();
    const handle = mod.makeHandler(async () => ({
      incidents, runs, audit: new MemoryAuditLog(), catalog: new MemoryRecoveryPointCatalog(points), policy: DEFAULT_POLICY, index, clock: fixedClock(NOW),
    }));
    return { runs, handle };
  }

  it('returns ready, the counts and the approval wait that Any Machine Restorable? and Request Failover Approval read', async () => {
    // Prepare
    const w = await world(pointsFor(index, 'payments'));

    // Act
    const out = await w.handle({ incidentId: incident.incidentId });

    // Assess
    expect(out).toEqual({ incidentId: incident.incidentId, mode: 'recovery', ready: true, machineCount: 3, blockerCount: 0, approvalTimeoutSeconds: 3600 });
    expect((await w.runs.getProposal(incident.incidentId))?.plan.machines.map((m) => m.pointId)).toEqual([
      'payments-db@2024-05-01T08:00:00.000Z', 'payments-api@2024-05-01T08:00:00.000Z', 'payments-web@2024-05-01T08:00:00.000Z',
    ]);
  });

  it('reports not ready, with every machine a blocker, when no point is older than the cutoff', async () => {
    // Prepare
    const w = await world([]);

    // Act
    const out = await w.handle({ incidentId: incident.incidentId });

    // Assess
    expect(out).toMatchObject({ ready: false, machineCount: 0, blockerCount: 3 });
  });

  it('reports not ready when a test-mode failover has no isolated network to launch into', async () => {
    // Prepare: a GuardDuty sample finding (test mode only) on the ledger group, which has no test network
    const sample = makeIncidentFor(index, { resource: { instanceDetails: { instanceId: INSTANCES.ledgerDb } }, service: { additionalInfo: { sample: true } } });
    const w = await world(pointsFor(index, 'ledger'), sample);

    // Act
    const out = await w.handle({ incidentId: sample.incidentId });

    // Assess
    expect(out).toMatchObject({ mode: 'test', ready: false, machineCount: 2, blockerCount: 0, approvalTimeoutSeconds: 3600 });
  });

  it.each([
    ['a missing incidentId', () => ({}), 'incidentId'],
    ['group cutoffs given as a list', () => ({ incidentId: incident.incidentId, groupCutoffs: ['2024-05-01T07:00:00Z'] }), 'groupCutoffs'],
    ['a group cutoff that is not text', () => ({ incidentId: incident.incidentId, groupCutoffs: { payments: 1714546800000 } }), 'groupCutoffs.payments'],
  ])('refuses task input with %s with a ValidationError naming the path', async (_what, input, path) => {
    // Prepare
    const w = await world(pointsFor(index, 'payments'));

    // Act
    const error = await rejectionOf(w.handle(input()));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(await w.runs.getProposal(incident.incidentId)).toBeNull();
  });

  it('refuses task input with a field the state never sends', async () => {
    // Prepare
    const w = await world(pointsFor(index, 'payments'));

    // Act
    const error = await rejectionOf(w.handle({ incidentId: incident.incidentId, cutoff: '2020-01-01T00:00:00Z' }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(error.message).toContain('cutoff');
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world(pointsFor(index, 'payments'));

    // Act
    const error = await rejectionOf(w.handle(incident.incidentId));

    // Assess
    expect(error.name).toBe('ValidationError');
  });
});

describe('select-recovery-points handler (wrapped: its composition over the memory stores)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const points = () => pointsFor(index, 'payments');
  const ec2 = mockClient(EC2Client);
  /** EC2 knows every snapshot of the catalogue except `deleted` (one unknown id fails the whole call, as on AWS). */
  const ec2Knows = (deleted: Set<string>) => ec2.on(DescribeSnapshotsCommand).callsFake((input: { SnapshotIds?: string[] }) => {
    const ids = input.SnapshotIds ?? [];
    const gone = ids.find((id) => deleted.has(id));
    if (gone) throw Object.assign(new Error(`The snapshot '${gone}' does not exist.`), { name: 'InvalidSnapshot.NotFound', Code: 'InvalidSnapshot.NotFound', $metadata: { httpStatusCode: 400 } });
    return { Snapshots: ids.map((SnapshotId) => ({ SnapshotId, State: 'completed', StartTime: new Date(NOW) })) };
  });
  afterEach(() => ec2.reset());
  afterAll(() => ec2.restore());

  beforeEach(async () => {
    ec2Knows(new Set());
    // The catalogue holds each machine's points (the memory catalogue answers newest first, as the DynamoDB one: contract-tested).
    stores = memoryAdapters(points());
    await stores.incidents.createIncident(incident);
    stores.reset();
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('reads each machine\'s points newest first from the cutoff and stores the proposal in the state table', async () => {
    // Act
    const out = await handler({ incidentId: incident.incidentId }, lambdaContext());

    // Assess
    expect(out).toMatchObject({ ready: true, machineCount: 3, approvalTimeoutSeconds: 3600 });
    const reads = stores.log.filter((c) => c.call === 'catalog.pointsAtOrBefore').map((c) => c.args.slice(0, 2));
    for (const machineId of ['payments-db', 'payments-api', 'payments-web']) expect(reads).toContainEqual([machineId, '2024-05-01T08:30:00.000Z']);
    expect(await stores.runs.getProposal(incident.incidentId)).toMatchObject({ incidentId: incident.incidentId, cutoff: '2024-05-01T08:30:00.000Z' });
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual(['points.selected']);
  });

  it('falls back to the next eligible point when EC2 no longer has a chosen point\'s snapshot: marked expired, audited from/to/why', async () => {
    // Prepare: the point the selection would choose for payments-db lost its first snapshot in EC2
    const first = await handler({ incidentId: incident.incidentId }, lambdaContext());
    expect(first).toMatchObject({ machineCount: 3 });
    const proposal = (await stores.runs.getProposal(incident.incidentId))!;
    const db = proposal.selection.machines.find((m) => m.machineId === 'payments-db')!;
    const lost = db.snapshots[0]!.snapshotId;
    ec2.reset();
    ec2Knows(new Set([lost]));

    // Act
    await handler({ incidentId: incident.incidentId }, lambdaContext());

    // Assess: the older alternative is chosen, the lost point is expired and the hop audited
    const again = (await stores.runs.getProposal(incident.incidentId))!;
    const chosen = again.selection.machines.find((m) => m.machineId === 'payments-db')!;
    expect(chosen.pointId).toBe(db.alternatives[0]!.pointId);
    expect((await stores.adapters.catalog!.getPoint('payments-db', db.pointId))?.status).toBe('expired');
    const entries = await stores.audit.list(incident.incidentId);
    expect(entries.filter((e) => e.type === 'point.fallback').map((e) => e.data)).toEqual([
      { machineId: 'payments-db', from: db.pointId, to: chosen.pointId, why: `snapshot(s) ${lost} no longer exists` },
    ]);
    expect((await stores.audit.list('catalog:payments-db')).map((e) => e.type)).toEqual(['point.expired']);
  });
});
