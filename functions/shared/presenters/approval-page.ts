import {
  approvalQuestion, effectiveStatus, FAILBACK_STEPS, machineScan, pastTense, purposeOf, type Decision, type FailbackSummary, type MachineScan, type ProposalChange, type PublicApprovalRequest,
} from '../../../domain/approvals/index.ts';
import type { Incident } from '../../../domain/incidents/index.ts';
import { readinessBadgeOf, type GroupReadiness } from '../../../domain/protection/index.ts';
import type { Selection } from '../../../domain/recovery-points/index.ts';
import { escapeHtml as e } from '../edge/index.ts';

/**
 * The approval pages as HTML: the page a decider's personal link opens, the preview of older
 * restore points, and the message page of a refusal. Server-rendered: no scripts, no external
 * assets (works offline, strict CSP). What the page offers comes from the domain (PageOptions:
 * the rules decide, this only shows); the show-approval and post-decision functions render
 * with it, and anything else that shows an approval (the local console) may.
 */
const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2430}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px}
.card{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:16px 20px;margin:12px 0}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600}
.test{background:#e3f0ff;color:#0b4f9c}.recovery{background:#ffe8e3;color:#9c250b}
.pending{background:#fff4d6;color:#7a5300}.approved{background:#dff5e3;color:#17602a}.rejected,.expired{background:#fde2e2;color:#8b1d1d}
table{border-collapse:collapse;width:100%;font-size:14px} th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{color:#5a6372;font-weight:600} .muted{color:#6b7380;font-size:13px} .warn{color:#9c250b}
button{font:inherit;padding:8px 16px;border-radius:6px;border:1px solid #9aa3b2;background:#fff;cursor:pointer;margin-right:8px}
button.approve{background:#17602a;color:#fff;border-color:#17602a} button.reject{background:#8b1d1d;color:#fff;border-color:#8b1d1d}
textarea,select{font:inherit;width:100%;box-sizing:border-box;padding:6px;border:1px solid #c3c8d2;border-radius:6px}
`;

export function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${e(title)} · Cleanpoint</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

export function messagePage(status: number, title: string, message: string): string {
  return layout(title, `<h1>${e(title)}</h1><div class="card" role="alert" data-status="${status}"><p>${e(message)}</p></div>`);
}

export interface PageIdentity { personId: string; personName: string; hidden: Record<string, string> }

/** The malware scan of a proposed point, as the table shows it (scan before launch, docs/scanning.md). */
function scanCell(scan: MachineScan | undefined): string {
  if (!scan) return '';
  const label = { clean: 'clean', 'threats-found': 'THREATS FOUND', unverified: 'UNVERIFIED', 'not-required': 'not scanned (not required)' }[scan.status];
  const threats = scan.threats.map((t) => `${e(t.name)}${t.path ? ` <span class="muted">${e(t.path)}</span>` : ''}`).join('<br>');
  return `<td data-scan="${e(scan.status)}"${scan.status === 'clean' || scan.status === 'not-required' ? '' : ' class="warn"'}>${e(label)}${scan.reason ? `<div class="muted">${e(scan.reason)}</div>` : ''}${threats ? `<div>${threats}</div>` : ''}${scan.steppedBack ? `<div class="muted" data-stepped-back>${e(scan.steppedBack)} newer point(s) had threats</div>` : ''}${scan.scanId ? `<div class="muted">scan ${e(scan.scanId)}</div>` : ''}</td>`;
}

export function selectionTable(selection: Selection, withAlternatives: boolean, scans?: Record<string, MachineScan>): string {
  const rows = selection.machines.map((m) => `<tr data-machine="${e(m.machineId)}">
<td>${e(m.machineId)}<div class="muted">${e(m.group)}</div></td>
<td><span data-point>${e(m.pointId)}</span><div class="muted">${e(m.capturedAt)}</div></td>
<td>${e(m.lossMinutes)} min</td>
<td>${m.gapToNextMinutes === null ? '—' : `${e(m.gapToNextMinutes)} min`}</td>
<td>${m.skippedCount ? `${m.skippedCount} newer skipped: ${e([...new Set(m.skipped.map((s) => s.reason))].join(', '))}` : '—'}</td>
${withAlternatives ? `<td>${m.alternatives.map((a) => `${e(a.capturedAt)} <span class="muted">(−${e(a.lossMinutes)} min)</span>`).join('<br>') || '—'}</td>` : ''}
${scans ? scanCell(scans[m.machineId]) : ''}
</tr>`).join('');
  const blockers = selection.blockers.map((b) => `<tr class="warn" data-blocker="${e(b.machineId)}"><td>${e(b.machineId)}<div class="muted">${e(b.group)}</div></td><td colspan="${withAlternatives ? 5 : 4}">BLOCKED: ${e(b.reason)}</td></tr>`).join('');
  return `<table><thead><tr><th>Machine</th><th>Restore point</th><th>Clean data given up</th><th>Next newer point</th><th>Skipped</th>${withAlternatives ? '<th>Older points available</th>' : ''}${scans ? '<th>Malware scan</th>' : ''}</tr></thead><tbody>${rows}${blockers}</tbody></table>
<p class="muted">${selection.groups.map((g) => `${e(g.group)}: cutoff ${e(g.cutoff)}, consistency skew ${g.consistencySkewMinutes ?? '—'} min`).join(' · ')}</p>`;
}

/** A failback request: each machine, what it runs as now, where it goes back to, and what happens. */
export function failbackTable(summary: FailbackSummary): string {
  const rows = summary.machines.map((m) => `<tr data-machine="${e(m.machineId)}">
<td>${e(m.machineId)}<div class="muted">${e(m.group)}</div></td>
<td data-recovery-instance>${e(m.recoveryInstanceId ?? '—')}</td>
<td data-primary-subnet>${m.primarySubnetId ? e(m.primarySubnetId) : '<span class="warn">no primary network in the inventory</span>'}</td>
<td>${e(m.wave)}</td></tr>`).join('');
  return `<table><thead><tr><th>Machine</th><th>Runs now as (recovery machine)</th><th>Goes back to (primary network)</th><th>Wave</th></tr></thead><tbody>${rows}</tbody></table>
<p>What happens: ${e(FAILBACK_STEPS)}. The primaries start from the data the recovery machines hold now. On any failure the recovery machines keep running.</p>`;
}

function hiddenInputs(h: Record<string, string>): string {
  return Object.entries(h).map(([k, v]) => `<input type="hidden" name="${e(k)}" value="${e(v)}">`).join('');
}

/** What the page may offer this person right now (from the domain's rules: deciderOptions, approvalCard). */
export interface PageOptions {
  now: number;
  /** Eligible and not barred from approving (self-approval). */
  canApprove: boolean;
  /** Eligible (may reject). */
  canReject: boolean;
  /** Names for person ids (decisions, requester). */
  nameOf?: (personId: string) => string;
  /** A one-line notice above the decision (e.g. "already recorded"). */
  notice?: string;
  readiness?: string;
  /**
   * Each machine's scan as the decision rule judges it (domain approvalCard, which knows the
   * groups' scanBeforeLaunch policy): the page and the rule must agree on what is unverified.
   */
  scans?: Record<string, MachineScan>;
}

/** The approval page a decider sees. GET renders it; only the POST forms decide. */
export function approvalPage(r: PublicApprovalRequest, incident: Incident, who: PageIdentity, options: PageOptions): string {
  const f = incident.assessment.finding;
  const p = r.proposal;
  const purpose = purposeOf(r);
  const nameOf = options.nameOf ?? ((id: string) => id);
  const status = effectiveStatus(r, options.now);
  const approvals = r.decisions.filter((d) => d.decision === 'approve').length;
  const mine = r.decisions.find((d) => d.personId === who.personId);
  const scans = options.scans ?? (p ? Object.fromEntries(p.selection.machines.map((m) => [m.machineId, machineScan(p.scans?.[m.machineId], m.pointId, p.scans?.[m.machineId] !== undefined)])) : {});
  const unverified = Object.entries(scans).filter(([, s]) => s.status === 'unverified').map(([id]) => id);
  // A failback has no restore points to pick: no "older point" choices, no preview.
  const cutoffChoices = !p ? '' : r.groups.map((g) => {
    const times = [...new Set(p.selection.machines.filter((m) => m.group === g).flatMap((m) => m.alternatives.map((a) => a.capturedAt)))].sort().reverse();
    return `<label>Restore ${e(g)} from points at or before
<select name="cutoff:${e(g)}"><option value="">the proposed cutoff (${e(p.cutoff)})</option>${times.map((t) => `<option value="${e(t)}">${e(t)}</option>`).join('')}</select></label>`;
  }).join('<br>');
  let decide: string;
  if (status !== 'pending' || mine) {
    decide = `<p data-decided>${mine ? `You ${pastTense(mine.decision)} this request.` : `This request is ${e(status)}; no decision is possible any more.`}</p>${r.closedReason ? `<p class="warn" data-closed-reason>${e(r.closedReason)}</p>` : ''}`;
  } else if (!options.canReject) {
    decide = '<p data-not-eligible class="warn">You are not (or no longer) a decider for every affected group: you can read this request but not decide it.</p>';
  } else {
    decide = `${options.canApprove ? `
<form method="post" action="/approvals/${e(r.approvalId)}/decision">${hiddenInputs(who.hidden)}
<input type="hidden" name="decision" value="approve">
${p ? `<p>${cutoffChoices}</p>
<button class="approve" type="submit" name="step" value="preview">Review selection with these points</button>` : ''}
${unverified.length ? `<p class="warn" data-confirm-unverified><label><input type="checkbox" name="confirmUnverified" value="true"> I approve although the malware scan of ${e(unverified.join(', '))} could not verify the point (unverified)</label></p>` : ''}
<button class="approve" type="submit" name="step" value="confirm">Approve ${purpose}</button>
</form>` : `<p data-self-approval class="warn">You asked for this ${purpose}, so another decider must approve it. You may still reject it.</p>`}
<form method="post" action="/approvals/${e(r.approvalId)}/decision">${hiddenInputs(who.hidden)}
<input type="hidden" name="decision" value="reject"><input type="hidden" name="step" value="confirm">
<p><label>Reason for rejecting (required)<textarea name="reason" rows="2" required maxlength="1000"></textarea></label></p>
<button class="reject" type="submit">Reject ${purpose}</button></form>`;
  }
  const modeBadge = !p ? '<span class="badge recovery">FAILBACK — back to the primary network</span>'
    : `<span class="badge ${e(p.mode)}">${p.mode === 'test' ? 'TEST MODE — isolated network' : 'RECOVERY MODE — production recovery network'}</span>`;
  const shown = p ? `<div class="card"><h2>Proposed restore points (latest clean point at or before ${e(p.cutoff)})</h2>${selectionTable(p.selection, true, scans)}
<p>Estimated RTO <b>${e(p.plan.estimatedRtoMinutes)} min</b> in ${p.plan.waves.length} wave(s): ${p.plan.waves.map((w) => `wave ${w.wave}: ${e(w.machines.join(', '))}`).join('; ')}</p>
${p.plan.problems.length ? `<p class="warn">${p.plan.problems.map(e).join('<br>')}</p>` : ''}</div>`
    : `<div class="card" data-failback><h2>Failback to the primary environment</h2>${r.failback ? failbackTable(r.failback) : '<p class="warn">No recovered machines were recorded.</p>'}</div>`;
  return layout(purpose === 'failback' ? 'Failback approval' : 'Failover approval', `
<h1>${r.escalation ? '[ESCALATED] ' : ''}${e(approvalQuestion({ purpose, mode: p?.mode ?? 'recovery', groups: r.groups }))}</h1>
<p>${modeBadge}
 <span class="badge ${e(status)}" data-approval-status>${e(status.toUpperCase())}</span></p>
${options.notice ? `<div class="card" role="status" data-notice><p>${e(options.notice)}</p></div>` : ''}
${r.supersedes ? changesCard(r.supersedes) : ''}
<div class="card"><h2>Finding</h2>
<p><b>${e(f.type)}</b> — severity ${e(f.severity)} (${e(f.severityLabel)})${f.sample ? ' — <b>sample finding</b>' : ''}<br>
${e(f.resourceType)} ${e(f.instanceIds.join(', '))} in ${e(f.accountId)}/${e(f.region)}; first seen ${e(f.firstSeen)}, last seen ${e(f.lastSeen)}</p>
<p>Groups: <b>${e(r.groups.join(', '))}</b>. Machines hit: <b>${e(incident.machines.join(', '))}</b>. Data may be corrupted since <b data-suspected>${e(incident.suspectedSince)}</b>.</p>
${r.requestedBy ? `<p>${purpose === 'failback' ? 'Failback' : 'Failover'} requested by <b>${e(nameOf(r.requestedBy))}</b>.</p>` : ''}</div>
${shown}
${options.readiness ? `<div class="card"><h2>Readiness</h2>${options.readiness}</div>` : ''}
<div class="card"><h2>Decision</h2>
<p>${approvals} of ${r.quorum} approval(s) from ${e(r.eligibleDeciders.map(nameOf).join(', ') || 'nobody eligible')}; deadline <b>${e(r.expiresAt)}</b>. You are <b data-person>${e(who.personName)}</b>.</p>
${r.decisions.length ? `<ul>${r.decisions.map((d) => decisionItem(d, { name: nameOf(d.personId) })).join('')}</ul>` : ''}
${decide}
</div>
<p class="muted">Incident ${e(incident.incidentId)} · approval ${e(r.approvalId)} · This page is personal: anything done here is recorded as ${e(who.personName)}.</p>`);
}

/**
 * One decision as a list item: who, what, when, through which channel (and, where the reader
 * may see it, from where), the reason quoted. The approval page and the local console's
 * incident page list decisions with it.
 */
export function decisionItem(d: Pick<Decision, 'personId' | 'decision' | 'at' | 'channel' | 'source' | 'reason'>, show: { name?: string; at?: string; source?: boolean } = {}): string {
  return `<li>${e(show.name ?? d.personId)} ${pastTense(d.decision)} at ${e(show.at ?? d.at)} via ${e(d.channel)}${show.source ? ` from ${e(d.source)}` : ''}${d.reason ? ` — “${e(d.reason)}”` : ''}</li>`;
}

/** What changed since the proposal this request replaces: the deciders see why they are asked again. */
function changesCard(c: ProposalChange): string {
  const at = (p: { pointId: string; capturedAt: string } | null) => (p ? `${e(p.capturedAt)} (${e(p.pointId)})` : 'none');
  return `<div class="card" data-changes><h2>Why you are asked again</h2>
<p class="warn">${e(c.reason)}. This proposal replaces an earlier one, whose links no longer work.</p>
<p>Cutoff: ${e(c.previousCutoff)} ▶ <b>${e(c.cutoff)}</b></p>
${c.machines.length ? `<table><thead><tr><th>Machine</th><th>Was</th><th>Now</th><th>Why</th></tr></thead><tbody>${c.machines.map((m) => `<tr><td>${e(m.machineId)}</td><td>${at(m.from)}</td><td>${at(m.to)}</td><td>${e(m.why)}</td></tr>`).join('')}</tbody></table>` : '<p>No machine\'s point changed.</p>'}</div>`;
}

/** Preview of a recomputed selection for older cutoffs, with a confirm form carrying them. */
export function previewPage(r: PublicApprovalRequest, selection: Selection, plan: { estimatedRtoMinutes: number; problems: string[] }, cutoffs: Record<string, string>, who: PageIdentity): string {
  const carried = { ...who.hidden, decision: 'approve', step: 'confirm', ...Object.fromEntries(Object.entries(cutoffs).map(([g, t]) => [`cutoff:${g}`, t])) };
  const picked = Object.entries(cutoffs);
  return layout('Review older restore points', `
<h1>Restore from older points?</h1>
<div class="card"><p>${picked.length ? `With the cutoffs you picked (${picked.map(([g, t]) => `${e(g)} ≤ ${e(t)}`).join(', ')})` : 'With the proposed cutoff'}, the selection becomes:</p>
${selectionTable(selection, false)}
<p>Estimated RTO <b>${e(plan.estimatedRtoMinutes)} min</b>.</p>
${selection.blockers.length ? `<p class="warn" data-preview-blockers>${selection.blockers.length} machine(s) would have no restore point.</p>` : ''}
${plan.problems.length ? `<p class="warn">${plan.problems.map(e).join('<br>')}</p>` : ''}</div>
<form method="post" action="/approvals/${e(r.approvalId)}/decision">${hiddenInputs(carried)}
<button class="approve" type="submit">Approve failover with these points</button></form>
<p><a href="/approvals/${e(r.approvalId)}?${new URLSearchParams({ p: who.hidden['p'] ?? '', e: who.hidden['e'] ?? '', g: who.hidden['g'] ?? '0', s: who.hidden['s'] ?? '' }).toString()}">Back</a></p>`);
}

/**
 * What the last readiness check said about each affected group (deciders reachable, networks,
 * quota, a recent drill, a point within RPO): a decider should know before approving that the
 * recovery network is gone or the quota too small.
 */
export function readinessSection(reports: { group: string; report: GroupReadiness | null }[]): string {
  return reports.map(({ group, report }) => {
    const badge = readinessBadgeOf(report);
    const problems = report?.problems ?? [];
    return `<p data-readiness="${e(group)}"><b>${e(group)}</b>: <span class="badge ${badge.tone === 'bad' ? 'rejected' : badge.tone === 'warn' ? 'pending' : badge.tone === 'ok' ? 'approved' : ''}">${e(badge.text)}</span>`
      + `${report ? ` <span class="muted">checked ${e(report.checkedAt)}</span>` : ''}</p>`
      + (problems.length ? `<ul>${problems.map((p) => `<li>${e(p)}</li>`).join('')}</ul>` : '');
  }).join('');
}
