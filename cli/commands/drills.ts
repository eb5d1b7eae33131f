import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parsePointSpec, type Drill, type GroupLifecycle } from '../../domain/drills/index.ts';
import type { Group } from '../../domain/inventory/index.ts';
import { rtoTrendChart, resultBadge, lifecycleTone } from '../../local/console/drills.ts';
import { badge, e, minutes, time } from '../../local/console/html.ts';
import { UsageError, type Io } from '../io.ts';
import { columns, LocalApi, shortTime, URL_OPTION } from '../local-api.ts';

export const DRILLS_USAGE = [
  'cleanpoint drills run GROUP [--point latest|random-within:7d|POINT_ID|ISO] [--wait] [--url URL] [--json]',
  '  cleanpoint drills list [GROUP] [--url URL] [--json]',
  '  cleanpoint drills show DRILL_ID [--url URL] [--json]',
  '  cleanpoint drills report GROUP [--format md|html] [--out FILE] [--url URL]',
  '  cleanpoint drills abort DRILL_ID [--url URL]',
  '  cleanpoint drills tick [--url URL]',
].join('\n');

export interface DrillGroupView {
  group: string;
  objectives: Group['objectives'] | null;
  drillsConfig: Group['drills'] | null;
  lifecycle: GroupLifecycle;
  drills: Drill[];
}

/** What the command needs from a running Cleanpoint (the local server's /local/drills API by default). */
export interface DrillsApi {
  start(input: { group: string; point: string }): Promise<{ drillId: string; executionArn: string }>;
  list(group?: string): Promise<{ now: string; groups: DrillGroupView[] }>;
  get(drillId: string): Promise<{ drill: Drill; execution: { status: string; error?: string; cause?: string } | null }>;
  abort(drillId: string): Promise<unknown>;
  tick(): Promise<{ runs: unknown[] }>;
}

export function httpDrillsApi(url: string): DrillsApi {
  const api = new LocalApi(url);
  return {
    start: (input) => api.post('/local/drills', { ...input, requestedBy: process.env['USER'] ?? 'cli' }, 'drills run'),
    list: (group) => api.get(`/local/drills${group ? `?group=${encodeURIComponent(group)}` : ''}`, 'drills list'),
    get: (drillId) => api.get(`/local/drills/${encodeURIComponent(drillId)}`, 'drills show'),
    abort: (drillId) => api.post(`/local/drills/${encodeURIComponent(drillId)}/abort`, {}, 'drills abort'),
    tick: () => api.post('/local/schedules/tick', {}, 'drills tick'),
  };
}

/**
 * `cleanpoint drills ...`: run a drill now, list the groups' drill lifecycle, show one drill,
 * write a group's drill report (Markdown or HTML), abort a running drill, run the schedule tick.
 * Exit codes: 0 ok; with `run --wait`, 1 when the drill failed or left resources behind.
 */
