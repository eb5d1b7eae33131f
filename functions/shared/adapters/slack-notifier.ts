import { isApprovalNotification } from '../../../domain/approvals/index.ts';
import { TransientError, type Notification } from '../../../domain/shared/index.ts';
import type { Notifier } from '../../../domain/ports/index.ts';
import { z } from 'zod';
import { ConfigError } from '../config.ts';
import { getSecret } from '../secrets.ts';
import { renderApprovalMessage, renderTextMessage, type SlackMessage } from './slack/blocks.ts';
import { isSlackResponseUrl } from './slack/interaction.ts';

/**
 * Slack: one Block Kit message per approval request in the team channel, through an incoming
 * webhook (URL kept in SSM) or chat.postMessage with a bot token (kept in SSM), and the
 * outcome written back over the click's response_url.
 *
 * What never goes to Slack: task tokens, secrets, and links. Personal approval links act as
 * their person, so a notification that carries links is a personal copy and is skipped; the
 * channel copy's buttons carry only the approval id. Error messages never include the webhook
 * URL or the token (both are credentials).
 */

export interface SlackHttpRequest { url: string; headers: Record<string, string>; body: string }
export interface SlackHttpResponse { status: number; body: string }
/** One HTTPS POST. Swappable so tests and the local runtime capture messages instead of sending them. */
export type SlackTransport = (request: SlackHttpRequest) => Promise<SlackHttpResponse>;

export const fetchTransport: SlackTransport = async (request) => {
  const response = await fetch(request.url, {
    method: 'POST', headers: request.headers, body: request.body, redirect: 'error', signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: (await response.text()).slice(0, 2_000) };
};

/**
 * Where Slack posts go by default: HTTPS (fetch). A composition passes its platform's
 * transport instead (compose.ts: the local runtime's outbox, a test's recorder).
 */
export function slackTransport(): SlackTransport {
  return fetchTransport;
}

export type SlackDestination =
  | { kind: 'webhook'; webhookUrl: () => Promise<string> }
  | { kind: 'bot'; botToken: () => Promise<string>; channel: string };

export class SlackNotifier implements Notifier {
  constructor(private readonly destination: SlackDestination, private readonly transport: () => SlackTransport = slackTransport) {}

  /** Not personal copies: their links act as one person and must never sit in a shared channel. */
  accepts(n: Notification): boolean {
    if (n.links?.length) return false;
    return !(isApprovalNotification(n) && n.audience !== 'channel');
  }

  async send(n: Notification): Promise<void> {
    if (!this.accepts(n)) return;
    await this.post(isApprovalNotification(n) ? renderApprovalMessage(n.approval) : renderTextMessage(n));
  }

  private async post(message: SlackMessage): Promise<void> {
    const send = this.transport();
    if (this.destination.kind === 'webhook') {
      const url = await this.destination.webhookUrl();
      const out = await send({ url, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(message) });
      if (out.status !== 200) throw deliveryError('Slack incoming webhook', out.status, out.body);
      return;
    }
    const token = await this.destination.botToken();
    const out = await send({
      url: 'https://slack.com/api/chat.postMessage',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
      body: JSON.stringify({ channel: this.destination.channel, ...message }),
    });
    let answer: { ok?: boolean; error?: string } = {};
    try { answer = JSON.parse(out.body) as typeof answer; } catch { /* reported below */ }
    if (out.status !== 200 || answer.ok !== true) throw deliveryError('Slack chat.postMessage', out.status, answer.error ?? 'no ok in the answer');
  }
}

/** Slack answers errors with a code (no_service, invalid_payload, invalid_auth): only a code-shaped word is repeated. */
function deliveryError(what: string, status: number, detail: string): Error {
  const code = detail.trim().match(/^[a-z][a-z_]{0,39}(?![\w/:.])/)?.[0] ?? 'unexpected answer';
  const message = `${what} answered ${status}: ${code}`;
  return status === 429 || status >= 500 ? new TransientError(message) : new Error(message);
}

/** Write a message back to the Slack click that caused it (response_url; Slack hosts only). */
export async function respondToSlack(responseUrl: string | undefined, message: Record<string, unknown>, transport: SlackTransport = slackTransport()): Promise<boolean> {
  if (!responseUrl || !isSlackResponseUrl(responseUrl)) return false;
  const out = await transport({ url: responseUrl, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(message) });
  if (out.status !== 200) throw deliveryError('Slack response_url', out.status, out.body);
  return true;
}

const parameterName = z.string().regex(/^\/[A-Za-z0-9_.\/-]+$/, 'must be an SSM parameter name');

/**
 * Environment of a function that posts to Slack (validated with the function's own config):
 * the SSM parameter holding the incoming-webhook URL, or the one holding a bot token plus the
 * channel id. Neither set: Slack is off.
 */
export const slackConfigVars = {
  SLACK_WEBHOOK_URL_PARAMETER: parameterName.optional(),
  SLACK_BOT_TOKEN_PARAMETER: parameterName.optional(),
  SLACK_CHANNEL_ID: z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCDEF').optional(),
} as const;

export type SlackConfig = { SLACK_WEBHOOK_URL_PARAMETER?: string | undefined; SLACK_BOT_TOKEN_PARAMETER?: string | undefined; SLACK_CHANNEL_ID?: string | undefined };

/**
 * The Slack notifier the configuration asks for (secrets read from SSM when sending, cached), or
 * null. `via` is the composition's transport and secret reader (default: HTTPS, the module's SSM client).
 */
export function slackNotifier(
  config: SlackConfig,
  via: { transport?: () => SlackTransport; secret?: (parameterName: string) => Promise<string> } = {},
): SlackNotifier | null {
  const read = via.secret ?? ((name: string) => getSecret(name));
  const transport = via.transport ?? slackTransport;
  if (config.SLACK_BOT_TOKEN_PARAMETER) {
    if (!config.SLACK_CHANNEL_ID) throw new ConfigError('invalid configuration: SLACK_CHANNEL_ID: is not set (needed with SLACK_BOT_TOKEN_PARAMETER)');
    const name = config.SLACK_BOT_TOKEN_PARAMETER;
    return new SlackNotifier({ kind: 'bot', botToken: () => read(name), channel: config.SLACK_CHANNEL_ID }, transport);
  }
  if (config.SLACK_WEBHOOK_URL_PARAMETER) {
    const name = config.SLACK_WEBHOOK_URL_PARAMETER;
    return new SlackNotifier({ kind: 'webhook', webhookUrl: () => read(name) }, transport);
  }
  return null;
}
