import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drillReportHtml, drillReportMarkdown, drillsCommand, type DrillGroupView, type DrillsApi } from '../../cli/commands/drills.ts';
import type { Io } from '../../cli/io.ts';
import { lifecycleOf, type Drill } from '../../domain/drills/index.ts';
import { renderDrillsPage, rtoTrendChart } from '../../local/console/drills.ts';
import { DAY, demoIndex, makeDrill, MINUTE, passedDrill, T0 } from './support.ts';

const index = demoIndex();
const payments = index.groupByName.get('payments')!;
const NOW = T0 + 3 * DAY;

function history(): Drill[] {
  const d1 = passedDrill('drill-payments-1', T0);
  d1.measurements = { rtoMinutes: 8.5, waves: [{ wave: 1, machines: 1, readyMinutes: 4, durationMinutes: 3 }], pointAgeMinutes: 10, consistencySkewMinutes: 0, estimatedRtoMinutes: 15, instanceMinutes: 27, instanceMinutesByType: { 'm6i.large': 18, 'r6i.large': 9 }, instancesLaunched: 3, imagesRegistered: 3 };
  d1.checks = [
    { name: 'postgres', type: 'tcp', machineId: 'payments-db-1', instanceId: 'i-1', runnerMachineId: 'payments-api-1', passed: true, detail: 'port 5432 open', attempts: 1, startedAt: '', finishedAt: new Date(T0 + 5 * MINUTE).toISOString(), durationSeconds: 0.1, timeoutSeconds: 60 },
    { name: 'api-health', type: 'http', machineId: 'payments-api-1', instanceId: 'i-2', runnerMachineId: 'payments-api-2', passed: true, detail: 'HTTP 200', attempts: 2, startedAt: '', finishedAt: new Date(T0 + 5 * MINUTE).toISOString(), durationSeconds: 5, timeoutSeconds: 60 },
  ];
  const d2 = makeDrill({
    drillId: 'drill-payments-2', startedAt: new Date(T0 + DAY).toISOString(), finishedAt: new Date(T0 + DAY + 20 * MINUTE).toISOString(), result: 'fail',
    error: 'MachineCheckFailedError: acceptance checks failed', reasons: ['check api-health on payments-api-1 failed: <script>alert(1)</script>'],
    cleanup: { status: 'clean', at: '', terminated: ['i-3'], deregistered: [], remaining: [] },
    checks: [{ ...d1.checks[1]!, passed: false, detail: 'HTTP 503, expected 200', attempts: 12 }],
  });
  const d3 = passedDrill('drill-payments-3', T0 + 2 * DAY);
  d3.result = 'warn';
  d3.reasons = ['measured RTO 26 min leaves less than 20 % of the 30 min objective'];
  d3.measurements = { ...d1.measurements, rtoMinutes: 26 };
  return [d3, d2, d1]; // newest first, as the store lists them
}

function view(drills = history()): DrillGroupView {
  return { group: 'payments', objectives: payments.objectives ?? null, drillsConfig: payments.drills ?? null, lifecycle: lifecycleOf(payments, drills, [], NOW), drills };
}

describe('renderDrillsPage (console)', () => {
  it('shows the lifecycle, an RTO trend against the objective, the history, the last check results and the points used', () => {
    const v = view();
    const html = renderDrillsPage({ now: new Date(NOW).toISOString(), groups: [{ group: payments, lifecycle: v.lifecycle, drills: v.drills, nextScheduledAt: '2025-03-09T03:00:00.000Z' }] });

    expect(html).toContain('data-lifecycle>Tested Recently</span>');
    expect(html).toContain('data-chart="rto-trend"');
    expect(html.match(/<circle /g)).toHaveLength(2); // the failed drill has no RTO: an × instead
    expect(html).toMatch(/data-verdict="warn"/);
    expect(html).toContain('RTO objective 30 min');
    expect((html.match(/<tr data-drill=/g) ?? []).length).toBe(3);
    expect(html).toContain('<tr data-check="api-health">');
    expect(html).toContain('HTTP 503, expected 200'); // the last drill with checks was the failed one
    expect(html).toContain('data-point="rp-payments-db-1"');
    expect(html).toContain('<code>cron(0 3 ? * SUN *)</code>');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });

  it('says so when a group has never been drilled', () => {
    const html = renderDrillsPage({ now: new Date(NOW).toISOString(), groups: [{ group: payments, lifecycle: lifecycleOf(payments, [], [], NOW), drills: [], nextScheduledAt: null }] });
    expect(html).toContain('data-lifecycle>Never Tested</span>');
    expect(html).toContain('No finished drill yet');
    expect(html).toContain('cleanpoint drills run payments');
  });

  it('draws the objective line above the points that met it', () => {
    const svg = rtoTrendChart(history(), 30);
    const objectiveY = Number(svg.match(/class="objective" x1="\d+" y1="([\d.]+)"/)![1]);
    const ys = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(ys.every((y) => y > objectiveY)).toBe(true); // SVG y grows downwards: below the line = under the objective
  });
});

