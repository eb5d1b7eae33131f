import { describe, expect, it } from 'vitest';
import { lifecycleOf, type Drill } from '../../domain/drills/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import type { Run, RunMachine } from '../../domain/failover/index.ts';
import type { GroupReadiness } from '../../domain/protection/index.ts';
import { MemoryProtectionStore } from '../../functions/shared/adapters/memory/protection-store.ts';
import { renderDrillsPage } from '../../local/console/drills.ts';
import { launchChart } from '../../local/console/launch-chart.ts';
import { page } from '../../local/console/layout.ts';
import { machinesPage } from '../../local/console/machines.ts';
import { overviewPage } from '../../local/console/overview.ts';
import { machineLifecycle, readinessBadges, rpoBadges, type MachineView, type ProtectionReader } from '../../local/read-model.ts';
import { DAY, demoIndex, makeDrill, MINUTE, passedDrill, T0 } from '../drills/support.ts';

const machine = (o: Partial<MachineView>): MachineView => ({
  machineId: 'payments-db-1', group: 'payments', wave: 1, instanceId: 'i-0aa0000000000db01', instanceType: 'r6i.large',
  latestPoint: { pointId: 'rp-1', capturedAt: '2026-11-26T09:00:00.000Z', status: 'available', scan: 'clean' },
  latestCleanPoint: { pointId: 'rp-1', capturedAt: '2026-11-26T09:00:00.000Z', status: 'available', scan: 'clean' },
  lifecycle: 'Protected', testMode: false, incidentId: null, pendingIncidentId: null, recovery: null,
  drill: 'Never Tested', drLifecycle: 'Never Tested', lastDrill: null, runningDrillId: null, ...o,
});

