import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../../domain/incidents/index.ts';
import { MemoryIncidentStore } from '../../functions/shared/adapters/memory/index.ts';
import {
  FROM_EMAIL, inventoryIndex, issuePaths, itExportsTheWrappedHandler, lambdaContext, makeIncidentFor, memoryAdapters, OPS_EMAIL,
  RecordingNotifier, rejectionOf, removeTempFiles, STATE_TABLE, stubHandlerEnv, wrapped, writeInventorySource, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/notify/handler.ts');
let mod: Module;

const index = inventoryIndex();
let incident: Incident;
/** What the Notify Outcome state sends: the record-outcome result as `detail`. */
const outcomeTask = () => ({
  runId: incident.incidentId, kind: 'incident', event: 'outcome',
  detail: { incidentId: incident.incidentId, result: 'recovered', rtoMinutes: 12, rpoMinutes: 90 },
});

beforeAll(async () => {
  stubHandlerEnv({ STATE_TABLE, INVENTORY_SOURCE: writeInventorySource(), NOTIFY_EMAIL_FROM: FROM_EMAIL, NOTIFY_EMAIL_TO: OPS_EMAIL });
  mod = await import('../../functions/notify/handler.ts');
  incident = makeIncidentFor(index, {}, { status: 'recovered' });
});

afterAll(() => removeTempFiles());

describe('notify handler (factory, in-memory fakes)', () => {
  async function world() {
    const incidents = new MemoryIncidentStore();
    await incidents.createIncident(incident);
    const notifier = new RecordingNotifier();
    const handle = mod.makeHandler(async () => ({ incidents, notifier, index }));
    return { notifier, handle };
  }

  it('accepts the Notify state input and tells the executors, deciders and analysts of the groups', async () => {
    // Prepare
    const w = await world();

    // Act
    const out = await w.handle(outcomeTask());

    // Assess
    expect(out).toEqual({ sent: true });
    expect(w.notifier.sent).toHaveLength(1);
    expect(w.notifier.sent[0]).toMatchObject({ kind: 'outcome', incidentId: incident.incidentId, recipients: ['carol', 'alice', 'bob'] });
    expect(w.notifier.sent[0]?.text).toContain('"rtoMinutes":12');
  });

  it.each([
    ['an event it does not know', { event: 'party' }, 'event'],
    ['a missing runId', { runId: undefined }, 'runId'],
    ['a runId with spaces', { runId: 'inc 1' }, 'runId'],
  ])('refuses task input with %s with a ValidationError naming the path', async (_what, change, path) => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle({ ...outcomeTask(), ...change }));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual([path]);
    expect(w.notifier.sent).toEqual([]);
  });

  it('refuses task input that is not an object with a ValidationError', async () => {
    // Prepare
    const w = await world();

    // Act
    const error = await rejectionOf(w.handle(undefined));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(w.notifier.sent).toEqual([]);
  });
});

describe('notify handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for SES)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const ses = mockClient(SESv2Client);
  beforeEach(() => {
    ses.reset();
    stores = memoryAdapters();
    handler = wrapped(mod, { adapters: stores.adapters });
    ses.on(SendEmailCommand).resolves({ MessageId: 'msg-1' });
  });

  afterAll(() => {
    ses.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('e-mails each person of the incident groups from the configured address', async () => {
    // Prepare
    await stores.incidents.createIncident(incident);

    // Act
    await handler(outcomeTask(), lambdaContext());

    // Assess
    const emails = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    expect(emails.map((e) => e.Destination?.ToAddresses)).toEqual([['carol@example.com'], ['alice@example.com'], ['bob@example.com']]);
    expect(emails.every((e) => e.FromEmailAddress === FROM_EMAIL)).toBe(true);
    expect(emails[0]?.Content?.Simple?.Subject?.Data).toContain('payments');
  });

  it('falls back to the operations address for a run it cannot place', async () => {
    // Act
    await handler({ runId: 'drill-payments-20240501', event: 'cleanup-failed', detail: 'i-0aaaaaaaaaaaaaaa1 is still running' }, lambdaContext());

    // Assess
    expect(ses).toHaveReceivedCommandExactlyOnceWith(SendEmailCommand, {
      FromEmailAddress: FROM_EMAIL,
      Destination: { ToAddresses: [OPS_EMAIL] },
    });
    expect(ses.commandCalls(SendEmailCommand)[0]?.args[0].input.Content?.Simple?.Subject?.Data).toContain('ALARM');
  });
});
