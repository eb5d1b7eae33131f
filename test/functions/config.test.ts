/**
 * What every handler does at cold start: compose itself from its configuration (a missing or
 * malformed variable fails the composition, naming it; importing the module never does) and
 * read the inventory from where INVENTORY_SOURCE points (SSM Parameter Store on AWS). Each test
 * imports a handler into a fresh module registry, as a new Lambda container would.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { makeInventory } from '../helpers/fixtures.ts';
import { CATALOG_TABLE,
  FROM_EMAIL, inventoryIndex, KMS_KEY, lambdaContext, makeIncidentFor, memoryAdapters, rejectionOf, STATE_TABLE,
  stubHandlerEnv, wrapped,
} from './support.ts';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('handler configuration at cold start', () => {
  it('fails the cold start (the first invocation composes) with a ConfigError naming KMS_KEY_ID when it is not set', async () => {
    // Prepare: importing the module reads no variable
    vi.resetModules();
    stubHandlerEnv({ STATE_TABLE });
    vi.stubEnv('KMS_KEY_ID', undefined);
    const mod = await import('../../functions/launch-machine/handler.ts');

    // Act
    const error = await rejectionOf(mod.handler({ runId: 'inc-0123456789abcdef0123', kind: 'incident', mode: 'test', machineId: 'payments-db' }, lambdaContext()));

    // Assess
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain('KMS_KEY_ID: is not set');
    expect(error.message).not.toContain('STATE_TABLE');
    expect(() => mod.compose(process.env)).toThrow(error.message);
  });

  it('fails the composition with a ConfigError naming a malformed variable and the rule it breaks', async () => {
    // Prepare
    vi.resetModules();
    stubHandlerEnv({
      STATE_TABLE, EVENT_BUS_NAME: 'bus', INVENTORY_SOURCE: 'ssm:/cleanpoint/test/inventory',
      INCIDENT_STATE_MACHINE_ARN: 'arn:aws:lambda:eu-west-1:111122223333:function:oops',
    });
    const mod = await import('../../functions/assess-finding/handler.ts');

    // Act
    let error: Error | undefined;
    try { mod.compose(process.env); } catch (e) { error = e as Error; }

    // Assess
    expect(error?.name).toBe('ConfigError');
    expect(error?.message).toContain('INCIDENT_STATE_MACHINE_ARN: must be a state machine ARN');
  });

  it('composes once the variables it needs are set, with nothing else configured', async () => {
    // Prepare
    vi.resetModules();
    stubHandlerEnv({ STATE_TABLE, CATALOG_TABLE, KMS_KEY_ID: KMS_KEY });
    const mod = await import('../../functions/launch-machine/handler.ts');

    // Act
    const deps = mod.compose(process.env);

    // Assess
    expect(typeof deps).toBe('function');
    expect(typeof mod.handler).toBe('function');
  });
});

describe('inventory from SSM Parameter Store (INVENTORY_SOURCE=ssm:...)', () => {
  const PARAMETER = '/cleanpoint/test/inventory';
  const ses = mockClient(SESv2Client);
  const ssm = mockClient(SSMClient);
  const incident = makeIncidentFor(inventoryIndex());
  const task = { runId: incident.incidentId, event: 'escalation' };

  let stores: ReturnType<typeof memoryAdapters>;

  beforeEach(async () => {
    ses.reset();
    ssm.reset();
    stores = memoryAdapters();
    await stores.incidents.createIncident(incident);
    ses.on(SendEmailCommand).resolves({ MessageId: 'msg-1' });
    vi.resetModules();
    stubHandlerEnv({ STATE_TABLE, INVENTORY_SOURCE: `ssm:${PARAMETER}`, NOTIFY_EMAIL_FROM: FROM_EMAIL });
  });

  afterAll(() => {
    ses.restore();
    ssm.restore();
  });

  it('reads the inventory from the decrypted parameter once per container and resolves people through it', async () => {
    // Prepare
    ssm.on(GetParameterCommand, { Name: PARAMETER }).resolves({ Parameter: { Name: PARAMETER, Type: 'SecureString', Value: toYaml(makeInventory()) } });
    const handler = wrapped(await import('../../functions/notify/handler.ts'), { adapters: stores.adapters });

    // Act
    await handler(task, lambdaContext());
    await handler(task, lambdaContext());

    // Assess
    expect(ssm).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, { Name: PARAMETER, WithDecryption: true });
    const to = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses?.[0]);
    expect(to).toEqual(['carol@example.com', 'alice@example.com', 'bob@example.com', 'carol@example.com', 'alice@example.com', 'bob@example.com']);
  });

  it('fails the invocation with a ValidationError naming the bad path when the parameter holds a broken inventory, and reads it again next time', async () => {
    // Prepare
    const broken = makeInventory();
    broken.groups[0]!.machines[0]!.instanceId = 'payments-db-1';
    ssm.on(GetParameterCommand, { Name: PARAMETER })
      .resolvesOnce({ Parameter: { Name: PARAMETER, Value: toYaml(broken) } })
      .resolves({ Parameter: { Name: PARAMETER, Value: toYaml(makeInventory()) } });
    const handler = wrapped(await import('../../functions/notify/handler.ts'), { adapters: stores.adapters });

    // Act
    const error = await rejectionOf(handler(task, lambdaContext()));
    const retried = await handler(task, lambdaContext());

    // Assess
    expect(error.name).toBe('ValidationError');
    expect(error.message).toContain(`ssm:${PARAMETER}`);
    expect((error.issues ?? []).map((i) => i.path)).toContain('groups[0].machines[0].instanceId');
    expect(ses).toHaveReceivedCommandTimes(SendEmailCommand, 3);
    expect(retried).toEqual({ sent: true });
  });
});
