import {
  CreateSnapshotsCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, EC2Client, type CreateSnapshotsCommandInput,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../domain/incidents/index.ts';
import type { Run, RunMachine } from '../../domain/failover/index.ts';
import { MemoryAuditLog, MemoryIncidentStore, MemoryRunStore } from '../../functions/shared/adapters/memory/index.ts';
import { makeInventory, type RawInventory } from '../helpers/fixtures.ts';
import {
  auditTypesOf, fixedClock, inventoryIndex, issuePaths, itExportsTheWrappedHandler, KMS_KEY, lambdaContext,
  makeIncidentFor, makeRunMachine, memoryAdapters, NOW, rejectionOf, removeTempFiles, ScriptedCompute, STATE_TABLE,
  stubHandlerEnv, wrapped, writeInventorySource, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/prepare-failback/handler.ts');
let mod: Module;

const NOW_ISO = new Date(NOW).toISOString();
const PRIMARY = { subnetId: 'subnet-0a1b2c31', securityGroupIds: ['sg-0a1b2c31'] };

/** The test inventory, with a primary network for payments to fail back into. */
function rawInventory(): RawInventory {
  const raw = makeInventory();
  raw.groups[0]!.networks = { ...raw.groups[0]!.networks, primary: PRIMARY };
  return raw;
}
const index = inventoryIndex(rawInventory());
let incident: Incident;
let failbackRun: string;
const task = () => ({ incidentId: incident.incidentId, requestedBy: 'carol' });

/** The incident run as the failover left it: payments-db and payments-api recovered and verified. */
const failover = (): { run: Run; machines: RunMachine[] } => ({
  run: {
    runId: incident.incidentId, kind: 'incident', incidentId: incident.incidentId, mode: 'recovery', createdAt: '2024-05-01T09:55:00.000Z',
    decidedAt: '2024-05-01T09:54:00.000Z', waves: [{ wave: 1, machines: ['payments-db'] }, { wave: 2, machines: ['payments-api'] }],
  },
  machines: [
    makeRunMachine({ runId: incident.incidentId, mode: 'recovery', instanceId: 'i-0aaaaaaaaaaaaaaa1', imageId: 'ami-0aaaaaaaaaaaaaaa1', readyAt: '2024-05-01T10:06:00.000Z', instanceTypeUsed: 'r6i.large' }),
    makeRunMachine({
      runId: incident.incidentId, mode: 'recovery', machineId: 'payments-api', wave: 2, instanceType: 'm6i.large', fallbackInstanceTypes: ['m5.large'],
      instanceId: 'i-0aaaaaaaaaaaaaaa2', imageId: 'ami-0aaaaaaaaaaaaaaa2', readyAt: '2024-05-01T10:08:00.000Z', instanceTypeUsed: 'm5.large',
    }),
  ],
});

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, KMS_KEY_ID: KMS_KEY, INVENTORY_SOURCE: writeInventorySource(rawInventory()) });
  mod = await import('../../functions/prepare-failback/handler.ts');
  incident = makeIncidentFor(index, {}, { status: 'recovered' });
  failbackRun = `failback-${incident.incidentId}`;
});

afterAll(() => removeTempFiles());

