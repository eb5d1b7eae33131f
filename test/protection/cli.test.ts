import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { coverageCommand, inProcessEstate, instancesFromDescribeOutput, type LocalEstate, type OpenEstate } from '../../cli/commands/coverage.ts';
import { readinessCommand } from '../../cli/commands/readiness.ts';
import { ValidationError } from '../../domain/shared/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { MemoryDrillStore } from '../../functions/shared/adapters/memory/drill-store.ts';
import { demoIndex, demoNetworkFacts, iso, MINUTE, point, T0 } from './support.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-protection-cli-'));
const write = (name: string, value: unknown) => {
  const file = path.join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
};

async function run(command: typeof coverageCommand, argv: string[], openEstate?: OpenEstate) {
  const out: string[] = [];
  const code = await command({ stdout: (t) => out.push(t), stderr: (t) => out.push(t), readStdin: async () => '' }, argv, openEstate);
  return { code, out: out.join('\n') };
}

/** `aws ec2 describe-instances` output for the demo estate's machines, plus any extra instances. */
function describeOutput(extra: { id: string; group: string }[] = []) {
  const index = demoIndex();
  const instances = [
    ...[...index.machineById.values()].map(({ machine, group }) => ({ InstanceId: machine.instanceId, State: { Code: 16, Name: 'running' }, Tags: [{ Key: 'cleanpoint:group', Value: group.name }], InstanceType: 'm6i.large' })),
    ...extra.map((e) => ({ InstanceId: e.id, State: { Code: 16, Name: 'running' }, Tags: [{ Key: 'cleanpoint:group', Value: e.group }] })),
  ];
  return { Reservations: [{ ReservationId: 'r-0123456789abcdef0', OwnerId: '123456789012', Instances: instances }] };
}

describe('cleanpoint coverage --instances (offline, from describe-instances output)', () => {
  it('exits 0 without gaps and 1 with an unprotected instance, printing what to do', async () => {
    const clean = await run(coverageCommand, ['--instances', write('clean.json', describeOutput())]);
    expect(clean.code).toBe(0);
    expect(clean.out).toContain('(the recovery point catalogue was not checked)');
    const gap = await run(coverageCommand, ['--instances', write('gap.json', describeOutput([{ id: 'i-0feedfacecafe0001', group: 'crm' }]))]);
    expect(gap.code).toBe(1);
    expect(gap.out).toContain('instance i-0feedfacecafe0001 (running) is tagged cleanpoint:group=crm but is not in the inventory');
  });

  it('checks recovery points against a catalogue file, and prints JSON', async () => {
    const catalog = write('catalog.json', demoIndex().inventory.groups.flatMap((g) => g.machines).filter((m) => m.id !== 'crm-db-1').map((m) => point(m.id, T0)));
    const r = await run(coverageCommand, ['--instances', write('all.json', describeOutput()), '--catalog', catalog, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as { pointsChecked: boolean; gaps: { kind: string; machineId: string }[] };
    expect(report.pointsChecked).toBe(true);
    expect(report.gaps.map((g) => [g.kind, g.machineId])).toEqual([['no-recovery-point', 'crm-db-1']]);
  });

  it('refuses output that is not describe-instances, and --catalog without --instances', async () => {
    expect(() => instancesFromDescribeOutput({ Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: 'asleep' } }] }] })).toThrow(ValidationError);
    await expect(run(coverageCommand, ['--instances', write('bad.json', { Reservations: 'no' })])).rejects.toThrow(/bad\.json: instances: Reservations/);
    await expect(run(coverageCommand, ['--catalog', 'x.json'])).rejects.toThrow(/--catalog needs --instances/);
  });
});

describe('cleanpoint readiness', () => {
  /** An estate whose facts are given (what the in-process local system would report). */
  const estate = (lastPassed: string | null): OpenEstate => async (_file, use) => {
    const index = demoIndex();
    const network = demoNetworkFacts(index);
    const drills = new MemoryDrillStore();
    if (lastPassed) for (const g of index.groupByName.keys()) await drills.putGroupStatus({ group: g, lastPassedAt: lastPassed, updatedAt: lastPassed });
    const e: LocalEstate = {
      index, drills, now: T0, source: 'a test estate',
      catalog: new InMemoryRecoveryPointCatalog([...index.machineById.keys()].map((m) => point(m, T0 - 5 * MINUTE))),
      environment: {
        findInstances: async () => [], describeNetworks: async () => network, instanceQuota: async () => ({ maxInstances: 50, running: 6 }),
        keyStatus: async () => ({ ok: true, detail: 'ok' }), emailSenderStatus: async () => ({ ok: true, detail: 'ok' }),
      },
    };
    return use(e);
  };

  it('exits 0 when every group is ready and 1 when one is not, listing what to fix', async () => {
    const ready = await run(readinessCommand, [], estate(iso(T0 - MINUTE)));
    expect(ready.code).toBe(0);
    expect(ready.out).toContain('payments: READY');
    const never = await run(readinessCommand, ['crm'], estate(null));
    expect(never.code).toBe(1);
    expect(never.out).toContain('crm: NOT READY');
    expect(never.out).toContain('- group crm has never passed a drill: run one (cleanpoint drills run crm)');
    expect(never.out).not.toContain('payments');
  });

  it('refuses an unknown group and an invalid inventory', async () => {
    await expect(run(readinessCommand, ['billing'], estate(null))).rejects.toThrow('group "billing" is not in the inventory (groups: payments, crm, intranet)');
    await expect(run(readinessCommand, ['--inventory', write('bad.yaml', 'groups: []')], estate(null))).rejects.toThrow(/bad\.yaml: inventory: groups/);
  });

  it('by default checks the demo estate of the inventory in an in-process local system', async () => {
    const r = await run(readinessCommand, ['payments', '--json'], inProcessEstate);
    const out = JSON.parse(r.out) as { source: string; groups: { group: string; ready: boolean; problems: string[] }[] };
    expect(out.source).toBe('the local demo estate seeded in memory from examples/inventory.yaml (not an AWS account)');
    // Freshly seeded: networks, key, quota and points are fine; nobody has drilled yet.
    expect(out.groups).toEqual([{ group: 'payments', ready: false, checkedAt: expect.any(String), items: expect.any(Array), problems: ['group payments has never passed a drill: run one (cleanpoint drills run payments)'] }]);
    expect(r.code).toBe(1);
  }, 30_000);
});
