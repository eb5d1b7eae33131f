import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { TransientError } from '../../../domain/shared/index.ts';
import type { DomainEvent, EventPublisher } from '../../../domain/ports/index.ts';

export const EVENT_SOURCE = 'cleanpoint';
const MAX_ENTRIES_PER_CALL = 10; // PutEvents accepts at most 10 entries per request

/**
 * Publishes `cleanpoint` events. PutEvents can succeed as a call while failing individual
 * entries, so FailedEntryCount is checked and only the failed entries are retried.
 */
export class EventBridgePublisher implements EventPublisher {
  constructor(private readonly client: EventBridgeClient, private readonly busName: string, private readonly attempts = 3) {}

  async publish(events: DomainEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_ENTRIES_PER_CALL) {
      let batch = events.slice(i, i + MAX_ENTRIES_PER_CALL);
      for (let attempt = 1; batch.length > 0; attempt++) {
        const out = await this.client.send(new PutEventsCommand({
          Entries: batch.map((e) => ({ EventBusName: this.busName, Source: EVENT_SOURCE, DetailType: e.detailType, Detail: JSON.stringify(e.detail) })),
        }));
        if (!out.FailedEntryCount) break;
        const failed = batch.filter((_, k) => out.Entries?.[k]?.ErrorCode);
        if (attempt >= this.attempts) {
          const codes = [...new Set((out.Entries ?? []).map((x) => x.ErrorCode).filter(Boolean))].join(', ');
          throw new TransientError(`PutEvents failed for ${failed.length} of ${batch.length} entries (${codes})`);
        }
        batch = failed;
      }
    }
  }
}
