import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { TransientError, ValidationError } from '../../../domain/shared/index.ts';
import type { DomainEvent, EventPublisher } from '../../../domain/ports/index.ts';
import { entryFits, entrySize, MAX_ENTRIES_BYTES, putEventsBatches } from '../eventbridge-limits.ts';

export const EVENT_SOURCE = 'cleanpoint';

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Publishes `cleanpoint` events within the PutEvents quotas (eventbridge-limits.ts): batches of
 * at most 10 entries whose total size, counted as EventBridge counts it, is under 256 KB. An
 * event that could never fit is refused before anything is sent (a ValidationError naming it),
 * so a publish is never half-done for that reason. PutEvents can succeed as a call while
 * failing individual entries: FailedEntryCount is checked and only the failed entries are sent
 * again ("You must detect unsuccessful entries and include them in a subsequent call"), after
 * a short backoff, up to `attempts` times; then a TransientError names their error codes.
 */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly attempts = 3,
    private readonly sleep: (ms: number) => Promise<void> = pause,
  ) {}

  async publish(events: DomainEvent[]): Promise<void> {
    const entries = events.map((e) => this.entry(e));
    const misfit = entries.findIndex((e) => !entryFits(e));
    if (misfit >= 0) {
      throw new ValidationError(`event ${events[misfit]!.detailType}`, [{
        path: 'detail',
        message: `is ${entrySize(entries[misfit]!)} bytes as EventBridge counts it (source, detail type and detail); PutEvents accepts an entry under ${MAX_ENTRIES_BYTES} bytes. Keep large data in DynamoDB and put its key in the event`,
      }]);
    }
    for (const batch of putEventsBatches(entries)) await this.put(batch);
  }

  private entry(e: DomainEvent): PutEventsRequestEntry & { Source: string; DetailType: string; Detail: string } {
    return { EventBusName: this.busName, Source: EVENT_SOURCE, DetailType: e.detailType, Detail: JSON.stringify(e.detail) };
  }

  /** One batch, its failed entries retried (a retry is a subset of a batch that fits, so it fits too). */
  private async put(entries: PutEventsRequestEntry[]): Promise<void> {
    let batch = entries;
    for (let attempt = 1; batch.length > 0; attempt++) {
      const out = await this.client.send(new PutEventsCommand({ Entries: batch }));
      if (!out.FailedEntryCount) return;
      // Entries answer the request's entries in order; without them nothing says which failed.
      const flagged = batch.filter((_, k) => out.Entries?.[k]?.ErrorCode);
      const failed = flagged.length ? flagged : batch;
      if (attempt >= this.attempts) {
        const codes = [...new Set((out.Entries ?? []).map((x) => x.ErrorCode).filter(Boolean))].join(', ');
        throw new TransientError(`PutEvents failed for ${failed.length} of ${batch.length} entries after ${attempt} attempts (${codes})`);
      }
      await this.sleep(50 * 2 ** (attempt - 1));
      batch = failed;
    }
  }
}
