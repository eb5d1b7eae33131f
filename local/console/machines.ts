import type { MachineView } from '../read-model.ts';
import { badge, e, statusTone, table, time } from './html.ts';

/** `/machines`: every protected machine, its newest recovery point and its DR lifecycle. */
export function machinesPage(machines: MachineView[]): string {
  const headers = ['Machine', 'Group', 'Wave', 'Latest recovery point', 'DR lifecycle', 'Recovery instance', 'Drill'];
  const rows = machines.map(machineRow);
  return `<h1>Machines</h1>
<div class="card">${table(headers, rows, 'The inventory has no machines.')}</div>
<p class="muted">Lifecycle: Protected (has an eligible recovery point) → Failing Over → Recovered → Failback Pending. A
<span class="badge test">TEST</span> badge marks a test-mode (isolated network) run. Drills are not scheduled yet.</p>`;
}

function machineRow(m: MachineView): string {
  const point = m.latestPoint
    ? `${e(time(m.latestPoint.capturedAt))}<div>${badge(m.latestPoint.status, statusTone(m.latestPoint.status))} ${badge(`scan: ${m.latestPoint.scan}`, statusTone(m.latestPoint.scan))}</div>`
    : '<span class="warn-text">no recovery point</span>';
  const clean = m.latestCleanPoint && m.latestCleanPoint.pointId !== m.latestPoint?.pointId
    ? `<div class="muted">newest usable: ${e(time(m.latestCleanPoint.capturedAt))}</div>` : '';
  const lifecycle = `${badge(m.lifecycle, statusTone(m.lifecycle), 'data-lifecycle')}${m.testMode ? ` ${badge('TEST', 'test', 'data-test-mode')}` : ''}`
    + (m.incidentId ? `<div class="muted"><a href="/incidents/${e(m.incidentId)}">${e(m.incidentId)}</a></div>` : '')
    + (m.pendingIncidentId ? `<div class="muted">approval pending: <a href="/incidents/${e(m.pendingIncidentId)}">${e(m.pendingIncidentId)}</a></div>` : '');
  const recovery = m.recovery
    ? `${m.recovery.instanceId ? `<code>${e(m.recovery.instanceId)}</code> ${badge(m.recovery.state ?? 'unknown', m.recovery.state === 'running' ? 'ok' : 'warn')}` : '<span class="muted">not launched</span>'}
<div class="muted">from ${e(m.recovery.pointId)} (${e(time(m.recovery.capturedAt))})</div>`
    : '<span class="muted">—</span>';
  return `<tr data-machine="${e(m.machineId)}"><td><b>${e(m.machineId)}</b><div class="muted"><code>${e(m.instanceId)}</code> ${e(m.instanceType ?? '')}</div></td>
<td>${e(m.group)}</td><td>${e(m.wave)}</td><td>${point}${clean}</td><td>${lifecycle}</td><td>${recovery}</td><td>${badge(m.drill, 'muted')}</td></tr>`;
}
