import type { IncidentSummary } from '../read-model.ts';
import { badge, e, humanStatus, minutes, statusTone, table, time } from './html.ts';

export const INCIDENT_HEADERS = ['Incident', 'Opened', 'Status', 'Finding', 'Groups', 'Mode', 'RTO', 'RPO'];

export function incidentRows(incidents: IncidentSummary[]): string[] {
  return incidents.map((i) => `<tr data-incident="${e(i.incidentId)}"><td><a href="/incidents/${e(i.incidentId)}">${e(i.incidentId)}</a></td>
<td>${e(time(i.createdAt))}</td><td>${badge(humanStatus(i.status), statusTone(i.status), `data-status="${e(i.status)}"`)}</td>
<td>${e(i.findingType)} <span class="muted">sev ${e(i.severity)}</span></td><td>${e(i.groups.join(', ') || '—')}</td>
<td>${i.mode === 'test' ? badge('TEST', 'test') : e(i.mode ?? '—')}</td><td>${e(minutes(i.rtoMinutes))}</td><td>${e(minutes(i.rpoMinutes))}</td></tr>`);
}

/** `/incidents`: every incident, newest first. */
export function incidentsPage(incidents: IncidentSummary[]): string {
  return `<h1>Incidents</h1><div class="card">${table(INCIDENT_HEADERS, incidentRows(incidents), 'No incidents yet. Send a finding with `cleanpoint findings send FILE`.')}</div>`;
}
