import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  // This file imports handler modules before the runtime sets their environment: quiet them the same way.
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' });
});

import { claimsFrom, csrfToken, linkQuery, personalLink, type ApprovalRequest } from '../../domain/approvals/index.ts';
import { ConflictError } from '../../domain/shared/index.ts';
import { LOCAL_ENV, type LocalRuntime } from '../../local/runtime.ts';
import { thrown } from '../contract/contract-fixtures.ts';
import { formFields, startSeededRuntime, until } from '../helpers/local-runtime.ts';
import { cliDecision, get, incidentAwaitingApproval, mailedLink, postForm, refusedAttempt, slackHarness, stores, type SlackHarness } from './runtime-helpers.ts';

/**
 * Every way a decision can be refused, driven through the local runtime (real handlers,
 * dynalite, the ASL interpreter, the generated secrets). Each refusal must leave the request
 * and the waiting execution exactly as they were and add one audit entry saying why.
 * Demo estate: payments (deciders dev, dom), intranet (dev), crm (dom); ana is an analyst.
 */
let rt: LocalRuntime;
let slack: SlackHarness;
let payments: { incidentId: string; request: ApprovalRequest };
let intranet: { incidentId: string; request: ApprovalRequest };
let crm: { incidentId: string; request: ApprovalRequest };
let devLink: URL;
let linkSecret: string;

beforeAll(async () => {
  // 20× time: the hour-long approval window lasts three minutes of wall time.
  slack = slackHarness();
  rt = await startSeededRuntime({ speed: 20, ...slack.runtimeOptions });
  slack.bind(rt);
  linkSecret = rt.secrets[LOCAL_ENV.LINK_SECRET_PARAMETER]!;
  payments = await incidentAwaitingApproval(rt, 'i-0aa0000000000db01');
  intranet = await incidentAwaitingApproval(rt, 'i-0cc000000000a0101');
  crm = await incidentAwaitingApproval(rt, 'i-0bb0000000000db01', 45);
  devLink = await mailedLink(rt, 'dana@example.com', payments.request.approvalId);
}, 120_000);

afterAll(async () => {
  await rt?.close();
});

const path = (r: ApprovalRequest) => `/approvals/${r.approvalId}`;
const withQuery = (r: ApprovalRequest, query: Record<string, string>) => new URL(`${path(r)}?${new URLSearchParams(query).toString()}`, 'http://127.0.0.1:8787');
const linkFields = (url: URL) => Object.fromEntries(url.searchParams);

describe('web: the personal link', () => {
  it('refuses an expired link', async () => {
    const exp = Math.floor(rt.clock.now() / 1000) - 60;
    let status = 0;
    const entry = await refusedAttempt(rt, payments.request, async () => {
      status = (await get(rt, withQuery(payments.request, Object.fromEntries(new URLSearchParams(linkQuery(linkSecret, { approvalId: payments.request.approvalId, personId: 'dev', exp, gen: 0 })))))).statusCode;
    });
    expect(status).toBe(410);
    expect(entry).toMatchObject({ type: 'approval.refused', actor: 'dev', data: { channel: 'web', source: '192.0.2.10', outcome: 'link expired' } });
  });

  it.each([
    ['a forged signature', (q: Record<string, string>) => ({ ...q, s: `${q['s']!.slice(0, -2)}AA` }), 'unverified:dev'],
    ['the person changed to another decider', (q: Record<string, string>) => ({ ...q, p: 'dom' }), 'unverified:dom'],
    ['a later expiry', (q: Record<string, string>) => ({ ...q, e: String(Number(q['e']) + 86_400) }), 'unverified:dev'],
  ])('refuses a link with %s', async (_what, alter, actor) => {
    let status = 0;
    const entry = await refusedAttempt(rt, payments.request, async () => { status = (await get(rt, withQuery(payments.request, alter(linkFields(devLink))))).statusCode; });
    expect(status).toBe(403);
    expect(entry).toMatchObject({ type: 'approval.refused', actor, data: { channel: 'web', outcome: 'link bad-signature' } });
  });

  it('refuses a link made for another request', async () => {
    let status = 0;
    const entry = await refusedAttempt(rt, intranet.request, async () => { status = (await get(rt, withQuery(intranet.request, linkFields(devLink)))).statusCode; });
    expect(status).toBe(403);
    expect(entry).toMatchObject({ type: 'approval.refused', actor: 'unverified:dev', data: { approvalId: intranet.request.approvalId, outcome: 'link bad-signature' } });
  });

  it('refuses a GET that carries decision parameters, and decides nothing', async () => {
    let answer = { statusCode: 0, body: '' };
    const entry = await refusedAttempt(rt, payments.request, async () => { answer = await get(rt, withQuery(payments.request, { ...linkFields(devLink), decision: 'approve', step: 'confirm' })); });
    expect(answer.statusCode).toBe(405);
    expect(answer.body).toContain('Decisions are never taken from a link');
    expect(entry).toMatchObject({ actor: 'dev', data: { outcome: 'a GET request carried decision parameters; decisions are only taken by POST' } });
  });
});

