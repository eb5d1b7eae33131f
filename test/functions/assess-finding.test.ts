import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { incidentIdFor } from '../../domain/incidents/index.ts';
import { DEFAULT_POLICY } from '../../domain/findings/index.ts';
import { MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog, MemoryRunStore } from '../../functions/shared/adapters/memory/index.ts';
import { INSTANCES, loadSharedFixture, makeEvent, makeFinding } from '../helpers/fixtures.ts';
import {
  auditTypesOf, CATALOG_TABLE, EVENT_BUS, fixedClock, inventoryIndex, issuePaths, itExportsTheWrappedHandler, lambdaContext, memoryAdapters, NOW,
  OPS_EMAIL, RecordingEvents, RecordingNotifier, RecordingWorkflows, rejectionOf, removeTempFiles,
  STATE_MACHINE_ARN, STATE_TABLE, stubHandlerEnv, wrapped, writeInventorySource, writeYamlSource, type WrappedHandler,
} from './support.ts';

type Module = typeof import('../../functions/assess-finding/handler.ts');
let mod: Module;

const SPAMBOT = 'guardduty/findings/o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json';
const CLOUDTRAIL = 'guardduty/findings/sumologic_cloudwatchevents_guardduty_event.json';

interface GuardDutyEvent { detail: { id: string; accountId: string; region: string; resource: { instanceDetails: { instanceId: string } } } }

/** The shared Spambot sample (a GuardDuty sample finding, severity 5) re-targeted at payments-db. */
function spambotOnPaymentsDb(): GuardDutyEvent {
  const event = loadSharedFixture<GuardDutyEvent>(SPAMBOT);
  event.detail.resource.instanceDetails.instanceId = INSTANCES.paymentsDb;
  return event;
}
const spambotIncidentId = () => incidentIdFor(spambotOnPaymentsDb().detail);

beforeAll(async () => {
  stubHandlerEnv({
    STATE_TABLE,
    CATALOG_TABLE,
    EVENT_BUS_NAME: EVENT_BUS,
    INVENTORY_SOURCE: writeInventorySource(),
    // The Spambot sample is severity 5: this policy lets medium findings propose (test-mode) failovers.
    POLICY_SOURCE: writeYamlSource('policy.yaml', { version: 'handler-tests', failoverMinSeverity: 5 }),
    INCIDENT_STATE_MACHINE_ARN: STATE_MACHINE_ARN,
    NOTIFY_EMAIL_TO: OPS_EMAIL,
  });
  mod = await import('../../functions/assess-finding/handler.ts');
});

afterAll(() => removeTempFiles());

describe('assess-finding handler (factory, in-memory fakes)', () => {
  function world() {
    const store = new MemoryIncidentStore();
    const workflows = new RecordingWorkflows();
    const events = new RecordingEvents();
    const notifier = new RecordingNotifier();
    const handle = mod.makeHandler(async () => ({
      policy: DEFAULT_POLICY, index: inventoryIndex(), store, audit: new MemoryAuditLog(), workflows, events, notifier, clock: fixedClock(NOW),
      runs: new MemoryRunStore(), catalog: new MemoryRecoveryPointCatalog(),
    }));
    return { store, workflows, events, notifier, handle };
  }

  it('opens an incident for a backdoor on a protected machine and returns its summary without the incident body', async () => {
    // Prepare
    const w = world();
    const finding = makeFinding();
    const incidentId = incidentIdFor(finding);

    // Act
    const out = await w.handle(makeEvent(finding));

    // Assess
    expect(out).toEqual({
      incidentId, delivery: 'new', created: true, correlated: false, executionName: `incident-${incidentId}`, action: 'failover-proposal',
      alsoFolded: [], reinfected: false,
    });
    expect(w.workflows.starts).toEqual([{ machine: 'incident-response', name: `incident-${incidentId}`, input: { incidentId } }]);
    expect(w.events.published.map((e) => e.detailType)).toEqual(['Incident Created']);
  });

  it('answers a redelivery of the same event as a duplicate of the same incident and publishes nothing more', async () => {
    // Prepare
    const w = world();
    const event = makeEvent();
    const first = await w.handle(event);

    // Act
    const again = await w.handle(structuredClone(event));

    // Assess
    expect(again).toMatchObject({ incidentId: first.incidentId, delivery: 'duplicate', created: false });
    expect(await w.store.listIncidents()).toHaveLength(1);
    expect(w.events.published).toHaveLength(1);
  });

  it('notifies without starting a workflow when the finding is below the failover threshold', async () => {
    // Prepare
    const w = world();

    // Act
    const out = await w.handle(makeEvent(makeFinding({ severity: 5 })));

    // Assess
    expect(out).toMatchObject({ action: 'notify', created: true, executionName: null });
    expect(w.workflows.starts).toEqual([]);
    expect(w.notifier.sent.map((n) => n.kind)).toEqual(['finding']);
  });

  it('refuses a CloudTrail API call event from aws.guardduty with UnsupportedEventError and stores nothing', async () => {
    // Prepare
    const w = world();

    // Act
    const error = await rejectionOf(w.handle(loadSharedFixture(CLOUDTRAIL)));

    // Assess
    expect(error.name).toBe('UnsupportedEventError');
    expect(error.message).toContain('AWS API Call via CloudTrail');
    expect(await w.store.listIncidents()).toEqual([]);
  });

  it.each([
    ['a string', 'GuardDuty Finding'],
    ['null', null],
    ['a number', 42],
    ['an array', [makeFinding()]],
  ])('refuses %s instead of an event with a ValidationError', async (_what, event) => {
    // Prepare
    const w = world();

    // Act
    const error = await rejectionOf(w.handle(event));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['']);
    expect(await w.store.listIncidents()).toEqual([]);
  });

  it('refuses a finding without a severity with a ValidationError naming detail.severity', async () => {
    // Prepare
    const w = world();

    // Act
    const error = await rejectionOf(w.handle(makeEvent(makeFinding({ severity: undefined }))));

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(issuePaths(error)).toEqual(['detail.severity']);
  });
});

