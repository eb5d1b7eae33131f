import type { OutboxMessage } from '../runtime.ts';
import { e, time } from './html.ts';

/** `/outbox`: the e-mails the system sent (the local SES), newest first. */
export function outboxPage(messages: OutboxMessage[], baseUrl: string): string {
  const cards = [...messages].reverse().map((m) => `<div class="card" data-message="${e(m.id)}">
<h2>${e(m.subject)}</h2><p class="muted">to ${e(m.to.join(', ') || '(configured channel)')} · ${e(time(m.at))}</p>
<pre>${linkify(m.text, baseUrl)}</pre></div>`).join('');
  return `<h1>Outbox</h1><p class="muted">${messages.length} notification(s). Locally, e-mail goes here (and to the terminal running <code>npm start</code>) instead of SES.</p>
${cards || '<div class="card"><p class="muted">Nothing sent yet.</p></div>'}`;
}

/** Escaped text with this server's own links made clickable (other URLs stay text). */
function linkify(text: string, baseUrl: string): string {
  return text.split(/(https?:\/\/\S+)/).map((part, i) => {
    if (i % 2 === 0 || !part.startsWith(`${baseUrl}/`)) return e(part);
    return `<a href="${e(part)}">${e(part)}</a>`;
  }).join('');
}