describe('web: the decision form', () => {
  it.each([
    ['no CSRF token', async (fields: Record<string, string>) => { const { csrf: _drop, ...rest } = fields; return rest; }],
    ['a made-up CSRF token', async (fields: Record<string, string>) => ({ ...fields, csrf: 'x'.repeat(43) })],
    ['the CSRF token of another decider\'s page', async (fields: Record<string, string>) => {
      const dom = await mailedLink(rt, 'dominik@example.com', payments.request.approvalId);
      return { ...fields, csrf: formFields((await get(rt, dom)).body, 'approve')['csrf']! };
    }],
    ['the CSRF token of the same decider\'s page for another request', async (fields: Record<string, string>) => {
      const other = await mailedLink(rt, 'dana@example.com', intranet.request.approvalId);
      return { ...fields, csrf: formFields((await get(rt, other)).body, 'approve')['csrf']! };
    }],
  ])('refuses a form with %s', async (_what, tamper) => {
    const fields = await tamper({ ...formFields((await get(rt, devLink)).body, 'approve'), step: 'confirm' });
    let status = 0;
    const entry = await refusedAttempt(rt, payments.request, async () => { status = (await postForm(rt, `${path(payments.request)}/decision`, fields)).statusCode; });
    expect(status).toBe(403);
    expect(entry).toMatchObject({ type: 'approval.refused', actor: 'dev', data: { decision: 'approve', outcome: 'missing or invalid CSRF token' } });
  });

  it('refuses a person who is no decider, even with a validly signed link and form', async () => {
    // Prepare: a link for the analyst, as if one had been issued
    const link = new URL(personalLink('http://127.0.0.1:8787', linkSecret, payments.request, 'ana'));
    const page = await get(rt, link);
    const { claims } = claimsFrom(payments.request.approvalId, linkFields(link));
    let status = 0;
    // Act
    const entry = await refusedAttempt(rt, payments.request, async () => {
      status = (await postForm(rt, `${path(payments.request)}/decision`, { ...linkFields(link), csrf: csrfToken(linkSecret, claims), decision: 'approve', step: 'confirm' })).statusCode;
    });
    // Assess: the page offered nothing to decide, the POST is refused by the rules
    expect(page.body).toContain('data-not-eligible');
    expect(page.body).not.toContain('name="decision"');
    expect(status).toBe(403);
    expect(entry).toMatchObject({ actor: 'ana', data: { channel: 'web', outcome: 'ana is not a decider for every affected group (payments)' } });
  });

  it('refuses a decider of another group on this group\'s request', async () => {
    const link = new URL(personalLink('http://127.0.0.1:8787', linkSecret, crm.request, 'dev'));
    const { claims } = claimsFrom(crm.request.approvalId, linkFields(link));
    let status = 0;
    const entry = await refusedAttempt(rt, crm.request, async () => {
      status = (await postForm(rt, `${path(crm.request)}/decision`, { ...linkFields(link), csrf: csrfToken(linkSecret, claims), decision: 'approve', step: 'confirm' })).statusCode;
    });
    expect(status).toBe(403);
    expect(entry).toMatchObject({ actor: 'dev', data: { outcome: 'dev is not a decider for every affected group (crm)' } });
  });
});

