import { describe, expect, it } from 'vitest';
import { assessFinding, DEFAULT_POLICY, parseFinding, parsePolicy, type Assessment, type Policy } from '../../domain/findings/index.ts';
import { ValidationError } from '../../domain/shared/index.ts';
import { indexInventory, parseInventory, type InventoryIndex } from '../../domain/inventory/index.ts';
import { buildFailoverPlan, launchPacingMinutes, proposeFailover } from '../../domain/failover/index.ts';
import { selectRecoveryPoints, type RecoveryPoint, type Selection } from '../../domain/recovery-points/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { INSTANCES, makeFinding, makeInventory, makePoint, type DeepPartial, type RawFinding, validationError } from '../helpers/fixtures.ts';

const index = indexInventory(parseInventory(makeInventory()));
const EVIDENCE = '2024-05-01T09:30:00.000Z';

/** One available point per machine at 08:00Z and one at 06:00Z. */
function catalogFor(machineIds: string[], extra: RecoveryPoint[] = []) {
  return new InMemoryRecoveryPointCatalog([
    ...machineIds.flatMap((machineId) => [
      makePoint({ machineId, capturedAt: '2024-05-01T08:00:00.000Z' }),
      makePoint({ machineId, capturedAt: '2024-05-01T06:00:00.000Z' }),
    ]),
    ...extra,
  ]);
}

async function selectionFor(groups: { group: string; machines: string[] }[], catalog = catalogFor(groups.flatMap((g) => g.machines))): Promise<Selection> {
  return selectRecoveryPoints({ catalog })({
    groups: groups.map((g) => ({ ...g, cutoff: '2024-05-01T08:30:00.000Z' })),
    evidenceAt: EVIDENCE,
  });
}

async function rejected(promise: Promise<unknown>): Promise<ValidationError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError, but the promise resolved');
}

