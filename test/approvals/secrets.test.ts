import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_METRICS_DISABLED: 'true' });
});

import { approvalCard, withoutToken, type ApprovalNotification } from '../../domain/approvals/index.ts';
import { slackNotifier } from '../../functions/shared/adapters/slack-notifier.ts';
import { secret } from '../../functions/shared/wiring.ts';
import { logger } from '../../functions/shared/observability.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { formFields, startSeededRuntime, until } from '../helpers/local-runtime.ts';
import { cliDecision, get, incidentAwaitingApproval, mailedLink, postForm, slackHarness, stores, type HttpAnswer, type SlackHarness } from './runtime-helpers.ts';

/**
 * Task tokens, the link-signing secret, the Slack signing secret and the Slack webhook URL
 * must never reach a log line, a page, a message (e-mail, Slack) or a URL. Everything the
 * system emits during a whole approval is captured here — stdout/stderr (DEBUG logs), the
 * console, the e-mail outbox, every page and response, every Slack post, the audit trail and
 * the bus deliveries — and searched for every token and secret that existed.
 */
const WEBHOOK_PARAMETER = '/cleanpoint/local/slack-webhook-url';
const emitted: string[] = [];
const restore: (() => void)[] = [];
let rt: LocalRuntime;
let slack: SlackHarness;

function capture(stream: NodeJS.WriteStream) {
  const original = stream.write;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    emitted.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof stream.write;
  restore.push(() => { stream.write = original; });
}

beforeAll(async () => {
  capture(process.stdout);
  capture(process.stderr);
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const spy = vi.spyOn(console, method).mockImplementation((...args: unknown[]) => { emitted.push(args.map(String).join(' ')); });
    restore.push(() => spy.mockRestore());
  }
  slack = slackHarness();
  rt = await startSeededRuntime({ speed: 20, logLevel: 'DEBUG', echoOutbox: true, ...slack.runtimeOptions });
  slack.bind(rt);
  logger.setLogLevel('DEBUG');
  // Slack configured as on AWS: the webhook URL is a SecureString parameter (answered by the local SSM).
  rt.secrets[WEBHOOK_PARAMETER] = `https://hooks.slack.com/services/T0LOCAL00/B0LOCAL00/${randomBytes(18).toString('base64url')}`;
}, 120_000);

afterAll(async () => {
  await rt?.close();
  for (const undo of restore.reverse()) undo();
});

describe('secrets and task tokens', () => {
  it('never appear in a log line, page, e-mail, Slack message, audit entry or URL during a whole approval', async () => {
    // Prepare: a finding; the request is waiting on a task token
    const { incidentId, request } = await incidentAwaitingApproval(rt, 'i-0aa0000000000db01');
    const tokens = new Set([...rt.engine.pendingTokens(), request.taskToken]);
    const pages: HttpAnswer[] = [];

    // Act: the channel message, the page, a preview of an older point, an approval with it,
    // and refused attempts on every channel (their pages, replies and logs are output too)
    const { incidents, approvals, audit } = await stores(rt);
    const card = approvalCard(withoutToken(request), (await incidents.getIncident(incidentId))!, rt.index);
    const channelMessage: ApprovalNotification = { kind: 'approval-request', incidentId, subject: 'Approve?', text: 'summary', recipients: [], audience: 'channel', approval: card };
    await slackNotifier({ SLACK_WEBHOOK_URL_PARAMETER: WEBHOOK_PARAMETER }, { transport: () => rt.platform.slackTransport, secret: (name) => secret(name, rt.platform) })!.send(channelMessage);
    const link = await mailedLink(rt, 'dana@example.com', request.approvalId);
    const page = await get(rt, link);
    pages.push(page, await get(rt, link, { ...Object.fromEntries(link.searchParams), decision: 'approve' }));
    const older = [...page.body.matchAll(/<select name="cutoff:payments">(.*?)<\/select>/gs)][0]![1]!.match(/<option value="([^"]+)">/)![1]!;
    const preview = await postForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'preview', 'cutoff:payments': older });
    pages.push(preview, await postForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), csrf: 'forged', step: 'confirm' }));
    pages.push(await slack.click({ approvalId: request.approvalId, userId: 'U0DANA0001', secret: 'guess' }));
    const approved = await postForm(rt, `${link.pathname}/decision`, formFields(preview.body, 'approve'));
    pages.push(approved, await postForm(rt, `${link.pathname}/decision`, formFields(preview.body, 'approve')));
    pages.push(await slack.click({ approvalId: request.approvalId, userId: 'U0DOM00001' }));
    await slack.settle();
    const cli = await cliDecision(rt, { approvalId: request.approvalId, as: 'dom', decision: 'approve' }).catch((e: Error) => e.message);
    const done = await (await until('the execution', () => rt.executionFor(incidentId))).done;
    for (const r of await approvals.listApprovals({ incidentId })) tokens.add(r.taskToken);

    // Assess: the flow really happened and was captured
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    expect(preview.body).toContain('Restore from older points?');
    expect(approved.statusCode).toBe(200);
    expect((await approvals.getApproval(request.approvalId))?.groupCutoffs).toEqual({ payments: older });
    expect(slack.posts.length).toBeGreaterThanOrEqual(2);
    expect(emitted.join('\n')).toMatch(/"level":"(DEBUG|INFO)"/);
    expect(emitted.join('\n')).toContain('[outbox] to dana@example.com');

    const outputs: [string, string][] = [
      ['log lines and console', emitted.join('\n')],
      ['e-mail outbox', JSON.stringify(rt.outbox)],
      ['pages and responses', JSON.stringify(pages)],
      // The webhook URL is where the channel message goes, not part of any message: the
      // response_url posts are Slack's own URLs and are searched with their bodies.
      ['Slack messages', JSON.stringify(slack.posts.map((p) => (p.url === rt.secrets[WEBHOOK_PARAMETER] ? { ...p, url: '(webhook)' } : p)))],
      ['audit trail', JSON.stringify(await audit.list(incidentId))],
      ['bus deliveries', JSON.stringify(rt.deliveries)],
      ['CLI result', String(cli)],
    ];
    const secrets = Object.entries(rt.secrets).map(([name, value]) => [`secret ${name}`, value] as const);
    const needles = [...[...tokens].map((t, i) => [`task token #${i + 1}`, t] as const), ...secrets];
    expect(tokens.size).toBeGreaterThanOrEqual(1);
    expect(secrets.length).toBe(3);
    const leaks = outputs.flatMap(([where, text]) => needles.filter(([, value]) => text.includes(value)).map(([what]) => `${what} in ${where}`));
    expect(leaks).toEqual([]);
    // The search itself can find things: the approval id is in the outputs, and a token would be.
    expect(outputs.some(([, text]) => text.includes(request.approvalId))).toBe(true);
    expect(`prefix ${[...tokens][0]} suffix`.includes([...tokens][0]!)).toBe(true);
  }, 90_000);
});
