import { describe, expect, it } from 'vitest';
import type { Run, RunMachine } from '../../domain/ports.ts';
import { launchChart } from '../../local/console/launch-chart.ts';
import { machinesPage } from '../../local/console/machines.ts';
import type { MachineView } from '../../local/read-model.ts';

const machine = (o: Partial<MachineView>): MachineView => ({
  machineId: 'payments-db-1', group: 'payments', wave: 1, instanceId: 'i-0aa0000000000db01', instanceType: 'r6i.large',
  latestPoint: { pointId: 'rp-1', capturedAt: '2026-11-26T09:00:00.000Z', status: 'available', scan: 'clean' },
  latestCleanPoint: { pointId: 'rp-1', capturedAt: '2026-11-26T09:00:00.000Z', status: 'available', scan: 'clean' },
  lifecycle: 'Protected', testMode: false, incidentId: null, pendingIncidentId: null, recovery: null, drill: 'Never Tested', ...o,
});

describe('console pages', () => {
  it('marks a machine recovered in test mode with a TEST badge, and a real recovery without one', () => {
    // Prepare
    const recovery = { instanceId: 'i-0f00000000000001', state: 'running', pointId: 'rp-1', capturedAt: '2026-11-26T09:00:00.000Z' };

    // Act
    const html = machinesPage([
      machine({ machineId: 'in-a-drill', lifecycle: 'Recovered', testMode: true, incidentId: 'inc-00000000000000000001', recovery }),
      machine({ machineId: 'for-real', lifecycle: 'Recovered', incidentId: 'inc-00000000000000000002', recovery }),
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
});
