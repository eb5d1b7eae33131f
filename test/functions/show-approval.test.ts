import { SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import type { ApprovalStore } from '../../domain/ports/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore } from '../../functions/shared/adapters/memory/index.ts';
import * as mod from '../../functions/show-approval/handler.ts';
import { clearSecretCache } from '../../functions/shared/secrets.ts';
import { aliceLink, approvalFixture, forgedLink, httpEvent, index, routeOf } from './approval-page-support.ts';
import {
  auditTypesOf, fixedClock, itExportsTheWrappedHandler, lambdaContext, LINK_SECRET, LINK_SECRET_PARAMETER, memoryAdapters, NOW,
  RecordingWorkflows, removeTempFiles, silenceOutput, STATE_TABLE, stubHandlerEnv, TASK_TOKEN, wrapped, writeInventorySource, type WrappedHandler,
} from './support.ts';

let incident: Incident;
let approval: ApprovalRequest;

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, INVENTORY_SOURCE: writeInventorySource(), LINK_SECRET_PARAMETER });
  ({ incident, approval } = await approvalFixture());
});

// Refusals are logged (at info): keep them off the console.
let unsilence: () => void;
beforeEach(() => { unsilence = silenceOutput(); });
afterEach(() => unsilence());

afterAll(() => removeTempFiles());

describe('show-approval handler (factory, in-memory fakes)', () => {
  async function world(approvals: ApprovalStore = new MemoryApprovalStore()) {
    if (approvals instanceof MemoryApprovalStore) await approvals.createApproval(approval);
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident(incident);
    const audit = new MemoryAuditLog();
    const workflows = new RecordingWorkflows();
    const handle = mod.makeHandler(async () => ({ approvals, incidents, audit, workflows, clock: fixedClock(NOW), index, linkSecret: LINK_SECRET }));
    return { audit, workflows, handle };
  }

  it('refuses a GET whose link signature does not match with 403, audits the refusal and resumes nothing', async () => {
    // Prepare
    const w = await world();

    // Act
    const res = await w.handle(httpEvent('GET', forgedLink(approval)));

    // Assess
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).not.toContain(TASK_TOKEN);
    const audit = await w.audit.list(incident.incidentId);
    expect(audit.map((e) => e.type)).toEqual(['approval.refused']);
    expect(audit[0]?.actor).toContain('alice');
    expect(w.workflows.successes).toEqual([]);
    expect(w.workflows.failures).toEqual([]);
  });

  it('shows the approval page to the decider a valid personal link was sent to', async () => {
    // Prepare
    const w = await world();

    // Act
    const res = await w.handle(httpEvent('GET', aliceLink(approval)));

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Alice Martin');
    expect(res.body).not.toContain(TASK_TOKEN);
    expect(w.workflows.successes).toEqual([]);
  });

  it('answers 404 for an approval id that does not exist', async () => {
    // Prepare
    const w = await world();

    // Act
    const res = await w.handle(httpEvent('GET', aliceLink(approval).replace(approval.approvalId, 'AAAAAAAAAAAAAAAAAAAAAA')));

    // Assess
    expect(res.statusCode).toBe(404);
  });

  it('answers 404 for an approval id with characters ids never have', async () => {
    // Prepare
    const w = await world();

    // Act
    const res = await w.handle(httpEvent('GET', '/approvals/..%2F..%2Fetc'));

    // Assess
    expect(res.statusCode).toBe(404);
  });

  it.each([
    ['a path that is not an approval page', 'GET', '/admin', 404],
    ['a method the approval page does not take', 'DELETE', `/approvals/k3JbP1x0ZQyq2m7R4vT9Aw`, 405],
  ])('is not routed %s: the HTTP API answers %s (serverless.yml declares GET /approvals/{approvalId} only)', (_what, method, path, status) => {
    // Act + Assess: API Gateway routes by serverless.yml; no route, no invocation
    expect(routeOf(method, path)).toBe(status);
    expect(routeOf('GET', '/approvals/k3JbP1x0ZQyq2m7R4vT9Aw')).toBe('show-approval');
  });

  it('answers a failure inside with 500 and a generic page that does not reveal it', async () => {
    // Prepare
    const broken: ApprovalStore = {
      ...new MemoryApprovalStore(),
      getApproval: async () => { throw new Error('AccessDeniedException: arn:aws:dynamodb:eu-west-1:111122223333:table/cleanpoint-test-state'); },
    } as unknown as ApprovalStore;
    const w = await world(broken);

    // Act
    const res = await w.handle(httpEvent('GET', aliceLink(approval)));

    // Assess
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('AccessDeniedException');
    expect(res.body).not.toContain('arn:aws:dynamodb');
  });
});

describe('show-approval handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for SFN and SSM)', () => {
  const sfn = mockClient(SFNClient);
  const ssm = mockClient(SSMClient);
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<typeof mod>;

  beforeEach(async () => {
    sfn.reset();
    ssm.reset();
    clearSecretCache();
    stores = memoryAdapters();
    await stores.incidents.createIncident(incident);
    await stores.approvals.createApproval(approval);
    stores.reset();
    ssm.on(GetParameterCommand, { Name: LINK_SECRET_PARAMETER }).resolves({ Parameter: { Name: LINK_SECRET_PARAMETER, Type: 'SecureString', Value: LINK_SECRET } });
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
  });

  afterAll(() => {
    sfn.restore();
    ssm.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('answers a GET with a bad signature with 403, audits it and never calls SendTaskSuccess', async () => {
    // Act
    const res = await handler(httpEvent('GET', forgedLink(approval)), lambdaContext());

    // Assess
    expect(res.statusCode).toBe(403);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: LINK_SECRET_PARAMETER, WithDecryption: true });
    expect(stores.log).toContainEqual({ call: 'approvals.getApproval', args: [approval.approvalId] });
    expect(await auditTypesOf(stores.audit, approval.incidentId)).toEqual(['approval.refused']);
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(res.body).not.toContain(TASK_TOKEN);
  });
});