describe('buildFailoverPlan', () => {
  it('puts machines in their waves and runs the waves in ascending order', async () => {
    // Prepare: the selection lists the wave-2 machines first
    const selection = await selectionFor([{ group: 'payments', machines: ['payments-web', 'payments-api', 'payments-db'] }]);
    // Act
    const plan = buildFailoverPlan(DEFAULT_POLICY, index)({ mode: 'recovery', selection });
    // Assess
    expect(plan.waves).toEqual([
      { wave: 1, machines: ['payments-db'] },
      { wave: 2, machines: ['payments-web', 'payments-api'] },
    ]);
    expect(plan.problems).toEqual([]);
  });

  it('launches into the recovery network in recovery mode and the isolated test network in test mode', async () => {
    // Prepare
    const selection = await selectionFor([{ group: 'payments', machines: ['payments-db'] }]);
    const build = buildFailoverPlan(DEFAULT_POLICY, index);
    // Act
    const recovery = build({ mode: 'recovery', selection });
    const test = build({ mode: 'test', selection });
    // Assess
    expect(recovery.mode).toBe('recovery');
    expect(recovery.machines[0]!.network).toEqual({ subnetId: 'subnet-0a1b2c3d', securityGroupIds: ['sg-0a1b2c3d'] });
    expect(test.mode).toBe('test');
    expect(test.machines[0]!.network).toEqual({ subnetId: 'subnet-0a1b2c3e', securityGroupIds: ['sg-0a1b2c3e'] });
  });

  it('carries what a launch needs for each machine', async () => {
    // Prepare
    const selection = await selectionFor([{ group: 'payments', machines: ['payments-api'] }]);
    // Act
    const plan = buildFailoverPlan(DEFAULT_POLICY, index)({ mode: 'recovery', selection });
    // Assess
    expect(plan.machines[0]).toMatchObject({
      machineId: 'payments-api', group: 'payments', wave: 2, pointId: 'payments-api@2024-05-01T08:00:00.000Z',
      capturedAt: '2024-05-01T08:00:00.000Z', instanceType: 'm6i.large', fallbackInstanceTypes: ['m5.large'],
      snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0123456789abcdef0', volumeSize: 100 }],
    });
  });

  it('reports a problem when a test-mode plan has no isolated test network', async () => {
    // Prepare: ledger has a recovery network only
    const selection = await selectionFor([{ group: 'ledger', machines: ['ledger-db', 'ledger-worker'] }]);
    // Act
    const plan = buildFailoverPlan(DEFAULT_POLICY, index)({ mode: 'test', selection });
    // Assess
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]).toContain('ledger');
    expect(plan.problems[0]).toContain('networks.test');
    expect(plan.machines.map((m) => m.network)).toEqual([null, null]);
  });

  it('does not fall back to the recovery network in test mode', async () => {
    // Prepare
    const selection = await selectionFor([{ group: 'ledger', machines: ['ledger-db'] }]);
    // Act
    const plan = buildFailoverPlan(DEFAULT_POLICY, index)({ mode: 'test', selection });
    // Assess
    expect(plan.machines[0]!.network).toBeNull();
  });

  it('reports a problem when a recovery-mode plan has no recovery network', async () => {
    // Prepare
    const raw = makeInventory();
    delete raw.groups[2]!.networks;
    const noNetworks = indexInventory(parseInventory(raw));
    const selection = await selectionFor([{ group: 'reporting', machines: ['reporting-etl'] }]);
    // Act
    const plan = buildFailoverPlan(DEFAULT_POLICY, noNetworks)({ mode: 'recovery', selection });
    // Assess
    expect(plan.problems).toEqual([expect.stringContaining('networks.recovery')]);
  });

  it('turns every blocker into a problem that names the machine', async () => {
    // Prepare: payments-api has only a quarantined point before the cutoff
    const catalog = new InMemoryRecoveryPointCatalog([
      makePoint({ machineId: 'payments-db', capturedAt: '2024-05-01T08:00:00.000Z' }),
      makePoint({ machineId: 'payments-api', capturedAt: '2024-05-01T08:00:00.000Z', status: 'quarantined' }),
    ]);
    const selection = await selectionFor([{ group: 'payments', machines: ['payments-db', 'payments-api', 'payments-web'] }], catalog);
    // Act
    const plan = buildFailoverPlan(DEFAULT_POLICY, index)({ mode: 'recovery', selection });
    // Assess
    expect(plan.problems).toHaveLength(2);
    expect(plan.problems[0]).toMatch(/^payments-api \(payments\): .*quarantined/);
    expect(plan.problems[1]).toMatch(/^payments-web \(payments\): no recovery point/);
    expect(plan.machines.map((m) => m.machineId)).toEqual(['payments-db']);
  });

  it('refuses a selection naming a machine the inventory does not know', async () => {
    // Prepare
    const selection = await selectionFor([{ group: 'payments', machines: ['ghost'] }]);
    // Act
    const error = validationError(() => buildFailoverPlan(DEFAULT_POLICY, index)({ mode: 'recovery', selection }));
    // Assess
    expect(error.message).toContain('unknown machine ghost');
  });

  describe('RTO estimate', () => {
    it('adds register, boot, status and acceptance checks per wave: 2 waves × (1 + 2 + 3 + 2) = 16 minutes', async () => {
      // Prepare: payments has a group-level check, so every wave runs acceptance checks
      const selection = await selectionFor([{ group: 'payments', machines: ['payments-db', 'payments-api', 'payments-web'] }]);
      // Act
      const plan = buildFailoverPlan(DEFAULT_POLICY, index)({ mode: 'recovery', selection });
      // Assess
      expect(plan.estimatedRtoMinutes).toBe(16);
    });

    it('leaves out acceptance checks for waves without checks: 2 waves × (1 + 2 + 3) = 12 minutes', async () => {
      // Prepare
      const selection = await selectionFor([{ group: 'ledger', machines: ['ledger-db', 'ledger-worker'] }]);
      // Act
      const plan = buildFailoverPlan(DEFAULT_POLICY, index)({ mode: 'recovery', selection });
      // Assess
      expect(plan.estimatedRtoMinutes).toBe(12);
    });

    it('adds launch pacing beyond the first 5 launches and rounds up: 11 machines → 1 + 6/2/60 + 2 + 3 = 6.05 → 7 minutes', async () => {
      // Prepare
      const machines = Array.from({ length: 11 }, (_, i) => ({ id: `web-${i}`, instanceId: `i-0000000000000${String(i).padStart(4, '0')}` }));
      const big = indexInventory(parseInventory({ groups: [{ name: 'web', machines }] }));
      const selection = await selectionFor([{ group: 'web', machines: machines.map((m) => m.id) }]);
      // Act
      const plan = buildFailoverPlan(DEFAULT_POLICY, big)({ mode: 'recovery', selection });
      // Assess
      expect(plan.waves).toHaveLength(1);
      expect(plan.estimatedRtoMinutes).toBe(7);
    });

    it('uses the minutes of the policy file', async () => {
      // Prepare
      const policy = parsePolicy({ rto: { registerImageMinutes: 4, bootMinutes: 5, statusCheckMinutes: 6, acceptanceCheckMinutes: 10 } });
      const selection = await selectionFor([{ group: 'ledger', machines: ['ledger-db'] }]);
      // Act
      const plan = buildFailoverPlan(policy, index)({ mode: 'recovery', selection });
      // Assess: one wave, no checks
      expect(plan.estimatedRtoMinutes).toBe(15);
    });
  });
});

describe('launchPacingMinutes', () => {
  it.each([
    [0, 0], [5, 0], [6, 1 / 120], [125, 1],
  ])('takes %i launches past the RunInstances bucket in %d minutes', (n, minutes) => {
    // Act / Assess
    expect(launchPacingMinutes(n)).toBeCloseTo(minutes, 10);
  });
});

