/**
 * EventBridge PutEvents quotas, shared by the publisher (which splits its batches to fit) and the
 * local bus (which refuses what AWS refuses). EventBridge API Reference, PutEvents; User Guide,
 * "Calculating PutEvents event entry size":
 *  - a request carries 1 to 10 entries;
 *  - the total entry size must be less than 256 KB, where an entry's size is 14 bytes for a
 *    Time when one is given, plus the UTF-8 bytes of Source, DetailType, Detail and of each
 *    Resources entry (EventBusName and TraceHeader do not count).
 */

export const MAX_ENTRIES_PER_CALL = 10;
/** 256 KB, in bytes: the total of a request's entry sizes must be less than this. */
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

/** Whether a single entry can be put at all: alone in a request, its size must be under the total's limit. */
export function entryFits(e: PutEventsEntry): boolean {
  return entrySize(e) < MAX_ENTRIES_BYTES;
}

/**
 * Entries in order, split into requests PutEvents accepts: at most 10 entries each, and a total
 * size under 256 KB. Every entry must fit on its own (entryFits); one that does not is a caller error.
 */
export function putEventsBatches<T extends PutEventsEntry>(entries: readonly T[]): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = entrySize(e);
    if (size >= MAX_ENTRIES_BYTES) throw new RangeError(`an entry of ${size} bytes never fits a PutEvents request (the total must be under ${MAX_ENTRIES_BYTES} bytes)`);
    if (batch.length === MAX_ENTRIES_PER_CALL || bytes + size >= MAX_ENTRIES_BYTES) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(e);
    bytes += size;
  }
  if (batch.length) batches.push(batch);
  return batches;
}
