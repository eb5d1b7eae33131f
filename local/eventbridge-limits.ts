/**
 * EventBridge PutEvents quotas the local bus enforces as AWS does (EventBridge API Reference,
 * PutEvents; User Guide, "Calculating PutEvents event entry size"):
 *  - a request carries 1 to 10 entries;
 *  - the total entry size must be less than 256 KB, where an entry's size is 14 bytes for a
 *    Time when one is given, plus the UTF-8 bytes of Source, DetailType, Detail and of each
 *    Resources entry.
 * Both are refused for the whole request (a ValidationException), nothing is put on the bus.
 */

export const MAX_ENTRIES_PER_CALL = 10;
/** 256 KB, in bytes. */
export const MAX_ENTRIES_BYTES = 256 * 1024;

export interface PutEventsEntry {
  Time?: unknown;
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: (string | null | undefined)[];
}

const utf8 = (s: string | undefined | null) => (s ? Buffer.byteLength(s, 'utf8') : 0);

/** One entry's size as EventBridge counts it. */
export function entrySize(e: PutEventsEntry): number {
  return (e.Time !== undefined && e.Time !== null ? 14 : 0) + utf8(e.Source) + utf8(e.DetailType) + utf8(e.Detail)
    + (e.Resources ?? []).reduce((n, r) => n + utf8(r), 0);
}

/** Why EventBridge refuses this PutEvents request, or undefined when it accepts it. */
export function putEventsRefusal(entries: readonly PutEventsEntry[]): string | undefined {
  if (entries.length < 1) return "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1";
  if (entries.length > MAX_ENTRIES_PER_CALL) return `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES_PER_CALL} (got ${entries.length})`;
  const total = entries.reduce((n, e) => n + entrySize(e), 0);
  if (total >= MAX_ENTRIES_BYTES) return `Total size of the entries in the request is over the limit (${total} bytes; it must be less than ${MAX_ENTRIES_BYTES})`;
  return undefined;
}
