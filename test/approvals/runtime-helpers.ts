/**
 * Driving approvals in the local runtime: the real handlers, DynamoDB (dynalite), the ASL
 * interpreter and the generated secrets. Slack is the only thing that is not real: its
 * HTTPS posts are captured. The queued decision goes as on AWS: receive-slack-action puts it on
 * the Cleanpoint bus, whose rule delivers it to decide-slack-action. HTTP requests reach the functions
 * the way API Gateway routes them (serverless.yml's httpApi events, local/http-invoke.ts).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { expect } from 'vitest';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import type { CliDecisionResult, DecisionKind } from '../../domain/approvals/index.ts';
import type { SlackHttpRequest, SlackTransport } from '../../functions/shared/adapters/slack-notifier.ts';
import type { AuditEntry } from '../../domain/evidence/index.ts';
import { decideAsOperator } from '../../local/approval-decisions.ts';
import { invokeHttp, type HttpAnswer } from '../../local/http-invoke.ts';
import { LOCAL_ENV, type LocalRuntime } from '../../local/runtime.ts';
import { guardDutyEvent, until } from '../helpers/local-runtime.ts';
import { slackBody, slackClick, slackRequest } from './helpers.ts';

export type { HttpAnswer };

/** A signed Slack request (an API Gateway event for POST /slack/interactions), routed as API Gateway routes it. */
function invokeSlack(rt: LocalRuntime, event: APIGatewayProxyEventV2): Promise<HttpAnswer> {
  return invokeHttp(rt, { method: 'POST', path: event.rawPath, headers: event.headers as Record<string, string>, body: event.body ?? '', sourceIp: event.requestContext.http.sourceIp });
}

export interface SlackHarness {
  /** Pass these to the runtime (startLocalRuntime options), then `bind` it. */
  runtimeOptions: { slackTransport: SlackTransport };
  bind(rt: LocalRuntime): void;
  posts: SlackHttpRequest[];
  /** Resolves when every queued Slack decision has run (and whatever it started). */
  settle(): Promise<void>;
  /** Sign (with the runtime's Slack signing secret unless told otherwise) and POST a click. */
  click(o: { approvalId: string; userId: string; decision?: 'approve' | 'reject'; secret?: string; timestampSec?: number }): Promise<HttpAnswer>;
}

export function slackHarness(): SlackHarness {
  const posts: SlackHttpRequest[] = [];
  let bound: LocalRuntime | undefined;
  const runtime = () => {
    if (!bound) throw new Error('slackHarness: bind(rt) first');
    return bound;
  };
  return {
    runtimeOptions: {
      slackTransport: async (r) => { posts.push(r); return { status: 200, body: 'ok' }; },
    },
    bind: (rt) => { bound = rt; },
    posts,
    settle: () => runtime().idle(),
    click: async (o) => {
      const rt = runtime();
      const body = slackBody(slackClick({ approvalId: o.approvalId, userId: o.userId, decision: o.decision ?? 'approve', responseUrl: `https://hooks.slack.com/actions/T111/${posts.length + 1}/resp` }));
      const secret = o.secret ?? rt.secrets[LOCAL_ENV.SLACK_SIGNING_SECRET_PARAMETER]!;
      return invokeSlack(rt, slackRequest(body, { secret, ...(o.timestampSec !== undefined ? { timestampSec: o.timestampSec } : {}) }));
    },
  };
}

export async function stores(rt: LocalRuntime) {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  return stateStores({ STATE_TABLE: rt.tables.state }, rt.platform);
}

/** A decision from the command line (channel cli): the operator's decision path the local API uses (local/approval-decisions.ts). */
export async function cliDecision(rt: LocalRuntime, input: { approvalId: string; as: string; decision: DecisionKind; reason?: string; source?: string }): Promise<CliDecisionResult> {
  return decideAsOperator(rt)({ ...input, source: input.source ?? 'cli:test' });
}

/** A finding on `instanceId`; resolves with the incident and its pending approval request. */
export async function incidentAwaitingApproval(rt: LocalRuntime, instanceId: string, minutesAgo = 30): Promise<{ incidentId: string; request: ApprovalRequest }> {
  const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId, minutesAgo }));
  const incidentId = (delivery!.result as { incidentId: string }).incidentId;
  const { approvals } = await stores(rt);
  const request = await until(`a pending approval request for ${incidentId}`, async () => (await approvals.listApprovals({ incidentId, status: 'pending' }))[0]);
  return { incidentId, request };
}

/** The personal link e-mailed to `email` for a request. */
export async function mailedLink(rt: LocalRuntime, email: string, approvalId: string): Promise<URL> {
  const mail = await until(`the approval e-mail to ${email}`, () => rt.outbox.find((m) => m.to.includes(email) && m.text.includes(`/approvals/${approvalId}?`)));
  return new URL(mail.text.match(/https?:\/\/\S+\/approvals\/\S+/)![0]);
}

export const get = (rt: LocalRuntime, url: URL | string, query?: Record<string, string>) => {
  const u = typeof url === 'string' ? new URL(url, 'http://127.0.0.1:8787') : url;
  return invokeHttp(rt, { method: 'GET', path: u.pathname, query: query ?? Object.fromEntries(u.searchParams), sourceIp: '192.0.2.10' });
};

export const postForm = (rt: LocalRuntime, path: string, fields: Record<string, string>) =>
  invokeHttp(rt, {
    method: 'POST', path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(), sourceIp: '192.0.2.10',
  });

/**
 * Run one refused attempt and check what every refusal must leave behind: the request exactly
 * as it was, the workflow still waiting on the same token (or not told again), and exactly
 * one new audit entry about this request, which is returned.
 */
export async function refusedAttempt(rt: LocalRuntime, request: ApprovalRequest, act: () => Promise<unknown>): Promise<AuditEntry> {
  const { approvals, audit } = await stores(rt);
  const before = await approvals.getApproval(request.approvalId);
  const waiting = rt.engine.pendingTokens().includes(request.taskToken);
  const auditBefore = (await audit.list(request.incidentId)).length;
  await act();
  // Only entries about this request: once approved, the failover writes its own entries to the incident's trail.
  const entries = (await audit.list(request.incidentId)).slice(auditBefore).filter((e) => e.data['approvalId'] === request.approvalId);
  expect(entries.map((e) => [e.type, e.data['outcome']]), 'exactly one new audit entry').toHaveLength(1);
  expect(await approvals.getApproval(request.approvalId), 'the approval request').toEqual(before);
  expect(rt.engine.pendingTokens().includes(request.taskToken), 'the workflow still waits on the same token').toBe(waiting);
  return entries[0]!;
}
