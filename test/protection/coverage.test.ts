import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../domain/shared/index.ts';
import { checkCoverage, coverageFingerprint, coverageOf, GROUP_TAG, machinesWithAnyPoint, renderCoverage, type ObservedInstance } from '../../domain/protection/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { MemoryProtectionStore } from '../../functions/shared/adapters/memory/protection-store.ts';
import { demoIndex, iso, point, RecordingEvents, RecordingNotifier, T0 } from './support.ts';

const index = demoIndex();
const ALL_MACHINES = new Set(index.machineById.keys());

/** Every inventory machine running and tagged with its group, as the demo estate seeds them. */
function estate(): ObservedInstance[] {
  return [...index.machineById.values()].map(({ machine, group }) => ({ instanceId: machine.instanceId, state: 'running', tags: { [GROUP_TAG]: group.name, 'cleanpoint:machine': machine.id } }));
}

describe('coverageOf', () => {
  it('finds no gap when every machine runs, is tagged with its group and has points', () => {
    const report = coverageOf(index, estate(), ALL_MACHINES, T0);
    expect(report).toEqual({ checkedAt: iso(T0), machines: 6, taggedInstances: 6, gaps: [], pointsChecked: true });
  });

  it('reports an instance tagged for a group that the inventory does not list, and says what to do', () => {
    const report = coverageOf(index, [...estate(), { instanceId: 'i-0feedfacecafe0001', state: 'running', tags: { [GROUP_TAG]: 'payments' } }], ALL_MACHINES, T0);
    expect(report.gaps).toEqual([{
      kind: 'unprotected-instance', group: 'payments', instanceId: 'i-0feedfacecafe0001', machineId: null,
      message: 'instance i-0feedfacecafe0001 (running) is tagged cleanpoint:group=payments but is not in the inventory, so it would not be recovered: add it to the machines of group payments, or remove the tag',
    }]);
  });

  it('names a tagged group the inventory does not have, and a tag that contradicts the inventory', () => {
    const instances = estate();
    instances[0]!.tags[GROUP_TAG] = 'crm'; // payments-db-1
    instances.push({ instanceId: 'i-0feedfacecafe0002', state: 'stopped', tags: { [GROUP_TAG]: 'billing' } });
    const gaps = coverageOf(index, instances, ALL_MACHINES, T0).gaps;
    expect(gaps.map((g) => [g.kind, g.group, g.instanceId])).toEqual([
      ['unprotected-instance', 'billing', 'i-0feedfacecafe0002'],
      ['group-mismatch', 'payments', 'i-0aa0000000000db01'],
    ]);
    expect(gaps[0]!.message).toContain('a group the inventory does not have: add group billing to the inventory');
    expect(gaps[1]!.message).toContain('lists it as machine payments-db-1 of group payments');
  });

  it('reports inventory machines whose instance is terminated or gone, and machines without any point', () => {
    const instances = estate().filter((i) => i.instanceId !== 'i-0bb000000000a0101'); // crm-app-1 gone
    instances.find((i) => i.instanceId === 'i-0cc000000000a0101')!.state = 'terminated'; // intranet-web-1
    const withPoints = new Set([...ALL_MACHINES].filter((m) => m !== 'crm-db-1'));
    const gaps = coverageOf(index, instances, withPoints, T0).gaps;
    expect(gaps.map((g) => `${g.kind} ${g.machineId}`)).toEqual(['missing-instance crm-app-1', 'no-recovery-point crm-db-1', 'missing-instance intranet-web-1']);
    expect(gaps[0]!.message).toBe('machine crm-app-1 of group crm: instance i-0bb000000000a0101 does not exist: update its instanceId in the inventory, or remove the machine');
    expect(gaps[2]!.message).toContain('instance i-0cc000000000a0101 is terminated');
  });

  it('never counts machines Cleanpoint launched itself, and skips the point check without a catalogue', () => {
    const launched = { instanceId: 'i-0feedfacecafe0003', state: 'running' as const, tags: { [GROUP_TAG]: 'payments', 'cleanpoint:incident': 'drill-payments-1' } };
    const report = coverageOf(index, [...estate(), launched], null, T0);
    expect(report.gaps).toEqual([]);
    expect(report.pointsChecked).toBe(false);
    expect(renderCoverage(report)).toContain('(the recovery point catalogue was not checked)');
  });
});

describe('coverageFingerprint', () => {
  it('depends on the gaps only, not on their order or the time of the check', () => {
    const extra: ObservedInstance = { instanceId: 'i-0feedfacecafe0001', state: 'running', tags: { [GROUP_TAG]: 'crm' } };
    const a = coverageOf(index, [...estate(), extra], ALL_MACHINES, T0);
    const b = coverageOf(index, [extra, ...estate()], ALL_MACHINES, T0 + 1000);
    expect(coverageFingerprint(a)).toBe(coverageFingerprint(b));
    expect(coverageFingerprint(a)).not.toBe(coverageFingerprint(coverageOf(index, estate(), ALL_MACHINES, T0)));
  });
});

describe('machinesWithAnyPoint', () => {
  it('counts a machine with only quarantined or infected points as having points', async () => {
    const catalog = new InMemoryRecoveryPointCatalog([point('a', T0, { status: 'quarantined' }), point('b', T0 + 86_400_000 * 365)]);
    expect(await machinesWithAnyPoint(catalog, ['a', 'b', 'c'])).toEqual(new Set(['a', 'b']));
  });
});

describe('checkCoverage', () => {
  it('notifies the executors when gaps appear, stays quiet while they stay the same, and says when they are gone', async () => {
    // Prepare
    let instances = estate();
    const environment = { findInstances: async () => structuredClone(instances) };
    const catalog = new InMemoryRecoveryPointCatalog([...ALL_MACHINES].map((m) => point(m, T0 - 60_000)));
    const notifier = new RecordingNotifier();
    const events = new RecordingEvents();
    const check = checkCoverage({ index, environment, catalog, store: new MemoryProtectionStore(), notifier, events, clock: fixedClock(T0) });
    expect(await check()).toMatchObject({ changed: true, notified: false }); // a first check without gaps is recorded silently

    // Act
    instances = [...estate(), { instanceId: 'i-0feedfacecafe0001', state: 'running', tags: { [GROUP_TAG]: 'payments' } }];
    const found = await check();
    const repeated = await check();
    instances = estate();
    const cleared = await check();

    // Assess
    expect(found).toMatchObject({ changed: true, notified: true });
    expect(repeated).toMatchObject({ changed: false, notified: false });
    expect(cleared.changed).toBe(true);
    expect(notifier.sent.map((n) => n.subject)).toEqual(['Protection coverage: 1 gap(s) in payments', 'Protection coverage: no gaps left']);
    expect(notifier.sent[0]).toMatchObject({ kind: 'alarm', recipients: ['eve'] });
    expect(events.published.map((e) => e.detail['gaps'])).toEqual([1, 0]);
    expect(events.published[0]).toEqual({ detailType: 'Protection Coverage Changed', detail: { checkedAt: iso(T0), gaps: 1, byKind: { 'unprotected-instance': 1 }, groups: ['payments'] } });
  });
});
