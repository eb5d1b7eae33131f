import type { AuditEntry } from '../../domain/evidence/index.ts';
import type { ChosenPoint, Selection } from '../../domain/recovery-points/index.ts';
import { isFinal } from '../../domain/incidents/index.ts';
import type { IncidentDetail } from '../read-model.ts';
import { badge, e, humanStatus, minutes, statusTone, table, time } from './html.ts';
import { launchChart } from './launch-chart.ts';
import { decisionItem } from '../../functions/shared/presenters/approval-page.ts';

/**
 * `/incidents/{id}`: the whole story of one incident, from the audit log and the stored
 * proposal and run: finding ▶ assessment ▶ proposal ▶ decision ▶ launches ▶ checks ▶ outcome.
 */
export const PHASES = ['Finding', 'Assessment', 'Proposal', 'Decision', 'Launches', 'Checks', 'Outcome'] as const;
type Phase = (typeof PHASES)[number];

export function incidentPage(d: IncidentDetail, nowMs: number): string {
  const i = d.incident;
  return [
    header(d),
    `<div class="card"><h2>Progress</h2>${phaseBar(d)}</div>`,
    summaryCard(d),
    outcomeCard(d),
    d.proposal ? pointsCard(d.proposal.selection, d.proposal.cutoff) : '',
    d.run && d.machines.length ? chartCard(d, nowMs) : '',
    approvalsCard(d),
    `<div class="card"><h2>Timeline</h2>${timeline(d)}</div>`,
    historyCard(d.executions ?? []),
    `<p class="muted">Incident ${e(i.incidentId)} · version ${e(i.version)}${d.execution ? ` · workflow ${e(d.execution.status)}` : ''}</p>`,
  ].join('\n');
}

/** Shown per execution; a longer history shows its last events (the journal keeps them all). */
export const HISTORY_ROWS = 300;

/**
 * Each workflow execution's event history, as the Step Functions console lists it: ID, type,
 * state, time (virtual), elapsed since the execution started. Kept across restarts (the journal).
 */
export function historyCard(executions: IncidentDetail['executions']): string {
  if (!executions.length) return '';
  const sections = executions.map((x) => {
    const shown = x.events.slice(-HISTORY_ROWS);
    const rows = shown.map((ev) => `<tr data-event="${e(ev.id)}"><td>${e(ev.id)}</td><td>${e(ev.type)}${ev.error ? ` <span class="muted">${e(ev.error)}</span>` : ''}</td><td>${e(ev.state ?? '')}</td><td>${e(time(ev.at))}</td><td>${e(elapsed(ev.elapsedMs))}</td></tr>`);
    const more = x.events.length > shown.length ? `<p class="muted">The last ${shown.length} of ${x.events.length} events.</p>` : '';
    return `<details data-execution="${e(x.name)}"${x.status === 'RUNNING' ? ' open' : ''}><summary>${e(x.machine)} <code>${e(x.name)}</code> ${badge(x.status, x.status === 'SUCCEEDED' ? 'ok' : x.status === 'RUNNING' ? 'info' : 'bad', 'data-execution-status')}${x.redriveCount ? ` <span class="muted">redriven ${e(x.redriveCount)}×</span>` : ''} <span class="muted">started ${e(time(x.startDate))} · ${e(x.events.length)} events${x.error ? ` · ${e(x.error)}` : ''}</span></summary>
${more}${table(['ID', 'Type', 'State', 'Time', 'Elapsed'], rows, 'No events yet.')}</details>`;
  });
  return `<div class="card" data-workflow-history><h2>Workflow history</h2>${sections.join('\n')}</div>`;
}

