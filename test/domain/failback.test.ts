import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../domain/shared/index.ts';
import {
  failbackPlanWhenSnapshotsReady, prepareFailback, recordFailback, recordFailbackNotApproved, retireRunMachines, type Run, type RunMachine,
} from '../../domain/failover/index.ts';
import { closeIncident, failbackRunId, type Incident } from '../../domain/incidents/index.ts';
import { TAG, type InstanceView } from '../../domain/inventory/index.ts';
import type { ComputeProvider } from '../../domain/ports/index.ts';
import type { SnapshotRef, SnapshotInfo } from '../../domain/recovery-points/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore, MemoryRunStore } from '../../functions/shared/adapters/memory/index.ts';
import { makeInventory, type RawInventory } from '../helpers/fixtures.ts';
import { FixedSnapshots, inventoryIndex, makeApprovalFor, makeIncidentFor, rejectionOf, storedProposalFor, pointsFor } from '../functions/support.ts';

/**
 * The failback use cases over the in-memory stores and a fake EC2 (below). The incident
 * recovered payments (db in wave 1, api in wave 2) and ledger (db in wave 1) into their recovery
 * networks; each group also has a primary network to fail back into.
 */

const NOW = Date.parse('2024-05-02T09:00:00.000Z');
const NOW_ISO = new Date(NOW).toISOString();
const PRIMARY = {
  payments: { subnetId: 'subnet-0a1b2c31', securityGroupIds: ['sg-0a1b2c31'] },
  ledger: { subnetId: 'subnet-0a1b2c32', securityGroupIds: ['sg-0a1b2c32'] },
};
const RECOVERY_NETWORK = { subnetId: 'subnet-0a1b2c3d', securityGroupIds: ['sg-0a1b2c3d'] };

/** The test inventory with primary networks for `groups` (default: payments and ledger). */
function estate(groups: (keyof typeof PRIMARY)[] = ['payments', 'ledger']) {
  const raw: RawInventory = makeInventory();
  for (const g of raw.groups) {
    const primary = PRIMARY[g.name as keyof typeof PRIMARY];
    if (primary && groups.includes(g.name as keyof typeof PRIMARY)) g.networks = { ...g.networks, primary };
  }
  return inventoryIndex(raw);
}

/** The recovery machines the failover launched and made ready (the incident run's records). */
const RECOVERY = [
  { machineId: 'payments-db', group: 'payments', wave: 1, instanceId: 'i-0aaaaaaaaaaaaaa01', imageId: 'ami-0aaaaaaaaaaaaaa01', instanceType: 'r6i.large', fallbackInstanceTypes: [] as string[] },
  { machineId: 'payments-api', group: 'payments', wave: 2, instanceId: 'i-0aaaaaaaaaaaaaa02', imageId: 'ami-0aaaaaaaaaaaaaa02', instanceType: 'm6i.large', instanceTypeUsed: 'm5.large', fallbackInstanceTypes: ['m5.large'] },
  { machineId: 'ledger-db', group: 'ledger', wave: 1, instanceId: 'i-0aaaaaaaaaaaaaa03', imageId: 'ami-0aaaaaaaaaaaaaa03', instanceType: 'r6i.xlarge', fallbackInstanceTypes: [] as string[] },
] as const;

/**
 * EC2 as far as failback uses it. snapshotInstance is idempotent by tags, as the EC2 adapter is
 * (a retried task finds the snapshots it took); terminate moves instances to shutting-down
 * unless a test makes them stick.
 */
class FakeEc2 implements ComputeProvider {
  readonly instances = new Map<string, InstanceView>();
  readonly snapshotCalls: { instanceId: string; tags: Record<string, string> }[] = [];
  readonly terminated: string[][] = [];
  readonly deregistered: string[] = [];
  readonly stuck = new Set<string>();
  private readonly taken = new Map<string, SnapshotRef[]>();
  private next = 0;

  run(instanceId: string, tags: Record<string, string> = {}): void {
    this.instances.set(instanceId, { instanceId, state: 'running', statusOk: true, instanceType: 'r6i.large', imageId: 'ami-0ffffffffffffffff', tags });
  }

  state(instanceId: string): string | undefined {
    return this.instances.get(instanceId)?.state;
  }

  async snapshotInstance(instanceId: string, tags: Record<string, string>) {
    this.snapshotCalls.push({ instanceId, tags: { ...tags } });
    if (!this.instances.has(instanceId)) throw new Error(`instance ${instanceId} not found`);
    const key = `${instanceId}|${JSON.stringify(Object.entries(tags).sort())}`;
    if (!this.taken.has(key)) {
      this.next++;
      const id = (n: number) => `snap-0${String(this.next).padStart(3, '0')}${n}000000000000`;
      this.taken.set(key, [{ deviceName: '/dev/xvda', snapshotId: id(1) }, { deviceName: '/dev/sdf', snapshotId: id(2) }]);
    }
    return { snapshots: structuredClone(this.taken.get(key)!) };
  }