export async function drillsCommand(io: Io, argv: string[], makeApi: (url: string) => DrillsApi = httpDrillsApi, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      ...URL_OPTION, json: { type: 'boolean', default: false }, point: { type: 'string', default: 'latest' }, wait: { type: 'boolean', default: false },
      format: { type: 'string', default: 'md' }, out: { type: 'string' },
    },
  });
  const [sub, arg, ...extra] = positionals;
  const need = (what: string) => { if (!arg || extra.length) throw new UsageError(`expected "drills ${sub} ${what}"\nusage: ${DRILLS_USAGE}`); return arg; };
  const api = () => makeApi(values.url);
  switch (sub) {
    case 'run': {
      const group = need('GROUP');
      try { parsePointSpec(values.point); } catch (e) { throw new UsageError(`--point: ${(e as Error).message.replace(/^point: /, '')}`); }
      const a = api();
      const started = await a.start({ group, point: values.point });
      if (!values.wait) {
        io.stdout(values.json ? JSON.stringify(started, null, 2) : `Drill ${started.drillId} of ${group} started (point ${values.point}).\nFollow it: cleanpoint drills show ${started.drillId}`);
        return 0;
      }
      for (;;) {
        await sleep(500);
        const { drill, execution } = await a.get(started.drillId);
        if (execution && execution.status !== 'RUNNING') {
          io.stdout(values.json ? JSON.stringify(drill, null, 2) : renderDrill(drill));
          return drill.result === 'fail' || drill.cleanup?.status !== 'clean' ? 1 : 0;
        }
      }
    }
    case 'list': {
      if (extra.length) throw new UsageError(`expected "drills list [GROUP]"\nusage: ${DRILLS_USAGE}`);
      const data = await api().list(arg);
      io.stdout(values.json ? JSON.stringify(data, null, 2) : renderList(data.groups));
      return 0;
    }
    case 'show': {
      const { drill, execution } = await api().get(need('DRILL_ID'));
      io.stdout(values.json ? JSON.stringify({ drill, execution }, null, 2) : `${renderDrill(drill)}${execution ? `\nExecution: ${execution.status}${execution.error ? ` (${execution.error})` : ''}` : ''}`);
      return 0;
    }
    case 'report': {
      const group = need('GROUP');
      if (values.format !== 'md' && values.format !== 'html') throw new UsageError(`--format must be md or html, not ${JSON.stringify(values.format)}`);
      const data = await api().list(group);
      const view = data.groups[0];
      if (!view) throw new UsageError(`no group ${group}`);
      const text = values.format === 'html' ? drillReportHtml(view, data.now) : drillReportMarkdown(view, data.now);
      if (values.out) {
        await writeFile(values.out, text);
        io.stdout(`Wrote the ${values.format === 'html' ? 'HTML' : 'Markdown'} drill report of ${group} to ${values.out}`);
      } else io.stdout(text);
      return 0;
    }
    case 'abort': {
      const drillId = need('DRILL_ID');
      await api().abort(drillId);
      io.stdout(`Drill ${drillId} stopped; its cleanup starts now (everything tagged with it is terminated or deregistered).`);
      return 0;
    }
    case 'tick': {
      if (arg) throw new UsageError(`expected "drills tick"\nusage: ${DRILLS_USAGE}`);
      const out = await api().tick();
      io.stdout(JSON.stringify(out.runs, null, 2));
      return 0;
    }
    default:
      throw new UsageError(`expected one of run, list, show, report, abort, tick\nusage: ${DRILLS_USAGE}`);
  }
}

const RESULT_TEXT = { pass: 'PASS', warn: 'PASS WITH WARNINGS', fail: 'FAIL' } as const;
const verdictText = (d: Pick<Drill, 'status' | 'result'>) => (d.status === 'running' ? 'RUNNING' : d.status === 'aborted' ? 'ABORTED' : RESULT_TEXT[d.result ?? 'fail']);
const num = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(v));

function renderList(groups: DrillGroupView[]): string {
  return columns([
    ['GROUP', 'LIFECYCLE', 'LAST DRILL', 'RESULT', 'RTO', 'LAST PASSED', 'DUE BY', 'SCHEDULE'],
    ...groups.map((g) => {
      const last = g.drills[0];
      return [
        g.group, g.lifecycle.state, last?.drillId ?? '-', last ? verdictText(last) : '-', last ? `${num(last.measurements?.rtoMinutes)} min` : '-',
        shortTime(g.lifecycle.lastPassedAt), shortTime(g.lifecycle.dueBy), g.drillsConfig?.schedule ?? 'on demand',
      ];
    }),
  ]);
}

