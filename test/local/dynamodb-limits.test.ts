/**
 * DynamoDB's quotas locally (Developer Guide, "DynamoDB item sizes and formats": 400 KB per item,
 * strings counted in UTF-8 bytes; "Paginating table query results": a Query page holds at most
 * 1 MB, the rest behind LastEvaluatedKey):
 *  - dynalite refuses a 401 KB ASCII item with AWS's ValidationException, but counts a string's
 *    UTF-16 code units: the local runtime's client refuses what AWS refuses (local/dynamodb-limits.ts);
 *  - dynalite pages a Query at 1 MB, and the adapters follow LastEvaluatedKey: more than 1 MB of
 *    items in one partition is read back whole.
 */
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditLog, DynamoIncidentStore } from '../../functions/shared/adapters/dynamodb/index.ts';
import { ensureTables } from '../../functions/shared/adapters/dynamodb/tables.ts';
import {
  attachItemSizeLimit, ITEM_TOO_LARGE, itemSize, MAX_ITEM_BYTES, numberSize, UPDATE_TOO_LARGE, updatedItemLowerBound, writeRefusal,
} from '../../local/dynamodb-limits.ts';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime.ts';
import { makeIncident } from '../contract/contract-fixtures.ts';
import { freshTableName, startDynalite, type EmbeddedDynamo } from '../helpers/dynamo.ts';

const KB = 1024;
/** An item of pk, sk and `v`, exactly `bytes` large as DynamoDB counts it, when `v` is ASCII. */
const itemOf = (sk: string, bytes: number, char = 'x') => {
  const base = { pk: { S: 'a' }, sk: { S: sk } };
  const room = bytes - itemSize(base) - 'v'.length;
  return { ...base, v: { S: char.repeat(Math.floor(room / Buffer.byteLength(char))) } };
};

describe('itemSize, as the Developer Guide counts', () => {
  it('counts names and string values in UTF-8 bytes, numbers by significant digits, binary raw, null and Boolean as 1', () => {
    expect(itemSize({ ab: { S: 'é' } })).toBe(2 + 2);
    expect(numberSize('12345')).toBe(3 + 1);
    expect(numberSize('-0.00120')).toBe(1 + 1); // "12": leading and trailing zeroes trimmed
    expect(itemSize({ n: { N: '1' }, b: { B: new Uint8Array(10) }, z: { NULL: true }, t: { BOOL: false } })).toBe((1 + 2) + (1 + 10) + (1 + 1) + (1 + 1));
  });

  it('adds 3 bytes per list or map and 1 byte per element', () => {
    expect(itemSize({ l: { L: [] } })).toBe(1 + 3);
    expect(itemSize({ l: { L: [{ S: 'ab' }, { BOOL: true }] } })).toBe(1 + 3 + (1 + 2) + (1 + 1));
    expect(itemSize({ m: { M: { k: { S: 'v' } } } })).toBe(1 + 3 + (1 + 1 + 1));
  });

  it('refuses a put over 400 KB (409,600 bytes) and accepts one of exactly 400 KB', () => {
    expect(MAX_ITEM_BYTES).toBe(409_600);
    expect(itemSize(itemOf('k', MAX_ITEM_BYTES))).toBe(MAX_ITEM_BYTES);
    expect(writeRefusal('PutItemCommand', { Item: itemOf('k', MAX_ITEM_BYTES) })).toBeUndefined();
    expect(writeRefusal('PutItemCommand', { Item: itemOf('k', MAX_ITEM_BYTES + 1) })).toBe(ITEM_TOO_LARGE);
    expect(writeRefusal('BatchWriteItemCommand', { RequestItems: { t: [{ PutRequest: { Item: itemOf('k', MAX_ITEM_BYTES + 1) } }] } })).toBe(ITEM_TOO_LARGE);
  });

  it('bounds an update from below by its key and the top-level values its SET clause assigns', () => {
    const update = {
      Key: { pk: { S: 'a' }, sk: { S: 'b' } },
      UpdateExpression: 'SET #a0 = :a0, #version = :next REMOVE #gone',
      ConditionExpression: '#version = :expected',
      ExpressionAttributeNames: { '#a0': 'data', '#version': 'version', '#gone': 'old' },
      ExpressionAttributeValues: { ':a0': { S: 'é'.repeat(250 * KB) }, ':next': { N: '2' }, ':expected': { S: 'x'.repeat(300 * KB) } },
    };
    // The condition's value is not written: only data (4 + 500 KB) and version count.
    expect(updatedItemLowerBound(update)).toBe(itemSize(update.Key) + 4 + 500 * KB + 7 + 2);
    expect(writeRefusal('UpdateItemCommand', update)).toBe(UPDATE_TOO_LARGE);
    expect(writeRefusal('UpdateItemCommand', { ...update, ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':a0': { S: 'x' } } })).toBeUndefined();
  });
});