  /** The snapshots taken of an instance (by any tags), as the test's expectation. */
  snapshotsOf(instanceId: string): SnapshotRef[] {
    return [...this.taken.entries()].filter(([k]) => k.startsWith(`${instanceId}|`)).flatMap(([, refs]) => structuredClone(refs));
  }

  async terminateInstances(ids: string[]) {
    this.terminated.push([...ids]);
    for (const id of ids) {
      const i = this.instances.get(id);
      if (i && !this.stuck.has(id)) i.state = 'shutting-down';
    }
  }

  async deregisterImage(imageId: string) {
    this.deregistered.push(imageId);
  }

  async describeInstances(ids: string[]) {
    return ids.flatMap((id) => (this.instances.has(id) ? [structuredClone(this.instances.get(id)!)] : []));
  }

  async registerImage(): Promise<never> { throw new Error('failback use cases do not register images'); }
  async runInstance(): Promise<never> { throw new Error('failback use cases do not launch'); }
  async findTagged(): Promise<never> { throw new Error('failback use cases do not search by tag'); }
}

async function world(options: { status?: Incident['status']; index?: ReturnType<typeof estate>; recovered?: boolean } = {}) {
  const index = options.index ?? estate();
  const incident = makeIncidentFor(index, {}, { status: options.status ?? 'recovered', groups: ['payments', 'ledger'], machines: ['payments-db', 'ledger-db'] });
  const incidentId = incident.incidentId;
  const incidents = new MemoryIncidentStore();
  await incidents.createIncident(incident);
  for (const g of incident.groups) await incidents.claimGroup(g, incidentId);
  const runs = new MemoryRunStore();
  const audit = new MemoryAuditLog();
  const approvals = new MemoryApprovalStore();
  const compute = new FakeEc2();
  const clock = fixedClock(NOW);
  const failover: Run = {
    runId: incidentId, kind: 'incident', incidentId, mode: 'recovery', createdAt: '2024-05-01T09:55:00.000Z', decidedAt: '2024-05-01T09:54:00.000Z',
    waves: [{ wave: 1, machines: ['payments-db', 'ledger-db'] }, { wave: 2, machines: ['payments-api'] }],
  };
  const recovery: RunMachine[] = RECOVERY.map((r) => ({
    runId: incidentId, machineId: r.machineId, group: r.group, wave: r.wave, mode: 'recovery', pointId: `${r.machineId}@2024-05-01T08:00:00.000Z`,
    capturedAt: '2024-05-01T08:00:00.000Z', lossMinutes: 90, snapshots: [{ deviceName: '/dev/xvda', snapshotId: `snap-0${r.wave}00000000000000b` }],
    instanceType: r.instanceType, fallbackInstanceTypes: [...r.fallbackInstanceTypes], network: RECOVERY_NETWORK,
    ...(options.recovered === false ? {} : {
      imageId: r.imageId, instanceId: r.instanceId, launchedAt: '2024-05-01T10:00:00.000Z', readyAt: '2024-05-01T10:06:00.000Z',
      ...('instanceTypeUsed' in r ? { instanceTypeUsed: r.instanceTypeUsed } : { instanceTypeUsed: r.instanceType }),
    }),
  }));
  await runs.createRun(failover, recovery);
  for (const r of RECOVERY) compute.run(r.instanceId, { [TAG.incident]: incidentId, [TAG.machine]: r.machineId, [TAG.mode]: 'recovery' });
  const runId = failbackRunId(incidentId);
  return {
    incident, incidentId, runId, index, incidents, runs, audit, approvals, compute, clock,
    prepare: prepareFailback({ incidents, runs, audit, compute, index, clock }),
    retire: retireRunMachines({ runs, compute, audit, clock }),
    record: recordFailback({ incidents, runs, audit, clock }),
    notApproved: recordFailbackNotApproved({ incidents, approvals, audit, clock }),
    close: closeIncident({ incidents, audit, clock }),
    status: async () => (await incidents.getIncident(incidentId))?.status,
    auditTypes: async () => (await audit.list(incidentId)).map((e) => e.type),
    /** Every snapshot the fake took is complete (EBS finished copying). */
    snapshotsDone: async (state: SnapshotInfo['state'] = 'completed') => {
      const ids = (await runs.listMachines(runId)).flatMap((m) => m.snapshots.map((s) => s.snapshotId));
      return new FixedSnapshots(ids.map((snapshotId) => ({ snapshotId, state, startTime: NOW_ISO, tags: {} })));
    },
    /** What the failover machine does for a failback run: launch each primary and check it. */
    launchPrimaries: async (ready: Record<string, boolean>) => {
      let n = 0;
      for (const m of await runs.listMachines(runId)) {
        const instanceId = `i-0bbbbbbbbbbbbbb${String(++n).padStart(2, '0')}`;
        compute.run(instanceId, { [TAG.incident]: runId, [TAG.machine]: m.machineId });
        await runs.updateMachine(runId, m.machineId, { instanceId, imageId: `ami-0bbbbbbbbbbbbbb${String(n).padStart(2, '0')}`, launchedAt: NOW_ISO, ...(ready[m.machineId] ? { readyAt: NOW_ISO } : {}) });
      }
    },
  };
}