describe('prepare-failback handler (factory, in-memory fakes)', () => {
  async function world(status: Incident['status'] = 'recovered') {
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident({ ...incident, status });
    const runs = new MemoryRunStore();
    const { run, machines } = failover();
    await runs.createRun(run, machines);
    const audit = new MemoryAuditLog();
    const compute = new ScriptedCompute();
    const snapshotted: string[] = [];
    const snapshotInstance = compute.snapshotInstance.bind(compute);
    compute.snapshotInstance = async (instanceId, tags) => {
      snapshotted.push(instanceId);
      return snapshotInstance(instanceId, tags);
    };
    const handle = mod.makeHandler(async () => ({ incidents, runs, audit, compute, index, clock: fixedClock(NOW) }));
    return { incidents, runs, audit, snapshotted, handle };
  }

  it('returns the failback run id and how long to wait for the snapshots, and stores the run in the primary network', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle(task());

    // Assess
    expect(out).toEqual({ runId: failbackRun, waitSeconds: 30 });
    expect(w.snapshotted.sort()).toEqual(['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2']);
    expect(await w.runs.getRun(failbackRun)).toMatchObject({ kind: 'failback', incidentId: incident.incidentId, waves: failover().run.waves });
    expect((await w.runs.listMachines(failbackRun)).map((m) => [m.machineId, m.network, m.instanceType, m.snapshots.map((s) => s.snapshotId)])).toEqual([
      ['payments-api', PRIMARY, 'm5.large', ['snap-0aaaaaaaaaaaaaaa2']],
      ['payments-db', PRIMARY, 'r6i.large', ['snap-0aaaaaaaaaaaaaaa1']],
    ]);
    expect((await w.incidents.getIncident(incident.incidentId))?.status).toBe('failing-back');
    expect((await w.audit.list(incident.incidentId)).map((e) => [e.type, e.actor])).toEqual([['failback.started', 'carol']]);
  });

  it('refuses an incident that has not recovered with ConflictError and snapshots nothing', async () => {
    // Prepare
    const w = await world('failing-over');

    // Act
    const error = await rejectionOf(w.handle(task()));

    // Assess
    expect(error.name).toBe('ConflictError');
    expect(w.snapshotted).toEqual([]);
    expect(await w.runs.getRun(failbackRun)).toBeNull();
  });

  it.each([
    ['a missing incidentId', { incidentId: undefined }, 'incidentId'],
    ['a malformed incidentId', { incidentId: 'inc-NOT-HEX-0000000000' }, 'incidentId'],
    ['an incidentId that is not text', { incidentId: 42 }, 'incidentId'],
    ['a missing requestedBy', { requestedBy: undefined }, 'requestedBy'],
    ['an empty requestedBy', { requestedBy: '' }, 'requestedBy'],
    ['a requestedBy longer than 128 characters', { requestedBy: 'c'.repeat(129) }, 'requestedBy'],
  ])('refuses task input with %s with a ValidationError naming the path, and writes nothing', async (_what, change, path) => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ ...task(), ...change }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(w.snapshotted).toEqual([]);
    expect(await w.runs.getRun(failbackRun)).toBeNull();
    expect(await w.audit.list(incident.incidentId)).toEqual([]);
    expect((await w.incidents.getIncident(incident.incidentId))?.status).toBe('recovered');
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle([incident.incidentId]));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(w.snapshotted).toEqual([]);
  });

  // GAP (reported): the schema is z.looseObject, so a key the Prepare Failback state never sends
  // is accepted and ignored; plan-failover, launch-machine and review-run use z.strictObject.
  // `it.fails` until the schema is strict — then flip it to `it`.
  it('refuses task input with an extra key with a ValidationError, and writes nothing', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ ...task(), runId: 'failback-inc-ffffffffffffffffffff' }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(w.snapshotted).toEqual([]);
  });
});

