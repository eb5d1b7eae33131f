import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../domain/approvals/index.ts';
import { personalLink } from '../../domain/approvals/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import { claimsFrom, csrfToken } from '../../domain/approvals/index.ts';
import { DEFAULT_POLICY } from '../../domain/findings/index.ts';
import type { ApprovalStore } from '../../domain/ports/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import {
  approvalItem, auditTypes, CATALOG_TABLE, fixedClock, incidentItem, inventoryIndex, itExportsTheWrappedHandler, lambdaContext,
  LINK_SECRET, LINK_SECRET_PARAMETER, makeApprovalFor, makeIncidentFor, NOW, pointsFor, PUBLIC_BASE_URL, RecordingWorkflows,
  rememberWrites, removeTempFiles, silenceOutput, STATE_MACHINE_ARN, STATE_TABLE, storedProposalFor, stubHandlerEnv, TASK_TOKEN,
  writeInventorySource,
} from './support.ts';

type Module = typeof import('../../functions/decide-approval/handler.ts');
let mod: Module;
let clearSecretCache: () => void;

const index = inventoryIndex();
let incident: Incident;
let approval: ApprovalRequest;

/** An API Gateway HTTP API (payload 2.0) request. */
function httpEvent(method: string, url: string, options: { body?: string; headers?: Record<string, string> } = {}): APIGatewayProxyEventV2 {
  const u = new URL(url, PUBLIC_BASE_URL);
  return {
    version: '2.0', routeKey: '$default', rawPath: u.pathname, rawQueryString: u.search.slice(1),
    headers: { host: u.host, ...options.headers },
    queryStringParameters: u.search ? Object.fromEntries(u.searchParams) : undefined,
    requestContext: {
      accountId: '111122223333', apiId: 'api1234567', domainName: u.host, domainPrefix: 'approvals', requestId: 'req-1', routeKey: '$default',
      stage: '$default', time: '01/May/2024:10:00:00 +0000', timeEpoch: NOW,
      http: { method, path: u.pathname, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'vitest' },
    },
    body: options.body, isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}

/** Alice's personal link, as request-approval e-mails it. */
const aliceLink = () => personalLink(PUBLIC_BASE_URL, LINK_SECRET, approval, 'alice');
/** The same link with a signature made with another secret. */
const forgedLink = () => {
  const u = new URL(aliceLink());
  u.searchParams.set('s', new URL(personalLink(PUBLIC_BASE_URL, 'not-the-server-secret', approval, 'alice')).searchParams.get('s')!);
  return u.toString();
};

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, CATALOG_TABLE, INVENTORY_SOURCE: writeInventorySource(), LINK_SECRET_PARAMETER, INCIDENT_STATE_MACHINE_ARN: STATE_MACHINE_ARN });
  mod = await import('../../functions/decide-approval/handler.ts');
  ({ clearSecretCache } = await import('../../functions/shared/secrets.ts'));
  const { useClock } = await import('../../functions/shared/wiring.ts');
  useClock(fixedClock(NOW));
  incident = makeIncidentFor(index, {}, { status: 'awaiting-approval' });
  approval = makeApprovalFor(incident, await storedProposalFor(index, incident, pointsFor(index, 'payments')));
});

// Refusals are logged (at info): keep them off the console.
let unsilence: () => void;
beforeEach(() => { unsilence = silenceOutput(); });
afterEach(() => unsilence());

afterAll(() => removeTempFiles());

