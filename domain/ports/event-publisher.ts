export interface DomainEvent {
  detailType: string;
  detail: Record<string, unknown>;
}

/** Publishes `cleanpoint` events (EventBridge PutEvents, checking FailedEntryCount). */
export interface EventPublisher {
  publish(events: DomainEvent[]): Promise<void>;
}