describe('drill reports (cleanpoint drills report)', () => {
  it('writes Markdown with the history, the trend, the last check results and the points used', () => {
    const md = drillReportMarkdown(view(), new Date(NOW).toISOString());
    expect(md).toMatch(/^# Drill report: payments\n/);
    expect(md).toContain('Lifecycle: **Tested Recently**');
    expect(md).toContain('| 2025-03-04 03:20:00Z | `drill-payments-3` | on demand (eve) | `latest` | PASS WITH WARNINGS | 26 | 10 | - | 27 | clean |');
    expect(md).toContain('| 2025-03-03 03:20:00Z | `drill-payments-2` | on demand (eve) | `latest` | FAIL | - | - | 0/1 | - | clean |');
    expect(md).toContain('## RTO trend');
    expect(md).toMatch(/objective\s+┆/);
    expect(md).toContain('From `drill-payments-2`.');
    expect(md).toContain('| api-health | payments-api-1 | http | FAILED | HTTP 503, expected 200 | 12 |');
    expect(md).toMatch(/2025-03-03 03:20  ×\s+no RTO  FAIL/);
    expect(md).toContain('| payments-db-1 | 1 | `rp-payments-db-1` |');
  });

  it('writes a standalone HTML document with the same SVG chart and no scripts', () => {
    const html = drillReportHtml(view(), new Date(NOW).toISOString());
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('data-chart="rto-trend"');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });
});

describe('cleanpoint drills (command)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-drills-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function harness(over: Partial<DrillsApi> = {}) {
    const out: string[] = [];
    const io: Io = { stdout: (t) => void out.push(t), stderr: (t) => void out.push(`ERR ${t}`), readStdin: async () => '' };
    const calls: unknown[] = [];
    const api: DrillsApi = {
      start: async (i) => { calls.push(['start', i]); return { drillId: 'drill-payments-20250302T032000-beef', executionArn: 'arn' }; },
      list: async (g) => { calls.push(['list', g]); return { now: new Date(NOW).toISOString(), groups: [view()] }; },
      get: async () => ({ drill: history()[0]!, execution: { status: 'SUCCEEDED' } }),
      abort: async (id) => { calls.push(['abort', id]); return {}; },
      tick: async () => ({ runs: [] }),
      ...over,
    };
    return { out, calls, run: (argv: string[]) => drillsCommand(io, argv, () => api, async () => undefined) };
  }

  it('starts a drill with the requested point', async () => {
    const h = harness();
    expect(await h.run(['run', 'payments', '--point', 'random-within:7d'])).toBe(0);
    expect(h.calls).toEqual([['start', { group: 'payments', point: 'random-within:7d' }]]);
    expect(h.out[0]).toContain('Drill drill-payments-20250302T032000-beef of payments started');
  });

  it('refuses an unreadable point before calling anything', async () => {
    const h = harness();
    await expect(h.run(['run', 'payments', '--point', 'yesterday please'])).rejects.toMatchObject({ name: 'UsageError' });
    expect(h.calls).toEqual([]);
  });

  it('waits for the result with --wait and exits 1 when the drill failed', async () => {
    const failed = { ...history()[1]!, status: 'finished' as const };
    const h = harness({ get: async () => ({ drill: failed, execution: { status: 'FAILED', error: 'DrillFailed' } }) });
    expect(await h.run(['run', 'payments', '--wait'])).toBe(1);
    expect(h.out.join('\n')).toContain('Drill drill-payments-2 of payments: FAIL');
    expect(await harness().run(['run', 'payments', '--wait'])).toBe(0);
  });

  it('writes the HTML report to a file and the Markdown report to stdout', async () => {
    const h = harness();
    const file = path.join(dir, 'payments.html');
    expect(await h.run(['report', 'payments', '--format', 'html', '--out', file])).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('data-chart="rto-trend"');
    expect(await h.run(['report', 'payments'])).toBe(0);
    expect(h.out.at(-1)).toMatch(/^# Drill report: payments/);
    await expect(h.run(['report', 'payments', '--format', 'pdf'])).rejects.toMatchObject({ name: 'UsageError' });
  });

  it('lists every group\'s lifecycle and aborts a drill by id', async () => {
    const h = harness();
    expect(await h.run(['list'])).toBe(0);
    expect(h.out[0]).toMatch(/^GROUP\s+LIFECYCLE/);
    expect(h.out[0]).toMatch(/payments\s+Tested Recently\s+drill-payments-3\s+PASS WITH WARNINGS\s+26 min/);
    expect(await h.run(['abort', 'drill-payments-3'])).toBe(0);
    expect(h.calls.at(-1)).toEqual(['abort', 'drill-payments-3']);
  });
});
