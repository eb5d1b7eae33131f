/**
 * The publisher keeps every PutEvents request within the quotas (EventBridge API Reference,
 * PutEvents: 1–10 entries; User Guide, "Calculating PutEvents event entry size": a total under
 * 256 KB, an entry counting the UTF-8 bytes of Source, DetailType and Detail), refuses an event
 * that can never fit, and sends the failed entries of a partially failed request again.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../domain/ports/index.ts';
import { TransientError, ValidationError } from '../../domain/shared/index.ts';
import { EventBridgePublisher } from '../../functions/shared/adapters/eventbridge-publisher.ts';
import { entrySize, MAX_ENTRIES_BYTES, putEventsBatches } from '../../functions/shared/eventbridge-limits.ts';
import { putEventsRefusal } from '../../local/eventbridge-limits.ts';

const BUS = 'cleanpoint-test';
const client = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
const eb = mockClient(client);
const pauses: number[] = [];
const publisher = new EventBridgePublisher(client, BUS, 3, async (ms) => { pauses.push(ms); });

/** An event whose PutEvents entry (source `cleanpoint`, detail type `Test`) is exactly `bytes` long. */
function eventOf(bytes: number, n = 0): DomainEvent {
  const overhead = 'cleanpoint'.length + 'Test'.length + JSON.stringify({ n, pad: '' }).length;
  return { detailType: 'Test', detail: { n, pad: 'x'.repeat(bytes - overhead) } } as DomainEvent;
}
const sizeOf = (e: DomainEvent) => entrySize({ Source: 'cleanpoint', DetailType: e.detailType, Detail: JSON.stringify(e.detail) });
const sent = () => eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries as PutEventsRequestEntry[]);
const ok = (entries: number) => ({ $metadata: {}, FailedEntryCount: 0, Entries: Array.from({ length: entries }, (_, i) => ({ EventId: `id-${i}` })) });

beforeEach(() => {
  eb.reset();
  pauses.length = 0;
});

describe('putEventsBatches', () => {
  it('cuts at 10 entries and before the total reaches 256 KB, keeping the order', () => {
    const small = Array.from({ length: 23 }, (_, i) => ({ Source: 's', DetailType: 't', Detail: String(i) }));
    expect(putEventsBatches(small).map((b) => b.length)).toEqual([10, 10, 3]);
    const third = { Source: 's', DetailType: 't', Detail: 'x'.repeat(Math.floor(MAX_ENTRIES_BYTES / 3)) };
    const batches = putEventsBatches([third, third, third, third]);
    expect(batches.map((b) => b.length)).toEqual([2, 2]);
    for (const b of batches) expect(putEventsRefusal(b)).toBeUndefined();
  });
});

describe('EventBridgePublisher', () => {
  it('event sizes in these tests are counted as EventBridge counts them', () => {
    expect(sizeOf(eventOf(1000))).toBe(1000);
  });

  it('splits 25 small events into requests of 10, 10 and 5 entries on its bus', async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ok(input.Entries.length));
    await publisher.publish(Array.from({ length: 25 }, (_, i) => eventOf(100, i)));
    expect(sent().map((b) => b.length)).toEqual([10, 10, 5]);
    expect(sent()[0]![0]).toMatchObject({ EventBusName: BUS, Source: 'cleanpoint', DetailType: 'Test' });
  });

  it('splits by size: four 100 KB events go two per request, each request under 256 KB, in order', async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ok(input.Entries.length));
    await publisher.publish([0, 1, 2, 3].map((n) => eventOf(100 * 1024, n)));
    expect(sent().map((b) => b.length)).toEqual([2, 2]);
    for (const batch of sent()) expect(putEventsRefusal(batch)).toBeUndefined();
    expect(sent().flat().map((e) => (JSON.parse(e.Detail!) as { n: number }).n)).toEqual([0, 1, 2, 3]);
  });

  it('puts an entry of 256 KB minus one byte alone, and refuses one of 256 KB before sending anything', async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ok(input.Entries.length));
    await publisher.publish([eventOf(MAX_ENTRIES_BYTES - 1)]);
    expect(sent()).toHaveLength(1);
    eb.resetHistory();
    const refusal = publisher.publish([eventOf(100), eventOf(MAX_ENTRIES_BYTES)]);
    await expect(refusal).rejects.toBeInstanceOf(ValidationError);
    await expect(refusal).rejects.toThrow(/event Test: detail: is 262144 bytes .* under 262144 bytes/);
    expect(sent()).toHaveLength(0);
  });

  it('sends only the failed entries of a partially failed request again, after a backoff', async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({ $metadata: {}, FailedEntryCount: 2, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }, { EventId: 'c' }, { ErrorCode: 'InternalFailure' }] })
      .resolves(ok(2));
    await publisher.publish([0, 1, 2, 3].map((n) => eventOf(200, n)));
    expect(sent().map((b) => b.map((e) => (JSON.parse(e.Detail!) as { n: number }).n))).toEqual([[0, 1, 2, 3], [1, 3]]);
    expect(pauses).toEqual([50]);
  });

  it('gives up after three attempts with a TransientError naming the error codes', async () => {
    eb.on(PutEventsCommand).resolves({ $metadata: {}, FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'internal' }] });
    const publish = publisher.publish([eventOf(200)]);
    await expect(publish).rejects.toBeInstanceOf(TransientError);
    await expect(publish).rejects.toThrow(/1 of 1 entries after 3 attempts \(InternalFailure\)/);
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 3);
    expect(pauses).toEqual([50, 100]);
  });

  it('retries the whole request when FailedEntryCount is set but no entry says which failed', async () => {
    eb.on(PutEventsCommand).resolvesOnce({ $metadata: {}, FailedEntryCount: 1 }).resolves(ok(2));
    await publisher.publish([eventOf(200, 0), eventOf(200, 1)]);
    expect(sent().map((b) => b.length)).toEqual([2, 2]);
  });

  it('sends nothing for no events', async () => {
    await publisher.publish([]);
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 0);
  });
});
