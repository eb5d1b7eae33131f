import type { OutboxMessage } from '../runtime.ts';
import type { ApprovalView, GroupReadinessBadge, IncidentSummary, MachineView } from '../read-model.ts';
import { badge, e, statusTone, table, time } from './html.ts';
import { incidentRows, INCIDENT_HEADERS } from './incidents.ts';

/**
 * `/`: what needs attention now: pending approvals, each group's readiness (from its latest
 * readiness report; "readiness not checked" before the first check), recent incidents, the
 * machines, the outbox.
 */
export function overviewPage(data: { incidents: IncidentSummary[]; approvals: ApprovalView[]; machines: MachineView[]; outbox: OutboxMessage[]; readiness: GroupReadinessBadge[] }): string {
  const open = data.incidents.filter((i) => !['closed', 'notified', 'ignored'].includes(i.status)).length;
  const protectedCount = data.machines.filter((m) => m.lifecycle === 'Protected').length;
  const stats = `<div class="stats">
<div class="stat" data-stat="incidents"><b>${data.incidents.length}</b>incidents (${open} open)</div>
<div class="stat" data-stat="pending-approvals"><b>${data.approvals.length}</b>pending approvals</div>
<div class="stat" data-stat="machines"><b>${protectedCount}/${data.machines.length}</b>machines protected</div>
<div class="stat" data-stat="outbox"><b>${data.outbox.length}</b><a href="/outbox">notifications in the outbox</a></div></div>`;
  const approvals = table(['Incident', 'Groups', 'Mode', 'Approvals', 'Deadline', 'Decide'], data.approvals.map(approvalRow), 'No approval is waiting for a decision.');
  const start = data.incidents.length ? '' : `<div class="card"><h2>Get started</h2><p>Send the example ransomware finding:</p>
<pre>npx cleanpoint findings send examples/findings/ransomware-payments-db.json</pre>
<p class="muted">The approval e-mails appear in the <a href="/outbox">outbox</a> and in the terminal running <code>npm start</code>.</p></div>`;
  return `<h1>Overview</h1>${stats}${start}
<div class="card"><h2>Pending approvals</h2>${approvals}</div>
<div class="card"><h2>Readiness</h2>${table(['Group', 'Readiness', 'Checked', 'What to fix'], data.readiness.map(readinessRow), 'The inventory has no groups.')}
<p class="muted">Would a failover of the group work today? Checked daily by check-protection (deciders reachable, networks, KMS key,
instance quota, a recent passing drill, a recovery point within the RPO); a group shows <b>readiness not checked</b> until its first check.</p></div>
<div class="card"><h2>Recent incidents</h2>${table(INCIDENT_HEADERS, incidentRows(data.incidents.slice(0, 10)), 'No incidents yet.')}</div>`;
}

function approvalRow(a: ApprovalView): string {
  const approvals = a.decisions.filter((d) => d.decision === 'approve').length;
  const decide = a.link ? `<a href="${e(a.link.url)}">approval page (${e(a.link.personName)}'s link)</a>` : '<span class="muted">link not sent yet</span>';
  return `<tr data-approval="${e(a.approvalId)}"><td><a href="/incidents/${e(a.incidentId)}">${e(a.incidentId)}</a></td><td>${e(a.groups.join(', '))}</td>
<td>${!a.proposal ? badge(a.purpose ?? 'failback', 'info') : a.proposal.mode === 'test' ? badge('TEST', 'test') : badge(a.proposal.mode, 'info')}</td><td>${approvals} of ${e(a.quorum)} ${badge(a.status, statusTone(a.status))}</td>
<td>${e(time(a.expiresAt))}</td><td>${decide}</td></tr>`;
}

function readinessRow(r: GroupReadinessBadge): string {
  const fix = r.problems.length
    ? `${e(r.problems[0])}${r.problems.length > 1 ? ` <span class="muted">(+${r.problems.length - 1} more)</span>` : ''}`
    : `<span class="muted">${r.checkedAt ? 'nothing' : 'not checked yet'}</span>`;
  return `<tr data-group="${e(r.group)}"><td><a href="/drills/${e(encodeURIComponent(r.group))}">${e(r.group)}</a></td>
<td>${badge(r.badge.text, r.badge.tone, `data-readiness title="${e(r.badge.title)}"`)}</td><td>${e(time(r.checkedAt))}</td><td>${fix}</td></tr>`;
}
