import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../domain/incidents/index.ts';
import type { StoredProposal } from '../../domain/failover/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import {
  captureOutput, fixedClock, FROM_EMAIL, inventoryIndex, issuePaths, itExportsTheWrappedHandler, lambdaContext,
  LINK_SECRET, LINK_SECRET_PARAMETER, makeIncidentFor, memoryAdapters, NOW, OPS_EMAIL, pointsFor, PUBLIC_BASE_URL,
  RecordingNotifier, rejectionOf, removeTempFiles, silenceOutput, STATE_TABLE, storedProposalFor, stubHandlerEnv,
  TASK_TOKEN, wrapped, writeInventorySource, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/request-approval/handler.ts');
let mod: Module;
let clearSecretCache: () => void;

const index = inventoryIndex();
let incident: Incident;
let proposal: StoredProposal;
const task = () => ({ incidentId: incident.incidentId, taskToken: TASK_TOKEN, timeoutSeconds: 3600, escalation: false });

beforeAll(async () => {
  stubHandlerEnv({
    STATE_TABLE, INVENTORY_SOURCE: writeInventorySource(), PUBLIC_BASE_URL, LINK_SECRET_PARAMETER,
    NOTIFY_EMAIL_FROM: FROM_EMAIL, NOTIFY_EMAIL_TO: OPS_EMAIL,
    // Every line the logger can write, including the invocation event itself: the token must still not appear.
    POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_LOGGER_LOG_EVENT: 'true',
  });
  mod = await import('../../functions/request-approval/handler.ts');
  ({ clearSecretCache } = await import('../../functions/shared/secrets.ts'));
  incident = makeIncidentFor(index);
  proposal = await storedProposalFor(index, incident, pointsFor(index, 'payments'));
});

// Logging is on at DEBUG for the token test; every other test keeps it off the console.
let unsilence: () => void;
beforeEach(() => { unsilence = silenceOutput(); });
afterEach(() => unsilence());

afterAll(() => removeTempFiles());

describe('request-approval handler (factory, in-memory fakes)', () => {
  async function world() {
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident(incident);
    const runs = new MemoryRunStore();
    await runs.saveProposal(incident.incidentId, proposal);
    const approvals = new MemoryApprovalStore();
    const notifier = new RecordingNotifier();
    const handle = mod.makeHandler(async () => ({
      index, incidents, approvals, runs, audit: new MemoryAuditLog(), notifier, clock: fixedClock(NOW),
      publicBaseUrl: PUBLIC_BASE_URL, linkSecret: LINK_SECRET, newId: () => 'k3JbP1x0ZQyq2m7R4vT9Aw',
    }));
    return { incidents, approvals, notifier, handle };
  }

  it('returns only the approval id and the expiry, and keeps the task token server side', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle(task());

    // Assess
    expect(out).toEqual({ approvalId: 'k3JbP1x0ZQyq2m7R4vT9Aw', expiresAt: new Date(NOW + 3600_000).toISOString() });
    expect((await w.approvals.getApproval('k3JbP1x0ZQyq2m7R4vT9Aw'))?.taskToken).toBe(TASK_TOKEN);
    expect((await w.incidents.getIncident(incident.incidentId))?.status).toBe('awaiting-approval');
  });

  it('sends each decider a personal link and the team channel a copy without one, none carrying the task token', async () => {
    // Prepare
    const w = await world();

    // Act
    await w.handle(task());

    // Assess
    const sent = w.notifier.sent as (typeof w.notifier.sent[number] & { audience?: string })[];
    expect(sent.map((n) => [n.audience, n.recipients])).toEqual([['person', ['alice']], ['person', ['bob']], ['channel', []]]);
    expect(sent[0]?.links?.[0]?.url).toMatch(new RegExp(`^${PUBLIC_BASE_URL}/approvals/k3JbP1x0ZQyq2m7R4vT9Aw\\?p=alice&`));
    expect(sent[2]?.links ?? []).toEqual([]);
    expect(JSON.stringify(sent)).not.toContain(TASK_TOKEN);
  });

  it.each([
    ['a missing incidentId', { incidentId: undefined }, 'incidentId'],
    ['a malformed incidentId', { incidentId: 'INC-42' }, 'incidentId'],
    ['an empty task token', { taskToken: '' }, 'taskToken'],
    ['a timeout under a minute', { timeoutSeconds: 30 }, 'timeoutSeconds'],
    ['a timeout given as text', { timeoutSeconds: '3600' }, 'timeoutSeconds'],
    ['escalation given as text', { escalation: 'yes' }, 'escalation'],
  ])('refuses task input with %s with a ValidationError naming the path', async (_what, change, path) => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ ...task(), ...change }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(await w.approvals.listApprovals()).toEqual([]);
  });

  it('refuses an oversized task token without quoting it in the error', async () => {
    // Prepare
    const w = await world();
    const huge = `${TASK_TOKEN}${'A'.repeat(2100)}`;

    // Act
    const error = await rejectionOf(w.handle({ ...task(), taskToken: huge }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['taskToken']);
    expect(`${error.message}${JSON.stringify(error.issues)}`).not.toContain(TASK_TOKEN.slice(0, 40));
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(TASK_TOKEN));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(error.message).not.toContain(TASK_TOKEN);
  });
});