describe('prepareFailback', () => {
  it('snapshots every recovery machine and stores a failback run with one record per machine in its group\'s primary network', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });

    // Assess
    expect(out).toEqual({ runId: `failback-${w.incidentId}`, waitSeconds: 30 });
    expect(await w.runs.getRun(w.runId)).toEqual({
      runId: w.runId, kind: 'failback', incidentId: w.incidentId, mode: 'recovery', createdAt: NOW_ISO, decidedAt: NOW_ISO,
      waves: [{ wave: 1, machines: ['payments-db', 'ledger-db'] }, { wave: 2, machines: ['payments-api'] }],
    });
    const machines = await w.runs.listMachines(w.runId);
    expect(machines).toEqual([
      {
        runId: w.runId, machineId: 'ledger-db', group: 'ledger', wave: 1, mode: 'recovery', pointId: 'failback-of-i-0aaaaaaaaaaaaaa03', capturedAt: NOW_ISO,
        lossMinutes: 0, snapshots: w.compute.snapshotsOf('i-0aaaaaaaaaaaaaa03'), instanceType: 'r6i.xlarge', fallbackInstanceTypes: [], network: PRIMARY.ledger,
      },
      {
        runId: w.runId, machineId: 'payments-api', group: 'payments', wave: 2, mode: 'recovery', pointId: 'failback-of-i-0aaaaaaaaaaaaaa02', capturedAt: NOW_ISO,
        lossMinutes: 0, snapshots: w.compute.snapshotsOf('i-0aaaaaaaaaaaaaa02'), instanceType: 'm5.large', fallbackInstanceTypes: ['m5.large'], network: PRIMARY.payments,
      },
      {
        runId: w.runId, machineId: 'payments-db', group: 'payments', wave: 1, mode: 'recovery', pointId: 'failback-of-i-0aaaaaaaaaaaaaa01', capturedAt: NOW_ISO,
        lossMinutes: 0, snapshots: w.compute.snapshotsOf('i-0aaaaaaaaaaaaaa01'), instanceType: 'r6i.large', fallbackInstanceTypes: [], network: PRIMARY.payments,
      },
    ]);
    expect(await w.status()).toBe('failing-back');
  });

  it('tags each snapshot with the failback run, the machine and the failback kind', async () => {
    // Prepare
    const w = await world();

    // Act
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });

    // Assess
    expect(w.compute.snapshotCalls.map((c) => [c.instanceId, c.tags]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual(RECOVERY.map((r) => [
      r.instanceId, { [TAG.incident]: w.runId, [TAG.machine]: r.machineId, [TAG.kind]: 'failback' },
    ]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
  });

  it('audits the start once: who asked, and each machine with the data it comes from, its new snapshots and its primary subnet', async () => {
    // Prepare
    const w = await world();

    // Act
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });

    // Assess
    const entries = await w.audit.list(w.incidentId);
    expect(entries.map((e) => e.type)).toEqual(['failback.started']);
    const machines = await w.runs.listMachines(w.runId);
    expect(entries[0]).toMatchObject({
      actor: 'carol', at: NOW_ISO,
      data: {
        runId: w.runId,
        machines: machines.map((m) => ({ machineId: m.machineId, from: m.pointId, snapshots: m.snapshots.map((s) => s.snapshotId), subnetId: m.network?.subnetId })),
      },
    });
  });

  it('is idempotent when the task is retried: the same snapshots, one run, one audit entry, still failing back', async () => {
    // Prepare: the first attempt finished, but Step Functions did not see its result
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    const first = await w.runs.listMachines(w.runId);

    // Act
    const again = await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });

    // Assess
    expect(again).toEqual({ runId: w.runId, waitSeconds: 30 });
    expect(await w.runs.listMachines(w.runId)).toEqual(first);
    const tagsPerInstance = new Map<string, string[]>();
    for (const c of w.compute.snapshotCalls) tagsPerInstance.set(c.instanceId, [...(tagsPerInstance.get(c.instanceId) ?? []), JSON.stringify(c.tags)]);
    for (const tags of tagsPerInstance.values()) expect(new Set(tags).size).toBe(1);
    expect(await w.auditTypes()).toEqual(['failback.started']);
    expect(await w.status()).toBe('failing-back');
  });

  it('keeps one failback per incident: a concurrent second preparation finds the run of the first and starts nothing new', async () => {
    // Prepare
    const w = await world();

    // Act: two executions prepare at the same moment
    const [a, b] = await Promise.all([
      w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' }),
      w.prepare({ incidentId: w.incidentId, requestedBy: 'dave' }),
    ]);

    // Assess
    expect(a.runId).toBe(b.runId);
    expect(await w.runs.listMachines(w.runId)).toHaveLength(3);
    const started = (await w.audit.list(w.incidentId)).filter((e) => e.type === 'failback.started');
    expect(started).toHaveLength(1);
  });

  it.each<Incident['status']>(['proposed', 'awaiting-approval', 'approved', 'failing-over', 'failover-failed', 'reinfected', 'rejected', 'closed'])(
    'refuses an incident that is %s with ConflictError and touches nothing',
    async (status) => {
      // Prepare
      const w = await world({ status });

      // Act
      const error = await rejectionOf(w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' }));

      // Assess
      expect(error.name).toBe('ConflictError');
      expect(error.message).toContain(`incident is ${status}; only a recovered incident can fail back`);
      expect(w.compute.snapshotCalls).toEqual([]);
      expect(await w.runs.getRun(w.runId)).toBeNull();
      expect(await w.auditTypes()).toEqual([]);
      expect(await w.status()).toBe(status);
    },
  );

  it('refuses an incident it does not know with NotFoundError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.prepare({ incidentId: 'inc-ffffffffffffffffffff', requestedBy: 'carol' }));

    // Assess
    expect(error.name).toBe('NotFoundError');
    expect(w.compute.snapshotCalls).toEqual([]);
  });

  it('refuses a recovered incident whose machines were never made ready with ConflictError', async () => {
    // Prepare
    const w = await world({ recovered: false });

    // Act
    const error = await rejectionOf(w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' }));

    // Assess
    expect(error.name).toBe('ConflictError');
    expect(error.message).toContain('no recovered machines');
    expect(w.compute.snapshotCalls).toEqual([]);
    expect(await w.status()).toBe('recovered');
  });

  it('refuses with a ValidationError naming the group whose primary network is missing, before snapshotting anything', async () => {
    // Prepare: ledger has no primary network in the inventory
    const w = await world({ index: estate(['payments']) });

    // Act
    const error = await rejectionOf(w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(error.issues).toEqual([{ path: 'groups.ledger.networks.primary', message: 'no primary network to fail ledger-db back into' }]);
    expect(w.compute.snapshotCalls).toEqual([]);
    expect(await w.runs.getRun(w.runId)).toBeNull();
    expect(await w.auditTypes()).toEqual([]);
    expect(await w.status()).toBe('recovered');
  });

  // Found by these unit tests: every attempt used failbackRunId(incidentId), so a retry after a
  // failed failback kept the first attempt's records (its snapshots, and primaries that Remove
  // Failback Primaries had terminated, still recorded as ready): the retry could "verify" a
  // terminated primary and retire the recovery machines that serve production. Failed before the
  // fix (each attempt now has a run of its own: failbackAttempt / failbackRunId(id, attempt)).
  it('a failback retried after a failed one snapshots the recovery machines afresh and plans new primaries', async () => {
    // Prepare: attempt 1 launched primaries, payments-db verified, payments-api did not; the
    // failback machine removed the primaries and recorded the failure
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    const firstSnapshots = (await w.runs.listMachines(w.runId)).flatMap((m) => m.snapshots.map((s) => s.snapshotId));
    await w.launchPrimaries({ 'payments-db': true, 'ledger-db': true });
    await w.retire({ runId: w.runId });
    await w.record({ incidentId: w.incidentId, result: 'failed', error: 'MachineCheckFailedError: payments-api impaired' });
    expect(await w.status()).toBe('failback-pending');
    w.clock.advance(3_600_000);

    // Act: attempt 2, an hour later (the recovery machines served production meanwhile)
    const second = await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });

    // Assess: a run of its own; no record carries a terminated primary; the snapshots are new ones
    expect(second.runId).toBe(`${w.runId}-2`);
    const machines = await w.runs.listMachines(second.runId);
    expect(machines.map((m) => [m.machineId, m.instanceId ?? null, m.readyAt ?? null])).toEqual([
      ['ledger-db', null, null], ['payments-api', null, null], ['payments-db', null, null],
    ]);
    expect(machines.flatMap((m) => m.snapshots.map((s) => s.snapshotId)).filter((id) => firstSnapshots.includes(id))).toEqual([]);
    expect((await w.audit.list(w.incidentId)).filter((e) => e.type === 'failback.started')).toHaveLength(2);
  });
});

