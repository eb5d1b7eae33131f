import { describe, expect, it } from 'vitest';
import { fixedClock, NotFoundError } from '../../domain/shared/index.ts';
import type { InventoryIndex } from '../../domain/inventory/index.ts';
import type { RecoveryEnvironment } from '../../domain/ports/index.ts';
import { checkReadiness, readinessBadgeOf, readinessOf, renderReadiness, rpoStatusOf, type ReadinessFacts } from '../../domain/protection/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { MemoryProtectionStore } from '../../functions/shared/adapters/memory/protection-store.ts';
import { DAY, demoIndex, demoNetworkFacts, iso, MINUTE, point, RecordingEvents, RecordingNotifier, T0 } from './support.ts';

const ok = { ok: true, detail: 'fine' };

/** Facts under which every group of the demo estate is ready at T0. */
function facts(index: InventoryIndex = demoIndex()): ReadinessFacts {
  return {
    index, network: demoNetworkFacts(index), quota: { maxInstances: 100, running: 10 }, emailSender: ok,
    key: { keyId: 'alias/cleanpoint-recovery', outcome: ok }, lastPassedDrillAt: iso(T0 - DAY),
    rpo: [...index.machineById.values()].map(({ machine, group }) => rpoStatusOf({ machine, group, newestPoint: { pointId: 'p', capturedAt: iso(T0 - 5 * MINUTE) }, stalled: false, now: T0 })),
  };
}

const failed = (r: ReturnType<typeof readinessOf>) => r.items.filter((i) => i.status === 'fail').map((i) => i.check);
const warned = (r: ReturnType<typeof readinessOf>) => r.items.filter((i) => i.status === 'warn').map((i) => i.check);

