import path from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entrySize, MAX_ENTRIES_BYTES, putEventsRefusal } from '../../local/eventbridge-limits.ts';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime.ts';

/** EventBridge PutEvents quotas (API Reference, PutEvents; User Guide, "Calculating PutEvents event entry size"). */
const entry = (detailBytes: number) => ({ Source: 'cleanpoint', DetailType: 'Test', Detail: JSON.stringify({ p: 'x'.repeat(Math.max(0, detailBytes - 8)) }) });

describe('putEventsRefusal', () => {
  it("counts an entry as AWS does: 14 bytes for a Time, plus the UTF-8 bytes of Source, DetailType, Detail and each resource", () => {
    expect(entrySize({ Source: 'a', DetailType: 'bc', Detail: '{"é":1}' })).toBe(1 + 2 + 8);
    expect(entrySize({ Time: new Date(0), Source: 'a', DetailType: 'b', Resources: ['arn:x', 'é'] })).toBe(14 + 1 + 1 + 5 + 2);
  });

  it('accepts 1 to 10 entries and refuses 0 or 11 (Entries: 1–10 items)', () => {
    expect(putEventsRefusal([entry(10)])).toBeUndefined();
    expect(putEventsRefusal(Array.from({ length: 10 }, () => entry(10)))).toBeUndefined();
    expect(putEventsRefusal([])).toMatch(/greater than or equal to 1/);
    expect(putEventsRefusal(Array.from({ length: 11 }, () => entry(10)))).toMatch(/less than or equal to 10/);
  });

  it('refuses a request whose total entry size is not less than 256 KB, and accepts one just under', () => {
    const overhead = entrySize(entry(0)) - entry(0).Detail.length;
    const fill = (total: number) => ({ Source: 'cleanpoint', DetailType: 'Test', Detail: 'x'.repeat(total - overhead) });
    expect(putEventsRefusal([fill(MAX_ENTRIES_BYTES - 1)])).toBeUndefined();
    expect(putEventsRefusal([fill(MAX_ENTRIES_BYTES)])).toMatch(/Total size of the entries in the request is over the limit/);
    // Summed over the entries: two halves of the limit are too much together
    expect(putEventsRefusal([fill(MAX_ENTRIES_BYTES / 2), fill(MAX_ENTRIES_BYTES / 2)])).toMatch(/over the limit/);
  });
});

describe('the local bus', () => {
  let rt: LocalRuntime;
  beforeAll(async () => {
    rt = await startLocalRuntime({ dataDir: null, inventoryFile: path.resolve('examples/inventory.yaml'), speed: 600, publicBaseUrl: 'http://127.0.0.1:8787' });
  });
  afterAll(async () => { await rt?.close(); });

  it('refuses an oversized PutEvents with a ValidationException, as EventBridge does, and an 11-entry one', async () => {
    const big = { EventBusName: 'cleanpoint-local', Source: 'cleanpoint.test', DetailType: 'Test', Detail: JSON.stringify({ p: 'x'.repeat(MAX_ENTRIES_BYTES) }) };
    await expect(rt.clients.eventBridge.send(new PutEventsCommand({ Entries: [big] }))).rejects.toMatchObject({ name: 'ValidationException' });
    const small = { ...big, Detail: '{}' };
    await expect(rt.clients.eventBridge.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => small) }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(rt.clients.eventBridge.send(new PutEventsCommand({ Entries: [small] }))).resolves.toMatchObject({ FailedEntryCount: 0 });
  });
});