describe('decide-approval handler (factory, in-memory fakes)', () => {
  async function world(approvals: ApprovalStore = new MemoryApprovalStore()) {
    if (approvals instanceof MemoryApprovalStore) await approvals.createApproval(approval);
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident(incident);
    const audit = new MemoryAuditLog();
    const workflows = new RecordingWorkflows();
    const handle = mod.makeHandler(async () => ({
      approvals, incidents, audit, workflows, clock: fixedClock(NOW), index, linkSecret: LINK_SECRET,
      catalog: new MemoryRecoveryPointCatalog(pointsFor(index, 'payments')), policy: DEFAULT_POLICY,
    }));
    return { audit, workflows, handle };
  }

  it('refuses a GET whose link signature does not match with 403, audits the refusal and resumes nothing', async () => {
    // Prepare
    const w = await world();

    // Act
    const res = await w.handle(httpEvent('GET', forgedLink()));

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
    const res = await w.handle(httpEvent('GET', aliceLink()));

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
    const res = await w.handle(httpEvent('GET', aliceLink().replace(approval.approvalId, 'AAAAAAAAAAAAAAAAAAAAAA')));

    // Assess
    expect(res.statusCode).toBe(404);
  });

  it.each([
    ['a path that is not an approval page', 'GET', '/admin'],
    ['an approval id with characters ids never have', 'GET', '/approvals/..%2F..%2Fetc'],
  ])('answers 404 for %s', async (_what, method, path) => {
    // Prepare
    const w = await world();

    // Act
    const res = await w.handle(httpEvent(method, path));

    // Assess
    expect(res.statusCode).toBe(404);
  });

  it('answers 405 to a method the approval page does not take', async () => {
    // Prepare
    const w = await world();

    // Act
    const res = await w.handle(httpEvent('DELETE', `/approvals/${approval.approvalId}`));

    // Assess
    expect(res.statusCode).toBe(405);
  });

  it('refuses a decision posted as JSON with 415 and resumes nothing', async () => {
    // Prepare
    const w = await world();

    // Act
    const res = await w.handle(httpEvent('POST', `/approvals/${approval.approvalId}/decision`, {
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approve' }),
    }));

    // Assess
    expect(res.statusCode).toBe(415);
    expect(w.workflows.successes).toEqual([]);
  });

  it('answers a failure inside with 500 and a generic page that does not reveal it', async () => {
    // Prepare
    const broken: ApprovalStore = {
      ...new MemoryApprovalStore(),
      getApproval: async () => { throw new Error('AccessDeniedException: arn:aws:dynamodb:eu-west-1:111122223333:table/cleanpoint-test-state'); },
    } as unknown as ApprovalStore;
    const w = await world(broken);

    // Act
    const res = await w.handle(httpEvent('GET', aliceLink()));

    // Assess
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('AccessDeniedException');
    expect(res.body).not.toContain('arn:aws:dynamodb');
  });
});

describe('decide-approval handler (wrapped, aws-sdk-client-mock)', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const sfn = mockClient(SFNClient);
  const ssm = mockClient(SSMClient);
  let table: ReturnType<typeof rememberWrites>;

  beforeEach(() => {
    ddb.reset();
    sfn.reset();
    ssm.reset();
    clearSecretCache();
    table = rememberWrites(ddb);
    table.seed(STATE_TABLE, incidentItem(incident));
    table.seed(STATE_TABLE, approvalItem(approval));
    ssm.on(GetParameterCommand, { Name: LINK_SECRET_PARAMETER }).resolves({ Parameter: { Name: LINK_SECRET_PARAMETER, Type: 'SecureString', Value: LINK_SECRET } });
  });

  afterAll(() => {
    ddb.restore();
    sfn.restore();
    ssm.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('answers a GET with a bad signature with 403, audits it and never calls SendTaskSuccess', async () => {
    // Act
    const res = await mod.handler(httpEvent('GET', forgedLink()), lambdaContext());

    // Assess
    expect(res.statusCode).toBe(403);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: LINK_SECRET_PARAMETER, WithDecryption: true });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: STATE_TABLE, Key: { pk: `APPROVAL#${approval.approvalId}`, sk: 'META' } });
    expect(auditTypes(ddb)).toEqual(['approval.refused']);
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(res.body).not.toContain(TASK_TOKEN);
  });

  it('resumes the workflow with SendTaskSuccess carrying what Plan Failover reads once the form completes the quorum', async () => {
    // Prepare: bob approved already; alice posts the form of her page
    table.seed(STATE_TABLE, approvalItem({
      ...approval, decisions: [{ personId: 'bob', decision: 'approve', at: '2024-05-01T09:55:00.000Z', channel: 'web', source: '198.51.100.7' }],
    }));
    const link = new URL(aliceLink());
    const fields = Object.fromEntries(link.searchParams);
    const form = new URLSearchParams({
      ...fields, csrf: csrfToken(LINK_SECRET, claimsFrom(approval.approvalId, fields).claims), decision: 'approve', step: 'confirm',
      // The fixture's recovery-mode points were never scanned: approving them takes the second confirmation.
      confirmUnverified: 'true',
    });

    // Act
    const res = await mod.handler(httpEvent('POST', `${link.pathname}/decision`, {
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