export function renderDrill(d: Drill): string {
  const m = d.measurements;
  const lines = [
    `Drill ${d.drillId} of ${d.group}: ${verdictText(d)}`,
    `  started ${shortTime(d.startedAt)} (${d.trigger === 'schedule' ? 'schedule' : `on demand by ${d.requestedBy}`}), point ${d.pointSpec}${d.cutoff ? ` (cutoff ${shortTime(d.cutoff)})` : ''}`,
  ];
  if (m) {
    lines.push(`  RTO ${num(m.rtoMinutes)} min${d.objectives ? ` (objective ${d.objectives.rtoMinutes})` : ''}; point age ${num(m.pointAgeMinutes)} min${d.objectives ? ` (RPO objective ${d.objectives.rpoMinutes})` : ''}`);
    for (const w of m.waves) lines.push(`  wave ${w.wave}: ${w.machines} machine(s), ready at +${num(w.readyMinutes)} min (took ${num(w.durationMinutes)} min)`);
    lines.push(`  ${m.instancesLaunched} instance(s), ${m.instanceMinutes} instance-minutes, ${m.imagesRegistered} image(s)`);
  }
  for (const c of d.checks) lines.push(`  check ${c.name} on ${c.machineId}: ${c.passed ? 'passed' : 'FAILED'} (${c.detail})`);
  for (const r of d.reasons) lines.push(`  ! ${r}`);
  if (d.cleanup) lines.push(`  cleanup: ${d.cleanup.status}${d.cleanup.remaining.length ? ` — LEFT: ${d.cleanup.remaining.join('; ')}` : ''}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The report: history, RTO trend against the objective, last result per check, points used.

/** A table cell / list item: pipes escaped, one line, no raw HTML for Markdown renderers to run. */
const md = (s: unknown) => String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function drillReportMarkdown(g: DrillGroupView, now: string): string {
  const l = g.lifecycle;
  const o = g.objectives;
  const out: string[] = [
    `# Drill report: ${g.group}`, '',
    `Generated ${shortTime(now)}. Lifecycle: **${l.state}** — ${md(l.reason)}.`,
    `Objectives: ${o ? `RTO ${o.rtoMinutes} min, RPO ${o.rpoMinutes} min` : 'none'}. Window: ${l.maxDaysBetweenDrills} days${l.dueBy ? `, next drill due by ${shortTime(l.dueBy)}` : ''}. Schedule: ${g.drillsConfig?.schedule ? `\`${g.drillsConfig.schedule}\`` : 'on demand only'}.`,
    '', '## History', '',
  ];
  if (!g.drills.length) out.push('No drill yet.');
  else {
    out.push('| Started | Drill | Trigger | Point | Result | RTO (min) | Point age (min) | Checks | Instance-min | Cleanup |', '|---|---|---|---|---|---:|---:|---|---:|---|');
    for (const d of g.drills) {
      out.push(`| ${shortTime(d.startedAt)} | \`${d.drillId}\` | ${d.trigger === 'schedule' ? 'schedule' : `on demand (${md(d.requestedBy)})`} | \`${md(d.pointSpec)}\` | ${verdictText(d)} | ${num(d.measurements?.rtoMinutes)} | ${num(d.measurements?.pointAgeMinutes)} | ${d.checks.length ? `${d.checks.filter((c) => c.passed).length}/${d.checks.length}` : '-'} | ${num(d.measurements?.instanceMinutes)} | ${d.cleanup ? d.cleanup.status : '-'} |`);
    }
    const why = g.drills.filter((d) => d.reasons.length);
    if (why.length) {
      out.push('', 'Warnings and failures:', '');
      for (const d of why) for (const r of d.reasons) out.push(`- \`${d.drillId}\`: ${md(r)}`);
    }
  }
  out.push('', '## RTO trend', '');
  const trend = [...g.drills].filter((d) => d.status !== 'running').reverse().slice(-20);
  if (!trend.length) out.push('No finished drill yet.');
  else {
    const top = Math.max(o?.rtoMinutes ?? 0, ...trend.map((d) => d.measurements?.rtoMinutes ?? 0), 1);
    out.push('```');
    for (const d of trend) {
      const v = d.measurements?.rtoMinutes ?? null;
      const bar = v === null ? '×' : '█'.repeat(Math.max(1, Math.round((v / top) * 40)));
      out.push(`${shortTime(d.startedAt).slice(0, 16)}  ${bar.padEnd(40)}  ${v === null ? 'no RTO' : `${v} min`}  ${verdictText(d)}`);
    }
    if (o) out.push(`${'objective'.padEnd(16)}  ${'┆'.padStart(Math.max(1, Math.round((o.rtoMinutes / top) * 40)))}${' '.repeat(Math.max(0, 40 - Math.round((o.rtoMinutes / top) * 40)))}  ${o.rtoMinutes} min`);
    out.push('```');
  }
  out.push('', '## Last result per check', '');
  const withChecks = g.drills.find((d) => d.checks.length);
  if (!withChecks) out.push('No drill has run acceptance checks yet.');
  else {
    out.push(`From \`${withChecks.drillId}\`.`, '', '| Check | Machine | Type | Result | Detail | Attempts |', '|---|---|---|---|---|---:|');
    for (const c of withChecks.checks) out.push(`| ${md(c.name)} | ${c.machineId} | ${c.type} | ${c.passed ? 'passed' : 'FAILED'} | ${md(c.detail)} | ${c.attempts} |`);
  }
  out.push('', '## Recovery points used', '');
  const withPoints = g.drills.find((d) => d.machines.length);
  if (!withPoints) out.push('None yet.');
  else {
    out.push(`By \`${withPoints.drillId}\`${withPoints.cutoff ? ` (cutoff ${shortTime(withPoints.cutoff)})` : ''}.`, '', '| Machine | Wave | Point | Captured | Age (min) |', '|---|---:|---|---|---:|');
    for (const m of withPoints.machines) out.push(`| ${m.machineId} | ${m.wave} | \`${md(m.pointId)}\` | ${shortTime(m.capturedAt)} | ${m.pointAgeMinutes} |`);
  }
  out.push('', '## Machines', '', '| Machine | Lifecycle | Last tested |', '|---|---|---|');
  for (const m of l.machines) out.push(`| ${m.machineId} | ${m.state} | ${shortTime(m.lastTestedAt)} |`);
  return `${out.join('\n')}\n`;
}