/** Each row's DR lifecycle badge, by machine. */
const lifecycles = (html: string) => Object.fromEntries([...html.matchAll(/<tr data-machine="([^"]+)">[\s\S]*?data-lifecycle>([^<]+)<\/span>/g)].map((m) => [m[1], m[2]]));
const rowOf = (html: string, machineId: string) => html.split('<tr data-machine=').find((r) => r.startsWith(`"${machineId}"`)) ?? '';

describe('console pages', () => {
  it('marks a machine recovered in test mode with a TEST badge, and a real recovery without one', () => {
    // Prepare
    const recovery = { instanceId: 'i-0f00000000000001', state: 'running', pointId: 'rp-1', capturedAt: '2026-11-26T09:00:00.000Z' };

    // Act
    const html = machinesPage([
      machine({ machineId: 'in-a-drill', lifecycle: 'Recovered', drLifecycle: 'Recovered', testMode: true, incidentId: 'inc-00000000000000000001', recovery }),
      machine({ machineId: 'for-real', lifecycle: 'Recovered', drLifecycle: 'Recovered', incidentId: 'inc-00000000000000000002', recovery }),
    ]);

    // Assess
    const rows = html.split('<tr data-machine=').slice(1);
    expect(rows[0]).toContain('data-test-mode>TEST</span>');
    expect(rows[1]).not.toContain('data-test-mode');
    expect(rows[1]).toContain('data-lifecycle>Recovered</span>');
  });

  it('draws one bar per launched machine from its launch to its readiness, in minutes since the decision', () => {
    // Prepare: decided at 10:00; db launched at +1 min and ready at +4; api waits for wave 2
    const run: Run = { runId: 'inc-1', kind: 'incident', mode: 'recovery', createdAt: '2026-11-26T10:00:00.000Z', decidedAt: '2026-11-26T10:00:00.000Z', waves: [] };
    const base = { runId: 'inc-1', group: 'payments', mode: 'recovery' as const, pointId: 'rp', capturedAt: '2026-11-26T09:00:00.000Z', lossMinutes: 60, snapshots: [], instanceType: 'r6i.large', fallbackInstanceTypes: [], network: null };
    const machines: RunMachine[] = [
      { ...base, machineId: 'db', wave: 1, launchedAt: '2026-11-26T10:01:00.000Z', readyAt: '2026-11-26T10:04:00.000Z' },
      { ...base, machineId: 'api<1>', wave: 2 },
    ];

    // Act
    const svg = launchChart(run, machines, 30, Date.parse('2026-11-26T10:05:00.000Z'));

    // Assess
    const bars = [...svg.matchAll(/<rect class="boot" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(bars).toHaveLength(1);
    const [[x, width]] = bars as [[number, number]];
    expect(width / (x - 170)).toBeCloseTo(3, 1); // 3 minutes of boot after 1 minute of waiting
    expect(svg).toContain('api&lt;1&gt;');
    expect(svg).toContain('waiting');
    expect(svg).not.toContain('api<1>');
  });

  it('fills the DR lifecycle column from lifecycleOf: drill states per machine, incident states over them, TEST for test-mode runs', () => {
    // Prepare: payments passed a drill 2 days ago, but payments-api-2 failed its acceptance check in it;
    // crm's only drill passed 20 days ago (window 14); intranet was never drilled and a drill of it is running.
    const index = demoIndex();
    const now = T0 + 2 * DAY;
    const payments = passedDrill('drill-payments-a', T0);
    payments.checks = [{ name: 'api-health', type: 'http', machineId: 'payments-api-2', instanceId: 'i-2', runnerMachineId: 'payments-api-1', passed: false, detail: 'HTTP 503', attempts: 3, startedAt: '', finishedAt: '', durationSeconds: 15, timeoutSeconds: 60 }];
    const crm = passedDrill('drill-crm-a', now - 20 * DAY, 'crm', ['crm-db-1', 'crm-app-1']);
    const running = makeDrill({ drillId: 'drill-intranet-r', group: 'intranet', status: 'running', startedAt: new Date(now - 5 * MINUTE).toISOString() });
    const drills: Drill[] = [payments, crm, running];
    // A test-mode failover of crm-app-1 recovered it (an incident, not a drill).
    const incident = { incidentId: 'inc-00000000000000000003', status: 'recovered', groups: ['crm'], mode: 'test' } as Pick<Incident, 'incidentId' | 'status' | 'groups' | 'mode'>;
    const life = (g: string) => lifecycleOf(index.groupByName.get(g)!, drills, [incident], now);
    const views = [...index.inventory.groups].flatMap((g) => g.machines.map((m) => {
      const incidentLifecycle = m.id === 'crm-app-1' ? 'Recovered' as const : null;
      return machine({
        machineId: m.id, group: g.name, ...(incidentLifecycle ? { lifecycle: incidentLifecycle, testMode: true, incidentId: incident.incidentId } : {}),
        ...(m.id === 'intranet-web-1' ? { lifecycle: 'Not Protected' as const, latestCleanPoint: null } : {}),
        ...machineLifecycle(life(g.name), m.id, incidentLifecycle),
      });
    }));

    // Act
    const html = machinesPage(views);

    // Assess: the state of each machine
    expect(lifecycles(html)).toEqual({
      'payments-db-1': 'Tested Recently', 'payments-api-1': 'Tested Recently', 'payments-api-2': 'Drill Failed',
      'crm-db-1': 'Test Overdue', 'crm-app-1': 'Recovered', 'intranet-web-1': 'Never Tested',
    });
    // Tones follow the state; the incident's test mode is marked, and the drill state stays beside it.
    expect(rowOf(html, 'payments-db-1')).toContain('<span class="badge ok" data-lifecycle>Tested Recently</span>');
    expect(rowOf(html, 'payments-api-2')).toContain('<span class="badge bad" data-lifecycle>Drill Failed</span>');
    expect(rowOf(html, 'crm-db-1')).toContain('<span class="badge warn" data-lifecycle>Test Overdue</span>');
    expect(rowOf(html, 'crm-db-1')).not.toContain('data-test-mode');
    expect(rowOf(html, 'crm-app-1')).toContain('data-test-mode>TEST</span>');
    expect(rowOf(html, 'crm-app-1')).toContain('drills: <span data-drill-state>Test Overdue</span>');
    expect(rowOf(html, 'crm-app-1')).toContain('href="/incidents/inc-00000000000000000003"');
    // A running drill is a test-mode failover too; a machine without a usable point says so.
    expect(rowOf(html, 'intranet-web-1')).toMatch(/data-drill-running>drill running<\/span> <span class="badge test" data-test-mode>TEST<\/span>/);
    expect(rowOf(html, 'intranet-web-1')).toContain('data-protection>Not Protected</span>');
    expect(rowOf(html, 'payments-db-1')).not.toMatch(/data-drill-running|data-protection/);
    // The last drill column: when, the machine's own outcome, a link to the drill on the drills page.
    expect(rowOf(html, 'payments-api-2')).toMatch(/data-last-drill>2025-03-02 03:20:00Z <span class="badge bad">failed<\/span>.*href="\/drills\/payments#drill-payments-a"/s);
    expect(rowOf(html, 'crm-db-1')).toContain('<span class="badge ok">passed</span>');
    expect(rowOf(html, 'intranet-web-1')).toContain('<td data-last-drill><span class="muted">never</span></td>');
    expect(html).not.toContain('Drills are not scheduled yet');
  });

  it('renders the drills page in the console frame: lifecycle per group, history, RTO trend, escaped text', () => {
    // Prepare: two payments drills (one passed with an RTO of 12 min, one failed), crm never drilled
    const index = demoIndex();
    const payments = index.groupByName.get('payments')!;
    const crm = index.groupByName.get('crm')!;
    const now = T0 + 2 * DAY;
    const passed = passedDrill('drill-payments-a', T0);
    passed.measurements = { rtoMinutes: 12, waves: [{ wave: 1, machines: 1, readyMinutes: 4, durationMinutes: 3 }], pointAgeMinutes: 10, consistencySkewMinutes: 0, estimatedRtoMinutes: 15, instanceMinutes: 27, instanceMinutesByType: { 'r6i.large': 27 }, instancesLaunched: 3, imagesRegistered: 3 };
    const failed = makeDrill({
      drillId: 'drill-payments-b', startedAt: new Date(T0 + DAY).toISOString(), finishedAt: new Date(T0 + DAY + 30 * MINUTE).toISOString(), result: 'fail',
      reasons: ['check api-health failed: <img src=x onerror=alert(1)>'], cleanup: { status: 'incomplete', at: '', terminated: [], deregistered: [], remaining: ['instance i-0abc (running, m6i.large, payments-api-1)'] },
    });
    const drills = [failed, passed];

    // Act
    const res = page({ title: 'Drills', section: '/drills', now: new Date(now).toISOString() }, renderDrillsPage({
      now: new Date(now).toISOString(), selected: 'payments',
      groups: [
        { group: payments, lifecycle: lifecycleOf(payments, drills, [], now), drills, nextScheduledAt: '2025-03-09T03:00:00.000Z' },
        { group: crm, lifecycle: lifecycleOf(crm, [], [], now), drills: [], nextScheduledAt: new Date(now).toISOString() },
      ],
    }));
    const html = res.body;

    // Assess: the nav marks Drills; every group in the summary, only the selected one in detail
    expect(res.status).toBe(200);
    expect(html).toContain('<a href="/drills" aria-current="page">Drills</a>');
    expect(html).toMatch(/<tr data-group="payments">[\s\S]*?data-lifecycle>Drill Failed<\/span>[\s\S]*?resources left/);
    expect(html).toMatch(/<tr data-group="crm">[\s\S]*?data-lifecycle>Never Tested<\/span>/);
    expect(html).toContain('data-group-detail="payments"');
    expect(html).not.toContain('data-group-detail="crm"');
    // History newest first, each row linkable from the machines page
    expect([...html.matchAll(/<tr data-drill="([^"]+)" id="\1"/g)].map((m) => m[1])).toEqual(['drill-payments-b', 'drill-payments-a']);
    // The RTO trend: one mark per finished drill, the objective as a dashed line
    const svg = html.match(/<svg class="chart"[^>]*data-chart="rto-trend">[\s\S]*?<\/svg>/)?.[0] ?? '';
    expect(svg).toContain('RTO objective 30 min');
    expect(svg.match(/<circle [^>]*data-verdict="pass"/g)).toHaveLength(1);
    expect(svg).toContain('drill-payments-b: fail, no RTO (did not recover)');
    // What people or machines wrote is escaped; the page carries no script
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toMatch(/<script|<img/i);
  });

  it('shows each machine\'s RPO state from the stored RPO states, "RPO not checked" before the monitor looked at it', async () => {
    // Prepare: the monitor saw payments-db-1 in breach, payments-api-1 within its objective and
    // crm-db-1 with DRS replication stalled; it never looked at intranet-web-1.
    const store = new MemoryProtectionStore();
    const last = (ageMinutes: number | null, objectiveMinutes: number) => ({ at: '2026-11-26T10:00:00.000Z', ageMinutes, objectiveMinutes, newestPoint: null });
    await store.openRpoBreach('payments-db-1', { group: 'payments', since: '2026-11-26T09:00:00.000Z', reason: 'it has no available, non-infected recovery point', last: last(null, 60) });
    await store.observeRpo('payments-api-1', { group: 'payments', last: last(12, 60) });
    await store.observeRpo('crm-db-1', { group: 'crm', last: last(30, 240) });
    await store.setReplicationStalled('crm-db-1', { group: 'crm', stalled: true, at: '2026-11-26T10:01:00.000Z' });
    const ids = ['payments-db-1', 'payments-api-1', 'crm-db-1', 'intranet-web-1'];

    // Act
    const html = machinesPage(ids.map((machineId) => machine({ machineId })), await rpoBadges(store, ids));
    const before = machinesPage(ids.map((machineId) => machine({ machineId })), await rpoBadges(new MemoryProtectionStore(), ids));
    const unreadable: ProtectionReader = { listRpoStates: async () => { throw new Error('table <gone>'); }, getReadiness: async () => null };
    const failed = machinesPage([machine({})], await rpoBadges(unreadable, ['payments-db-1']));

    // Assess: one badge per row, its tone following the state, the details in its tooltip
    const rpoOf = (page: string, id: string) => rowOf(page, id).match(/<span class="badge (\w+)" data-rpo title="([^"]*)">([^<]+)<\/span>/)?.slice(1);
    expect(rpoOf(html, 'payments-db-1')).toEqual(['bad', expect.stringContaining('no available, non-infected recovery point (since 2026-11-26T09:00:00.000Z; objective 60 min)'), 'RPO breach']);
    expect(rpoOf(html, 'payments-api-1')).toEqual(['ok', 'newest restorable point 12 min old, objective 60 min (checked 2026-11-26T10:00:00.000Z)', 'RPO ok']);
    expect(rpoOf(html, 'crm-db-1')?.[0]).toBe('warn');
    expect(rpoOf(html, 'crm-db-1')?.[2]).toBe('replication stalled');
    expect(rpoOf(html, 'intranet-web-1')).toEqual(['muted', 'the RPO monitor has not looked at this machine yet', 'RPO not checked']);
    // Before any check every machine says so, and so does a page built without badges
    for (const id of ids) expect(rpoOf(before, id)?.[2]).toBe('RPO not checked');
    expect(rpoOf(machinesPage([machine({})]), 'payments-db-1')?.[2]).toBe('RPO not checked');
    // States that cannot be read leave the page up, the badge unknown, the error escaped in the tooltip
    expect(rpoOf(failed, 'payments-db-1')).toEqual(['muted', 'the stored RPO state could not be read: table &lt;gone&gt;', 'RPO unknown']);
    // The new column does not disturb the lifecycle column
    expect(lifecycles(html)['payments-db-1']).toBe('Never Tested');
  });

  it('shows a readiness badge per group on the overview, "readiness not checked" before the first check', async () => {
    // Prepare: payments passed every check, crm failed one and warned one; intranet was never checked
    const store = new MemoryProtectionStore();
    const report = (group: string, o: Partial<GroupReadiness>): GroupReadiness => ({ group, ready: true, checkedAt: '2026-11-26T03:00:00.000Z', items: [], problems: [], ...o });
    await store.putReadiness(report('payments', { items: [{ check: 'quorum', status: 'pass', messages: [] }] }));
    await store.putReadiness(report('crm', {
      ready: false,
      items: [{ check: 'instance-quota', status: 'fail', messages: ['quota <5> too small'] }, { check: 'drill', status: 'warn', messages: ['no drill for 20 days'] }],
      problems: ['quota <5> too small', 'no drill for 20 days'],
    }));

    // Act
    const overview = (readiness: Awaited<ReturnType<typeof readinessBadges>>) => overviewPage({ incidents: [], approvals: [], machines: [], outbox: [], readiness });
    const html = overview(await readinessBadges(store, ['payments', 'crm', 'intranet']));
    const unreadable: ProtectionReader = { listRpoStates: async () => [], getReadiness: async (g) => { if (g === 'crm') throw new Error('throttled'); return null; } };
    const failed = overview(await readinessBadges(unreadable, ['payments', 'crm']));

    // Assess
    const groupRow = (page: string, group: string) => page.split('<tr data-group=').find((r) => r.startsWith(`"${group}"`)) ?? '';
    const readinessOf = (page: string, group: string) => groupRow(page, group).match(/<span class="badge (\w+)" data-readiness title="[^"]*">([^<]+)<\/span>/)?.slice(1);
    expect(readinessOf(html, 'payments')).toEqual(['ok', 'READY']);
    expect(readinessOf(html, 'crm')).toEqual(['bad', 'NOT READY']);
    expect(readinessOf(html, 'intranet')).toEqual(['muted', 'readiness not checked']);
    expect(groupRow(html, 'crm')).toContain('quota &lt;5&gt; too small <span class="muted">(+1 more)</span>');
    expect(groupRow(html, 'crm')).toContain('2026-11-26 03:00:00Z');
    expect(groupRow(html, 'intranet')).toContain('not checked yet');
    expect(groupRow(html, 'payments')).toContain('<span class="muted">nothing</span>');
    expect(readinessOf(failed, 'crm')).toEqual(['muted', 'readiness unknown']);
    expect(readinessOf(failed, 'payments')).toEqual(['muted', 'readiness not checked']);
    expect(html).not.toMatch(/<script|quota <5>/);
  });
});
