/**
 * Shared plumbing for the DynamoDB adapters: one document client per table view, request
 * counters (the benchmarks read them), and the error test for lost conditional writes.
 *
 * The adapters receive the client; they never create one (one client per AWS service per
 * container, created at module scope elsewhere).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand,
  type DeleteCommandInput, type DeleteCommandOutput, type GetCommandInput, type GetCommandOutput,
  type PutCommandInput, type PutCommandOutput, type QueryCommandInput, type QueryCommandOutput,
  type UpdateCommandInput, type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';

export type DynamoClient = DynamoDBDocumentClient | DynamoDBClient;

export interface DynamoAdapterOptions {
  /** A document client (preferred) or a plain client, which is wrapped once here. */
  client: DynamoClient;
  tableName: string;
}

export type Item = Record<string, unknown>;

export interface RequestStats {
  /** Every request sent (reads and writes). */
  requests: number;
  /** Query requests among them. */
  queries: number;
  /** Read capacity consumed, as DynamoDB reported it (ReturnConsumedCapacity TOTAL). */
  consumedRcu: number;
  consumedWcu: number;
}

/**
 * Wrap a plain client in a document client. Note that `DynamoDBDocumentClient.from` shares
 * (and overwrites the translate options of) the wrapped client's config: pass a document
 * client when you already have one. Values are stripped of `undefined` here anyway, so the
 * adapters work whatever marshalling options the caller chose.
 */
export function documentClient(client: DynamoClient): DynamoDBDocumentClient {
  if (client instanceof DynamoDBDocumentClient) return client;
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** A conditional write (or conditional delete) whose condition did not hold. */
export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A copy without `undefined` object properties (DynamoDB has no undefined). */
export function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withoutUndefined(v)) as T;
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = withoutUndefined(v);
  return out as T;
}

/** `item` without the listed (key and index) attributes. */
export function omitAttributes<T>(item: Item, attributes: readonly string[]): T {
  const out: Item = { ...item };
  for (const a of attributes) delete out[a];
  return out as T;
}

type Input<T> = Omit<T, 'TableName'>;

/** One table through one document client, counting requests and consumed capacity. */
export class DynamoTable {
  readonly tableName: string;
  private readonly doc: DynamoDBDocumentClient;
  private readonly counters: RequestStats = { requests: 0, queries: 0, consumedRcu: 0, consumedWcu: 0 };

  constructor(options: DynamoAdapterOptions) {
    if (!options.tableName) throw new Error('DynamoDB adapter: tableName is required');
    this.tableName = options.tableName;
    this.doc = documentClient(options.client);
  }

  stats(): RequestStats {
    return { ...this.counters };
  }

  resetStats(): void {
    Object.assign(this.counters, { requests: 0, queries: 0, consumedRcu: 0, consumedWcu: 0 });
  }

  async get(input: Input<GetCommandInput>): Promise<GetCommandOutput> {
    const out = await this.track(() => this.doc.send(new GetCommand({ ...input, TableName: this.tableName, ReturnConsumedCapacity: 'TOTAL' })));
    this.counters.consumedRcu += out.ConsumedCapacity?.CapacityUnits ?? 0;
    return out;
  }

  async query(input: Input<QueryCommandInput>): Promise<QueryCommandOutput> {
    this.counters.queries++;
    const out = await this.track(() => this.doc.send(new QueryCommand({ ...input, TableName: this.tableName, ReturnConsumedCapacity: 'TOTAL' })));
    this.counters.consumedRcu += out.ConsumedCapacity?.CapacityUnits ?? 0;
    return out;
  }

  /** Every page of a query, in order (callers bound the result size themselves). */
  async queryAll(input: Input<QueryCommandInput>): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.query({ ...input, ExclusiveStartKey: start });
      items.push(...((out.Items ?? []) as Item[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async put(input: Input<PutCommandInput>): Promise<PutCommandOutput> {
    const out = await this.track(() => this.doc.send(new PutCommand({
      ...input, Item: withoutUndefined(input.Item), TableName: this.tableName, ReturnConsumedCapacity: 'TOTAL',
    })));
    this.counters.consumedWcu += out.ConsumedCapacity?.CapacityUnits ?? 0;
    return out;
  }

  async update(input: Input<UpdateCommandInput>): Promise<UpdateCommandOutput> {
    const out = await this.track(() => this.doc.send(new UpdateCommand({
      ...input,
      ExpressionAttributeValues: input.ExpressionAttributeValues && withoutUndefined(input.ExpressionAttributeValues),
      TableName: this.tableName,
      ReturnConsumedCapacity: 'TOTAL',
    })));
    this.counters.consumedWcu += out.ConsumedCapacity?.CapacityUnits ?? 0;
    return out;
  }

  async delete(input: Input<DeleteCommandInput>): Promise<DeleteCommandOutput> {
    const out = await this.track(() => this.doc.send(new DeleteCommand({ ...input, TableName: this.tableName, ReturnConsumedCapacity: 'TOTAL' })));
    this.counters.consumedWcu += out.ConsumedCapacity?.CapacityUnits ?? 0;
    return out;
  }

  private track<T>(send: () => Promise<T>): Promise<T> {
    this.counters.requests++;
    return send();
  }
}

/**
 * An optimistic update of top-level attributes: `SET` for defined values, `REMOVE` for
 * `undefined` ones (the in-memory fakes drop such keys the same way), and the version bump.
 */
export function versionedUpdate(changes: Record<string, unknown>, expectedVersion: number, extraSets: Record<string, unknown> = {}) {
  const names: Record<string, string> = { '#version': 'version', '#pk': 'pk' };
  const values: Record<string, unknown> = { ':expected': expectedVersion, ':next': expectedVersion + 1 };
  const sets = ['#version = :next'];
  const removes: string[] = [];
  let i = 0;
  for (const [key, value] of Object.entries({ ...changes, ...extraSets })) {
    const n = `#a${i}`;
    const v = `:a${i}`;
    i++;
    names[n] = key;
    if (value === undefined) removes.push(n);
    else {
      sets.push(`${n} = ${v}`);
      values[v] = value;
    }
  }
  return {
    UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
    ConditionExpression: 'attribute_exists(#pk) AND #version = :expected',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
