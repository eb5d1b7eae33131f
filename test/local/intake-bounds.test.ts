import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localApiRoutes } from '../../local/api.ts';
import type { BusDelivery } from '../../local/runtime.ts';
import type { RouteDeps } from '../../local/routes.ts';
import type { LocalSystem } from '../../local/system.ts';
import { postJson, ransomwareEvent, startTestSystem, storedState } from '../helpers/local-system.ts';

/**
 * Bad input at the local runtime's intake (issue 15, item 4): what a user can send with
 * `cleanpoint findings send` (POST /local/findings) and what reaches the bus (putEvent). A
 * finding with a 3,000-character id or nested thousands of levels deep is a 400 naming the
 * offending path over HTTP, and a ValidationError delivery (not retried) on the bus; DynamoDB's
 * internal message and a stack overflow never reach the caller, and nothing is stored.
 */
let system: LocalSystem;
type Json = Record<string, any>;

beforeAll(async () => { system = await startTestSystem(); }, 60_000);
afterAll(async () => { await system?.close(); });

const withId = (event: Json, id: string): Json => { const e = structuredClone(event); e['detail'].id = id; return e; };

describe('POST /local/findings: bad findings are a 4xx naming the path, never a 5xx', () => {
  it('answers a 3,000-character finding id with 400 naming detail.id, without DynamoDB\'s message, and stores nothing', async () => {
    // Prepare
    const before = await storedState(system);
    const event = withId(await ransomwareEvent(system), 'a'.repeat(3_000));

    // Act
    const res = await postJson(system, '/local/findings', event);

    // Assess
    expect(res.status).toBe(400);
    expect(String(res.body['error'])).toMatch(/detail\.id: /);
    expect(String(res.body['error'])).not.toMatch(/hashkey|DynamoDB|ValidationException|a{50}/);
    expect(await storedState(system)).toEqual(before);
  });

  it('answers valid JSON with a 5,000-deep array in an unknown field with 400 naming where it nests too deep', async () => {
    // Prepare
    const before = await storedState(system);
    const text = JSON.stringify(await ransomwareEvent(system)).replace('"detail":{', `"detail":{"evidence":${'['.repeat(5_000)}${']'.repeat(5_000)},`);

    // Act
    const res = await postJson(system, '/local/findings', text);

    // Assess
    expect(res.status).toBe(400);
    expect(String(res.body['error'])).toMatch(/^the request body nests deeper than 32 levels at detail\.evidence(\[0\])+$/);
    expect(await storedState(system)).toEqual(before);
  });

  it('never passes on what a failed delivery said: an unexpected failure is a 502 with a reference, the cause goes to the log', async () => {
    // Prepare: a bus whose assess-finding delivery failed inside a dependency
    const event = await ransomwareEvent(system);
    const failed: BusDelivery = {
      id: 'e-1', at: '2024-05-01T10:00:00.000Z', event, functionName: 'assess-finding', status: 'failed',
      error: 'ValidationException: One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes',
    };
    const deps = { rt: { putEvent: async () => [failed], options: system.rt.options }, stores: system.stores } as unknown as RouteDeps;
    const route = localApiRoutes(deps).find((r) => r.method === 'POST' && r.path === '/local/findings')!;
    const stderr: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => { stderr.push(String(chunk)); return true; }) as typeof process.stderr.write;

    // Act
    let thrown: unknown;
    try {
      await route.handle({ method: 'POST', path: '/local/findings', params: {}, query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body: JSON.stringify(event), sourceIp: '127.0.0.1' });
    } catch (e) {
      thrown = e;
    } finally {
      process.stderr.write = write;
    }

    // Assess
    expect(thrown).toMatchObject({ name: 'HttpError', status: 502 });
    const message = (thrown as Error).message;
    expect(message).toMatch(/reference e-1/);
    expect(message).not.toMatch(/hashkey|ValidationException|parameter values/);
    expect(stderr.join('')).toMatch(/e-1.*hashkey/s);
  });
});

describe('the local bus: a bad finding is one failed delivery (not retried), never a crash, and changes nothing', () => {
  it('delivers a 3,000-character finding id to assess-finding as a ValidationError naming detail.id', async () => {
    // Prepare
    const before = await storedState(system);
    const event = withId(await ransomwareEvent(system), 'b'.repeat(3_000));

    // Act
    const deliveries = await system.rt.putEvent(event);

    // Assess
    const d = deliveries.find((x) => x.functionName === 'assess-finding')!;
    expect(d.status).toBe('failed');
    expect(d.error).toMatch(/^ValidationError: .*detail\.id: /);
    expect(d.error).not.toMatch(/hashkey|b{50}/);
    expect({ ...(await storedState(system)), deliveries: before.deliveries }).toEqual(before);
  });

  // The runtime copies every event across the Lambda boundary as text; V8's JSON.stringify
  // overflows on a 5,000-deep event, AWS's Lambda runtime does not: the handler must see it and
  // refuse it (local/json-text.ts). Failed as a RangeError before toJsonText.
  it('delivers a 5,000-deep finding to assess-finding as a ValidationError, not a RangeError', async () => {
    // Prepare
    const event = await ransomwareEvent(system) as Json;
    let deep: unknown = 1;
    for (let i = 0; i < 5_000; i++) deep = [deep];
    event['detail'].evidence = deep;

    // Act
    const deliveries = await system.rt.putEvent(event);

    // Assess
    const d = deliveries.find((x) => x.functionName === 'assess-finding')!;
    expect(d.error).toMatch(/^ValidationError: .*nests deeper than 32 levels/);
  });
});
