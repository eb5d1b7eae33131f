import { PutEventsCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import * as decideSlackAction from '../../functions/decide-slack-action/handler.ts';
import * as postDecision from '../../functions/post-decision/handler.ts';
import * as receiveSlackAction from '../../functions/receive-slack-action/handler.ts';
import * as showApproval from '../../functions/show-approval/handler.ts';
import { signSlackJob, slackJobEvent, SLACK_JOB_DETAIL_TYPE } from '../../functions/shared/adapters/slack/index.ts';
import { clearSecretCache } from '../../functions/shared/secrets.ts';
import { functionEnvironment, loadServerlessDefinition } from '../../local/serverless-config.ts';
import { SLACK, SLACK_SECRET, slackBody, slackClick, slackRequest } from '../approvals/helpers.ts';
import { approvalFixture } from './approval-page-support.ts';
import {
  rejectionOf,
  auditTypesOf, EVENT_BUS, fixedClock, itExportsTheWrappedHandler, lambdaContext, memoryAdapters, NOW, removeTempFiles,
  silenceOutput, STATE_TABLE, stubHandlerEnv, wrapped, writeInventorySource,
} from './support.ts';

/**
 * receive-slack-action and decide-slack-action as deployed: the exported, middy-wrapped
 * handlers, and their composition over the memory stores, aws-sdk-client-mock for the rest. Plus: every
 * approval function composes from exactly the environment serverless.yml gives it.
 */
const SIGNING_PARAMETER = '/cleanpoint/test/slack-signing-secret';
let approval: ApprovalRequest;
let incident: Awaited<ReturnType<typeof approvalFixture>>['incident'];

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, EVENT_BUS_NAME: EVENT_BUS, INVENTORY_SOURCE: writeInventorySource(), SLACK_SIGNING_SECRET_PARAMETER: SIGNING_PARAMETER });
  ({ incident, approval } = await approvalFixture());
});

let unsilence: () => void;
beforeEach(() => { unsilence = silenceOutput(); });
afterEach(() => unsilence());
afterAll(() => removeTempFiles());

describe('the approval functions compose from their serverless.yml environment', () => {
  const def = loadServerlessDefinition();
  const target = { stage: 'test', region: 'eu-west-1', account: '111122223333' };
  it.each([['show-approval', showApproval], ['post-decision', postDecision], ['receive-slack-action', receiveSlackAction], ['decide-slack-action', decideSlackAction]] as const)(
    '%s: every variable it reads is set there', (name, mod) => {
      // Act + Assess: a ConfigError would name the missing variable
      expect(() => mod.compose(functionEnvironment(def, name, target))).not.toThrow();
    },
  );
});

describe('receive-slack-action handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for EventBridge and SSM)', () => {
  const events = mockClient(EventBridgeClient);
  const ssm = mockClient(SSMClient);
  let stores: ReturnType<typeof memoryAdapters>;

  beforeEach(async () => {
    for (const m of [events, ssm]) m.reset();
    clearSecretCache();
    stores = memoryAdapters();
    await stores.approvals.createApproval(approval);
    stores.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    ssm.on(GetParameterCommand, { Name: SIGNING_PARAMETER }).resolves({ Parameter: { Name: SIGNING_PARAMETER, Type: 'SecureString', Value: SLACK_SECRET } });
  });

  afterAll(() => { for (const m of [events, ssm]) m.restore(); });

  itExportsTheWrappedHandler(() => receiveSlackAction.handler);

  it('queues a signed click on the Cleanpoint bus and acknowledges with an empty 200, deciding nothing', async () => {
    // Prepare
    const handler = wrapped(receiveSlackAction, { adapters: stores.adapters });
    const click = slackBody(slackClick({ approvalId: approval.approvalId, userId: SLACK.bob, decision: 'approve' }));

    // Act
    const res = await handler(slackRequest(click, { secret: SLACK_SECRET }), lambdaContext());

    // Assess
    expect([res.statusCode, res.body]).toEqual([200, '']);
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    const entry = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({ EventBusName: EVENT_BUS, DetailType: SLACK_JOB_DETAIL_TYPE });
    expect(JSON.parse(entry.Detail!)).toMatchObject({ job: { approvalId: approval.approvalId, decision: 'approve', slackUserId: SLACK.bob } });
    expect(await auditTypesOf(stores.audit, approval.incidentId)).toEqual([]);
    expect(stores.calls.filter((c) => c.startsWith('approvals.update') || c === 'audit.append')).toEqual([]);
  });

  it('refuses a click with a bad signature with 401, queues nothing and audits it on the request it names', async () => {
    // Prepare
    const handler = wrapped(receiveSlackAction, { adapters: stores.adapters });
    const click = slackBody(slackClick({ approvalId: approval.approvalId, userId: SLACK.bob, decision: 'approve' }));

    // Act
    const res = await handler(slackRequest(click, { secret: 'not-the-signing-secret' }), lambdaContext());

    // Assess
    expect(res.statusCode).toBe(401);
    expect(events).not.toHaveReceivedAnyCommand();
    expect(await auditTypesOf(stores.audit, approval.incidentId)).toEqual(['approval.refused']);
  });
});

describe('decide-slack-action handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for SSM)', () => {
  const ssm = mockClient(SSMClient);
  let stores: ReturnType<typeof memoryAdapters>;

  beforeEach(async () => {
    ssm.reset();
    clearSecretCache();
    stores = memoryAdapters();
    await stores.incidents.createIncident(incident);
    await stores.approvals.createApproval(approval);
    stores.reset();
    ssm.on(GetParameterCommand, { Name: SIGNING_PARAMETER }).resolves({ Parameter: { Name: SIGNING_PARAMETER, Type: 'SecureString', Value: SLACK_SECRET } });
  });

  afterAll(() => { ssm.restore(); });

  itExportsTheWrappedHandler(() => decideSlackAction.handler);

  it('refuses a job that was not made by the receiver (forged on the bus), audited, and an event that is no job as a ValidationError (dead-lettered)', async () => {
    // Prepare
    const handler = wrapped(decideSlackAction, { clock: fixedClock(NOW), adapters: stores.adapters });
    const job = { approvalId: approval.approvalId, decision: 'approve' as const, slackUserId: 'U0ALICE001', sourceIp: '10.0.0.1', receivedAt: Date.now() };

    // Act
    const forged = await handler(slackJobEvent({ job, mac: signSlackJob('guessed-secret', job) }), lambdaContext());
    const other = await rejectionOf(handler({ source: 'cleanpoint', 'detail-type': SLACK_JOB_DETAIL_TYPE, detail: { job: { approvalId: 'x' } } }, lambdaContext()));

    // Assess
    expect(forged).toEqual({ outcome: 'refused', reason: 'bad-signature' });
    expect(other.name).toBe('ValidationError');
    expect(other.message).toMatch(/^not a queued Slack decision: .*detail\.job\.decision/);
    expect(other.message).toMatch(/detail\.mac/);
    expect(await auditTypesOf(stores.audit, approval.incidentId)).toEqual(['approval.refused']);
  });
});
