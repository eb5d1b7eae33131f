import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  // Refusals are logged at info: keep them off the console.
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'WARN' });
});

import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { revokeLinks, type ApprovalRequest } from '../../domain/approvals/index.ts';
import { systemClock } from '../../domain/shared/index.ts';
import { DEFAULT_POLICY } from '../../domain/findings/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import * as decideSlackAction from '../../functions/decide-slack-action/handler.ts';
import type { SlackJobOutcome } from '../../functions/decide-slack-action/click.ts';
import * as postDecision from '../../functions/post-decision/handler.ts';
import * as receiveSlackAction from '../../functions/receive-slack-action/handler.ts';
import * as showApproval from '../../functions/show-approval/handler.ts';
import { signSlackJob, slackJobEvent, type SlackJobDetail, type SlackJobEvent } from '../../functions/shared/adapters/slack/index.ts';
import type { SlackHttpRequest } from '../../functions/shared/adapters/slack-notifier.ts';
import type { HttpResult } from '../../functions/shared/edge/index.ts';
import { apiGatewayEvent } from '../../local/http-event.ts';
import { resolveHttpRoute } from '../../local/http-invoke.ts';
import { loadServerlessDefinition } from '../../local/serverless-config.ts';
import { formFields } from '../helpers/local-runtime.ts';
import { approvalWorld, auditSince, LINK_SECRET, openRequest, SLACK, SLACK_SECRET, slackBody, slackClick, slackRequest, type World } from './helpers.ts';

/**
 * The approval functions through their factories (in-memory fakes): show-approval (the page),
 * post-decision (its form), receive-slack-action (Slack's buttons) and decide-slack-action (the
 * queued click). HTTP requests reach them the way API Gateway routes them: by the httpApi
 * events of serverless.yml (resolveHttpRoute), which the functions do not repeat.
 */
interface Harness {
  w: World;
  r: ApprovalRequest;
  call: (event: APIGatewayProxyEventV2) => Promise<HttpResult>;
  job: (event: SlackJobEvent) => Promise<SlackJobOutcome>;
  runJobs: () => Promise<SlackJobOutcome[]>;
  jobs: SlackJobDetail[];
  slackPosts: SlackHttpRequest[];
  linkOf: (personId: string) => URL;
  slackSecret: string | null;
}

const def = loadServerlessDefinition();

async function harness(options: { requestedBy?: string; timeoutSeconds?: number; slackSecret?: string | null } = {}): Promise<Harness> {
  const w = await approvalWorld();
  const r = await openRequest(w, { ...options });
  const jobs: SlackJobDetail[] = [];
  const slackPosts: SlackHttpRequest[] = [];
  const page = { ...w, linkSecret: LINK_SECRET };
  const slack = {
    slackSigningSecret: async () => h.slackSecret, wallClock: systemClock,
    slackTransport: async (req: SlackHttpRequest) => { slackPosts.push(req); return { status: 200, body: 'ok' }; },
  };
  const http: Record<string, (event: APIGatewayProxyEventV2) => Promise<HttpResult>> = {
    'show-approval': showApproval.makeHandler(async () => page),
    'post-decision': postDecision.makeHandler(async () => ({ ...page, catalog: new InMemoryRecoveryPointCatalog([]), policy: DEFAULT_POLICY })),
    'receive-slack-action': receiveSlackAction.makeHandler(async () => ({ ...w, ...slack, dispatch: async (d) => { jobs.push(d); } })),
  };
  const decide = decideSlackAction.makeHandler(async () => ({ ...w, ...slack }));
  const h: Harness = {
    w, r, jobs, slackPosts, slackSecret: options.slackSecret === undefined ? SLACK_SECRET : options.slackSecret,
    call: async (event) => {
      // API Gateway's part: the route of serverless.yml, its path parameters, or 404 / 405.
      const route = resolveHttpRoute(def, event.requestContext.http.method, event.rawPath);
      if (!route.ok) return { statusCode: route.status, headers: {}, body: '' };
      return http[route.functionName]!({ ...event, routeKey: route.routeKey, pathParameters: route.pathParameters });
    },
    job: async (event) => decide(event),
    runJobs: async () => {
      const out: SlackJobOutcome[] = [];
      for (const job of jobs.splice(0)) out.push(await decide(slackJobEvent(job)));
      return out;
    },
    linkOf: (personId) => new URL(w.notifier.sent.find((n) => n.recipients?.[0] === personId && n.links?.length)!.links![0]!.url),
  };
  return h;
}