describe('assess-finding handler (wrapped: its composition over the memory stores, aws-sdk-client-mock for SFN, EventBridge and SES)', () => {
  let stores: ReturnType<typeof memoryAdapters>;
  let handler: WrappedHandler<Module>;
  const sfn = mockClient(SFNClient);
  const eventBridge = mockClient(EventBridgeClient);
  const ses = mockClient(SESv2Client);

  beforeEach(() => {
    sfn.reset();
    eventBridge.reset();
    ses.reset();
    stores = memoryAdapters();
    handler = wrapped(mod, { clock: fixedClock(NOW), adapters: stores.adapters });
    sfn.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string }) => ({
      executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`, startDate: new Date(NOW),
    }));
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    ses.on(SendEmailCommand).resolves({ MessageId: 'msg-1' });
  });

  afterAll(() => {
    sfn.restore();
    eventBridge.restore();
    ses.restore();
  });

  itExportsTheWrappedHandler(() => mod.handler);

  it('stores the incident (the incident store creates it once: contract-tested), starts the workflow named after it and publishes a cleanpoint event', async () => {
    // Prepare
    const incidentId = spambotIncidentId();

    // Act
    const out = await handler(spambotOnPaymentsDb(), lambdaContext());

    // Assess
    expect(out).toEqual({
      incidentId, delivery: 'new', created: true, correlated: false, executionName: `incident-${incidentId}`, action: 'failover-proposal',
      alsoFolded: [], reinfected: false,
    });
    expect(stores.calls).toContain('incidents.createIncident');
    expect(await stores.incidents.getIncident(incidentId)).toMatchObject({ incidentId, status: 'proposed', mode: 'test', groups: ['payments'] });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN, name: `incident-${incidentId}`, input: JSON.stringify({ incidentId }),
    });
    expect(eventBridge).toHaveReceivedCommandExactlyOnceWith(PutEventsCommand, {
      Entries: [expect.objectContaining({ Source: 'cleanpoint', EventBusName: EVENT_BUS, DetailType: 'Incident Created' })],
    });
    expect(await auditTypesOf(stores.audit, incidentId)).toEqual(['incident.created', 'workflow.started']);
  });

  it('retries the entries PutEvents reports as failed and succeeds when the retry is accepted', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-2' }] });

    // Act
    const out = await handler(spambotOnPaymentsDb(), lambdaContext());

    // Assess
    expect(out.created).toBe(true);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    const [first, second] = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries);
    expect(second).toEqual(first);
  });

  it('throws TransientError when PutEvents keeps failing an entry, so the delivery is retried', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] });

    // Act
    const error = await rejectionOf(handler(spambotOnPaymentsDb(), lambdaContext()));

    // Assess
    expect(error.name).toBe('TransientError');
    expect(error.message).toContain('InternalFailure');
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 3);
  });

  it('treats StartExecution answering ExecutionAlreadyExists as already started and records the derived execution ARN', async () => {
    // Prepare
    const incidentId = spambotIncidentId();
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: `Execution Already Exists: 'incident-${incidentId}'`, $metadata: { httpStatusCode: 400 } }));

    // Act
    const out = await handler(spambotOnPaymentsDb(), lambdaContext());

    // Assess
    expect(out).toMatchObject({ incidentId, created: true, executionName: `incident-${incidentId}` });
    expect(Object.values((await stores.incidents.getIncident(incidentId))!)).toContain(
      `arn:aws:states:eu-west-1:111122223333:execution:cleanpoint-incident-response:incident-${incidentId}`,
    );
    // The execution is recorded on the incident by this delivery, so this delivery audits its start (once).
    expect(await auditTypesOf(stores.audit, incidentId)).toEqual(['incident.created', 'workflow.started']);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  it('refuses a CloudTrail event before touching any AWS service, so it lands in the dead-letter queue untouched', async () => {
    // Act
    const error = await rejectionOf(handler(loadSharedFixture(CLOUDTRAIL), lambdaContext()));

    // Assess
    expect(error.name).toBe('UnsupportedEventError');
    expect(stores.calls).toEqual([]);
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(eventBridge).not.toHaveReceivedAnyCommand();
  });
});