describe('prepare-failback handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for EC2)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const ec2 = mockClient(EC2Client);

  /** Each recovery instance has a root and a data volume. */
  const volumes: Record<string, [string, string]> = {
    'i-0aaaaaaaaaaaaaaa1': ['vol-0aaaaaaaaaaaaaa11', 'vol-0aaaaaaaaaaaaaa12'],
    'i-0aaaaaaaaaaaaaaa2': ['vol-0aaaaaaaaaaaaaa21', 'vol-0aaaaaaaaaaaaaa22'],
  };

  beforeEach(async () => {
    ec2.reset();
    stores = memoryAdapters();
    await stores.incidents.createIncident(incident);
    const { run, machines } = failover();
    await stores.runs.createRun(run, machines);
    stores.calls.length = 0;
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
    ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => ({
      Reservations: [{
        Instances: (input.InstanceIds ?? []).map((id) => ({
          InstanceId: id, State: { Name: 'running' }, RootDeviceName: '/dev/xvda',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeId: volumes[id]![0] } }, { DeviceName: '/dev/sdf', Ebs: { VolumeId: volumes[id]![1] } }],
        })),
      }],
    }));
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2.on(CreateSnapshotsCommand).callsFake((input: CreateSnapshotsCommandInput) => {
      const id = input.InstanceSpecification!.InstanceId!;
      return { Snapshots: volumes[id]!.map((VolumeId) => ({ SnapshotId: `snap-${VolumeId.slice(4)}`, VolumeId, VolumeSize: 50 })) };
    });
  });

  afterAll(() => {
    ec2.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('asks EC2 for crash-consistent snapshots of all volumes of each recovery instance, tagged for the failback run', async () => {
    // Act
    const out = await handler(task(), lambdaContext());

    // Assess
    expect(out).toEqual({ runId: failbackRun, waitSeconds: 30 });
    // One request per recovery instance, in the order the run store lists the machines (by machine id)
    const requests = ec2.commandCalls(CreateSnapshotsCommand).map((c) => c.args[0].input)
      .sort((a, b) => String(a.InstanceSpecification?.InstanceId).localeCompare(String(b.InstanceSpecification?.InstanceId)));
    expect(requests.map((r) => r.InstanceSpecification)).toEqual([
      { InstanceId: 'i-0aaaaaaaaaaaaaaa1', ExcludeBootVolume: false },
      { InstanceId: 'i-0aaaaaaaaaaaaaaa2', ExcludeBootVolume: false },
    ]);
    expect(requests[1]?.TagSpecifications).toEqual([{
      ResourceType: 'snapshot',
      Tags: [{ Key: 'cleanpoint:incident', Value: failbackRun }, { Key: 'cleanpoint:machine', Value: 'payments-api' }, { Key: 'cleanpoint:run-kind', Value: 'failback' }],
    }]);
  });

  it('writes each primary\'s record into the primary network with its new snapshots, then the run, and moves the incident to failing-back', async () => {
    // Act
    await handler(task(), lambdaContext());

    // Assess
    // The run with one record per primary (the run store writes the machines, then the run: its own order), and the incident
    expect((await stores.runs.listMachines(failbackRun)).map((m) => m.machineId).sort()).toEqual(['payments-api', 'payments-db']);
    expect(await stores.runs.getMachine(failbackRun, 'payments-db')).toMatchObject({
      runId: failbackRun, mode: 'recovery', network: PRIMARY, pointId: 'failback-of-i-0aaaaaaaaaaaaaaa1', capturedAt: NOW_ISO, lossMinutes: 0,
      snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0aaaaaaaaaaaaaa11', volumeSize: 50 }, { deviceName: '/dev/sdf', snapshotId: 'snap-0aaaaaaaaaaaaaa12', volumeSize: 50 }],
    });
    expect(await stores.runs.getRun(failbackRun)).toMatchObject({ kind: 'failback', incidentId: incident.incidentId, waves: failover().run.waves });
    expect((await stores.incidents.getIncident(incident.incidentId))?.status).toBe('failing-back');
    expect(await auditTypesOf(stores.audit, incident.incidentId)).toEqual(['failback.started']);
  });

  it('takes no second set of snapshots when a retried task finds the ones it took by their tags', async () => {
    // Prepare: the snapshots of the first attempt exist
    ec2.on(DescribeSnapshotsCommand).callsFake((input: { Filters?: { Name?: string; Values?: string[] }[] }) => ({
      Snapshots: (input.Filters?.find((f) => f.Name === 'volume-id')?.Values ?? []).map((VolumeId) => ({ SnapshotId: `snap-${VolumeId.slice(4)}`, VolumeId, VolumeSize: 50 })),
    }));

    // Act
    await handler(task(), lambdaContext());

    // Assess
    expect(ec2).not.toHaveReceivedCommand(CreateSnapshotsCommand);
    expect(ec2).toHaveReceivedCommandWith(DescribeSnapshotsCommand, {
      OwnerIds: ['self'],
      Filters: expect.arrayContaining([{ Name: 'tag:cleanpoint:incident', Values: [failbackRun] }, { Name: 'volume-id', Values: volumes['i-0aaaaaaaaaaaaaaa1'] }]),
    });
    const machine = await stores.runs.getMachine(failbackRun, 'payments-db');
    expect(machine?.snapshots.map((s) => s.snapshotId)).toEqual(['snap-0aaaaaaaaaaaaaa11', 'snap-0aaaaaaaaaaaaaa12']);
  });

  it('refuses a malformed incidentId with a ValidationError before any call to AWS', async () => {
    // Act
    const error = await rejectionOf(handler({ ...task(), incidentId: 'payments' }, lambdaContext()));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['incidentId']);
    expect(ec2.calls()).toHaveLength(0);
    expect(stores.calls).toEqual([]);
  });
});