describe('dynalite and the item size quota', () => {
  let db: EmbeddedDynamo;
  const table = freshTableName('item-size');
  const key = [{ AttributeName: 'pk', KeyType: 'HASH' as const }, { AttributeName: 'sk', KeyType: 'RANGE' as const }];
  beforeAll(async () => {
    db = await startDynalite();
    await db.client.send(new CreateTableCommand({
      TableName: table, KeySchema: key, BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
    }));
  });
  afterAll(async () => { await db?.close(); });

  it('refuses a PutItem of a 401 KB item with ValidationException "Item size has exceeded the maximum allowed size" by itself', async () => {
    await expect(db.client.send(new PutItemCommand({ TableName: table, Item: itemOf('big', 401 * KB) })))
      .rejects.toMatchObject({ name: 'ValidationException', message: 'Item size has exceeded the maximum allowed size' });
    await expect(db.client.send(new PutItemCommand({ TableName: table, Item: itemOf('fits', 399 * KB) }))).resolves.toBeDefined();
  });

  it('refuses an UpdateItem that grows an item past 400 KB by itself', async () => {
    await expect(db.client.send(new UpdateItemCommand({
      TableName: table, Key: { pk: { S: 'a' }, sk: { S: 'fits' } }, UpdateExpression: 'SET w = :w', ExpressionAttributeValues: { ':w': { S: 'y'.repeat(10 * KB) } },
    }))).rejects.toMatchObject({ name: 'ValidationException', message: 'Item size to update has exceeded the maximum allowed size' });
  });

  it('accepts a 600 KB item of two-byte characters (it counts UTF-16 units): the gap the local check closes', async () => {
    const wide = itemOf('wide', 600 * KB, 'é');
    expect(itemSize(wide)).toBeGreaterThan(599 * KB);
    await expect(db.client.send(new PutItemCommand({ TableName: table, Item: wide }))).resolves.toBeDefined();
    const checked = new DynamoDBClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    attachItemSizeLimit(checked);
    try {
      await expect(checked.send(new PutItemCommand({ TableName: table, Item: itemOf('wide-2', 600 * KB, 'é') })))
        .rejects.toMatchObject({ name: 'ValidationException', message: ITEM_TOO_LARGE });
      await expect(checked.send(new PutItemCommand({ TableName: table, Item: itemOf('narrow', 300 * KB, 'é') }))).resolves.toBeDefined();
    } finally {
      checked.destroy();
    }
  });

  it('pages a Query at 1 MB: 30 items of 100 KB in one partition come back in several pages', async () => {
    for (let i = 0; i < 30; i++) await db.client.send(new PutItemCommand({ TableName: table, Item: { ...itemOf(`p${String(i).padStart(2, '0')}`, 100 * KB), pk: { S: 'paged' } } }));
    const pages: number[] = [];
    let start: Record<string, never> | undefined;
    do {
      const out = await db.client.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'paged' } }, ExclusiveStartKey: start }));
      pages.push(out.Items!.length);
      start = out.LastEvaluatedKey as typeof start;
    } while (start);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...pages)).toBeLessThanOrEqual(11); // about 1 MB of 100 KB items per page
    expect(pages.reduce((a, b) => a + b, 0)).toBe(30);
  });
});

describe('the adapters read back more than a 1 MB page', () => {
  let db: EmbeddedDynamo;
  const tables = { catalog: freshTableName('catalog'), state: freshTableName('state') };
  beforeAll(async () => {
    db = await startDynalite();
    await ensureTables(db.client, tables);
  });
  afterAll(async () => { await db?.close(); });

  it('lists every audit entry of an incident whose trail is 1.5 MB', async () => {
    const audit = new DynamoAuditLog({ client: db.docClient, tableName: tables.state });
    for (let i = 0; i < 15; i++) await audit.append('inc-big', { type: 'test.entry', actor: 'test', at: '2024-05-01T10:00:00.000Z', data: { i, pad: 'x'.repeat(100 * KB) } });
    const entries = await audit.list('inc-big');
    expect(entries.map((e) => e.data['i'])).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });

  it('lists the requested number of incidents even when they fill more than one page', async () => {
    const incidents = new DynamoIncidentStore({ client: db.docClient, tableName: tables.state });
    const created: string[] = [];
    for (let i = 0; i < 10; i++) {
      const incident = makeIncident({ incidentId: `inc-${i}`, createdAt: `2024-05-01T10:0${i}:00.000Z`, machines: [`m-${i}-${'x'.repeat(150 * KB)}`] });
      await incidents.createIncident(incident);
      created.push(incident.incidentId);
    }
    // 10 × 150 KB is 1.5 MB: a single Query with Limit 8 stops at 1 MB, before the eighth.
    expect((await incidents.listIncidents({ limit: 8 })).map((i) => i.incidentId)).toEqual(created.slice(2).reverse());
    expect((await incidents.listIncidents()).map((i) => i.incidentId)).toEqual([...created].reverse());
  });
});

describe('the local runtime\'s DynamoDB client', () => {
  let rt: LocalRuntime;
  beforeAll(async () => {
    rt = await startLocalRuntime({ dataDir: null, inventoryFile: path.resolve('examples/inventory.yaml'), speed: 600, publicBaseUrl: 'http://127.0.0.1:8787' });
  });
  afterAll(async () => { await rt?.close(); });

  it('refuses an item over 400 KB in UTF-8, through the document client too, as DynamoDB does', async () => {
    const put = (v: string) => rt.clients.document.send(new PutCommand({ TableName: rt.tables.state, Item: { pk: 'TEST#wide', sk: 'META', v } }));
    await expect(put('é'.repeat(210 * KB))).rejects.toMatchObject({ name: 'ValidationException', message: ITEM_TOO_LARGE });
    await expect(put('é'.repeat(190 * KB))).resolves.toBeDefined();
  });
});
