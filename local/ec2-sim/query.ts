import type { Filter, Tag, TagSpecification } from '@aws-sdk/client-ec2';
import { ec2Error, invalidParameter } from './errors.ts';
import { isWellFormedId } from './ids.ts';
import type { Tags } from './state.ts';

/** Per-resource filter fields: filter name → the record's value(s) for it. */
export type FilterFields<R> = Record<string, (record: R) => string | boolean | number | undefined | Array<string | undefined>>;

/** EC2 filter values accept `*` (any run) and `?` (one character); `\` escapes them. */
function wildcardRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += escapeRegExp(ch);
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function anyMatch(candidates: Array<string | undefined>, values: string[]): boolean {
  const patterns = values.map(wildcardRegExp);
  return candidates.some((c) => c !== undefined && patterns.some((p) => p.test(c)));
}

function candidatesOf(value: ReturnType<FilterFields<unknown>[string]>): Array<string | undefined> {
  if (Array.isArray(value)) return value;
  if (value === undefined) return [];
  return [String(value)];
}

/**
 * Apply EC2 `Filters` (AND across filters, OR across a filter's values), including the tag filters every
 * taggable resource supports: `tag:<key>`, `tag-key`, `tag-value`. Unknown filter names are rejected
 * like EC2 does.
 */
export function applyFilters<R extends { tags: Tags }>(records: R[], filters: Filter[] | undefined, fields: FilterFields<R>): R[] {
  if (filters === undefined || filters.length === 0) return records;
  const predicates = filters.map((filter) => {
    const name = filter.Name;
    if (name === undefined || name === '') throw invalidParameter('Filter.Name', 'the filter name is required');
    const values = filter.Values ?? [];
    if (values.length === 0) throw invalidParameter(`Filter ${name}`, 'at least one value is required');
    if (name.startsWith('tag:')) {
      const key = name.slice(4);
      return (r: R) => anyMatch([r.tags[key]], values);
    }
    if (name === 'tag-key') return (r: R) => anyMatch(Object.keys(r.tags), values);
    if (name === 'tag-value') return (r: R) => anyMatch(Object.values(r.tags), values);
    const field = fields[name];
    if (field === undefined) throw ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    return (r: R) => anyMatch(candidatesOf(field(r)), values);
  });
  return records.filter((r) => predicates.every((p) => p(r)));
}

export interface IdKind {
  /** ID prefix, e.g. `i`, `ami`, `snap`. */
  prefix: string;
  /** Error code stem for missing IDs, e.g. `InvalidInstanceID` → `InvalidInstanceID.NotFound`. */
  errorStem: string;
  /** Error code stem for badly formed IDs (EC2 is not consistent), e.g. `InvalidGroupId` → `.Malformed`. */
  malformedStem: string;
  /** Noun for messages, e.g. `instance ID`. */
  noun: string;
}

export const ID_KINDS = {
  instance: { prefix: 'i', errorStem: 'InvalidInstanceID', malformedStem: 'InvalidInstanceID', noun: 'instance ID' },
  image: { prefix: 'ami', errorStem: 'InvalidAMIID', malformedStem: 'InvalidAMIID', noun: 'image id' },
  snapshot: { prefix: 'snap', errorStem: 'InvalidSnapshot', malformedStem: 'InvalidSnapshotID', noun: 'snapshot' },
  volume: { prefix: 'vol', errorStem: 'InvalidVolume', malformedStem: 'InvalidVolumeID', noun: 'volume' },
  subnet: { prefix: 'subnet', errorStem: 'InvalidSubnetID', malformedStem: 'InvalidSubnetID', noun: 'subnet ID' },
  securityGroup: { prefix: 'sg', errorStem: 'InvalidGroup', malformedStem: 'InvalidGroupId', noun: 'security group' },
  vpc: { prefix: 'vpc', errorStem: 'InvalidVpcID', malformedStem: 'InvalidVpcID', noun: 'vpc ID' },
  routeTable: { prefix: 'rtb', errorStem: 'InvalidRouteTableID', malformedStem: 'InvalidRouteTableId', noun: 'route table ID' },
} as const satisfies Record<string, IdKind>;

/**
 * Resolve explicitly requested IDs (InstanceIds, ImageIds...) against `lookup`, failing the whole call
 * like EC2 does when one is malformed or missing. Without IDs, returns every record from `all()`.
 */