function elapsed(ms: number): string {
  if (!(ms >= 0)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function header(d: IncidentDetail): string {
  const i = d.incident;
  const mode = i.mode === 'test' ? badge('TEST', 'test', 'data-test-mode') : i.mode ? badge(`${i.mode} mode`, 'info') : '';
  return `<h1>Incident ${e(i.incidentId)}</h1>
<p>${badge(humanStatus(i.status), statusTone(i.status), `data-incident-status="${e(i.status)}"`)} ${mode} <span class="muted">groups ${e(i.groups.join(', ') || '—')} · opened ${e(time(i.createdAt))} · updated ${e(time(i.updatedAt))}${(i.round ?? 1) > 1 ? ` · round ${e(i.round)}` : ''}</span></p>${evolution(i)}`;
}

/** How the evidence moved this incident: correlated incidents, and groups with their own (earlier) cutoff. */
function evolution(i: IncidentDetail['incident']): string {
  const parts: string[] = [];
  if (i.correlated?.length) parts.push(`Correlated with ${i.correlated.map((id) => `<a href="/incidents/${e(id)}">${e(id)}</a>`).join(', ')} (the same finding touched their groups)`);
  for (const [group, cutoff] of Object.entries(i.groupCutoffs ?? {})) parts.push(`${e(group)} restores from before ${e(time(cutoff))} (a restored point proved unclean)`);
  return parts.length ? `<p data-evolution>${parts.join(' · ')}</p>` : '';
}

function phaseOf(entry: AuditEntry): Phase {
  const t = entry.type;
  if (t === 'incident.created' || t === 'finding.received' || t === 'incident.reinfected') return 'Finding';
  if (t === 'proposal.reviewed' || t.startsWith('scan.')) return 'Proposal';
  if (t === 'failover.revalidation-failed' || t === 'failover.replanned' || t.startsWith('failover.asking') || t === 'failover.not-asking-again') return 'Launches';
  if (t === 'workflow.started') return 'Assessment';
  if (t === 'points.selected') return 'Proposal';
  if (t.startsWith('approval.') || t.startsWith('decision.')) return 'Decision';
  if (t === 'failover.planned' || t.startsWith('machine.launch')) return 'Launches';
  if (t.startsWith('machine.')) return 'Checks';
  return 'Outcome';
}

function phaseBar(d: IncidentDetail): string {
  const reached = new Set<Phase>(d.audit.map(phaseOf));
  if (reached.has('Finding')) reached.add('Assessment'); // the assessment is recorded with the incident
  const failed = new Set<Phase>(d.audit.filter((a) => /failed|refused|rejected/.test(a.type)).map(phaseOf));
  if (d.incident.outcome && d.incident.outcome.result !== 'recovered') failed.add('Outcome');
  return `<ol class="phases">${PHASES.map((p) => `<li class="${failed.has(p) ? 'failed' : reached.has(p) ? 'done' : ''}" data-phase="${p}">${p}</li>`).join('')}</ol>`;
}

function summaryCard(d: IncidentDetail): string {
  const a = d.incident.assessment;
  const f = a.finding;
  return `<div class="card"><h2>Finding and assessment</h2>
<p><b>${e(f.type)}</b> — severity ${e(f.severity)} (${e(f.severityLabel)})${f.sample ? ' — <b>sample finding</b>' : ''}<br>
${e(f.resourceType)} <code>${e(f.instanceIds.join(', ') || '—')}</code> in ${e(f.accountId)}/${e(f.region)}; first seen ${e(time(f.firstSeen))}, last seen ${e(time(f.lastSeen))}</p>
<p>Action <b>${e(a.action)}</b>${a.mode ? ` (${e(a.mode)} mode)` : ''}; machines hit <b>${e(d.incident.machines.join(', ') || 'none')}</b>;
data may be corrupted since <b data-suspected>${e(time(d.incident.suspectedSince))}</b>.</p>
<ul>${a.reasons.map((r) => `<li>${e(r)}</li>`).join('')}</ul></div>`;
}

function outcomeCard(d: IncidentDetail): string {
  const o = d.incident.outcome;
  const objectives = Object.entries(d.objectives);
  const rtoObjective = minOf(objectives.map(([, v]) => v.rtoMinutes));
  const rpoObjective = minOf(objectives.map(([, v]) => v.rpoMinutes));
  if (!o) {
    const state = isFinal(d.incident.status) ? 'No failover was run.' : 'In progress: this page refreshes itself until the incident settles.';
    return `<div class="card"><h2>Outcome</h2><p class="muted">${e(state)}</p></div>`;
  }
  const verdict = (value: number | null, objective: number | null) =>
    value === null || objective === null ? '' : value <= objective ? ` ${badge('within objective', 'ok')}` : ` ${badge('objective missed', 'bad')}`;
  return `<div class="card" data-outcome="${e(o.result)}"><h2>Outcome: ${e(humanStatus(o.result))}</h2>
<table><tbody>
<tr><th>Achieved RTO</th><td data-rto>${e(minutes(o.rtoMinutes))}${verdict(o.rtoMinutes, rtoObjective)} <span class="muted">objective ${e(minutes(rtoObjective))}; from the decision at ${e(time(o.decidedAt))} to the last machine passing its checks</span></td></tr>
<tr><th>Achieved RPO</th><td data-rpo>${e(minutes(o.rpoMinutes))}${verdict(o.rpoMinutes, rpoObjective)} <span class="muted">objective ${e(minutes(rpoObjective))}; the largest clean-data window given up</span></td></tr>
<tr><th>Finished</th><td>${e(time(o.finishedAt))}</td></tr>
</tbody></table>
${table(['Machine', 'Instance', 'From point', 'State'], o.machines.map((m) => `<tr><td>${e(m.machineId)}</td><td><code>${e(m.instanceId ?? '—')}</code></td><td>${e(m.pointId)}</td>
<td>${badge(m.state, m.state === 'running' ? 'ok' : 'bad')}${m.error ? `<div class="warn-text">${e(m.error)}</div>` : ''}</td></tr>`), 'No machine was launched.')}</div>`;
}

function minOf(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length ? Math.min(...present) : null;
}

/** Per machine: the chosen point, the data given up, and every newer point that was passed over and why. */
function pointsCard(selection: Selection, cutoff: string): string {
  const rows = selection.machines.map(pointRow);
  const blockers = selection.blockers.map((b) => `<tr class="warn-text" data-blocker="${e(b.machineId)}"><td>${e(b.machineId)}<div class="muted">${e(b.group)}</div></td><td colspan="3">BLOCKED: ${e(b.reason)}</td><td>${skippedList(b.skipped, b.skippedCount)}</td></tr>`);
  const groups = selection.groups.map((g) => `${e(g.group)}: cutoff ${e(time(g.cutoff))}, consistency skew ${e(minutes(g.consistencySkewMinutes))}`).join(' · ');
  return `<div class="card"><h2>Recovery points: latest clean point at or before ${e(time(cutoff))}</h2>
${table(['Machine', 'Chosen point', 'Clean data given up', 'Next newer point', 'Skipped (newer, before the cutoff)'], [...rows, ...blockers], 'No machine to restore.')}
<p class="muted">${groups}</p></div>`;
}

function pointRow(m: ChosenPoint): string {
  return `<tr data-machine="${e(m.machineId)}"><td>${e(m.machineId)}<div class="muted">${e(m.group)}</div></td>
<td><code data-point>${e(m.pointId)}</code><div class="muted">${e(time(m.capturedAt))}</div></td>
<td data-loss>${e(minutes(m.lossMinutes))}</td><td>${m.gapToNextMinutes === null ? '—' : `${e(minutes(m.gapToNextMinutes))} later`}</td>
<td>${skippedList(m.skipped, m.skippedCount)}</td></tr>`;
}

function skippedList(skipped: ChosenPoint['skipped'], count: number): string {
  if (count === 0) return '<span class="muted">none</span>';
  const more = count > skipped.length ? `<li class="muted">and ${count - skipped.length} more</li>` : '';
  return `<ul class="skipped">${skipped.map((s) => `<li data-skipped="${e(s.pointId)}">${e(time(s.capturedAt))} — ${badge(s.reason, 'bad')}</li>`).join('')}${more}</ul>`;
}

function chartCard(d: IncidentDetail, nowMs: number): string {
  const rtoObjective = minOf(Object.values(d.objectives).map((v) => v.rtoMinutes));
  const rows = d.machines.map((m) => `<tr data-run-machine="${e(m.machineId)}"><td>${e(m.machineId)}</td><td>${e(m.wave)}</td><td><code>${e(m.instanceId ?? '—')}</code></td>
<td>${e(m.instanceTypeUsed ?? m.instanceType ?? '—')}</td><td>${e(time(m.launchedAt))}</td><td>${e(time(m.readyAt))}</td>
<td>${m.error ? `<span class="warn-text">${e(m.error)}</span>` : m.throttledRetries ? `${e(m.throttledRetries)} throttled retries` : ''}</td></tr>`);
  return `<div class="card"><h2>Launches (${e(d.run!.mode)} mode)</h2>${launchChart(d.run!, d.machines, rtoObjective, nowMs)}
${table(['Machine', 'Wave', 'Instance', 'Type', 'Launched', 'Ready', 'Notes'], rows, '')}</div>`;
}

function approvalsCard(d: IncidentDetail): string {
  if (d.approvals.length === 0) return '';
  const items = d.approvals.map((a) => {
    const decisions = a.decisions.map((x) => decisionItem(x, { at: time(x.at), source: true })).join('');
    return `<div data-approval="${e(a.approvalId)}"><p>${badge(a.status, statusTone(a.status))} requested ${e(time(a.createdAt))}, deadline ${e(time(a.expiresAt))};
quorum ${e(a.quorum)} of ${e(a.eligibleDeciders.join(', '))}${a.escalation ? ' (escalated)' : ''}${a.link ? ` · <a href="${e(a.link.url)}">open ${e(a.link.personName)}'s approval page</a>` : ''}</p>
${decisions ? `<ul>${decisions}</ul>` : ''}</div>`;
  }).join('');
  return `<div class="card"><h2>Approval</h2>${items}</div>`;
}

function timeline(d: IncidentDetail): string {
  const items: string[] = [];
  for (const entry of d.audit) {
    items.push(timelineItem(phaseOf(entry), entry.at, entry.actor, describe(entry)));
    if (entry.type === 'incident.created') {
      const a = d.incident.assessment;
      items.push(timelineItem('Assessment', entry.at, 'cleanpoint', `${a.action}${a.mode ? ` (${a.mode} mode)` : ''} for ${a.machines.join(', ') || 'no machine'}; suspected since ${time(a.suspectedSince)}`));
    }
  }
  return items.length ? `<ol class="timeline">${items.join('')}</ol>` : '<p class="muted">No audit entries yet.</p>';
}

function timelineItem(phase: Phase, at: string, actor: string, text: string): string {
  return `<li data-phase="${phase}"><span>${e(time(at))}</span><span class="phase">${e(phase)}</span><span>${e(text)} <span class="muted">· ${e(actor)}</span></span></li>`;
}

/** One line per audit entry, from the fields each entry type records. */
export function describe(entry: AuditEntry): string {
  const x = entry.data as Record<string, unknown>;
  const s = (k: string) => String(x[k] ?? '');
  const list = (k: string) => (Array.isArray(x[k]) ? (x[k] as unknown[]).map(String).join(', ') : '');
  switch (entry.type) {
    case 'incident.created': return `Finding ${s('findingType')} (severity ${s('severity')}) opened the incident`;
    case 'finding.received': return `Finding ${s('findingType')} received again (${s('delivery')})`;
    case 'workflow.started': return `Incident workflow started (${s('executionName')})`;
    case 'points.selected': {
      const chosen = (x['chosen'] as { machineId: string; capturedAt: string; skipped?: unknown[] }[] | undefined) ?? [];
      return `Proposed restore points at or before ${time(s('cutoff'))}: ${chosen.map((c) => `${c.machineId} ← ${time(c.capturedAt)}${c.skipped?.length ? ` (${c.skipped.length} newer skipped)` : ''}`).join('; ')}`;
    }
    case 'approval.requested': return `Approval requested from ${list('deciders')} (quorum ${s('quorum')}), deadline ${time(s('expiresAt'))}${x['supersedes'] ? ` — a new proposal replacing ${s('supersedes')} (cutoff ${time(s('previousCutoff'))} ▶ ${time(s('cutoff'))})` : ''}`;
    case 'approval.escalated': return `Approval escalated to ${list('deciders')}, deadline ${time(s('expiresAt'))}`;
    case 'approval.expired': return `Approval request expired${x['outcome'] ? `: ${s('outcome')}` : ''}`;
    case 'approval.refused': return `Refused: ${s('outcome')} (${s('channel')} from ${s('source')})`;
    case 'decision.approved': return `Approved via ${s('channel')} from ${s('source')}${x['groupCutoffs'] ? ` with older cutoffs ${JSON.stringify(x['groupCutoffs'])}` : ''}`;
    case 'decision.rejected': return `Rejected via ${s('channel')} from ${s('source')}: “${s('reason')}”`;
    case 'failover.planned': return `${s('mode')}-mode failover planned in ${(x['waves'] as unknown[] | undefined)?.length ?? 0} wave(s)`;
    case 'machine.launched': return `${s('machineId')} launched as ${s('instanceId')} (${s('instanceType')}) from ${s('pointId')}`;
    case 'machine.launch-failed': return `${s('machineId')} could not be launched: ${s('error')}`;
    case 'machine.ready': return `${s('machineId')} (${s('instanceId')}) is running and passed its checks`;
    case 'machine.check-failed': return `${s('machineId')} (${s('instanceId')}) failed its checks: ${s('error')}`;
    case 'outcome.recorded': return `Outcome ${s('result')}: RTO ${minutes(x['rtoMinutes'] as number | null)}, RPO ${minutes(x['rpoMinutes'] as number | null)}${x['error'] ? ` — ${s('error')}` : ''}`;
    case 'incident.reinfected': return `RE-INFECTION: ${s('machineId')} (${s('instanceId')}), restored from ${s('pointId')}, is compromised again (${s('findingType')}); ${s('group')} now restores from before ${time(s('capturedAt'))} (round ${s('round')})`;
    case 'approval.superseded': return `Request superseded — ${s('outcome')}`;
    case 'approval.undelivered': return `An approval could not take effect: ${s('outcome')}`;
    case 'proposal.reviewed': return `Proposal re-checked after ${s('trigger')}: ${s('outcome')}`;
    case 'failover.revalidation-failed': return `Approved points re-checked before launch no longer stand: ${((x['points'] as { machineId: string; why: string }[] | undefined) ?? []).map((p) => `${p.machineId} ${p.why}`).join('; ')}`;
    case 'failover.replanned': return `Run re-planned onto newly approved points: ${((x['moved'] as { machineId: string; from: string; to: string }[] | undefined) ?? []).map((m) => `${m.machineId} ${m.from} ▶ ${m.to}`).join('; ') || 'no point changed'}`;
    case 'machine.launch-stopped': return `${s('machineId')} stopped before launch: ${s('why')}`;
    case 'cleanup.done': return `Test machines cleaned up (${list('terminated') || 'nothing left'})`;
    case 'cleanup.incomplete': return `Cleanup incomplete: ${list('remaining')} remain`;
    default: return x['outcome'] ? s('outcome') : JSON.stringify(entry.data).slice(0, 300);
  }
}
