/**
 * DynamoDB's item size quota, counted as AWS counts it (Developer Guide, "DynamoDB item sizes and
 * formats"; "Service, account, and table quotas": the maximum item size is 400 KB, names and
 * values together):
 *  - a string is its UTF-8 bytes; an attribute name too;
 *  - a number is about 1 byte per two significant digits (leading and trailing zeroes trimmed),
 *    plus 1 byte;
 *  - a binary value is its raw bytes; null and Boolean are 1 byte;
 *  - a list or map is 3 bytes plus its elements, each element 1 byte more.
 * A write that makes an item larger is refused with a ValidationException, "Item size has
 * exceeded the maximum allowed size" (PutItem, BatchWriteItem), "Item size to update has
 * exceeded the maximum allowed size" (UpdateItem).
 *
 * Why this exists although dynalite (the embedded server) checks 400 KB itself: dynalite counts
 * a string's UTF-16 code units, not its UTF-8 bytes, so it accepts an item of 300 K 'é' (600 KB
 * on AWS). This check runs in the SDK clients of the local runtime, before dynalite: puts exactly,
 * and updates as far as the request shows (the key plus the values its SET clause assigns to
 * top-level attributes, a lower bound of the new item); dynalite's own check covers the rest.
 * Query's 1 MB page is dynalite's (it pages as AWS does, at 1 MB of data).
 */

import { awsError } from './sdk-emulator.ts';

/** 400 KB, in bytes. */
export const MAX_ITEM_BYTES = 400 * 1024;

export const ITEM_TOO_LARGE = 'Item size has exceeded the maximum allowed size';
export const UPDATE_TOO_LARGE = 'Item size to update has exceeded the maximum allowed size';

export type AttributeValue = {
  S?: string; N?: string; B?: Uint8Array | string; SS?: string[]; NS?: string[]; BS?: (Uint8Array | string)[];
  M?: Record<string, AttributeValue>; L?: AttributeValue[]; NULL?: boolean; BOOL?: boolean;
};
type Item = Record<string, AttributeValue>;

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');
/** The SDK holds binary values as bytes; on the wire (and in tests) they may be base64 text. */
const binaryBytes = (b: Uint8Array | string) => (typeof b === 'string' ? Buffer.from(b, 'base64').length : b.byteLength);

/** A number's size: 1 byte per two significant digits, plus 1. */
export function numberSize(n: string): number {
  const mantissa = n.trim().replace(/^[+-]/, '').replace(/e.*$/i, '').replace('.', '');
  const digits = mantissa.replace(/^0+/, '').replace(/0+$/, '').length;
  return Math.ceil(Math.max(1, digits) / 2) + 1;
}

/** A value's size, without its attribute name. */
export function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return binaryBytes(v.B);
  if (v.SS) return v.SS.reduce((n, s) => n + utf8(s), 0);
  if (v.NS) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (v.BS) return v.BS.reduce((n, b) => n + binaryBytes(b), 0);
  if (v.L) return 3 + v.L.reduce((n, e) => n + 1 + valueSize(e), 0);
  if (v.M) return 3 + Object.entries(v.M).reduce((n, [k, e]) => n + 1 + utf8(k) + valueSize(e), 0);
  return 1; // NULL, BOOL
}

/** An item's size: every attribute name and value. */
export function itemSize(item: Item): number {
  return Object.entries(item).reduce((n, [name, v]) => n + utf8(name) + valueSize(v), 0);
}

/**
 * At least how large an UpdateItem makes its item: the key, plus each top-level attribute the
 * SET clause assigns a value placeholder to directly (`#a = :v` or `name = :v`).
 */
export function updatedItemLowerBound(input: { Key?: Item; UpdateExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item }): number {
  const set = /\bSET\s+([\s\S]*?)(?=\s+\b(?:REMOVE|ADD|DELETE)\b|$)/i.exec(input.UpdateExpression ?? '')?.[1] ?? '';
  const assigned = new Map<string, AttributeValue>();
  for (const clause of set.split(',')) {
    const m = /^\s*(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)\s*$/.exec(clause);
    const value = m && input.ExpressionAttributeValues?.[m[2]!];
    if (!m || !value) continue;
    assigned.set(m[1]!.startsWith('#') ? input.ExpressionAttributeNames?.[m[1]!] ?? m[1]! : m[1]!, value);
  }
  for (const k of Object.keys(input.Key ?? {})) assigned.delete(k);
  return itemSize(input.Key ?? {}) + itemSize(Object.fromEntries(assigned));
}

/** DynamoDB's refusal of this write (its message), or undefined when no item it writes is too large. */
export function writeRefusal(command: string, input: Record<string, unknown>): string | undefined {
  switch (command) {
    case 'PutItemCommand':
      return itemSize((input['Item'] ?? {}) as Item) > MAX_ITEM_BYTES ? ITEM_TOO_LARGE : undefined;
    case 'BatchWriteItemCommand': {
      const requests = Object.values((input['RequestItems'] ?? {}) as Record<string, { PutRequest?: { Item?: Item } }[]>).flat();
      return requests.some((r) => r.PutRequest?.Item && itemSize(r.PutRequest.Item) > MAX_ITEM_BYTES) ? ITEM_TOO_LARGE : undefined;
    }
    case 'UpdateItemCommand':
      return updatedItemLowerBound(input as Parameters<typeof updatedItemLowerBound>[0]) > MAX_ITEM_BYTES ? UPDATE_TOO_LARGE : undefined;
    default:
      return undefined;
  }
}

type Stack = { add: (mw: unknown, options: { step: string; priority?: string; name: string }) => void; remove: (name: string) => unknown };
type BuildArgs = { input: unknown; request?: { body?: unknown } };

/**
 * Refuse oversized writes in this DynamoDB client, as DynamoDB does. Reads the serialised
 * request (DynamoDB's JSON), so plain and document clients are checked alike: the document
 * client marshals just before serialisation, after every client-level step before it.
 */
export function attachItemSizeLimit(client: { middlewareStack: unknown }): void {
  const stack = client.middlewareStack as Stack;
  stack.remove('cleanpointItemSizeLimit');
  stack.add((next: (args: BuildArgs) => Promise<unknown>, context: { commandName?: string }) => async (args: BuildArgs) => {
    const command = String(context.commandName ?? '');
    const body = args.request?.body;
    if (WRITES.has(command) && body !== undefined && body !== null) {
      const text = body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') : String(body);
      const refusal = writeRefusal(command, JSON.parse(text) as Record<string, unknown>);
      if (refusal) throw awsError('ValidationException', refusal);
    }
    return next(args);
  }, { step: 'build', priority: 'high', name: 'cleanpointItemSizeLimit' });
}

const WRITES = new Set(['PutItemCommand', 'BatchWriteItemCommand', 'UpdateItemCommand']);
