import { lifecycleOf, nextSlot, parseSchedule, type Drill, type DrillResult, type GroupLifecycle, type LifecycleState } from '../../domain/drills/index.ts';
import type { Group } from '../../domain/inventory/index.ts';
import type { RouteDeps } from '../routes.ts';
import { badge, e, minutes, table, time } from './html.ts';

/**
 * `/drills` (and `/drills?group=NAME`): every group's DR drill lifecycle, its drill history, the
 * RTO trend against the objective (inline SVG drawn here: no script, no CDN), the last result
 * of each acceptance check and the recovery points the last drill used. Pure: the page is a
 * function of the data; `drillsPageData` reads that data from the running system.
 */
export type DrillsPageGroup = {
  group: Pick<Group, 'name' | 'description' | 'objectives' | 'drills'>;
  lifecycle: GroupLifecycle;
  /** Newest first. */
  drills: Drill[];
  nextScheduledAt: string | null;
};

export interface DrillsPageData {
  now: string;
  groups: DrillsPageGroup[];
  /** Show one group in detail (null: all groups). */
  selected?: string | null;
}

export function lifecycleTone(state: LifecycleState): 'ok' | 'warn' | 'bad' | 'info' | 'muted' {
  switch (state) {
    case 'Tested Recently': case 'Recovered': return 'ok';
    case 'Test Overdue': case 'Failing Over': case 'Failback Pending': return 'warn';
    case 'Drill Failed': case 'Failover Failed': return 'bad';
    default: return 'muted';
  }
}

const RESULT: Record<DrillResult, { text: string; tone: 'ok' | 'warn' | 'bad' }> = {
  pass: { text: 'pass', tone: 'ok' }, warn: { text: 'pass with warnings', tone: 'warn' }, fail: { text: 'fail', tone: 'bad' },
};

export function resultBadge(d: Pick<Drill, 'status' | 'result'>): string {
  if (d.status === 'running') return badge('running', 'info');
  if (d.status === 'aborted') return badge('aborted', 'bad');
  return d.result ? badge(RESULT[d.result].text, RESULT[d.result].tone) : badge('unknown', 'muted');
}

export function renderDrillsPage(data: DrillsPageData): string {
  const shown = data.selected ? data.groups.filter((g) => g.group.name === data.selected) : data.groups;
  const summary = table(['Group', 'Lifecycle', 'Last drill', 'Last passed', 'Due by', 'Next scheduled', 'Schedule'], data.groups.map(summaryRow), 'The inventory has no groups.');
  return `<h1>Drills</h1>
<p class="muted">Test-mode failovers of each group into its isolated test network, with acceptance checks, measured RTO and
guaranteed cleanup. A group is <b>Tested Recently</b> while its last passing drill is within its window
(<code>drills.maxDaysBetweenDrills</code>, default 7 days). Locally, acceptance checks are simulated from the EC2 simulator.</p>
<div class="card" data-section="drill-lifecycle"><h2>Lifecycle</h2>${summary}</div>
${shown.map((g) => groupSection(g, data.now)).join('\n')}`;
}

function summaryRow(g: DrillsPageGroup): string {
  const l = g.lifecycle;
  const last = l.lastDrill ? `${e(time(l.lastDrill.startedAt))}<div class="muted"><code>${e(l.lastDrill.drillId)}</code></div>` : '<span class="muted">never</span>';
  const due = l.dueBy ? `${e(time(l.dueBy))}${l.overdueByDays !== null ? `<div class="warn-text">overdue by ${e(l.overdueByDays)} day(s)</div>` : ''}` : '—';
  return `<tr data-group="${e(g.group.name)}"><td><a href="/drills?group=${encodeURIComponent(g.group.name)}">${e(g.group.name)}</a></td>
<td>${badge(l.state, lifecycleTone(l.state), 'data-lifecycle')}${l.runningDrillId ? ` ${badge('drill running', 'info')}` : ''}${l.cleanupIncomplete.length ? ` ${badge('resources left', 'bad')}` : ''}<div class="muted">${e(l.reason)}</div></td>
<td>${last}</td><td>${e(time(l.lastPassedAt))}</td><td>${due}</td><td>${e(time(g.nextScheduledAt))}</td>
<td>${g.group.drills?.schedule ? `<code>${e(g.group.drills.schedule)}</code>` : '<span class="muted">on demand only</span>'}</td></tr>`;
}