export function selectByIds<R>(ids: string[] | undefined, kind: IdKind, lookup: (id: string) => R | undefined, all: () => R[]): R[] {
  if (ids === undefined || ids.length === 0) return all();
  const malformed = ids.filter((id) => !isWellFormedId(id, kind.prefix));
  if (malformed.length > 0) {
    throw ec2Error(`${kind.malformedStem}.Malformed`, `Invalid id: "${malformed.join(', ')}" (expecting "${kind.prefix}-...")`);
  }
  const found = [...new Set(ids)].map((id) => [id, lookup(id)] as const);
  const missing = found.filter(([, r]) => r === undefined).map(([id]) => id);
  if (missing.length > 0) {
    throw ec2Error(`${kind.errorStem}.NotFound`, `The ${kind.noun}${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' ${missing.length > 1 ? 'do' : 'does'} not exist`);
  }
  return found.map(([, r]) => r!);
}

/** MaxResults/NextToken paging over an already-filtered list; the token is an opaque offset. */
export function paginate<T>(
  items: T[],
  input: { MaxResults?: number; NextToken?: string },
  limits: { min: number; max: number },
): { page: T[]; NextToken?: string } {
  let start = 0;
  if (input.NextToken !== undefined && input.NextToken !== '') {
    const decoded = Number(Buffer.from(input.NextToken, 'base64url').toString('utf8').replace(/^offset:/, ''));
    if (!Number.isInteger(decoded) || decoded < 0) throw ec2Error('InvalidPaginationToken', 'The pagination token is invalid');
    start = decoded;
  }
  if (input.MaxResults === undefined) return { page: items.slice(start) };
  if (!Number.isInteger(input.MaxResults) || input.MaxResults < limits.min || input.MaxResults > limits.max) {
    throw invalidParameter('MaxResults', `${input.MaxResults} must be between ${limits.min} and ${limits.max}`);
  }
  const end = start + input.MaxResults;
  const page = items.slice(start, end);
  if (end >= items.length) return { page };
  return { page, NextToken: Buffer.from(`offset:${end}`, 'utf8').toString('base64url') };
}

/** Validate SDK tags: non-empty keys up to 127 chars, values up to 255, no `aws:` prefix, at most 50. */
export function tagsFromList(list: Tag[] | undefined, field = 'Tags'): Tags {
  const tags: Tags = {};
  for (const tag of list ?? []) {
    const key = tag.Key;
    if (key === undefined || key.length === 0 || key.length > 127) throw invalidParameter(`${field}.Key`, 'tag keys must be 1-127 characters');
    if (key.toLowerCase().startsWith('aws:')) throw invalidParameter(`${field}.Key`, `tag keys starting with 'aws:' are reserved ('${key}')`);
    const value = tag.Value ?? '';
    if (value.length > 255) throw invalidParameter(`${field}.Value`, 'tag values must be at most 255 characters');
    tags[key] = value;
  }
  if (Object.keys(tags).length > 50) throw ec2Error('TagLimitExceeded', 'A resource can have at most 50 tags');
  return tags;
}

/** Tags for one resource type out of TagSpecifications; rejects types the command cannot tag. */
export function tagsFromSpecifications(specs: TagSpecification[] | undefined, resourceType: string, allowed: readonly string[]): Tags {
  const tags: Tags = {};
  for (const spec of specs ?? []) {
    const type = spec.ResourceType;
    if (type === undefined || !allowed.includes(type)) {
      throw invalidParameter('TagSpecification.ResourceType', `'${type ?? ''}' is not taggable by this operation (allowed: ${allowed.join(', ')})`);
    }
    if (type === resourceType) Object.assign(tags, tagsFromList(spec.Tags, 'TagSpecification.Tags'));
  }
  if (Object.keys(tags).length > 50) throw ec2Error('TagLimitExceeded', 'A resource can have at most 50 tags');
  return tags;
}

/** SDK shape of stored tags; undefined when there are none (as EC2 omits the element). */
export function toSdkTags(tags: Tags): Tag[] | undefined {
  const entries = Object.entries(tags);
  return entries.length === 0 ? undefined : entries.map(([Key, Value]) => ({ Key, Value }));
}