describe('failbackPlanWhenSnapshotsReady', () => {
  it('plans the primaries in the failover\'s waves once every failback snapshot is complete', async () => {
    // Prepare
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    const snapshots = await w.snapshotsDone();

    // Act
    const plan = await failbackPlanWhenSnapshotsReady({ runs: w.runs, snapshots })({ runId: w.runId });

    // Assess
    const item = (machineId: string) => ({ runId: w.runId, kind: 'failback', mode: 'recovery', machineId });
    expect(plan).toEqual({
      runId: w.runId, kind: 'failback', mode: 'recovery',
      waves: [{ wave: 1, machines: [item('payments-db'), item('ledger-db')] }, { wave: 2, machines: [item('payments-api')] }],
    });
    expect(snapshots.asked).toEqual([(await w.runs.listMachines(w.runId)).flatMap((m) => m.snapshots.map((s) => s.snapshotId))]);
  });

  it('throws MachineNotReadyError, counting them, while snapshots are pending', async () => {
    // Prepare
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    const snapshots = await w.snapshotsDone('pending');

    // Act
    const error = await rejectionOf(failbackPlanWhenSnapshotsReady({ runs: w.runs, snapshots })({ runId: w.runId }));

    // Assess: 3 machines × 2 volumes
    expect(error.name).toBe('MachineNotReadyError');
    expect(error.message).toBe('6 failback snapshot(s) not complete yet');
  });

  it('counts a snapshot EC2 no longer knows as not complete', async () => {
    // Prepare: one snapshot of the run is missing from EC2's answer
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    const ids = (await w.runs.listMachines(w.runId)).flatMap((m) => m.snapshots.map((s) => s.snapshotId));
    const snapshots = new FixedSnapshots(ids.slice(1).map((snapshotId) => ({ snapshotId, state: 'completed', startTime: NOW_ISO, tags: {} })));

    // Act
    const error = await rejectionOf(failbackPlanWhenSnapshotsReady({ runs: w.runs, snapshots })({ runId: w.runId }));

    // Assess
    expect(error.name).toBe('MachineNotReadyError');
    expect(error.message).toBe('1 failback snapshot(s) not complete yet');
  });

  it('refuses a run it does not know with NotFoundError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(failbackPlanWhenSnapshotsReady({ runs: w.runs, snapshots: new FixedSnapshots([]) })({ runId: w.runId }));

    // Assess
    expect(error.name).toBe('NotFoundError');
  });
});