describe('proposeFailover', () => {
  const allMachines = ['payments-db', 'payments-api', 'payments-web', 'ledger-db', 'ledger-worker', 'reporting-etl'];

  function assess(overrides: DeepPartial<RawFinding> = {}, idx: InventoryIndex = index): Assessment {
    return assessFinding(DEFAULT_POLICY, idx)(parseFinding(makeFinding(overrides)));
  }

  function propose(policy: Policy = DEFAULT_POLICY, extra: RecoveryPoint[] = []) {
    return proposeFailover({ policy, index, catalog: catalogFor(allMachines, extra) });
  }

  it('restores every machine of the affected group at the suspected start of corruption by default', async () => {
    // Prepare: suspectedSince is 08:30Z
    const assessment = assess();
    // Act
    const proposal = await propose()(assessment);
    // Assess
    expect(proposal.cutoff).toBe('2024-05-01T08:30:00.000Z');
    expect(proposal.selection.machines.map((m) => m.machineId)).toEqual(['payments-db', 'payments-api', 'payments-web']);
    expect(proposal.plan).toMatchObject({ mode: 'recovery', problems: [] });
  });

  it('restores only the touched machines with scope machines', async () => {
    // Prepare
    const assessment = assess();
    // Act
    const proposal = await propose()(assessment, { scope: 'machines' });
    // Assess
    expect(proposal.selection.machines.map((m) => m.machineId)).toEqual(['payments-db']);
  });

  it('takes the scope from the policy when the request does not set one', async () => {
    // Prepare
    const policy = parsePolicy({ scope: 'machines' });
    // Act
    const proposal = await propose(policy)(assess());
    // Assess
    expect(proposal.selection.machines.map((m) => m.machineId)).toEqual(['payments-db']);
  });

  it('uses the `before` override as the cutoff of every group', async () => {
    // Prepare
    const assessment = assess();
    // Act
    const proposal = await propose()(assessment, { before: '2024-05-01T09:00:00+02:00' });
    // Assess
    expect(proposal.cutoff).toBe('2024-05-01T07:00:00.000Z');
    expect(proposal.selection.groups[0]!.cutoff).toBe('2024-05-01T07:00:00.000Z');
    expect(proposal.selection.machines.every((m) => m.capturedAt === '2024-05-01T06:00:00.000Z')).toBe(true);
  });

  it('uses a per-group cutoff picked by a decider for that group only', async () => {
    // Prepare: the tag adds ledger-db, so two groups are affected
    const assessment = assess({ resource: { instanceDetails: { tags: [{ key: 'cleanpoint:machine', value: 'ledger-db' }] } } });
    // Act
    const proposal = await propose()(assessment, { groupCutoffs: { ledger: '2024-05-01T07:00:00Z' } });
    // Assess
    expect(proposal.selection.groups.map((g) => [g.group, g.cutoff])).toEqual([
      ['payments', '2024-05-01T08:30:00.000Z'],
      ['ledger', '2024-05-01T07:00:00.000Z'],
    ]);
  });

  it.each(['yesterday', '2024-05-01T08:00:00', '2024-05-01'])('refuses a `before` of %j, naming before', async (before) => {
    // Act
    const error = await rejected(propose()(assess(), { before }));
    // Assess
    expect(error.issues.map((i) => i.path)).toEqual(['before']);
  });

  it('refuses a bad per-group cutoff, naming the group', async () => {
    // Act
    const error = await rejected(propose()(assess(), { groupCutoffs: { payments: 'soon' } }));
    // Assess
    expect(error.issues.map((i) => i.path)).toEqual(['groupCutoffs.payments']);
  });

  it('refuses to propose a failover for a finding that touches no protected machine', async () => {
    // Prepare
    const assessment = assess({ resource: { resourceType: 'S3Bucket' } });
    // Act
    const error = await rejected(propose()(assessment));
    // Assess
    expect(error.issues.map((i) => i.path)).toEqual(['suspectedSince']);
  });

  it('plans a sample finding in test mode', async () => {
    // Prepare
    const assessment = assess({ service: { additionalInfo: { sample: true } } });
    // Act
    const proposal = await propose()(assessment);
    // Assess
    expect(proposal.plan.mode).toBe('test');
    expect(proposal.plan.machines[0]!.network?.subnetId).toBe('subnet-0a1b2c3e');
  });

  it('reports a test-mode proposal for a group without a test network as a plan problem', async () => {
    // Prepare
    const assessment = assess({ resource: { instanceDetails: { instanceId: INSTANCES.ledgerWorker } }, service: { additionalInfo: { sample: true } } });
    // Act
    const proposal = await propose()(assessment);
    // Assess
    expect(proposal.plan.problems).toEqual([expect.stringContaining('networks.test')]);
  });

  it('offers the number of alternatives asked for', async () => {
    // Act
    const proposal = await propose()(assess(), { alternatives: 0 });
    // Assess
    expect(proposal.selection.machines.every((m) => m.alternatives.length === 0)).toBe(true);
  });
});