function groupSection(g: DrillsPageGroup, now: string): string {
  const name = g.group.name;
  const o = g.group.objectives;
  const finished = g.drills.filter((d) => d.status !== 'running');
  const history = table(
    ['Started', 'Trigger', 'Point', 'Result', 'RTO', 'Point age', 'Checks', 'Instance-minutes', 'Cleanup'],
    g.drills.map((d) => historyRow(d)), 'No drill yet. Run one: cleanpoint drills run ' + name,
  );
  const withChecks = g.drills.find((d) => d.checks.length > 0);
  const checks = withChecks
    ? table(['Check', 'Machine', 'Type', 'Result', 'Detail', 'Attempts', 'Drill'], withChecks.checks.map((c) => `<tr data-check="${e(c.name)}"><td>${e(c.name)}</td><td>${e(c.machineId)}</td><td>${e(c.type)}</td>
<td>${c.passed ? badge('passed', 'ok') : badge('failed', 'bad')}</td><td>${e(c.detail)}</td><td>${e(c.attempts)}</td><td class="muted">${e(time(c.finishedAt))}</td></tr>`), '')
    : '<p class="muted">No drill has run acceptance checks yet.</p>';
  const lastWithPoints = g.drills.find((d) => d.machines.length > 0);
  const points = lastWithPoints
    ? table(['Machine', 'Wave', 'Recovery point', 'Captured', 'Age at drill time', 'Instance'], lastWithPoints.machines.map((m) => `<tr data-point="${e(m.pointId)}"><td>${e(m.machineId)}</td><td>${e(m.wave)}</td>
<td><code>${e(m.pointId)}</code></td><td>${e(time(m.capturedAt))}</td><td>${e(minutes(m.pointAgeMinutes))}</td>
<td>${m.instanceId ? `<code>${e(m.instanceId)}</code> ${e(m.instanceType ?? '')}` : `<span class="muted">${m.error ? e(m.error) : 'not launched'}</span>`}</td></tr>`), '')
    : '<p class="muted">No recovery point used yet.</p>';
  const machines = table(['Machine', 'Lifecycle', 'Last tested', 'Drill'], g.lifecycle.machines.map((m) => `<tr data-machine="${e(m.machineId)}"><td>${e(m.machineId)}</td>
<td>${badge(m.state, lifecycleTone(m.state))}</td><td>${e(time(m.lastTestedAt))}</td><td>${m.lastDrillId ? `<code>${e(m.lastDrillId)}</code>` : '—'}</td></tr>`), '');
  return `<div class="card" data-group-detail="${e(name)}">
<h2 id="group-${e(name)}">${e(name)} ${badge(g.lifecycle.state, lifecycleTone(g.lifecycle.state))}</h2>
<p class="muted">${g.group.description ? `${e(g.group.description)}. ` : ''}Objectives: ${o ? `RTO ${e(minutes(o.rtoMinutes))}, RPO ${e(minutes(o.rpoMinutes))}` : 'none'}.
Window ${e(g.lifecycle.maxDaysBetweenDrills)} days. As of ${e(time(now))}.</p>
<h3>RTO trend</h3>${rtoTrendChart(finished, o?.rtoMinutes ?? null)}
<h3>History</h3>${history}
<h3>Last result per check</h3>${checks}
<h3>Recovery points used${lastWithPoints ? ` by <code>${e(lastWithPoints.drillId)}</code>` : ''}</h3>${points}
<h3>Machines</h3>${machines}
</div>`;
}

function historyRow(d: Drill): string {
  const m = d.measurements;
  const passed = d.checks.filter((c) => c.passed).length;
  const cleanup = !d.cleanup ? (d.status === 'running' ? badge('pending', 'info') : badge('unknown', 'muted'))
    : d.cleanup.status === 'clean' ? badge('clean', 'ok') : `${badge('incomplete', 'bad')}<div class="warn-text">${e(d.cleanup.remaining.join('; '))}</div>`;
  return `<tr data-drill="${e(d.drillId)}" id="${e(d.drillId)}"><td>${e(time(d.startedAt))}<div class="muted"><code>${e(d.drillId)}</code></div></td>
<td>${e(d.trigger === 'schedule' ? 'schedule' : `on demand (${d.requestedBy})`)}</td><td><code>${e(d.pointSpec)}</code></td>
<td>${resultBadge(d)}${d.reasons.length ? `<div class="muted">${d.reasons.map(e).join('<br>')}</div>` : ''}</td>
<td>${e(minutes(m?.rtoMinutes))}${m?.waves.length ? `<div class="muted">${m.waves.map((w) => `w${e(w.wave)} ${w.readyMinutes === null ? 'not ready' : `+${e(minutes(w.readyMinutes))}`}`).join(', ')}</div>` : ''}</td>
<td>${e(minutes(m?.pointAgeMinutes))}</td><td>${d.checks.length ? `${passed}/${d.checks.length}` : '—'}</td>
<td>${m ? e(m.instanceMinutes) : '—'}</td><td>${cleanup}</td></tr>`;
}

// ---------------------------------------------------------------------------------------------
// RTO trend: one point per finished drill (oldest left), the objective as a dashed line.

const W = 900;
const H = 260;
const PAD = { left: 56, right: 24, top: 18, bottom: 44 };
const COLORS = { pass: '#2e8b57', warn: '#c28a00', fail: '#c0392b', line: '#0b5cc4' };