describe('retireRunMachines', () => {
  it('is the only step that removes a machine: preparing, waiting for snapshots and recording a failure terminate nothing', async () => {
    // Prepare
    const w = await world();

    // Act: the failback up to the point where the primaries would be verified, and then fails
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    const waiting = await rejectionOf(failbackPlanWhenSnapshotsReady({ runs: w.runs, snapshots: await w.snapshotsDone('pending') })({ runId: w.runId }));
    await failbackPlanWhenSnapshotsReady({ runs: w.runs, snapshots: await w.snapshotsDone() })({ runId: w.runId });
    await w.record({ incidentId: w.incidentId, result: 'failed', error: 'States.Timeout' });

    // Assess
    expect(waiting.name).toBe('MachineNotReadyError');
    expect(w.compute.terminated).toEqual([]);
    expect(w.compute.deregistered).toEqual([]);
    for (const r of RECOVERY) expect(w.compute.state(r.instanceId)).toBe('running');
  });

  it('after a verified failback retires exactly this incident\'s recovery machines and their images, and audits it', async () => {
    // Prepare: the primaries are verified; another incident's recovery machine runs in the same account
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    await w.launchPrimaries({ 'payments-db': true, 'payments-api': true, 'ledger-db': true });
    const other: Run = { runId: 'inc-ffffffffffffffffffff', kind: 'incident', incidentId: 'inc-ffffffffffffffffffff', mode: 'recovery', createdAt: NOW_ISO, decidedAt: NOW_ISO, waves: [{ wave: 1, machines: ['reporting-etl'] }] };
    await w.runs.createRun(other, [{ ...(await w.runs.listMachines(w.incidentId))[0]!, runId: other.runId, machineId: 'reporting-etl', instanceId: 'i-0ccccccccccccccc1', imageId: 'ami-0ccccccccccccccc1' }]);
    w.compute.run('i-0ccccccccccccccc1');
    const primaries = (await w.runs.listMachines(w.runId)).map((m) => m.instanceId!);

    // Act
    const out = await w.retire({ runId: w.incidentId });

    // Assess
    expect(out).toEqual({
      terminated: ['i-0aaaaaaaaaaaaaa03', 'i-0aaaaaaaaaaaaaa02', 'i-0aaaaaaaaaaaaaa01'],
      deregistered: ['ami-0aaaaaaaaaaaaaa03', 'ami-0aaaaaaaaaaaaaa02', 'ami-0aaaaaaaaaaaaaa01'],
    });
    expect(w.compute.terminated).toEqual([out.terminated]);
    expect(w.compute.deregistered).toEqual(out.deregistered);
    for (const id of primaries) expect(w.compute.state(id)).toBe('running');
    expect(w.compute.state('i-0ccccccccccccccc1')).toBe('running');
    const entries = await w.audit.list(w.incidentId);
    expect(entries.at(-1)).toMatchObject({
      type: 'failback.recovery-retired', actor: 'cleanpoint', at: NOW_ISO,
      data: { runId: w.incidentId, terminated: out.terminated, deregistered: out.deregistered, left: [] },
    });
  });

  it('after a failed failback removes only the primaries it launched: the recovery machines keep running', async () => {
    // Prepare: payments-api never launched, so only two primaries exist
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    await w.launchPrimaries({ 'payments-db': true });
    await w.runs.updateMachine(w.runId, 'payments-api', { instanceId: undefined, imageId: undefined, launchedAt: undefined });
    const launched = (await w.runs.listMachines(w.runId)).flatMap((m) => (m.instanceId ? [m.instanceId] : []));

    // Act
    const out = await w.retire({ runId: w.runId });

    // Assess
    expect(launched).toHaveLength(2);
    expect(out.terminated).toEqual(launched);
    for (const r of RECOVERY) expect(w.compute.state(r.instanceId)).toBe('running');
    expect(w.compute.deregistered.filter((id) => id.startsWith('ami-0aaaa'))).toEqual([]);
    expect((await w.audit.list(w.incidentId)).at(-1)).toMatchObject({ type: 'failback.primaries-removed', data: { runId: w.runId, terminated: launched, left: [] } });
  });

  it('deregisters an image shared by two machines once', async () => {
    // Prepare
    const w = await world();
    await w.runs.updateMachine(w.incidentId, 'payments-api', { imageId: 'ami-0aaaaaaaaaaaaaa01' });

    // Act
    const out = await w.retire({ runId: w.incidentId });

    // Assess
    expect(out.deregistered).toEqual(['ami-0aaaaaaaaaaaaaa03', 'ami-0aaaaaaaaaaaaaa01']);
    expect(w.compute.deregistered).toEqual(out.deregistered);
  });

  it('throws CleanupIncompleteError naming a machine still running after termination, and audits what is left first', async () => {
    // Prepare
    const w = await world();
    w.compute.stuck.add('i-0aaaaaaaaaaaaaa02');

    // Act
    const error = await rejectionOf(w.retire({ runId: w.incidentId }));

    // Assess
    expect(error.name).toBe('CleanupIncompleteError');
    expect(error.message).toContain('i-0aaaaaaaaaaaaaa02');
    expect((await w.audit.list(w.incidentId)).at(-1)).toMatchObject({ type: 'failback.recovery-retired', data: { left: ['i-0aaaaaaaaaaaaaa02'] } });
  });

  it('terminates nothing for a run without instances', async () => {
    // Prepare: the failback run before any primary launched
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });

    // Act
    const out = await w.retire({ runId: w.runId });

    // Assess
    expect(out).toEqual({ terminated: [], deregistered: [] });
    expect(w.compute.terminated).toEqual([]);
  });

  it('refuses a run it does not know with NotFoundError and terminates nothing', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.retire({ runId: 'failback-inc-ffffffffffffffffffff' }));

    // Assess
    expect(error.name).toBe('NotFoundError');
    expect(w.compute.terminated).toEqual([]);
  });
});