const get = (url: URL, headers: Record<string, string> = {}) => apiGatewayEvent({ method: 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers, sourceIp: '198.51.100.20' });
const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) => apiGatewayEvent({
  method: 'POST', path, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString(), sourceIp: '198.51.100.20',
});

/** Snapshot before a refused attempt; `unchanged` asserts the request and the workflow did not move and returns the new audit entries. */
async function before(h: Harness) {
  const request = await h.w.approvals.getApproval(h.r.approvalId);
  const auditLength = (await h.w.audit.list(h.w.incident.incidentId)).length;
  const calls = h.w.workflows.calls.length;
  return {
    async unchanged() {
      expect(await h.w.approvals.getApproval(h.r.approvalId)).toEqual(request);
      expect(h.w.workflows.calls).toHaveLength(calls);
      return auditSince(h.w, auditLength);
    },
  };
}

describe('show-approval and post-decision: the web page', () => {
  it('shows the request to the person the link was sent to, with security headers and no token', async () => {
    // Prepare
    const h = await harness();
    // Act
    const page = await h.call(get(h.linkOf('alice')));
    // Assess
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('You are <b data-person>Alice Martin</b>');
    expect(page.body).toContain('name="decision" value="approve"');
    expect(page.body).not.toContain(h.r.taskToken);
    expect(page.headers['content-security-policy']).toContain("form-action 'self'");
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('refuses a link that expired with the request (a decision after expiry), audited, nothing changed', async () => {
    // Prepare
    const h = await harness({ timeoutSeconds: 600 });
    const link = h.linkOf('alice');
    const page = await h.call(get(link));
    h.w.clock.advance(601_000);
    const snap = await before(h);
    // Act
    const late = await h.call(post(`${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' }));
    // Assess
    expect(late.statusCode).toBe(410);
    expect(late.body).toContain('This approval link has expired.');
    expect((await snap.unchanged()).map((a) => [a.type, a.actor, a.data['outcome'], a.data['source']])).toEqual([['approval.refused', 'alice', 'link expired', '198.51.100.20']]);
  });

  it('refuses a revoked link (GET and POST), audited, while the fresh one works', async () => {
    // Prepare
    const h = await harness();
    const link = h.linkOf('alice');
    const page = await h.call(get(link));
    await revokeLinks(h.w)({ approvalId: h.r.approvalId, personId: 'alice', by: 'ops', channel: 'cli', source: 'cli' });
    const snap = await before(h);
    // Act
    const shown = await h.call(get(link));
    const posted = await h.call(post(`${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' }));
    // Assess
    expect([shown.statusCode, posted.statusCode]).toEqual([403, 403]);
    expect(shown.body).toContain('withdrawn');
    expect((await snap.unchanged()).map((a) => a.data['outcome'])).toEqual(['link revoked', 'link revoked']);
  });

  it('refuses a form posted from another origin even with a valid CSRF token, audited', async () => {
    // Prepare
    const h = await harness();
    const link = h.linkOf('alice');
    const fields = { ...formFields((await h.call(get(link))).body, 'approve'), step: 'confirm' };
    const snap = await before(h);
    // Act
    const fromOrigin = await h.call(post(`${link.pathname}/decision`, fields, { origin: 'https://evil.example', host: 'approvals.example.com' }));
    const fromSite = await h.call(post(`${link.pathname}/decision`, fields, { 'sec-fetch-site': 'cross-site' }));
    // Assess
    expect([fromOrigin.statusCode, fromSite.statusCode]).toEqual([403, 403]);
    expect((await snap.unchanged()).map((a) => a.data['outcome'])).toEqual(['cross-site form post (Origin: https://evil.example)', 'cross-site form post (Sec-Fetch-Site: cross-site)']);
  });

  it('accepts a same-origin post and decides', async () => {
    const h = await harness();
    const link = h.linkOf('alice');
    const fields = { ...formFields((await h.call(get(link))).body, 'approve'), step: 'confirm' };
    const ok = await h.call(post(`${link.pathname}/decision`, fields, { origin: 'https://approvals.example.com', host: 'approvals.example.com', 'sec-fetch-site': 'same-origin' }));
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('You approved this request.');
  });

  it('refuses a rejection without a reason and a cutoff later than proposed, audited', async () => {
    // Prepare
    const h = await harness();
    const link = h.linkOf('bob');
    const page = (await h.call(get(link))).body;
    const snap = await before(h);
    // Act
    const noReason = await h.call(post(`${link.pathname}/decision`, { ...formFields(page, 'reject'), reason: ' ' }));
    const later = await h.call(post(`${link.pathname}/decision`, { ...formFields(page, 'approve'), step: 'confirm', 'cutoff:payments': '2024-05-01T09:59:00.000Z' }));
    // Assess
    expect([noReason.statusCode, later.statusCode]).toEqual([400, 400]);
    expect((await snap.unchanged()).map((a) => a.data['outcome'])).toEqual(['a rejection without a reason', 'invalid cutoff cutoff:payments: may only move the cutoff earlier']);
  });

  it('offers the person who asked for the failover only the reject form', async () => {
    const h = await harness({ requestedBy: 'alice' });
    const page = (await h.call(get(h.linkOf('alice')))).body;
    expect(page).not.toContain('name="decision" value="approve"');
    expect(page).toContain('name="decision" value="reject"');
    expect(page).toContain('data-self-approval');
  });
});

describe('receive-slack-action and decide-slack-action: Slack', () => {
  const click = (h: Harness, userId: string, decision: 'approve' | 'reject' = 'approve') =>
    slackBody(slackClick({ approvalId: h.r.approvalId, userId, decision, responseUrl: 'https://hooks.slack.com/actions/T111/42/abc' }));

  it('acknowledges a signed click at once, then decides in the second leg and replaces the message', async () => {
    // Prepare
    const h = await harness();
    // Act
    const ack = await h.call(slackRequest(click(h, SLACK.bob), { secret: SLACK_SECRET }));
    const auditAfterAck = (await h.w.audit.list(h.w.incident.incidentId)).length;
    const [outcome] = await h.runJobs();
    // Assess
    expect([ack.statusCode, ack.body]).toEqual([200, '']);
    expect(auditAfterAck).toBe(1); // nothing decided inside the 3-second acknowledgement
    expect(outcome).toEqual({ outcome: 'decided', status: 'pending' });
    const stored = (await h.w.approvals.getApproval(h.r.approvalId))!;
    expect(stored.decisions).toEqual([expect.objectContaining({ personId: 'bob', channel: 'slack', source: 'slack:T111/U0BOB00001 via 3.5.140.2' })]);
    expect(h.slackPosts.map((p) => p.url)).toEqual(['https://hooks.slack.com/actions/T111/42/abc']);
    const reply = JSON.parse(h.slackPosts[0]!.body) as { replace_original: boolean; blocks: { type: string }[] };
    expect(reply.replace_original).toBe(true);
    expect(reply.blocks.some((b) => b.type === 'actions')).toBe(true); // quorum 2: still open
    expect(h.slackPosts[0]!.body).toContain('Bob Chen approved');
  });

  it('refuses a click with a bad signature: 401, nothing queued, audited on the request it names', async () => {
    // Prepare
    const h = await harness();
    const snap = await before(h);
    // Act
    const res = await h.call(slackRequest(click(h, SLACK.bob), { secret: 'not-the-signing-secret' }));
    // Assess
    expect(res.statusCode).toBe(401);
    expect(h.jobs).toEqual([]);
    expect((await snap.unchanged()).map((a) => [a.type, a.actor, a.data['channel'], a.data['outcome']])).toEqual([
      ['approval.refused', `unverified:slack:${SLACK.bob}`, 'slack', 'Slack request refused: bad-signature'],
    ]);
  });

  it('refuses a click signed more than five minutes ago (replay), audited', async () => {
    const h = await harness();
    const snap = await before(h);
    const res = await h.call(slackRequest(click(h, SLACK.bob), { secret: SLACK_SECRET, timestampSec: Math.floor(Date.now() / 1000) - 301 }));
    expect(res.statusCode).toBe(401);
    expect(h.jobs).toEqual([]);
    expect((await snap.unchanged()).map((a) => a.data['outcome'])).toEqual(['Slack request refused: stale']);
  });

  it('refuses a Slack user who is not in the inventory, audited, and tells only them', async () => {
    // Prepare
    const h = await harness();
    const snap = await before(h);
    // Act
    await h.call(slackRequest(click(h, SLACK.stranger), { secret: SLACK_SECRET }));
    const [outcome] = await h.runJobs();
    // Assess
    expect(outcome?.outcome).toBe('refused');
    expect((await snap.unchanged()).map((a) => [a.type, a.actor, a.data['outcome']])).toEqual([
      ['approval.refused', `slack:${SLACK.stranger}`, `Slack user ${SLACK.stranger} is not linked to any person in the inventory`],
    ]);
    expect(JSON.parse(h.slackPosts[0]!.body)).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  });

  it('refuses a Slack decision after the request expired, audited', async () => {
    // Prepare
    const h = await harness({ timeoutSeconds: 600 });
    h.w.clock.advance(601_000);
    const snap = await before(h);
    // Act
    await h.call(slackRequest(click(h, SLACK.alice), { secret: SLACK_SECRET }));
    const [outcome] = await h.runJobs();
    // Assess
    expect(outcome).toEqual({ outcome: 'refused', reason: `the request expired at ${h.r.expiresAt}` });
    expect((await snap.unchanged()).map((a) => [a.type, a.actor, a.data['channel']])).toEqual([['approval.refused', 'alice', 'slack']]);
    expect(JSON.parse(h.slackPosts[0]!.body).text).toMatch(/^Not done: the request expired/);
  });

  it('refuses a queued job that was not made by the acknowledgement (forged on the bus), audited', async () => {
    // Prepare
    const h = await harness();
    const job = { approvalId: h.r.approvalId, decision: 'approve' as const, slackUserId: SLACK.alice, sourceIp: '10.0.0.1', receivedAt: Date.now() };
    const snap = await before(h);
    // Act
    const outcome = await h.job(slackJobEvent({ job, mac: signSlackJob('guessed-secret', job) }));
    // Assess
    expect(outcome).toEqual({ outcome: 'refused', reason: 'bad-signature' });
    expect((await snap.unchanged()).map((a) => a.data['outcome'])).toEqual(['Slack job refused: bad-signature']);
  });

  it('answers 404 when Slack is not set up, and acknowledges other interactions without queueing', async () => {
    const off = await harness({ slackSecret: null });
    expect((await off.call(slackRequest(click(off, SLACK.bob), { secret: SLACK_SECRET }))).statusCode).toBe(404);
    const on = await harness();
    const other = slackBody({ type: 'view_closed', user: { id: SLACK.bob } });
    expect((await on.call(slackRequest(other, { secret: SLACK_SECRET }))).statusCode).toBe(200);
    expect(on.jobs).toEqual([]);
  });
});

describe('the approval routes of serverless.yml', () => {
  let h: Harness;
  beforeEach(async () => { h = await harness(); });

  it('answers 405 for other methods on known paths and 404 elsewhere', async () => {
    expect((await h.call(apiGatewayEvent({ method: 'DELETE', path: `/approvals/${h.r.approvalId}` }))).statusCode).toBe(405);
    expect((await h.call(apiGatewayEvent({ method: 'GET', path: '/slack/interactions' }))).statusCode).toBe(405);
    expect((await h.call(apiGatewayEvent({ method: 'GET', path: '/nothing' }))).statusCode).toBe(404);
  });
});
