/**
 * EventBridge PutEvents quotas the local bus enforces as AWS does (EventBridge API Reference,
 * PutEvents; User Guide, "Calculating PutEvents event entry size"):
 *  - a request carries 1 to 10 entries;
 *  - the total entry size must be less than 256 KB, where an entry's size is 14 bytes for a
 *    Time when one is given, plus the UTF-8 bytes of Source, DetailType, Detail and of each
 *    Resources entry.
 * Both are refused for the whole request (a ValidationException), nothing is put on the bus.
 * The figures and the size function are shared with the publisher (functions/shared/eventbridge-limits.ts).
 */
import { entrySize, MAX_ENTRIES_BYTES, MAX_ENTRIES_PER_CALL, type PutEventsEntry } from '../functions/shared/eventbridge-limits.ts';

export { entrySize, MAX_ENTRIES_BYTES, MAX_ENTRIES_PER_CALL, type PutEventsEntry };

/** Why EventBridge refuses this PutEvents request, or undefined when it accepts it. */
export function putEventsRefusal(entries: readonly PutEventsEntry[]): string | undefined {
  if (entries.length < 1) return "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1";
  if (entries.length > MAX_ENTRIES_PER_CALL) return `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES_PER_CALL} (got ${entries.length})`;
  const total = entries.reduce((n, e) => n + entrySize(e), 0);
  if (total >= MAX_ENTRIES_BYTES) return `Total size of the entries in the request is over the limit (${total} bytes; it must be less than ${MAX_ENTRIES_BYTES})`;
  return undefined;
}