/** A standalone HTML document (inline style and SVG, no scripts, nothing fetched). */
export function drillReportHtml(g: DrillGroupView, now: string): string {
  const l = g.lifecycle;
  const o = g.objectives;
  const rows = g.drills.map((d) => `<tr><td>${e(time(d.startedAt))}<br><code>${e(d.drillId)}</code></td><td>${e(d.trigger === 'schedule' ? 'schedule' : `on demand (${d.requestedBy})`)}</td>
<td><code>${e(d.pointSpec)}</code></td><td>${resultBadge(d)}${d.reasons.length ? `<div class="muted">${d.reasons.map(e).join('<br>')}</div>` : ''}</td><td>${e(minutes(d.measurements?.rtoMinutes))}</td>
<td>${e(minutes(d.measurements?.pointAgeMinutes))}</td><td>${d.checks.length ? `${d.checks.filter((c) => c.passed).length}/${d.checks.length}` : '—'}</td>
<td>${e(d.measurements?.instanceMinutes ?? '—')}</td><td>${e(d.cleanup?.status ?? '—')}</td></tr>`).join('');
  const withChecks = g.drills.find((d) => d.checks.length);
  const checks = withChecks ? `<table><tr><th>Check</th><th>Machine</th><th>Type</th><th>Result</th><th>Detail</th></tr>${withChecks.checks.map((c) => `<tr><td>${e(c.name)}</td><td>${e(c.machineId)}</td><td>${e(c.type)}</td><td>${c.passed ? badge('passed', 'ok') : badge('failed', 'bad')}</td><td>${e(c.detail)}</td></tr>`).join('')}</table>` : '<p class="muted">No drill has run acceptance checks yet.</p>';
  const withPoints = g.drills.find((d) => d.machines.length);
  const points = withPoints ? `<table><tr><th>Machine</th><th>Wave</th><th>Point</th><th>Captured</th><th>Age</th></tr>${withPoints.machines.map((m) => `<tr><td>${e(m.machineId)}</td><td>${e(m.wave)}</td><td><code>${e(m.pointId)}</code></td><td>${e(time(m.capturedAt))}</td><td>${e(minutes(m.pointAgeMinutes))}</td></tr>`).join('')}</table>` : '<p class="muted">None yet.</p>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Drill report: ${e(g.group)}</title><style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#1d2430;padding:0 16px}
table{border-collapse:collapse;width:100%;font-size:14px;margin:8px 0}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e6eb;vertical-align:top}th{color:#5f6877}
.muted{color:#5f6877;font-size:13px}code{font:13px ui-monospace,Menlo,monospace}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}.badge.ok{background:#dff5e3;color:#17602a}.badge.warn{background:#fff1cc;color:#7a5300}.badge.bad{background:#fde2e2;color:#8b1d1d}.badge.info{background:#e3f0ff;color:#0b4f9c}.badge.muted{background:#eceef2;color:#5f6877}
svg.chart{width:100%;height:auto}svg.chart text{font:12px system-ui,sans-serif;fill:#1d2430}svg.chart .axis{stroke:#c3c8d2}svg.chart .tick{fill:#5f6877}svg.chart .objective-label{fill:#8b1d1d}
</style></head><body>
<h1>Drill report: ${e(g.group)} ${badge(l.state, lifecycleTone(l.state))}</h1>
<p>${e(l.reason)}. Objectives: ${o ? `RTO ${e(o.rtoMinutes)} min, RPO ${e(o.rpoMinutes)} min` : 'none'}. Window ${e(l.maxDaysBetweenDrills)} days${l.dueBy ? `, next drill due by ${e(time(l.dueBy))}` : ''}.
<span class="muted">Generated ${e(time(now))}.</span></p>
<h2>RTO trend</h2>${rtoTrendChart(g.drills, o?.rtoMinutes ?? null)}
<h2>History</h2>${g.drills.length ? `<table><tr><th>Started</th><th>Trigger</th><th>Point</th><th>Result</th><th>RTO</th><th>Point age</th><th>Checks</th><th>Instance-min</th><th>Cleanup</th></tr>${rows}</table>` : '<p class="muted">No drill yet.</p>'}
<h2>Last result per check</h2>${checks}
<h2>Recovery points used${withPoints ? ` by <code>${e(withPoints.drillId)}</code>` : ''}</h2>${points}
</body></html>
`;
}
