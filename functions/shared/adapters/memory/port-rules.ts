/**
 * Rules every implementation of the storage ports applies the same way (the in-memory fakes
 * and the DynamoDB adapters import them from here). Pure and SDK-free: they belong in
 * domain/ and live here only until they are moved.
 */
import { ValidationError } from '../../../../domain/shared/index.ts';
import type { Finding } from '../../../../domain/findings/index.ts';
import type { PointChange } from '../../../../domain/ports/index.ts';
import { POINT_STATUSES, SCAN_VERDICTS, scanRecordSchema, type RecoveryPoint } from '../../../../domain/recovery-points/index.ts';

/**
 * Catalogue times are ISO-8601 UTC with milliseconds: fixed width, so string order is time
 * order (the DynamoDB sort key relies on it). Years outside 0000–9999 are refused.
 */
export function catalogTime(value: string, what = 'capturedAt'): string {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError('recovery point', [{ path: what, message: `${JSON.stringify(value)} is not a timestamp` }]);
  const iso = new Date(ms).toISOString();
  if (iso.length !== 24) throw new ValidationError('recovery point', [{ path: what, message: `${value} is outside the years 0000-9999` }]);
  return iso;
}

/** markPoint may only set known statuses and verdicts. */
export function checkPointChange(change: PointChange): void {
  if (change.status !== undefined && !(POINT_STATUSES as readonly string[]).includes(change.status)) {
    throw new ValidationError('recovery point change', [{ path: 'status', message: `must be one of ${POINT_STATUSES.join(', ')}` }]);
  }
  if (change.scan !== undefined && !(SCAN_VERDICTS as readonly string[]).includes(change.scan)) {
    throw new ValidationError('recovery point change', [{ path: 'scan', message: `must be one of ${SCAN_VERDICTS.join(', ')}` }]);
  }
  if (change.scanRecord !== undefined) {
    const parsed = scanRecordSchema.safeParse(change.scanRecord);
    if (!parsed.success) throw new ValidationError('recovery point change', parsed.error.issues.map((i) => ({ path: ['scanRecord', ...i.path].join('.'), message: i.message })));
  }
}

/** What putPoint stores: the point at its normalised time; nextCapturedAt is the catalogue's to compute. */
export function storablePoint(point: RecoveryPoint): Omit<RecoveryPoint, 'nextCapturedAt'> {
  const { nextCapturedAt: _computed, ...rest } = point;
  return { ...rest, capturedAt: catalogTime(point.capturedAt) };
}

/** Changes to an entity may not touch its identity or its version (the store owns those). */
export function assertNoIdentityChange(what: string, changes: object, idField: string): void {
  const bad = [idField, 'version'].filter((k) => Object.prototype.hasOwnProperty.call(changes, k));
  if (bad.length) throw new ValidationError(`${what} changes`, bad.map((path) => ({ path, message: 'cannot be changed by an update' })));
}

/** Finding deliveries are ordered by GuardDuty's updatedAt, compared as instants. */
export function findingUpdatedMs(finding: Pick<Finding, 'updatedAt'>): number {
  const ms = Date.parse(finding.updatedAt);
  if (!Number.isFinite(ms)) throw new ValidationError('finding', [{ path: 'updatedAt', message: `${JSON.stringify(finding.updatedAt)} is not a timestamp` }]);
  return ms;
}

/** The first delivery recorded for a finding: which incident it opened, and how current it is. */
export interface FindingRecord {
  findingId: string;
  incidentId: string;
  updatedAt: string;
}

/** Listing order of incidents and approvals: newest createdAt first, ties by id (descending). */
export const listingKey = (createdAt: string, id: string) => `${createdAt}#${id}`;

export const newestFirst = <T>(key: (t: T) => string) => (a: T, b: T) => {
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? 1 : ka > kb ? -1 : 0;
};
