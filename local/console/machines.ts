import { rpoBadgeOf, type Badge } from '../../domain/protection/index.ts';
import type { MachineView } from '../read-model.ts';
import { lifecycleTone } from './drills.ts';
import { badge, e, statusTone, table, time } from './html.ts';

/**
 * `/machines`: every protected machine, its newest recovery point, its RPO state (badges from
 * the RPO monitor's stored states, by machine id; a machine without one shows "RPO not checked")
 * and its DR lifecycle.
 */
export function machinesPage(machines: MachineView[], rpo: Readonly<Record<string, Badge>> = {}): string {
  const headers = ['Machine', 'Group', 'Wave', 'Latest recovery point', 'RPO', 'DR lifecycle', 'Recovery instance', 'Last drill'];
  const rows = machines.map((m) => machineRow(m, rpo[m.machineId] ?? rpoBadgeOf(null)));
  return `<h1>Machines</h1>
<div class="card">${table(headers, rows, 'The inventory has no machines.')}</div>
<p class="muted">DR lifecycle: <b>Never Tested</b> → <b>Tested Recently</b> (its last drill passed, within the group's window) →
<b>Test Overdue</b> once that window has passed; <b>Drill Failed</b> until a later drill passes. While an incident holds a
machine it shows the incident's state instead (Failing Over → Recovered → Failback Pending, or Failover Failed), with the
drill state beside it. A <span class="badge test">TEST</span> badge marks a test-mode (isolated network) run: a drill, or a
test-mode incident. <a href="/drills">Drills</a> shows each group's drill history and RTO trend.</p>
<p class="muted">RPO: the age of each machine's newest restorable point against its group's objective, as the RPO monitor
(check-protection, every 5 minutes) last saw it: <b>RPO ok</b>, <b>RPO breach</b>, <b>replication stalled</b> (AWS Elastic
Disaster Recovery), or <b>RPO not checked</b> until the monitor has run. Hover a badge for the details.</p>`;
}

function machineRow(m: MachineView, rpo: Badge): string {
  const point = m.latestPoint
    ? `${e(time(m.latestPoint.capturedAt))}<div>${badge(m.latestPoint.status, statusTone(m.latestPoint.status))} ${badge(`scan: ${m.latestPoint.scan}`, statusTone(m.latestPoint.scan))}</div>`
    : '<span class="warn-text">no recovery point</span>';
  const clean = m.latestCleanPoint && m.latestCleanPoint.pointId !== m.latestPoint?.pointId
    ? `<div class="muted">newest usable: ${e(time(m.latestCleanPoint.capturedAt))}</div>` : '';
  const heldByIncident = m.drLifecycle !== m.drill;
  const lifecycle = `${badge(m.drLifecycle, lifecycleTone(m.drLifecycle), 'data-lifecycle')}${m.testMode && heldByIncident ? ` ${badge('TEST', 'test', 'data-test-mode')}` : ''}`
    + (m.lifecycle === 'Not Protected' ? ` ${badge('Not Protected', 'bad', 'data-protection')}` : '')
    + (m.runningDrillId ? `<div>${badge('drill running', 'info', 'data-drill-running')} ${badge('TEST', 'test', 'data-test-mode')}</div>` : '')
    + (heldByIncident ? `<div class="muted">drills: <span data-drill-state>${e(m.drill)}</span></div>` : '')
    + (m.incidentId ? `<div class="muted"><a href="/incidents/${e(m.incidentId)}">${e(m.incidentId)}</a></div>` : '')
    + (m.pendingIncidentId ? `<div class="muted">approval pending: <a href="/incidents/${e(m.pendingIncidentId)}">${e(m.pendingIncidentId)}</a></div>` : '');
  const recovery = m.recovery
    ? `${m.recovery.instanceId ? `<code>${e(m.recovery.instanceId)}</code> ${badge(m.recovery.state ?? 'unknown', m.recovery.state === 'running' ? 'ok' : 'warn')}` : '<span class="muted">not launched</span>'}
<div class="muted">from ${e(m.recovery.pointId)} (${e(time(m.recovery.capturedAt))})</div>`
    : '<span class="muted">—</span>';
  const drillLink = (id: string) => `<a href="/drills/${e(encodeURIComponent(m.group))}#${e(encodeURIComponent(id))}"><code>${e(id)}</code></a>`;
  const lastDrill = m.lastDrill
    ? `${e(time(m.lastDrill.testedAt))} ${m.lastDrill.result === 'fail' ? badge('failed', 'bad') : badge('passed', 'ok')}<div class="muted">${drillLink(m.lastDrill.drillId)}</div>`
    : '<span class="muted">never</span>';
  return `<tr data-machine="${e(m.machineId)}"><td><b>${e(m.machineId)}</b><div class="muted"><code>${e(m.instanceId)}</code> ${e(m.instanceType ?? '')}</div></td>
<td>${e(m.group)}</td><td>${e(m.wave)}</td><td>${point}${clean}</td><td>${badge(rpo.text, rpo.tone, `data-rpo title="${e(rpo.title)}"`)}</td><td>${lifecycle}</td><td>${recovery}</td><td data-last-drill>${lastDrill}</td></tr>`;
}
