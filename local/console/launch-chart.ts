import type { Run, RunMachine } from '../../domain/failover/index.ts';
import { e, minutes } from './html.ts';

/**
 * The launch timeline of a run as inline SVG, drawn on the server: one row per machine, time in
 * minutes since the decision (t = 0, where RTO is measured from). Grey: waiting for its wave
 * and a RunInstances token; green: launched until it passed its checks; red: failed.
 */
const WIDTH = 900;
const LABEL = 170;
const RIGHT = 70;
const ROW = 28;
const TOP = 14;
const AXIS = 34;

export function launchChart(run: Run, machines: RunMachine[], rtoObjectiveMinutes: number | null, nowMs: number): string {
  const t0 = Date.parse(run.decidedAt);
  const rows = machines.map((m) => {
    const launched = m.launchedAt ? Date.parse(m.launchedAt) : null;
    const end = m.readyAt ? Date.parse(m.readyAt) : m.failedAt ? Date.parse(m.failedAt) : launched !== null ? nowMs : null;
    return { m, launched: launched === null ? null : (launched - t0) / 60_000, end: end === null ? null : (end - t0) / 60_000, failed: Boolean(m.failedAt) };
  });
  const latest = Math.max(0.5, ...rows.map((r) => r.end ?? r.launched ?? 0));
  // The objective line is drawn when it fits without squeezing the bars into a sliver.
  const showObjective = rtoObjectiveMinutes !== null && rtoObjectiveMinutes <= latest * 4;
  const span = niceCeil(Math.max(latest, showObjective ? rtoObjectiveMinutes! : 0) * 1.05);
  const plot = WIDTH - LABEL - RIGHT;
  const x = (min: number) => LABEL + (Math.max(0, min) / span) * plot;
  const height = TOP + rows.length * ROW + AXIS;
  const step = tickStep(span);
  const ticks: string[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) {
    ticks.push(`<line class="axis" x1="${x(t).toFixed(1)}" y1="${TOP - 4}" x2="${x(t).toFixed(1)}" y2="${height - AXIS + 4}"/>`
      + `<text class="tick" x="${x(t).toFixed(1)}" y="${height - AXIS + 20}" text-anchor="middle">${e(formatTick(t))}</text>`);
  }
  const bars = rows.map((r, i) => {
    const y = TOP + i * ROW;
    const label = `<text x="${LABEL - 10}" y="${y + ROW / 2 + 4}" text-anchor="end">${e(r.m.machineId)} <tspan class="tick">w${e(r.m.wave)}</tspan></text>`;
    if (r.launched === null) {
      return `${label}<text class="tick" x="${LABEL + 6}" y="${y + ROW / 2 + 4}">${r.failed ? 'not launched' : 'waiting'}</text>`;
    }
    const wait = `<rect class="wait" x="${x(0).toFixed(1)}" y="${y + 7}" width="${Math.max(0, x(r.launched) - x(0)).toFixed(1)}" height="${ROW - 14}"><title>${e(`${r.m.machineId}: queued ${minutes(r.launched)} after the decision`)}</title></rect>`;
    const end = r.end ?? r.launched;
    const boot = `<rect class="${r.failed ? 'failed' : 'boot'}" x="${x(r.launched).toFixed(1)}" y="${y + 4}" width="${Math.max(2, x(end) - x(r.launched)).toFixed(1)}" height="${ROW - 8}"><title>${e(`${r.m.machineId}: launched at +${minutes(r.launched)}, ${r.failed ? 'failed' : r.m.readyAt ? 'ready' : 'starting'} at +${minutes(end)}`)}</title></rect>`;
    const note = `<text class="tick" x="${(x(end) + 6).toFixed(1)}" y="${y + ROW / 2 + 4}">${e(r.m.readyAt ? minutes(end) : r.failed ? 'failed' : '…')}</text>`;
    return `${label}${wait}${boot}${note}`;
  }).join('');
  const objective = showObjective
    ? `<line class="objective" x1="${x(rtoObjectiveMinutes!).toFixed(1)}" y1="${TOP - 6}" x2="${x(rtoObjectiveMinutes!).toFixed(1)}" y2="${height - AXIS + 4}"/>`
      + `<text class="objective-label" x="${(x(rtoObjectiveMinutes!) - 4).toFixed(1)}" y="${TOP + 2}" text-anchor="end">RTO objective</text>`
    : '';
  const caption = `Launch timeline: minutes since the decision at ${run.decidedAt}`;
  return `<svg class="chart" role="img" aria-label="${e(caption)}" viewBox="0 0 ${WIDTH} ${height}" xmlns="http://www.w3.org/2000/svg" data-chart="launch-timeline">
<title>${e(caption)}</title>${ticks.join('')}${objective}${bars}
<text class="tick" x="${WIDTH - RIGHT + 8}" y="${height - AXIS + 20}">min</text></svg>
${rtoObjectiveMinutes !== null && !showObjective ? `<p class="muted">RTO objective ${e(minutes(rtoObjectiveMinutes))} is far beyond this chart's scale.</p>` : ''}`;
}

function tickStep(span: number): number {
  const candidates = [0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 240];
  return candidates.find((s) => span / s <= 10) ?? 480;
}

function niceCeil(v: number): number {
  const step = tickStep(v);
  return Math.max(step, Math.ceil(v / step) * step);
}

function formatTick(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(2).replace(/0+$/, '').replace(/\.$/, '');
}