describe('readinessOf', () => {
  it('is ready when every check passes, with one item per check', () => {
    const r = readinessOf('payments', facts(), T0);
    expect(r).toMatchObject({ group: 'payments', ready: true, checkedAt: iso(T0), problems: [] });
    expect(r.items.map((i) => i.check)).toEqual(['deciders', 'quorum', 'recovery-network', 'test-network', 'test-isolation', 'kms-key', 'instance-quota', 'drill', 'recovery-points']);
    expect(r.items.every((i) => i.status === 'pass')).toBe(true);
  });

  it('fails when the test subnet does not exist, naming the subnet and what to fix', () => {
    const f = facts();
    f.network.subnets = f.network.subnets.filter((s) => s.subnetId !== 'subnet-0c000000000000001');
    const r = readinessOf('payments', f, T0);
    expect(r.ready).toBe(false);
    expect(failed(r)).toEqual(['test-network', 'test-isolation']);
    expect(r.problems[0]).toBe('test subnet subnet-0c000000000000001 of group payments does not exist: create it or fix networks.test in the inventory');
  });

  it('fails when a security group is missing or in another VPC than the subnet, or the subnet is too small', () => {
    const f = facts();
    f.network.securityGroups = f.network.securityGroups.filter((g) => g.groupId !== 'sg-0b000000000000001');
    f.network.securityGroups.find((g) => g.groupId === 'sg-0c000000000000001')!.vpcId = 'vpc-0bbbbbbbbbbbbbbbb';
    f.network.subnets.find((s) => s.subnetId === 'subnet-0c000000000000001')!.availableIpAddressCount = 2;
    const r = readinessOf('payments', f, T0);
    expect(failed(r)).toEqual(['recovery-network', 'test-network']);
    expect(r.problems).toEqual([
      'recovery security group sg-0b000000000000001 of group payments does not exist: create it or fix networks.recovery in the inventory',
      'test subnet subnet-0c000000000000001 of group payments has 2 free address(es) for 3 machine(s): free addresses or use a larger subnet',
      "test security group sg-0c000000000000001 of group payments is in vpc-0bbbbbbbbbbbbbbbb, not in the subnet's vpc-0aaaaaaaaaaaaaaaa, so EC2 refuses the launch: use a security group of vpc-0aaaaaaaaaaaaaaaa",
    ]);
  });

  it.each([
    ['an internet gateway', { destination: '0.0.0.0/0', target: 'igw-0123456789abcdef0', kind: 'internet-gateway' as const }],
    ['a NAT gateway', { destination: '0.0.0.0/0', target: 'nat-0123456789abcdef0', kind: 'nat-gateway' as const }],
    ['a peering connection', { destination: '10.1.0.0/16', target: 'pcx-0123456789abcdef0', kind: 'vpc-peering' as const }],
    ['a transit gateway', { destination: '10.2.0.0/16', target: 'tgw-0123456789abcdef0', kind: 'transit-gateway' as const }],
  ])('fails test isolation when the test subnet routes out of its VPC through %s', (_what, route) => {
    const f = facts();
    f.network.routes['subnet-0c000000000000001']!.push(route);
    const r = readinessOf('payments', f, T0);
    expect(failed(r)).toEqual(['test-isolation']);
    expect(r.problems).toEqual([`test subnet subnet-0c000000000000001 of group payments has a route ${route.destination} → ${route.target} (${route.kind}) out of its VPC, so test machines could reach production or the internet: remove the route or associate an isolated route table`]);
  });

  it('accepts gateway endpoints (AWS services) in the test route table', () => {
    const f = facts();
    f.network.routes['subnet-0c000000000000001']!.push({ destination: 'pl-63a5400a', target: 'vpce-0123456789abcdef0', kind: 'vpc-endpoint' });
    expect(readinessOf('payments', f, T0).ready).toBe(true);
  });

  it('fails when a group has no test or recovery network at all', () => {
    const index = demoIndex((raw) => { delete ((raw['groups'] as Record<string, Record<string, unknown>>[])[2]!['networks'] as Record<string, unknown>)['test']; });
    const r = readinessOf('intranet', facts(index), T0);
    expect(failed(r)).toEqual(['test-network', 'test-isolation']);
    expect(r.problems[0]).toBe('group intranet has no test network, so drills and test-mode failovers have nowhere isolated to launch: add networks.test to the inventory');
  });

  it('fails the quorum when too few deciders can be reached, and says which ones cannot', () => {
    const index = demoIndex((raw) => {
      const people = raw['people'] as Record<string, unknown>[];
      delete people[2]!['slackUserId']; delete people[2]!['email']; // dom
      ((raw['groups'] as Record<string, Record<string, unknown>>[])[0]!['approval'] as Record<string, unknown>)['quorum'] = 2;
    });
    const r = readinessOf('payments', facts(index), T0);
    expect(failed(r)).toEqual(['quorum']);
    expect(warned(r)).toEqual(['deciders']);
    expect(r.problems).toEqual([
      'the approval quorum 2 of group payments cannot be met: 1 of its 2 decider(s) can be reached (dev): make more deciders reachable, add deciders, or lower approval.quorum',
      'decider dom of group payments has neither a Slack user id nor an e-mail address: add slackUserId or email to people',
    ]);
  });

  it('counts e-mail-only deciders as unreachable when the sender is not verified, and warns when it could not be checked', () => {
    const f = facts(); // intranet's only decider is dev (Slack); crm's is dom (Slack)
    const index = demoIndex((raw) => { delete (raw['people'] as Record<string, unknown>[])[1]!['slackUserId']; }); // dev: e-mail only
    const unverified = readinessOf('intranet', { ...facts(index), emailSender: { ok: false, detail: 'SES sender x is not a verified identity' } }, T0);
    expect(failed(unverified)).toEqual(['deciders', 'quorum']);
    expect(unverified.problems[0]).toBe('decider dev of group intranet can only be reached by e-mail, and e-mail cannot be sent (SES sender x is not a verified identity): fix the sender, or add a slackUserId');
    const unknown = readinessOf('intranet', { ...facts(index), emailSender: { ok: null, detail: 'AccessDenied' } }, T0);
    expect(unknown.ready).toBe(true);
    expect(warned(unknown)).toEqual(['deciders']);
    expect(readinessOf('crm', f, T0).ready).toBe(true);
  });

  it('fails without deciders at all', () => {
    const index = demoIndex((raw) => { delete (raw['groups'] as Record<string, unknown>[])[2]!['deciders']; });
    expect(failed(readinessOf('intranet', facts(index), T0))).toEqual(['deciders', 'quorum']);
  });

  it('fails an unusable key, warns about one that could not be verified, and fails without a key', () => {
    const f = facts();
    expect(readinessOf('crm', { ...f, key: { keyId: 'alias/k', outcome: { ok: false, detail: 'key is disabled' } } }, T0).problems)
      .toEqual(['KMS key alias/k cannot encrypt the recovery volumes of group crm (key is disabled): enable the key or fix kmsKeyId']);
    const unknown = readinessOf('crm', { ...f, key: { keyId: 'alias/k', outcome: { ok: null, detail: 'not checked' } } }, T0);
    expect([unknown.ready, warned(unknown)]).toEqual([true, ['kms-key']]);
    expect(failed(readinessOf('crm', { ...f, key: { keyId: null, outcome: { ok: false, detail: '' } } }, T0))).toEqual(['kms-key']);
  });

  it('fails when the instance quota leaves no room for the whole group', () => {
    const r = readinessOf('payments', { ...facts(), quota: { maxInstances: 20, running: 18 } }, T0);
    expect(r.problems).toEqual(['EC2 instance quota: 18 of 20 instances run, so only 2 more can start and group payments needs 3: request a quota increase or stop unneeded instances']);
    expect(warned(readinessOf('payments', { ...facts(), quota: null }, T0))).toEqual(['instance-quota']);
  });

  it('fails a group never drilled, or drilled longer ago than its maxDaysBetweenDrills', () => {
    expect(readinessOf('payments', { ...facts(), lastPassedDrillAt: null }, T0).problems).toEqual(['group payments has never passed a drill: run one (cleanpoint drills run payments)']);
    expect(readinessOf('payments', { ...facts(), lastPassedDrillAt: iso(T0 - 9 * DAY) }, T0).problems)
      .toEqual(['the last passing drill of group payments was 9 day(s) ago, more than drills.maxDaysBetweenDrills (7): run a drill (cleanpoint drills run payments)']);
    expect(readinessOf('crm', { ...facts(), lastPassedDrillAt: iso(T0 - 9 * DAY) }, T0).ready).toBe(true); // crm allows 14 days
  });

  it('fails when a machine has no restorable point within the RPO', () => {
    const f = facts();
    const payments = f.index.groupByName.get('payments')!;
    f.rpo = f.rpo.map((o) => (o.machineId === 'payments-db-1' ? rpoStatusOf({ machine: { id: 'payments-db-1' }, group: payments, newestPoint: { pointId: 'p', capturedAt: iso(T0 - 150 * MINUTE) }, stalled: false, now: T0 }) : o));
    expect(readinessOf('payments', f, T0).problems).toEqual([
      'machine payments-db-1 of group payments is outside its 60 min RPO: its newest restorable recovery point is 2.5 h old, more than the 60 min objective: check its snapshots or DRS replication',
    ]);
  });

  it('refuses an unknown group', () => {
    expect(() => readinessOf('billing', facts(), T0)).toThrow(NotFoundError);
  });

  it('gives the console a badge: ready, ready with warnings, not ready, not checked', () => {
    expect(readinessBadgeOf(readinessOf('payments', facts(), T0))).toEqual({ text: 'READY', tone: 'ok', title: `every check passed (checked ${iso(T0)})` });
    expect(readinessBadgeOf(readinessOf('payments', { ...facts(), quota: null }, T0))).toMatchObject({ text: 'ready (warnings)', tone: 'warn' });
    expect(readinessBadgeOf(readinessOf('payments', { ...facts(), lastPassedDrillAt: null }, T0))).toEqual({
      text: 'NOT READY', tone: 'bad', title: `1 check(s) failed (checked ${iso(T0)}): group payments has never passed a drill: run one (cleanpoint drills run payments)`,
    });
    expect(readinessBadgeOf(null).tone).toBe('muted');
  });

  it('renders each group with its failed items and what to fix', () => {
    const text = renderReadiness([readinessOf('payments', { ...facts(), lastPassedDrillAt: null }, T0)]);
    expect(text).toContain('payments: NOT READY');
    expect(text).toContain('  FAIL drill\n         - group payments has never passed a drill');
  });
});