describe('recordFailback', () => {
  it('on completion closes the incident with the failback outcome and releases its groups', async () => {
    // Prepare
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    await w.launchPrimaries({ 'payments-db': true, 'payments-api': true, 'ledger-db': true });
    const primaries = new Map((await w.runs.listMachines(w.runId)).map((m) => [m.machineId, m.instanceId]));
    await w.retire({ runId: w.incidentId });
    w.clock.advance(5 * 60_000);
    const at = new Date(NOW + 5 * 60_000).toISOString();

    // Act
    const outcome = await w.record({ incidentId: w.incidentId, result: 'completed' });

    // Assess
    expect(outcome).toEqual({
      result: 'completed', runId: w.runId, startedAt: NOW_ISO, finishedAt: at,
      machines: RECOVERY.map((r) => ({ machineId: r.machineId, primaryInstanceId: primaries.get(r.machineId), retiredInstanceId: r.instanceId }))
        .sort((a, b) => a.machineId.localeCompare(b.machineId)),
    });
    const stored = await w.incidents.getIncident(w.incidentId);
    expect(stored).toMatchObject({ status: 'closed', failback: outcome, updatedAt: at, closure: { by: 'cleanpoint', at, reason: 'failed back to the primary environment', withFailback: true } });
    expect(await w.incidents.claimGroup('payments', 'inc-ffffffffffffffffffff')).toBe('inc-ffffffffffffffffffff');
    expect(await w.incidents.claimGroup('ledger', 'inc-ffffffffffffffffffff')).toBe('inc-ffffffffffffffffffff');
    expect((await w.audit.list(w.incidentId)).at(-1)).toMatchObject({ type: 'failback.completed', actor: 'cleanpoint', at, data: { runId: w.runId, machines: outcome.machines } });
  });

  it('on failure keeps the incident failback-pending, the groups held and the recovery machines recorded as not retired', async () => {
    // Prepare: one primary verified, one not
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    await w.launchPrimaries({ 'payments-db': true });

    // Act
    const outcome = await w.record({ incidentId: w.incidentId, result: 'failed', error: 'x'.repeat(3000) });

    // Assess
    const byMachine = new Map(outcome.machines.map((m) => [m.machineId, m]));
    expect(byMachine.get('payments-db')?.primaryInstanceId).toMatch(/^i-0b/);
    expect(byMachine.get('payments-api')?.primaryInstanceId).toBeNull();
    expect(outcome.machines.every((m) => m.retiredInstanceId === null)).toBe(true);
    expect(outcome.error).toHaveLength(2000);
    expect(await w.incidents.getIncident(w.incidentId)).toMatchObject({ status: 'failback-pending', failback: outcome });
    expect(await w.incidents.claimGroup('payments', 'inc-ffffffffffffffffffff')).toBe(w.incidentId);
    for (const r of RECOVERY) expect(w.compute.state(r.instanceId)).toBe('running');
    expect((await w.audit.list(w.incidentId)).at(-1)).toMatchObject({
      type: 'failback.failed', data: { runId: w.runId, error: outcome.error, note: 'recovery machines kept running' },
    });
  });

  it('records a failure before any failback run exists (the approval step failed): pending again, started when it finished', async () => {
    // Prepare
    const w = await world();

    // Act
    const outcome = await w.record({ incidentId: w.incidentId, result: 'failed', error: 'States.TaskFailed: boom' });

    // Assess
    expect(outcome).toMatchObject({ result: 'failed', startedAt: NOW_ISO, finishedAt: NOW_ISO, error: 'States.TaskFailed: boom' });
    expect(outcome.machines.map((m) => [m.primaryInstanceId, m.retiredInstanceId])).toEqual([[null, null], [null, null], [null, null]]);
    expect(await w.status()).toBe('failback-pending');
  });

  it('writes the audit entry before the incident changes, so whoever sees the new status finds its record', async () => {
    // Prepare: an incident store that notes what the audit log holds when the status is written
    const w = await world();
    await w.prepare({ incidentId: w.incidentId, requestedBy: 'carol' });
    const seen: string[][] = [];
    const incidents = Object.assign(Object.create(w.incidents) as MemoryIncidentStore, {
      updateIncident: async (...args: Parameters<MemoryIncidentStore['updateIncident']>) => {
        seen.push(await w.auditTypes());
        return w.incidents.updateIncident(...args);
      },
    });

    // Act
    await recordFailback({ incidents, runs: w.runs, audit: w.audit, clock: w.clock })({ incidentId: w.incidentId, result: 'completed' });

    // Assess
    expect(seen).toEqual([['failback.started', 'failback.completed']]);
  });
});

