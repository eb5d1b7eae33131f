import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { InventoryIndex } from '../../../domain/inventory.ts';
import type { Notification, Notifier } from '../../../domain/ports.ts';

/**
 * Email through SES v2: text and HTML bodies, one message per recipient so each person's
 * copy can carry its own link later. Recipients are person ids resolved through the
 * inventory; with none, the configured operations address is used.
 */
export class SesNotifier implements Notifier {
  constructor(
    private readonly client: SESv2Client,
    private readonly options: { from: string; fallbackTo: string[]; index: () => Promise<InventoryIndex> },
  ) {}

  async send(n: Notification): Promise<void> {
    const index = await this.options.index();
    const addresses = (n.recipients ?? []).map((id) => index.personById.get(id)?.email).filter((e): e is string => !!e);
    const to = addresses.length ? addresses : this.options.fallbackTo;
    for (const address of to) {
      await this.client.send(new SendEmailCommand({
        FromEmailAddress: this.options.from,
        Destination: { ToAddresses: [address] },
        Content: { Simple: { Subject: { Data: n.subject, Charset: 'UTF-8' }, Body: { Text: { Data: renderText(n), Charset: 'UTF-8' }, Html: { Data: renderHtml(n), Charset: 'UTF-8' } } } },
      }));
    }
  }
}

export function renderText(n: Notification): string {
  return [n.text, ...(n.links ?? []).map((l) => `${l.label}: ${l.url}`)].join('\n\n');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function renderHtml(n: Notification): string {
  const body = n.text.split('\n').map((l) => `<p>${escapeHtml(l)}</p>`).join('');
  const links = (n.links ?? []).map((l) => `<p><a href="${escapeHtml(l.url)}">${escapeHtml(l.label)}</a></p>`).join('');
  return `<!doctype html><html><body style="font-family:sans-serif">${body}${links}</body></html>`;
}
