import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { approvalCard, isApprovalNotification, withoutToken, type ApprovalCard, type ApprovalNotification } from '../../domain/approvals/index.ts';
import { TransientError, type Notification } from '../../domain/shared/index.ts';
import type { Notifier } from '../../domain/ports/index.ts';
import { CompositeNotifier } from '../../functions/shared/adapters/composite-notifier.ts';
import { renderHtml, renderText, SesNotifier } from '../../functions/shared/adapters/ses-notifier.ts';
import { respondToSlack, SlackNotifier, type SlackHttpRequest, type SlackTransport } from '../../functions/shared/adapters/slack-notifier.ts';
import { ephemeral, renderApprovalMessage, SLACK_ACTIONS } from '../../functions/shared/adapters/slack/index.ts';
import { thrown } from '../contract/contract-fixtures.ts';
import { approvalWorld, openRequest } from './helpers.ts';

const WEBHOOK = 'https://hooks.slack.com/services/T000/B000/SECRETPART123';
const BOT_TOKEN = 'xoxb-1111-2222-SECRETBOTTOKEN';

function recorder(answer: { status: number; body: string } = { status: 200, body: 'ok' }) {
  const posts: SlackHttpRequest[] = [];
  const transport: SlackTransport = async (r) => { posts.push(r); return answer; };
  return { posts, transport };
}

/** The notifications of a freshly requested approval (personal e-mails and the channel copy). */
async function requested() {
  const w = await approvalWorld();
  const r = await openRequest(w);
  const channel = w.notifier.sent.find((n) => isApprovalNotification(n) && n.audience === 'channel') as ApprovalNotification;
  const personal = w.notifier.sent.find((n) => isApprovalNotification(n) && n.audience === 'person') as ApprovalNotification;
  return { w, r, channel, personal };
}

type Block = { type: string; elements?: { type: string; action_id?: string; value?: string; style?: string; confirm?: unknown }[]; text?: { text: string }; fields?: { text: string }[] };