describe('request-approval handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for SES and SSM)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const ses = mockClient(SESv2Client);
  const ssm = mockClient(SSMClient);

  beforeEach(async () => {
    ses.reset();
    ssm.reset();
    clearSecretCache();
    stores = memoryAdapters();
    await stores.incidents.createIncident(incident);
    await stores.runs.saveProposal(incident.incidentId, proposal);
    stores.reset();
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
    ses.on(SendEmailCommand).resolves({ MessageId: 'msg-1' });
    ssm.on(GetParameterCommand, { Name: LINK_SECRET_PARAMETER }).resolves({ Parameter: { Name: LINK_SECRET_PARAMETER, Type: 'SecureString', Value: LINK_SECRET } });
  });

  afterAll(() => {
    ses.restore();
    ssm.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('stores the request with its token (the approval store creates a request once: contract-tested) and moves the incident to awaiting-approval', async () => {
    // Act
    const out = await handler(task(), lambdaContext());

    // Assess
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: LINK_SECRET_PARAMETER, WithDecryption: true });
    expect(stores.calls).toContain('approvals.createApproval');
    expect(await stores.approvals.getApproval(out.approvalId)).toMatchObject({ approvalId: out.approvalId, taskToken: TASK_TOKEN, status: 'pending', quorum: 2 });
    expect((await stores.incidents.getIncident(incident.incidentId))?.status).toBe('awaiting-approval');
  });

  it('e-mails each decider a personal signed link and never the task token', async () => {
    // Act
    const out = await handler(task(), lambdaContext());

    // Assess
    const emails = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    expect(emails.map((e) => e.Destination?.ToAddresses)).toEqual([['alice@example.com'], ['bob@example.com']]);
    for (const email of emails) {
      expect(email.FromEmailAddress).toBe(FROM_EMAIL);
      expect(email.Content?.Simple?.Body?.Text?.Data).toContain(`${PUBLIC_BASE_URL}/approvals/${out.approvalId}?`);
      expect(JSON.stringify(email)).not.toContain(TASK_TOKEN);
    }
  });

  it('never writes the task token to a log line, even with the invocation event logged', async () => {
    // Act
    const { output, result, error } = await captureOutput(() => handler(task(), lambdaContext()));

    // Assess
    expect(error).toBeUndefined();
    expect(result?.approvalId).toBeDefined();
    expect(output).toContain('Lambda invocation event');
    expect(output).toContain('approval requested');
    expect(output).toContain(incident.incidentId);
    expect(output).not.toContain(TASK_TOKEN);
    expect(output).not.toContain(TASK_TOKEN.slice(0, 40));
    expect(output).not.toContain(LINK_SECRET);
  });
});
