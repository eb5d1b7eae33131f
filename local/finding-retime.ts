import { randomBytes, randomUUID } from 'node:crypto';

/**
 * Makes a saved GuardDuty finding fit the running local system. The demo estate's recovery
 * history is relative to the moment it was seeded, so a finding from a file (with its own
 * absolute times) is moved in time: its first-seen lands `leadMinutes` before the runtime's
 * current (virtual) time, and every other time of the finding moves by the same amount, so
 * their spacing is kept. When the finding's own span would reach into the future, the lead
 * grows so that its newest time is a minute in the past.
 *
 * A fresh finding id (and ARN, and EventBridge event id) makes it a new finding, so sending
 * the same file twice opens two incidents instead of being deduplicated as a redelivery.
 */
export interface RetimeOptions {
  nowMs: number;
  /** Default 30. */
  leadMinutes?: number;
  /** Move the times (default true). */
  retime?: boolean;
  /** Give the finding a new id (default true). */
  freshId?: boolean;
}

const TIME_PATHS = [['time'], ['detail', 'createdAt'], ['detail', 'updatedAt'], ['detail', 'service', 'eventFirstSeen'], ['detail', 'service', 'eventLastSeen']] as const;

/** Returns a changed copy; the input is never modified. Accepts an EventBridge event or a bare finding. */
export function retimeFinding(input: unknown, options: RetimeOptions): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const bare = !('detail' in input);
  const event = structuredClone(bare ? { detail: input } : input) as Record<string, unknown>;
  const detail = event['detail'];
  if (typeof detail !== 'object' || detail === null) return input;

  if (options.retime !== false) shiftTimes(event, options);
  if (options.freshId !== false) renew(event, detail as Record<string, unknown>);
  return bare ? event['detail'] : event;
}

function shiftTimes(event: Record<string, unknown>, options: RetimeOptions): void {
  const firstSeen = Date.parse(String(at(event, ['detail', 'service', 'eventFirstSeen']) ?? ''));
  if (!Number.isFinite(firstSeen)) return; // nothing to anchor on: the server will say what is missing
  const times = TIME_PATHS.map((p) => Date.parse(String(at(event, p) ?? ''))).filter(Number.isFinite);
  const span = Math.max(...times) - firstSeen;
  const lead = Math.max((options.leadMinutes ?? 30) * 60_000, span + 60_000);
  const delta = options.nowMs - lead - firstSeen;
  for (const p of TIME_PATHS) {
    const value = at(event, p);
    const ms = Date.parse(String(value ?? ''));
    if (typeof value === 'string' && Number.isFinite(ms)) put(event, p, new Date(ms + delta).toISOString());
  }
}

function renew(event: Record<string, unknown>, detail: Record<string, unknown>): void {
  const oldId = typeof detail['id'] === 'string' ? detail['id'] : null;
  const newId = randomBytes(16).toString('hex');
  detail['id'] = newId;
  if (oldId && typeof detail['arn'] === 'string') detail['arn'] = detail['arn'].replace(`/finding/${oldId}`, `/finding/${newId}`);
  if ('id' in event) event['id'] = randomUUID();
}

function at(obj: Record<string, unknown>, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function put(obj: Record<string, unknown>, path: readonly string[], value: string): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) cur = cur[key] as Record<string, unknown>;
  cur[path[path.length - 1]!] = value;
}
