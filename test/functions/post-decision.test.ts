import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimsFrom, csrfToken, type ApprovalRequest } from '../../domain/approvals/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import { DEFAULT_POLICY } from '../../domain/findings/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import * as mod from '../../functions/post-decision/handler.ts';
import { clearSecretCache } from '../../functions/shared/secrets.ts';
import { aliceLink, approvalFixture, httpEvent, index, routeOf } from './approval-page-support.ts';
import {
  CATALOG_TABLE, fixedClock, itExportsTheWrappedHandler, lambdaContext, LINK_SECRET, LINK_SECRET_PARAMETER, memoryAdapters, NOW,
  pointsFor, PUBLIC_BASE_URL, RecordingWorkflows, removeTempFiles, silenceOutput, STATE_TABLE, stubHandlerEnv, TASK_TOKEN,
  wrapped, writeInventorySource, type WrappedHandler,
} from './support.ts';

let incident: Incident;
let approval: ApprovalRequest;

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, CATALOG_TABLE, INVENTORY_SOURCE: writeInventorySource(), LINK_SECRET_PARAMETER });
  ({ incident, approval } = await approvalFixture());
});

// Refusals are logged (at info): keep them off the console.
let unsilence: () => void;
beforeEach(() => { unsilence = silenceOutput(); });
afterEach(() => unsilence());

afterAll(() => removeTempFiles());

describe('post-decision handler (factory, in-memory fakes)', () => {
  it('refuses a decision posted as JSON with 415 and resumes nothing', async () => {
    // Prepare
    const approvals = new MemoryApprovalStore();
    await approvals.createApproval(approval);
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident(incident);
    const workflows = new RecordingWorkflows();
    const handle = mod.makeHandler(async () => ({
      approvals, incidents, audit: new MemoryAuditLog(), workflows, clock: fixedClock(NOW), index, linkSecret: LINK_SECRET,
      catalog: new MemoryRecoveryPointCatalog(pointsFor(index, 'payments')), policy: DEFAULT_POLICY,
    }));

    // Act
    const res = await handle(httpEvent('POST', `/approvals/${approval.approvalId}/decision`, {
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approve' }),
    }));

    // Assess
    expect(routeOf('POST', `/approvals/${approval.approvalId}/decision`)).toBe('post-decision');
    expect(res.statusCode).toBe(415);
    expect(workflows.successes).toEqual([]);
  });
});

describe('post-decision handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for SFN and SSM)', () => {
  const sfn = mockClient(SFNClient);
  const ssm = mockClient(SSMClient);
  let handler: WrappedHandler<typeof mod>;

  /** The incident and `request` in the memory stores, and the handler composed over them. */
  async function seed(request: ApprovalRequest) {
    const stores = memoryAdapters();
    await stores.incidents.createIncident(incident);
    await stores.approvals.createApproval(request);
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
  }

  beforeEach(async () => {
    sfn.reset();
    ssm.reset();
    clearSecretCache();
    ssm.on(GetParameterCommand, { Name: LINK_SECRET_PARAMETER }).resolves({ Parameter: { Name: LINK_SECRET_PARAMETER, Type: 'SecureString', Value: LINK_SECRET } });
    await seed(approval);
  });

  afterAll(() => {
    sfn.restore();
    ssm.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('resumes the workflow with SendTaskSuccess carrying what Plan Failover reads once the form completes the quorum', async () => {
    // Prepare: bob approved already; alice posts the form of her page
    await seed({
      ...approval, decisions: [{ personId: 'bob', decision: 'approve', at: '2024-05-01T09:55:00.000Z', channel: 'web', source: '198.51.100.7' }],
    });
    const link = new URL(aliceLink(approval));
    const fields = Object.fromEntries(link.searchParams);
    const form = new URLSearchParams({
      ...fields, csrf: csrfToken(LINK_SECRET, claimsFrom(approval.approvalId, fields).claims), decision: 'approve', step: 'confirm',
      // The fixture's recovery-mode points were never scanned: approving them takes the second confirmation.
      confirmUnverified: 'true',
    });

    // Act
    const res = await handler(httpEvent('POST', `${link.pathname}/decision`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_BASE_URL }, body: form.toString(),
    }), lambdaContext());

    // Assess
    expect(res.statusCode, res.body).toBe(200);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    const sent = sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input;
    expect(sent.taskToken).toBe(TASK_TOKEN);
    expect(JSON.parse(sent.output ?? '{}')).toMatchObject({ approved: true, approvalId: approval.approvalId, decidedBy: ['bob', 'alice'] });
    expect(res.body).not.toContain(TASK_TOKEN);
  });
});
