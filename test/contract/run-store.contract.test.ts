/**
 * Contract: RunStore (runs, their machines, the stored proposal). One suite, run against the
 * in-memory fake the handler tests compose with (test/functions/support.ts memoryAdapters) and the
 * DynamoDB adapter on both embedded DynamoDBs, so what those tests read from the fake is what
 * DynamoDB would hold.
 */
import { describe, expect, it } from 'vitest';
import type { Run, RunMachine, StoredProposal } from '../../domain/failover/index.ts';
import type { RunStore } from '../../domain/ports/index.ts';
import { DynamoRunStore } from '../../functions/shared/adapters/dynamodb/run-store.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { embeddedDynamoBackends } from '../helpers/dynamo-backends.ts';
import { thrown, unique } from './contract-fixtures.ts';

function aRun(runId: string, machineIds: string[]): { run: Run; machines: RunMachine[] } {
  const run: Run = {
    runId, kind: 'incident', incidentId: runId, mode: 'recovery', createdAt: '2024-05-01T09:55:00.000Z', decidedAt: '2024-05-01T09:54:00.000Z',
    waves: [{ wave: 1, machines: machineIds }],
  };
  const machines = machineIds.map((machineId): RunMachine => ({
    runId, machineId, group: 'payments', wave: 1, mode: 'recovery', pointId: `${machineId}@2024-05-01T08:00:00.000Z`, capturedAt: '2024-05-01T08:00:00.000Z',
    lossMinutes: 90, snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0123456789abcdef0', volumeSize: 100 }], instanceType: 'r6i.large',
    fallbackInstanceTypes: ['m5.large'], network: { subnetId: 'subnet-0a1b2c3e', securityGroupIds: ['sg-0a1b2c3e'] },
  }));
  return { run, machines };
}

function aProposal(incidentId: string, cutoff = '2024-05-01T08:30:00.000Z'): StoredProposal {
  return { incidentId, createdAt: '2024-05-01T09:47:00.000Z', cutoff, selection: { machines: [], blockers: [] }, plan: { mode: 'recovery', waves: [] } } as unknown as StoredProposal;
}

export function runStoreContract(name: string, makeAdapter: () => Promise<RunStore>): void {
  describe(`RunStore contract: ${name}`, () => {
    it('creates a run with its machines once, and lists the machines by machine id', async () => {
      // Prepare
      const store = await makeAdapter();
      const runId = unique('inc');
      const { run, machines } = aRun(runId, ['payments-web', 'payments-db', 'payments-api']);
      // Act
      const created = await store.createRun(run, machines);
      // Assess
      expect(created).toEqual({ created: true });
      expect(await store.getRun(runId)).toEqual(run);
      expect(await store.getMachine(runId, 'payments-db')).toEqual(machines[1]);
      expect((await store.listMachines(runId)).map((m) => m.machineId)).toEqual(['payments-api', 'payments-db', 'payments-web']);
    });

    it('leaves an existing run and its machines\' progress as they are when the run is created again', async () => {
      // Prepare: a retried task re-creates the run after a machine made progress
      const store = await makeAdapter();
      const runId = unique('inc');
      const { run, machines } = aRun(runId, ['payments-db']);
      await store.createRun(run, machines);
      await store.updateMachine(runId, 'payments-db', { instanceId: 'i-0aaaaaaaaaaaaaaa1' });
      // Act
      const again = await store.createRun({ ...run, mode: 'test' }, [{ ...machines[0]!, instanceType: 'm5.large' }, ...aRun(runId, ['payments-api']).machines]);
      // Assess
      expect(again).toEqual({ created: false });
      expect((await store.getRun(runId))?.mode).toBe('recovery');
      expect(await store.getMachine(runId, 'payments-db')).toMatchObject({ instanceId: 'i-0aaaaaaaaaaaaaaa1', instanceType: 'r6i.large' });
      expect((await store.listMachines(runId)).map((m) => m.machineId)).toEqual(['payments-db']);
    });

    it('updates a machine, removes a field set to undefined, never changes its keys, and returns the machine as stored', async () => {
      // Prepare
      const store = await makeAdapter();
      const runId = unique('inc');
      const { run, machines } = aRun(runId, ['payments-db']);
      await store.createRun(run, machines);
      await store.updateMachine(runId, 'payments-db', { instanceId: 'i-0aaaaaaaaaaaaaaa1', error: 'boot failed' });
      // Act
      const out = await store.updateMachine(runId, 'payments-db', { error: undefined, readyAt: '2024-05-01T10:06:00.000Z', ...({ runId: 'other', machineId: 'other' } as object) });
      // Assess
      const stored = await store.getMachine(runId, 'payments-db');
      expect(out).toEqual(stored);
      expect(stored).toMatchObject({ runId, machineId: 'payments-db', instanceId: 'i-0aaaaaaaaaaaaaaa1', readyAt: '2024-05-01T10:06:00.000Z' });
      expect(stored).not.toHaveProperty('error');
    });

    it('refuses to update a machine the run does not have with NotFoundError, creating nothing', async () => {
      // Prepare
      const store = await makeAdapter();
      const runId = unique('inc');
      const { run, machines } = aRun(runId, ['payments-db']);
      await store.createRun(run, machines);
      // Act
      const error = await thrown(() => store.updateMachine(runId, 'payments-api', { instanceId: 'i-0aaaaaaaaaaaaaaa2' }));
      // Assess
      expect(error.name).toBe('NotFoundError');
      expect(await store.getMachine(runId, 'payments-api')).toBeNull();
    });

    it('answers null for a run, a machine or a proposal it does not have, and lists no machines', async () => {
      // Prepare
      const store = await makeAdapter();
      const runId = unique('inc');
      // Act + Assess
      expect(await store.getRun(runId)).toBeNull();
      expect(await store.getMachine(runId, 'payments-db')).toBeNull();
      expect(await store.listMachines(runId)).toEqual([]);
      expect(await store.getProposal(runId)).toBeNull();
    });

    it('keeps one proposal per incident, replaced on re-selection, and refuses one of another incident', async () => {
      // Prepare
      const store = await makeAdapter();
      const [a, b] = [unique('inc'), unique('inc')];
      await store.saveProposal(a, aProposal(a));
      // Act
      await store.saveProposal(a, aProposal(a, '2024-05-01T07:30:00.000Z'));
      const error = await thrown(() => store.saveProposal(b, aProposal(a)));
      // Assess
      expect((await store.getProposal(a))?.cutoff).toBe('2024-05-01T07:30:00.000Z');
      expect(error.name).toBe('ConflictError');
      expect(await store.getProposal(b)).toBeNull();
    });

    it('hands out copies: changing what it returned or was given changes nothing stored', async () => {
      // Prepare
      const store = await makeAdapter();
      const runId = unique('inc');
      const { run, machines } = aRun(runId, ['payments-db']);
      await store.createRun(run, machines);
      // Act
      machines[0]!.snapshots.push({ deviceName: '/dev/sdf', snapshotId: 'snap-0123456789abcdef1', volumeSize: 1 });
      (await store.getMachine(runId, 'payments-db'))!.snapshots.length = 0;
      // Assess
      expect((await store.getMachine(runId, 'payments-db'))?.snapshots).toHaveLength(1);
    });
  });
}

runStoreContract('MemoryRunStore', async () => new MemoryRunStore());

const backends = embeddedDynamoBackends();
for (const backend of backends.all) {
  runStoreContract(`DynamoRunStore on ${backend.name}`, async () => new DynamoRunStore({ client: backend.db().docClient, tableName: await backend.freshTable('state') }));
}