describe('Slack: the buttons', () => {
  it('refuses a request with a bad signature (401) and queues nothing', async () => {
    let status = 0;
    const entry = await refusedAttempt(rt, payments.request, async () => {
      status = (await slack.click({ approvalId: payments.request.approvalId, userId: 'U0DANA0001', secret: 'a-guessed-secret' })).statusCode;
      await slack.settle();
    });
    expect(status).toBe(401);
    expect(entry).toMatchObject({ actor: 'unverified:slack:U0DANA0001', data: { channel: 'slack', outcome: 'Slack request refused: bad-signature' } });
  });

  it('refuses a correctly signed request whose timestamp is more than five minutes old', async () => {
    let status = 0;
    const entry = await refusedAttempt(rt, payments.request, async () => {
      status = (await slack.click({ approvalId: payments.request.approvalId, userId: 'U0DANA0001', timestampSec: Math.floor(Date.now() / 1000) - 6 * 60 })).statusCode;
      await slack.settle();
    });
    expect(status).toBe(401);
    expect(entry.data['outcome']).toBe('Slack request refused: stale');
  });

  it('refuses a Slack user who is not in the inventory and tells only them', async () => {
    const posted = slack.posts.length;
    let status = 0;
    const entry = await refusedAttempt(rt, payments.request, async () => {
      status = (await slack.click({ approvalId: payments.request.approvalId, userId: 'U0NOBODY01' })).statusCode;
      await slack.settle();
    });
    expect(status).toBe(200); // acknowledged; refused in the second leg
    expect(entry).toMatchObject({ actor: 'slack:U0NOBODY01', data: { channel: 'slack', outcome: 'Slack user U0NOBODY01 is not linked to any person in the inventory' } });
    expect(JSON.parse(slack.posts[posted]!.body)).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  });

  it('refuses an analyst and a decider of another group', async () => {
    const ana = await refusedAttempt(rt, payments.request, async () => { await slack.click({ approvalId: payments.request.approvalId, userId: 'U0ANA00001' }); await slack.settle(); });
    const dev = await refusedAttempt(rt, crm.request, async () => { await slack.click({ approvalId: crm.request.approvalId, userId: 'U0DANA0001' }); await slack.settle(); });
    expect(ana).toMatchObject({ actor: 'ana', data: { channel: 'slack', outcome: 'ana is not a decider for every affected group (payments)' } });
    expect(dev).toMatchObject({ actor: 'dev', data: { channel: 'slack', outcome: 'dev is not a decider for every affected group (crm)' } });
  });
});

describe('after the decision', () => {
  let approveForm: Record<string, string>;

  it('approves from the page once, and the execution resumes', async () => {
    // Act
    approveForm = { ...formFields((await get(rt, devLink)).body, 'approve'), step: 'confirm' };
    const answer = await postForm(rt, `${path(payments.request)}/decision`, approveForm);
    // Assess
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain('You approved this request.');
    const stored = await (await stores(rt)).approvals.getApproval(payments.request.approvalId);
    expect(stored).toMatchObject({ status: 'approved', decisions: [{ personId: 'dev', channel: 'web', source: '192.0.2.10' }] });
    expect(rt.engine.pendingTokens()).not.toContain(payments.request.taskToken);
  });

  it('treats the replayed POST as the same decision: nothing changes, nothing is resent, the replay is audited', async () => {
    const sent = vi.spyOn(rt.engine, 'sendTaskSuccess');
    let answer = { statusCode: 0, body: '' };
    const entry = await refusedAttempt(rt, payments.request, async () => { answer = await postForm(rt, `${path(payments.request)}/decision`, approveForm); });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain('Your decision was already recorded; nothing was changed.');
    expect(entry).toMatchObject({ type: 'decision.duplicate', actor: 'dev', data: { channel: 'web', outcome: 'already recorded; nothing changed' } });
    expect(sent).not.toHaveBeenCalled();
    sent.mockRestore();
  });

  it('refuses a second decider after the outcome on every channel, without resending anything', async () => {
    // Prepare
    const sent = vi.spyOn(rt.engine, 'sendTaskSuccess');
    const domLink = await mailedLink(rt, 'dominik@example.com', payments.request.approvalId);
    const domPage = await get(rt, domLink);
    let web = 0;
    let cli: Error | undefined;
    const posted = slack.posts.length;
    // Act
    const viaWeb = await refusedAttempt(rt, payments.request, async () => {
      web = (await postForm(rt, `${path(payments.request)}/decision`, { ...linkFields(domLink), csrf: csrfToken(linkSecret, claimsFrom(payments.request.approvalId, linkFields(domLink)).claims), decision: 'approve', step: 'confirm' })).statusCode;
    });
    const viaSlack = await refusedAttempt(rt, payments.request, async () => { await slack.click({ approvalId: payments.request.approvalId, userId: 'U0DOM00001' }); await slack.settle(); });
    const viaCli = await refusedAttempt(rt, payments.request, async () => { cli = await thrown(() => cliDecision(rt, { approvalId: payments.request.approvalId, as: 'dom', decision: 'approve', source: 'cli:ops@test' })); });
    // Assess
    expect(domPage.body).toContain('This request is approved; no decision is possible any more.');
    expect(web).toBe(409);
    expect(cli).toBeInstanceOf(ConflictError);
    for (const [entry, channel] of [[viaWeb, 'web'], [viaSlack, 'slack'], [viaCli, 'cli']] as const) {
      expect(entry).toMatchObject({ type: 'approval.refused', actor: 'dom', data: { channel, outcome: 'the request is already approved; nothing was changed' } });
    }
    expect(JSON.parse(slack.posts[posted]!.body).text).toBe('Not done: the request is already approved; nothing was changed. Nothing was changed.');
    expect(sent).not.toHaveBeenCalled();
    sent.mockRestore();
  });

  it('lets the approved failover finish', async () => {
    const done = await (await until('the payments execution', () => rt.executionFor(payments.incidentId))).done;
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
  }, 60_000);
});