describe('recordFailbackNotApproved', () => {
  it('after a rejection leaves the incident as it was with its recovery machines and audits who said no and why', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.notApproved({ incidentId: w.incidentId, why: 'ApprovalRejected: the attacker may still be in the primary network', timedOut: false });

    // Assess
    expect(out).toEqual({ status: 'recovered', expired: [] });
    expect(await w.status()).toBe('recovered');
    expect(w.compute.snapshotCalls).toEqual([]);
    expect(w.compute.terminated).toEqual([]);
    expect((await w.audit.list(w.incidentId))).toEqual([expect.objectContaining({
      type: 'failback.not-approved', actor: 'cleanpoint', at: NOW_ISO,
      data: { outcome: 'rejected', reason: 'ApprovalRejected: the attacker may still be in the primary network', status: 'recovered', note: 'recovery machines kept running' },
    })]);
  });

  it('after a timeout expires the pending request so no channel shows it open, and says nobody decided', async () => {
    // Prepare: a pending failback request of this incident, and one of another incident
    const w = await world({ status: 'failback-pending' });
    const proposal = await storedProposalFor(w.index, w.incident, pointsFor(w.index, 'payments'));
    await w.approvals.createApproval(makeApprovalFor(w.incident, proposal, { approvalId: 'pending-failback-000000001' }));
    const other = { ...w.incident, incidentId: 'inc-ffffffffffffffffffff' };
    await w.approvals.createApproval(makeApprovalFor(other, proposal, { approvalId: 'pending-failback-000000002' }));

    // Act
    const out = await w.notApproved({ incidentId: w.incidentId, why: 'nobody decided in time', timedOut: true });

    // Assess
    expect(out).toEqual({ status: 'failback-pending', expired: ['pending-failback-000000001'] });
    expect((await w.approvals.getApproval('pending-failback-000000001'))?.status).toBe('expired');
    expect((await w.approvals.getApproval('pending-failback-000000002'))?.status).toBe('pending');
    expect(await w.auditTypes()).toEqual(['approval.expired', 'failback.not-approved']);
    expect((await w.audit.list(w.incidentId)).at(-1)?.data).toMatchObject({ outcome: 'nobody decided in time', status: 'failback-pending' });
    expect(await w.status()).toBe('failback-pending');
  });

  it('bounds the reason it keeps to 2,000 characters', async () => {
    // Prepare
    const w = await world();

    // Act
    await w.notApproved({ incidentId: w.incidentId, why: 'y'.repeat(5000), timedOut: false });

    // Assess
    expect(String((await w.audit.list(w.incidentId))[0]?.data['reason'])).toHaveLength(2000);
  });

  it('refuses an incident it does not know with NotFoundError and audits nothing', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.notApproved({ incidentId: 'inc-ffffffffffffffffffff', why: 'no', timedOut: false }));

    // Assess
    expect(error.name).toBe('NotFoundError');
    expect(await w.audit.list('inc-ffffffffffffffffffff')).toEqual([]);
  });
});

