/**
 * Driving approvals in the local runtime: the real handlers, DynamoDB (dynalite), the ASL
 * interpreter and the generated secrets. Slack is the only thing that is not real: its
 * HTTPS posts are captured, and the queued decision (EventBridge on AWS) runs right after the
 * acknowledgement, as a second invocation of decide-approval.
 */
import { expect } from 'vitest';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import { slackJobEvent, useSlackJobDispatcher } from '../../functions/decide-approval/slack.ts';
import { useSlackTransport, type SlackHttpRequest } from '../../functions/shared/adapters/slack-notifier.ts';
import type { AuditEntry } from '../../domain/evidence/index.ts';
import { apiGatewayEvent } from '../../local/http-event.ts';
import { LOCAL_ENV, type LocalRuntime } from '../../local/runtime.ts';
import { guardDutyEvent, until } from '../helpers/local-runtime.ts';
import { slackBody, slackClick, slackRequest } from './helpers.ts';

export type HttpAnswer = { statusCode: number; body: string; headers: Record<string, string> };

export interface SlackHarness {
  posts: SlackHttpRequest[];
  /** Resolves when every queued Slack decision has run. */
  settle(): Promise<unknown[]>;
  /** Sign (with the runtime's Slack signing secret unless told otherwise) and POST a click. */
  click(o: { approvalId: string; userId: string; decision?: 'approve' | 'reject'; secret?: string; timestampSec?: number }): Promise<HttpAnswer>;
}

export function slackHarness(rt: LocalRuntime): SlackHarness {
  const posts: SlackHttpRequest[] = [];
  const queued: Promise<unknown>[] = [];
  useSlackTransport(async (r) => { posts.push(r); return { status: 200, body: 'ok' }; });
  useSlackJobDispatcher(async (detail) => {
    // After the acknowledgement has been returned: a separate (asynchronous) invocation.
    queued.push(new Promise((resolve) => setImmediate(resolve)).then(() => rt.invoke('decide-approval', slackJobEvent(detail))));
  });
  return {
    posts,
    settle: () => Promise.all(queued.splice(0)),
    click: async (o) => {
      const body = slackBody(slackClick({ approvalId: o.approvalId, userId: o.userId, decision: o.decision ?? 'approve', responseUrl: `https://hooks.slack.com/actions/T111/${posts.length + 1}/resp` }));
      const secret = o.secret ?? rt.secrets[LOCAL_ENV.SLACK_SIGNING_SECRET_PARAMETER]!;
      return rt.invoke('decide-approval', slackRequest(body, { secret, ...(o.timestampSec !== undefined ? { timestampSec: o.timestampSec } : {}) })) as Promise<HttpAnswer>;
    },
  };
}

export async function stores(rt: LocalRuntime) {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  return stateStores({ STATE_TABLE: rt.tables.state });
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
  return rt.invoke('decide-approval', apiGatewayEvent({ method: 'GET', path: u.pathname, query: query ?? Object.fromEntries(u.searchParams), sourceIp: '192.0.2.10' })) as Promise<HttpAnswer>;
};

export const postForm = (rt: LocalRuntime, path: string, fields: Record<string, string>) =>
  rt.invoke('decide-approval', apiGatewayEvent({
    method: 'POST', path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(), sourceIp: '192.0.2.10',
  })) as Promise<HttpAnswer>;

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