describe('SlackNotifier', () => {
  it('posts one Block Kit message per request whose buttons carry only the approval id', async () => {
    // Prepare
    const { r, channel } = await requested();
    const { posts, transport } = recorder();
    // Act
    await new SlackNotifier({ kind: 'webhook', webhookUrl: async () => WEBHOOK }, () => transport).send(channel);
    // Assess
    expect(posts).toHaveLength(1);
    expect(posts[0]!.url).toBe(WEBHOOK);
    const body = JSON.parse(posts[0]!.body) as { text: string; blocks: Block[] };
    const buttons = body.blocks.find((b) => b.type === 'actions')!.elements!;
    expect(buttons.map((b) => [b.action_id, b.value, b.style])).toEqual([[SLACK_ACTIONS.approve, r.approvalId, 'primary'], [SLACK_ACTIONS.reject, r.approvalId, 'danger']]);
    expect(buttons.every((b) => b.confirm)).toBe(true);
    expect(posts[0]!.body).not.toContain(r.taskToken);
    expect(posts[0]!.body).not.toMatch(/\/approvals\//);
    expect(body.text).toBe('Approve test-mode failover of payments?');
    expect(posts[0]!.body).toContain('payments-db');
  });

  it('never posts a personal copy (its link acts as one person) to the shared channel', async () => {
    const { personal } = await requested();
    const { posts, transport } = recorder();
    await new SlackNotifier({ kind: 'webhook', webhookUrl: async () => WEBHOOK }, () => transport).send(personal);
    await new SlackNotifier({ kind: 'webhook', webhookUrl: async () => WEBHOOK }, () => transport).send({ kind: 'outcome', subject: 's', text: 't', links: [{ label: 'x', url: 'https://x' }] });
    expect(posts).toEqual([]);
  });

  it('posts with a bot token through chat.postMessage to the configured channel', async () => {
    // Prepare
    const { channel } = await requested();
    const { posts, transport } = recorder({ status: 200, body: '{"ok":true,"channel":"C0123ABCDEF","ts":"1.2"}' });
    // Act
    await new SlackNotifier({ kind: 'bot', botToken: async () => BOT_TOKEN, channel: 'C0123ABCDEF' }, () => transport).send(channel);
    // Assess
    expect(posts[0]!.url).toBe('https://slack.com/api/chat.postMessage');
    expect(posts[0]!.headers['authorization']).toBe(`Bearer ${BOT_TOKEN}`);
    expect(JSON.parse(posts[0]!.body)).toMatchObject({ channel: 'C0123ABCDEF' });
    expect(posts[0]!.body).not.toContain(BOT_TOKEN);
  });

  it('reports a refused post without the webhook URL or the token in the error', async () => {
    const { channel } = await requested();
    const hook = await thrown(() => new SlackNotifier({ kind: 'webhook', webhookUrl: async () => WEBHOOK }, () => recorder({ status: 404, body: `no_service ${WEBHOOK}` }).transport).send(channel));
    const bot = await thrown(() => new SlackNotifier({ kind: 'bot', botToken: async () => BOT_TOKEN, channel: 'C1' }, () => recorder({ status: 200, body: '{"ok":false,"error":"invalid_auth"}' }).transport).send(channel));
    const busy = await thrown(() => new SlackNotifier({ kind: 'webhook', webhookUrl: async () => WEBHOOK }, () => recorder({ status: 503, body: '' }).transport).send(channel));
    expect(hook.message).toMatch(/answered 404/);
    expect(hook.message).not.toContain('SECRETPART');
    expect(bot.message).toMatch(/invalid_auth/);
    expect(bot.message).not.toContain('SECRETBOTTOKEN');
    expect(busy).toBeInstanceOf(TransientError);
  });

  it('escapes Slack control characters so a finding cannot inject mentions or links', async () => {
    // Prepare
    const { channel } = await requested();
    const evil: ApprovalCard = { ...channel.approval, finding: { ...channel.approval.finding, type: 'Backdoor:EC2/<!channel> <https://evil.example|click> & co' } };
    // Act
    const message = renderApprovalMessage(evil);
    // Assess
    const text = JSON.stringify(message);
    expect(text).toContain('&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; co');
    expect(text).not.toContain('<!channel>');
  });

  it('shows the outcome instead of buttons once the request is decided', async () => {
    const { channel } = await requested();
    const message = renderApprovalMessage(channel.approval, {
      status: 'approved', approvalsNeeded: 0,
      decisions: [{ personId: 'alice', name: 'Alice Martin', decision: 'approve', at: '2024-05-01T10:00:00.000Z', channel: 'slack' }],
    });
    expect((message.blocks as Block[]).some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(message)).toContain('Alice Martin approved');
  });
});

describe('respondToSlack', () => {
  it('posts only to Slack\'s response_url hosts', async () => {
    const { posts, transport } = recorder();
    expect(await respondToSlack('https://attacker.example/x', ephemeral('hi'), transport)).toBe(false);
    expect(await respondToSlack(undefined, ephemeral('hi'), transport)).toBe(false);
    expect(await respondToSlack('https://hooks.slack.com/actions/T1/2/x', ephemeral('hi'), transport)).toBe(true);
    expect(posts.map((p) => p.url)).toEqual(['https://hooks.slack.com/actions/T1/2/x']);
    expect(JSON.parse(posts[0]!.body)).toEqual({ response_type: 'ephemeral', replace_original: false, text: 'hi' });
  });
});

describe('SesNotifier', () => {
  const ses = mockClient(SESv2Client);
  beforeEach(() => { ses.reset(); ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' }); });

  it('sends each decider their own copy with text and HTML, and leaves the channel copy to Slack', async () => {
    // Prepare
    const { w, r } = await requested();
    const notifier = new SesNotifier(new SESv2Client({}), { from: 'dr@example.com', fallbackTo: ['ops@example.com'], index: async () => w.index });
    // Act
    for (const n of w.notifier.sent) await notifier.send(n);
    // Assess
    const calls = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Destination?.ToAddresses)).toEqual([['alice@example.com'], ['bob@example.com']]);
    const html = calls[0]!.Content!.Simple!.Body!.Html!.Data!;
    const text = calls[0]!.Content!.Simple!.Body!.Text!.Data!;
    expect(text).toContain(`/approvals/${r.approvalId}?`);
    expect(html).toContain(`href="https://approvals.example.com/approvals/${r.approvalId}?p=alice&amp;e=`);
    expect(html).toContain('payments-db');
    expect(html).toContain('Older points available');
    expect(calls[0]!.Content!.Simple!.Body!.Html!.Charset).toBe('UTF-8');
    expect(JSON.stringify(calls)).not.toContain(r.taskToken);
  });

  it('escapes everything it puts into the HTML and never turns a non-http link into an anchor', () => {
    // Prepare
    const n: Notification = {
      kind: 'outcome', incidentId: 'inc-<x>', subject: 'Subject <script>alert(1)</script>', text: 'a "quoted" <b>tag</b> & \'apostrophe\'',
      links: [{ label: '<img src=x onerror=alert(1)>', url: 'javascript:alert(1)' }, { label: 'ok', url: 'https://x.example/?a=1&b="2"' }],
    };
    // Act
    const html = renderHtml(n);
    // Assess
    expect(html).not.toMatch(/<script|<img|<b>tag|href="javascript/i);
    expect(html).toContain('Subject &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('a &quot;quoted&quot; &lt;b&gt;tag&lt;/b&gt; &amp; &#39;apostrophe&#39;');
    expect(html).toContain('href="https://x.example/?a=1&amp;b=&quot;2&quot;"');
    expect(renderText(n)).toContain('ok: https://x.example/?a=1&b="2"');
  });

  it('escapes a hostile finding inside the approval details', async () => {
    const { w, r, personal } = await requested();
    const incident = { ...w.incident, machines: ['<svg onload=alert(1)>'] };
    const card = approvalCard(withoutToken(r), incident, w.index);
    const html = renderHtml({ ...personal, approval: card } as ApprovalNotification);
    expect(html).not.toContain('<svg');
    expect(html).toContain('&lt;svg onload=alert(1)&gt;');
  });
});

describe('CompositeNotifier', () => {
  const ok: Notifier = { send: async () => {} };
  const down: Notifier = { send: async () => { throw new Error('down'); } };
  const n: Notification = { kind: 'outcome', subject: 's', text: 't' };

  it('delivers through the channels that work and reports the one that failed', async () => {
    const failures: string[] = [];
    await new CompositeNotifier([{ name: 'email', notifier: ok }, { name: 'slack', notifier: down }], (c) => failures.push(c)).send(n);
    expect(failures).toEqual(['slack']);
  });

  it('fails when every channel failed', async () => {
    const error = await thrown(() => new CompositeNotifier([{ name: 'email', notifier: down }, { name: 'slack', notifier: down }]).send(n));
    expect(error.message).toBe('every channel carrying the notification failed (email: Error, slack: Error)');
  });

  it('fails a personal copy whose only carrier (e-mail) failed, even though Slack is up', async () => {
    // Prepare: the real channels' rules, e-mail down
    const { personal, channel } = await requested();
    const slackUp = new SlackNotifier({ kind: 'webhook', webhookUrl: async () => WEBHOOK }, () => recorder().transport);
    const emailDown = Object.assign(Object.create(SesNotifier.prototype) as SesNotifier, { send: async () => { throw new Error('SES throttled'); } });
    const both = new CompositeNotifier([{ name: 'email', notifier: emailDown }, { name: 'slack', notifier: slackUp }]);
    // Act
    const error = await thrown(() => both.send(personal));
    // Assess: the shared copy still goes out (Slack carries it, e-mail does not)
    expect(error.message).toBe('every channel carrying the notification failed (email: Error)');
    await both.send(channel);
  });
});