describe('checkReadiness', () => {
  const index = demoIndex();
  const network = demoNetworkFacts(index);
  const environment: RecoveryEnvironment = {
    findInstances: async () => [],
    describeNetworks: async (q) => ({
      subnets: network.subnets.filter((s) => q.subnetIds.includes(s.subnetId)),
      securityGroups: network.securityGroups.filter((g) => q.securityGroupIds.includes(g.groupId)),
      routes: Object.fromEntries(Object.entries(network.routes).filter(([k]) => q.subnetIds.includes(k))),
    }),
    instanceQuota: async () => ({ maxInstances: 100, running: 5 }),
    keyStatus: async (keyId) => ({ ok: keyId === 'alias/cleanpoint-recovery', detail: keyId }),
    emailSenderStatus: async () => ok,
  };
  const catalog = new InMemoryRecoveryPointCatalog([...index.machineById.keys()].map((m) => point(m, T0 - 5 * MINUTE)));

  it('gathers the facts, stores each report, publishes a change of readiness and tells executors what to fix', async () => {
    // Prepare: payments passed a drill yesterday, the others never did
    const store = new MemoryProtectionStore();
    const notifier = new RecordingNotifier();
    const events = new RecordingEvents();
    const deps = {
      index, environment, catalog, store, notifier, events, clock: fixedClock(T0),
      lastPassedDrillAt: async (g: string) => (g === 'payments' ? iso(T0 - DAY) : null),
    };

    // Act
    const run = await checkReadiness(deps)({ notify: true });
    const again = await checkReadiness(deps)({ groups: ['payments'] });

    // Assess
    expect(run.reports.map((r) => [r.group, r.ready])).toEqual([['payments', true], ['crm', false], ['intranet', false]]);
    expect(run.changed).toEqual(['payments', 'crm', 'intranet']);
    expect(run.notified).toEqual(['crm', 'intranet']);
    expect(notifier.sent[0]).toMatchObject({ kind: 'alarm', recipients: ['eve'], subject: 'Readiness of crm: NOT READY (1 check(s) failed)' });
    expect(notifier.sent[0]!.text).toContain('- group crm has never passed a drill');
    expect(await store.getReadiness('crm')).toEqual(run.reports[1]);
    expect(again).toMatchObject({ changed: [], notified: [] });
    expect(events.published.map((e) => [e.detail['group'], e.detail['ready']])).toEqual([['payments', true], ['crm', false], ['intranet', false]]);
  });

  it('uses the inventory key first, the deployment key otherwise', async () => {
    const noKey = demoIndex((raw) => { delete raw['kmsKeyId']; });
    const deps = {
      index: noKey, environment, catalog, store: new MemoryProtectionStore(), notifier: new RecordingNotifier(), events: new RecordingEvents(),
      clock: fixedClock(T0), lastPassedDrillAt: async () => iso(T0), defaultKeyId: 'alias/other',
    };
    const [r] = (await checkReadiness(deps)({ groups: ['crm'] })).reports;
    expect(r!.problems).toEqual(['KMS key alias/other cannot encrypt the recovery volumes of group crm (alias/other): enable the key or fix kmsKeyId']);
    await expect(checkReadiness(deps)({ groups: ['billing'] })).rejects.toBeInstanceOf(NotFoundError);
  });
});