describe('closeIncident', () => {
  it('closes a recovered incident without failback with its reason, releases the groups and audits it', async () => {
    // Prepare
    const w = await world();

    // Act
    const closed = await w.close({ incidentId: w.incidentId, by: 'carol', reason: '  the primary site is being rebuilt  ' });

    // Assess
    expect(closed).toMatchObject({ status: 'closed', closure: { by: 'carol', at: NOW_ISO, reason: 'the primary site is being rebuilt', withFailback: false } });
    expect(await w.incidents.claimGroup('payments', 'inc-ffffffffffffffffffff')).toBe('inc-ffffffffffffffffffff');
    expect((await w.audit.list(w.incidentId))).toEqual([expect.objectContaining({
      type: 'incident.closed', actor: 'carol', at: NOW_ISO, data: { reason: 'the primary site is being rebuilt', withFailback: false },
    })]);
    expect(w.compute.terminated).toEqual([]);
  });

  it('refuses to close without a reason with a ValidationError on reason', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.close({ incidentId: w.incidentId, by: 'carol', reason: '   ' }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(error.issues?.map((i) => i.path)).toEqual(['reason']);
    expect(await w.status()).toBe('recovered');
  });

  // Closing while a run is still going (failing-over, failing-back, approved) stops the run and
  // closes: test/domain/close-any-state.test.ts.

  it('returns an incident that is already closed as it is, without a second audit entry', async () => {
    // Prepare
    const w = await world();
    const first = await w.close({ incidentId: w.incidentId, by: 'carol', reason: 'done' });

    // Act
    const again = await w.close({ incidentId: w.incidentId, by: 'dave', reason: 'again' });

    // Assess
    expect(again).toEqual(first);
    expect(await w.auditTypes()).toEqual(['incident.closed']);
  });
});
