import type { EvidencePack } from '../../../domain/evidence/index.ts';
import { minutesBetween } from '../../../domain/shared/index.ts';
import { contentSecurityPolicy, escapeHtml as esc, htmlHeaders } from '../edge/index.ts';

/**
 * The evidence pack (domain/evidence) as one self-contained HTML document, for the auditor and
 * the post-incident review; every value is escaped.
 */
const table = (head: string[], rows: unknown[][]) =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

/**
 * The export allows its inline stylesheet and nothing else: no scripts, images, forms, framing.
 * Served with EVIDENCE_HEADERS; the same policy (and no referrer) is also written into the
 * document, so a copy saved to disk and opened from there is held to it too (a <meta> CSP
 * cannot forbid framing: only the served copy's headers can).
 */
const EVIDENCE_CSP = contentSecurityPolicy({ style: "'unsafe-inline'" });
export const EVIDENCE_HEADERS: Record<string, string> = htmlHeaders(EVIDENCE_CSP);
const META_CSP = EVIDENCE_CSP.split('; ').filter((d) => !d.startsWith('frame-ancestors')).join('; ');

/** A self-contained HTML rendering (no scripts, no external assets). */
export function renderEvidenceHtml(p: EvidencePack): string {
  const i = p.incident;
  const a = p.assessment;
  const duration = (from: string | null, to: string | null) => (from && to ? `${minutesBetween(Date.parse(to), Date.parse(from))} min` : '');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${META_CSP}"><meta name="referrer" content="no-referrer"><title>Evidence pack ${esc(i.incidentId)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#1d2430}table{border-collapse:collapse;width:100%;margin:8px 0 20px}th,td{border-bottom:1px solid #e3e6eb;padding:4px 6px;text-align:left;vertical-align:top}th{color:#5a6372}.ok{color:#17602a}.bad{color:#9c250b}code{font-size:12px}</style></head><body>
<h1>Evidence pack — incident ${esc(i.incidentId)}</h1>
<p>Generated ${esc(p.generatedAt)}. Status <b>${esc(i.status)}</b>; mode ${esc(i.mode)}; groups ${esc(i.groups.join(', '))}.
Audit chain: <b class="${p.audit.chain.ok ? 'ok' : 'bad'}">${p.audit.chain.ok ? `intact (${p.audit.entries.length} entries)` : `BROKEN — ${esc(p.audit.chain.reason)}`}</b></p>
<h2>1. Findings</h2>${table(['Finding', 'Type', 'Severity', 'First received', 'Deliveries'], p.findings.map((f) => [f.findingId, f.type, f.severity, f.firstReceived, f.deliveries]))}
<h2>2. Assessment (policy ${esc(a.policyVersion)})</h2><p>${esc(a.action)} — ${esc(a.finding.type)}, severity ${esc(a.finding.severity)} (${esc(a.finding.severityLabel)})${a.finding.sample ? ', sample' : ''}. Machines ${esc(i.machines.join(', '))}. Suspected corruption since <b>${esc(i.suspectedSince)}</b>.</p><ul>${a.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>
<h2>3. Proposal</h2>${p.proposal ? `<p>Cutoff ${esc(p.proposal.cutoff)}; ${p.proposal.plan.waves.map((w) => `wave ${w.wave}: ${esc(w.machines.join(', '))}`).join('; ')}; estimated RTO ${esc(p.proposal.plan.estimatedRtoMinutes)} min.</p>` : '<p>No proposal was made.</p>'}
<h2>4. Approvals and decisions</h2>${p.approvals.map((r) => `<h3>Request ${esc(r.approvalId)} — ${esc(r.status)}${r.escalation ? ' (escalation)' : ''}</h3><p>Created ${esc(r.createdAt)}, expires ${esc(r.expiresAt)}; deciders ${esc(r.eligibleDeciders.join(', '))}; quorum ${esc(r.quorum)}.</p>${table(['When', 'Who', 'What', 'Channel', 'Source', 'Outcome'], r.attempts.map((e) => { const d = e.data as Record<string, unknown>; return [e.at, e.actor, e.type, d['channel'], d['source'], d['outcome'] ?? d['reason']]; }))}`).join('') || '<p>None.</p>'}
<h2>5. Recovery points: chosen and skipped</h2>${table(['Machine', 'Group', 'Point', 'Captured', 'Clean data given up', 'Skipped newer points'], p.points.map((x) => [x.machineId, x.group, x.pointId, x.capturedAt, `${x.lossMinutes} min`, x.skipped.map((s) => `${s.pointId} (${s.reason})`).join('; ')]))}
<h2>6. Machines launched and terminated</h2>${table(['Run', 'Machine', 'Instance', 'Image', 'Type', 'Launched', 'Ready', 'Took', 'Error'], p.machines.map((m) => [m.run, m.machineId, m.instanceId, m.imageId, m.instanceType, m.launchedAt, m.readyAt, duration(m.launchedAt, m.readyAt), m.error]))}
${table(['When', 'Action', 'By', 'Details'], p.actions.map((e) => [e.at, e.type, e.actor, JSON.stringify(e.data)]))}
<h2>7. Measured against the objectives</h2><p>Achieved RPO (clean data given up): <b>${esc(p.measured.rpoMinutes ?? 'n/a')} min</b>. Achieved RTO (decision to all checks passed): <b>${esc(p.measured.rtoMinutes ?? 'n/a')} min</b>.</p>
${table(['Group', 'RPO objective', 'RPO met', 'RTO objective', 'RTO met'], p.measured.objectives.map((o) => [o.group, o.rpoMinutes, o.rpoMet, o.rtoMinutes, o.rtoMet]))}
<h2>8. Failback</h2>${p.failback ? `<p>${esc(p.failback.result)} (${esc(p.failback.startedAt)} → ${esc(p.failback.finishedAt)})</p>${table(['Machine', 'Primary instance', 'Recovery instance retired'], p.failback.machines.map((m) => [m.machineId, m.primaryInstanceId, m.retiredInstanceId]))}` : `<p>No failback.${i.closure ? ` Closed by ${esc(i.closure.by)} at ${esc(i.closure.at)}: ${esc(i.closure.reason)}` : ''}</p>`}
<h2>9. Audit log (digest chain)</h2>${table(['Seq', 'When', 'Type', 'Actor', 'Digest'], p.audit.entries.map((e) => [e.seq, e.at, e.type, e.actor, e.digest.slice(0, 16)]))}
</body></html>`;
}
