import { escapeHtml as e } from '../../functions/shared/edge/index.ts';

/** Small helpers shared by the console pages. Every dynamic value goes through `e` (the edge's escapeHtml). */
export { e };

/** `2026-11-26T09:12:40.000Z` → `2026-11-26 09:12:40Z` (times are virtual, UTC). */
export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : String(iso);
}

export function minutes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${Math.round(value * 10) / 10} min`;
}

/** A status badge; the CSS class is derived from the text, never from raw input. */
export function badge(text: string, tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted' | 'test', attrs = ''): string {
  return `<span class="badge ${tone}"${attrs ? ` ${attrs}` : ''}>${e(text)}</span>`;
}

/** `awaiting-approval` → `Awaiting approval`. */
export function humanStatus(status: string): string {
  const words = status.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function statusTone(status: string): 'ok' | 'warn' | 'bad' | 'info' | 'muted' {
  if (['recovered', 'approved', 'closed', 'Protected', 'available', 'clean'].includes(status)) return 'ok';
  if (['awaiting-approval', 'proposed', 'pending', 'failing-over', 'failing-back', 'failback-pending', 'Failing Over', 'Failback Pending', 'unscanned', 'incomplete'].includes(status)) return 'warn';
  if (['failover-failed', 'rejected', 'expired', 'Failover Failed', 'Not Protected', 'infected', 'quarantined', 'reinfected', 'superseded'].includes(status)) return 'bad';
  if (['notified', 'ignored'].includes(status)) return 'muted';
  return 'info';
}

export function table(headers: string[], rows: string[], empty: string): string {
  if (rows.length === 0) return `<p class="muted">${e(empty)}</p>`;
  return `<table><thead><tr>${headers.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
