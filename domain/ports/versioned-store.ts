/**
 * Rules the stores of versioned, listed records (IncidentStore, ApprovalStore) apply the same
 * way, in memory and in DynamoDB.
 */
import { ValidationError } from '../shared/index.ts';

/** Changes to an entity may not touch its identity or its version (the store owns those). */
export function assertNoIdentityChange(what: string, changes: object, idField: string): void {
  const bad = [idField, 'version'].filter((k) => Object.prototype.hasOwnProperty.call(changes, k));
  if (bad.length) throw new ValidationError(`${what} changes`, bad.map((path) => ({ path, message: 'cannot be changed by an update' })));
}

/** Listing order of incidents and approvals: newest createdAt first, ties by id (descending). */
export const listingKey = (createdAt: string, id: string) => `${createdAt}#${id}`;

export const newestFirst = <T>(key: (t: T) => string) => (a: T, b: T) => {
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? 1 : ka > kb ? -1 : 0;
};
