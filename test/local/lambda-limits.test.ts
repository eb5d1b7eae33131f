/**
 * The local runtime invokes functions within Lambda's payload quotas (API Reference, Invoke:
 * "For synchronous invocations, the maximum payload size is 6 MB. For asynchronous invocations,
 * the maximum payload size is 1 MB"; Developer Guide, "Lambda quotas", MB = 1,024 KB):
 *  - an oversized event is refused before the function runs (RequestEntityTooLargeException);
 *    an asynchronous one (a bus delivery) is recorded as a failed delivery;
 *  - a synchronous response over the limit fails the invocation with Function.ResponseSizeTooLarge.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandlerModule } from '../../functions/shared/compose.ts';
import { HANDLER_MODULES } from '../../local/functions.ts';
import {
  MAX_ASYNC_REQUEST_BYTES, MAX_SYNC_REQUEST_BYTES, MAX_SYNC_RESPONSE_BYTES, REQUEST_TOO_LARGE, RESPONSE_TOO_LARGE,
  isPayloadRefusal, requestRefusal, responseRefusal,
} from '../../local/lambda-limits.ts';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime.ts';
import { guardDutyEvent } from '../helpers/local-runtime.ts';

/** JSON text of exactly `bytes` UTF-8 bytes. */
function jsonOf(bytes: number): string {
  const text = JSON.stringify({ p: 'x'.repeat(bytes - '{"p":""}'.length) });
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

describe('requestRefusal', () => {
  it('accepts a synchronous event of exactly 6 MB (6,291,456 bytes) and refuses one byte more, as Lambda does', () => {
    expect(MAX_SYNC_REQUEST_BYTES).toBe(6_291_456);
    expect(requestRefusal(jsonOf(MAX_SYNC_REQUEST_BYTES), 'RequestResponse')).toBeUndefined();
    const refused = requestRefusal(jsonOf(MAX_SYNC_REQUEST_BYTES + 1), 'RequestResponse');
    expect(refused).toMatchObject({ name: REQUEST_TOO_LARGE, statusCode: 413 });
    expect(refused?.message).toMatch(/^Request must be smaller than 6291456 bytes for the InvokeFunction operation/);
  });

  it('accepts an asynchronous event of exactly 1 MB and refuses one byte more', () => {
    expect(MAX_ASYNC_REQUEST_BYTES).toBe(1_048_576);
    expect(requestRefusal(jsonOf(MAX_ASYNC_REQUEST_BYTES), 'Event')).toBeUndefined();
    expect(requestRefusal(jsonOf(MAX_ASYNC_REQUEST_BYTES + 1), 'Event')).toMatchObject({ name: REQUEST_TOO_LARGE });
    // The same event is fine synchronously.
    expect(requestRefusal(jsonOf(MAX_ASYNC_REQUEST_BYTES + 1), 'RequestResponse')).toBeUndefined();
  });

  it('counts UTF-8 bytes, not characters', () => {
    const chars = Math.floor(MAX_ASYNC_REQUEST_BYTES / 2); // 'é' is two bytes: twice the limit's worth of characters' bytes
    expect(requestRefusal(JSON.stringify({ p: 'é'.repeat(chars) }), 'Event')).toMatchObject({ name: REQUEST_TOO_LARGE });
  });

  it('marks the refusal as one retrying cannot fix', () => {
    expect(isPayloadRefusal(requestRefusal(jsonOf(MAX_ASYNC_REQUEST_BYTES + 1), 'Event'))).toBe(true);
    expect(isPayloadRefusal(new Error('other'))).toBe(false);
  });
});

describe('responseRefusal', () => {
  it('returns a synchronous response up to the 6,291,556 bytes Lambda names and fails a larger one with Function.ResponseSizeTooLarge', () => {
    expect(responseRefusal(jsonOf(MAX_SYNC_RESPONSE_BYTES), 'RequestResponse')).toBeUndefined();
    const refused = responseRefusal(jsonOf(MAX_SYNC_RESPONSE_BYTES + 1), 'RequestResponse');
    expect(refused).toMatchObject({ name: RESPONSE_TOO_LARGE, message: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).' });
  });

  it('never refuses an asynchronous response (Lambda discards it)', () => {
    expect(responseRefusal(jsonOf(MAX_SYNC_RESPONSE_BYTES + 1), 'Event')).toBeUndefined();
  });
});

describe('the local runtime', () => {
  let rt: LocalRuntime;
  const modules = HANDLER_MODULES as Record<string, HandlerModule>;
  const saved: Record<string, HandlerModule> = {};
  const calls: { fn: string; bytes: number }[] = [];
  /** A stand-in handler module that records each call and answers with `answer(event)`. */
  const stub = (fn: string, answer: (event: unknown) => unknown): HandlerModule => ({
    compose: () => async () => ({}),
    makeHandler: () => (async (event: unknown) => { calls.push({ fn, bytes: Buffer.byteLength(JSON.stringify(event)) }); return answer(event); }) as never,
    handler: null,
  });

  beforeAll(async () => {
    // The GuardDuty rule's target, and a function nothing else invokes here, replaced before their first (cold) invocation.
    for (const [file, fn, answer] of [
      ['functions/assess-finding/handler', 'assess-finding', () => ({ ok: true })],
      ['functions/review-run/handler', 'review-run', (e: unknown) => ({ body: 'y'.repeat((e as { answerBytes: number }).answerBytes) })],
    ] as const) {
      saved[file] = modules[file]!;
      modules[file] = stub(fn, answer);
    }
    rt = await startLocalRuntime({ dataDir: null, inventoryFile: path.resolve('examples/inventory.yaml'), speed: 600, publicBaseUrl: 'http://127.0.0.1:8787' });
  });
  afterAll(async () => {
    await rt?.close();
    Object.assign(modules, saved);
  });

  it('does not deliver a bus event over 1 MB: one failed delivery with the error, and the function never runs', async () => {
    calls.length = 0;
    const event = guardDutyEvent(rt, { instanceId: 'i-0aa0000000000db01' });
    (event.detail.service.additionalInfo as Record<string, unknown>)['padding'] = 'x'.repeat(MAX_ASYNC_REQUEST_BYTES);
    const deliveries = await rt.putEvent(event);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ functionName: 'assess-finding', status: 'failed' });
    expect(deliveries[0]!.error).toMatch(/^RequestEntityTooLargeException: Request must be smaller than 1048576 bytes/);
    expect(calls).toEqual([]);
    // An ordinary event on the same rule is delivered, once.
    const [ok] = await rt.putEvent(guardDutyEvent(rt, { instanceId: 'i-0aa0000000000db01' }));
    expect(ok).toMatchObject({ functionName: 'assess-finding', status: 'delivered' });
    expect(calls.map((c) => c.fn)).toEqual(['assess-finding']);
  });

  it('refuses a synchronous event over 6 MB with RequestEntityTooLargeException before the function runs', async () => {
    calls.length = 0;
    await expect(rt.invoke('review-run', { answerBytes: 1, padding: 'x'.repeat(MAX_SYNC_REQUEST_BYTES) })).rejects.toMatchObject({ name: REQUEST_TOO_LARGE });
    expect(calls).toEqual([]);
    // 2 MB synchronously is fine (it would not be as an asynchronous event).
    await expect(rt.invoke('review-run', { answerBytes: 1, padding: 'x'.repeat(2 * 1024 * 1024) })).resolves.toEqual({ body: 'y' });
    await expect(rt.invoke('review-run', { answerBytes: 1, padding: 'x'.repeat(2 * 1024 * 1024) }, 'Event')).rejects.toMatchObject({ name: REQUEST_TOO_LARGE });
  });

  it('fails a synchronous invocation whose response is over the limit with Function.ResponseSizeTooLarge, after the function ran', async () => {
    calls.length = 0;
    await expect(rt.invoke('review-run', { answerBytes: MAX_SYNC_RESPONSE_BYTES })).rejects.toMatchObject({
      name: RESPONSE_TOO_LARGE, message: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    });
    expect(calls.map((c) => c.fn)).toEqual(['review-run']);
    // Just under: returned.
    const fits = MAX_SYNC_RESPONSE_BYTES - '{"body":""}'.length;
    expect(((await rt.invoke('review-run', { answerBytes: fits })) as { body: string }).body).toHaveLength(fits);
  });
});