export function rtoTrendChart(drills: Pick<Drill, 'drillId' | 'startedAt' | 'status' | 'result' | 'measurements'>[], objectiveMinutes: number | null, limit = 30): string {
  const points = [...drills].filter((d) => d.status !== 'running').sort((a, b) => (a.startedAt < b.startedAt ? -1 : 1)).slice(-limit);
  if (points.length === 0) return '<p class="muted">No finished drill yet: the trend appears after the first one.</p>';
  const values = points.map((d) => d.measurements?.rtoMinutes ?? null);
  const top = niceMax(Math.max(objectiveMinutes ?? 0, ...values.map((v) => v ?? 0), 1) * 1.1);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (points.length === 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const step = top / 4;
  const grid = [0, 1, 2, 3, 4].map((k) => {
    const v = k * step;
    return `<line class="axis" x1="${PAD.left}" y1="${y(v).toFixed(1)}" x2="${W - PAD.right}" y2="${y(v).toFixed(1)}"/>`
      + `<text class="tick" x="${PAD.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${e(fmt(v))}</text>`;
  }).join('');
  const line = values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
  const path = line.length > 1 ? `<polyline points="${line.join(' ')}" fill="none" stroke="${COLORS.line}" stroke-width="2"/>` : '';
  const objective = objectiveMinutes !== null
    ? `<line class="objective" x1="${PAD.left}" y1="${y(objectiveMinutes).toFixed(1)}" x2="${W - PAD.right}" y2="${y(objectiveMinutes).toFixed(1)}" stroke="#8b1d1d" stroke-dasharray="5 4"/>`
      + `<text class="objective-label" x="${W - PAD.right}" y="${(y(objectiveMinutes) - 6).toFixed(1)}" text-anchor="end" fill="#8b1d1d">RTO objective ${e(fmt(objectiveMinutes))} min</text>`
    : '';
  const marks = points.map((d, i) => {
    const v = values[i] ?? null;
    const verdict = d.status === 'aborted' ? 'aborted' : d.result ?? 'fail';
    const color = verdict === 'pass' ? COLORS.pass : verdict === 'warn' ? COLORS.warn : COLORS.fail;
    const label = `${d.drillId}: ${verdict}${v === null ? ', no RTO (did not recover)' : `, RTO ${fmt(v)} min`}`;
    const cx = x(i).toFixed(1);
    const mark = v === null
      ? `<path d="M${(x(i) - 5).toFixed(1)},${(y(0) - 13).toFixed(1)} l10,10 m0,-10 l-10,10" stroke="${color}" stroke-width="2.5"><title>${e(label)}</title></path>`
      : `<circle cx="${cx}" cy="${y(v).toFixed(1)}" r="5" fill="${color}" data-verdict="${e(verdict)}"><title>${e(label)}</title></circle>`;
    const showDate = points.length <= 12 || i % Math.ceil(points.length / 12) === 0 || i === points.length - 1;
    return mark + (showDate ? `<text class="tick" x="${cx}" y="${H - PAD.bottom + 18}" text-anchor="middle">${e(d.startedAt.slice(5, 10))}</text>` : '');
  }).join('');
  const caption = `RTO of the last ${points.length} drill(s), minutes from drill start until every acceptance check passed${objectiveMinutes !== null ? `, against the ${fmt(objectiveMinutes)} min objective` : ''}`;
  return `<svg class="chart" role="img" aria-label="${e(caption)}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg" data-chart="rto-trend">
<title>${e(caption)}</title>${grid}${objective}${path}${marks}
<text class="tick" x="${PAD.left - 8}" y="${PAD.top - 6}" text-anchor="end">min</text>
<text class="tick" x="${(PAD.left + W - PAD.right) / 2}" y="${H - 6}" text-anchor="middle">drill date (UTC) · green pass · amber pass with warnings · red fail (× no recovery)</text></svg>`;
}

function niceMax(v: number): number {
  const steps = [1, 2, 2.5, 5, 10];
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const s of steps) if (s * mag >= v) return s * mag;
  return 10 * mag;
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/** The page's data from the running system (stores, inventory, virtual clock). */
export async function drillsPageData(deps: RouteDeps, selected?: string | null): Promise<DrillsPageData> {
  const { rt, stores } = deps;
  const now = rt.clock.now();
  const incidents = await stores.incidents.listIncidents({ limit: 200 });
  const groups = await Promise.all(rt.index.inventory.groups.map(async (group): Promise<DrillsPageGroup> => {
    const [drills, status] = await Promise.all([stores.drills.listDrills(group.name, { limit: 50 }), stores.drills.getGroupStatus(group.name)]);
    let next: number | null = null;
    try {
      if (group.drills?.schedule) next = nextSlot(parseSchedule(group.drills.schedule), status?.lastScheduledSlot ? Date.parse(status.lastScheduledSlot) : null, now);
    } catch { /* an unreadable schedule shows no next run */ }
    return { group, lifecycle: lifecycleOf(group, drills, incidents, now), drills, nextScheduledAt: next === null ? null : new Date(next).toISOString() };
  }));
  return { now: new Date(now).toISOString(), groups, selected: selected ?? null };
}
