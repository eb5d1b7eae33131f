import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' });
});

import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { startSeededRuntime, until } from '../helpers/local-runtime.ts';
import { incidentAwaitingApproval, slackHarness, stores, type SlackHarness } from './runtime-helpers.ts';

/**
 * Approving with Slack's buttons, end to end in the local runtime, the way it runs on AWS:
 * Slack's signed POST reaches receive-slack-action (acknowledged at once), which queues the
 * decision on the Cleanpoint bus (events:PutEvents); the bus's rule delivers it to
 * decide-slack-action, which records it (a conditional update of the request) and, at quorum,
 * answers the waiting execution (states:SendTaskSuccess) — each function with its own role.
 * Demo estate: payments has deciders dev (Slack U0DANA0001) and dom (U0DOM00001), quorum 1.
 */
let rt: LocalRuntime;
let slack: SlackHarness;
let payments: { incidentId: string; request: ApprovalRequest };

beforeAll(async () => {
  slack = slackHarness();
  rt = await startSeededRuntime({ speed: 20, ...slack.runtimeOptions });
  slack.bind(rt);
  payments = await incidentAwaitingApproval(rt, 'i-0aa0000000000db01');
}, 120_000);

afterAll(async () => { await rt?.close(); });

describe('Slack: approving with the buttons, through the bus', () => {
  it('acknowledges a click at once, queues it on the bus, and at quorum the failover goes on; a later click changes nothing', async () => {
    // Prepare
    const { approvals } = await stores(rt);
    const { approvalId } = payments.request;

    // Act
    const first = await slack.click({ approvalId, userId: 'U0DANA0001' });
    await slack.settle();
    const decided = await approvals.getApproval(approvalId);
    const second = await slack.click({ approvalId, userId: 'U0DOM00001' });
    await slack.settle();

    // Assess: both acknowledged, both went over the bus to decide-slack-action and were recorded
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    const queued = rt.deliveries.filter((d) => d.functionName === 'decide-slack-action');
    expect(queued.map((d) => d.status)).toEqual(['delivered', 'delivered']);
    expect(decided).toMatchObject({ status: 'approved' });
    expect(decided!.decisions.map((d) => d.personId)).toEqual(['dev']);
    expect((await approvals.getApproval(approvalId))!.decisions.map((d) => d.personId)).toEqual(['dev']);
    // The execution was answered: it left the approval step.
    const execution = rt.executionFor(payments.incidentId)!;
    await until('the execution past the approval', () => execution.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'Plan Failover'));
    // Slack was told (the original message updated through its response_url).
    expect(slack.posts.some((p) => p.url.includes('hooks.slack.com/actions/'))).toBe(true);
  });
});
