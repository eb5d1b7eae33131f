/**
 * The two tables, as CreateTable input. serverless.yml declares the same tables (keep them in
 * step: a contract test creates its tables from these definitions); `ensureTables` creates
 * them for the local runtime and tests.
 *
 * Catalogue table (recovery points), PAY_PER_REQUEST:
 *   machineId  S  HASH
 *   sk         S  RANGE
 *   - point item:   sk = `${capturedAt}#${pointId}`, capturedAt as ISO-8601 UTC with
 *     milliseconds (fixed width, so lexical order = time order); attributes: pointId,
 *     capturedAt, status, scan, snapshots (list of maps), source?, nextCapturedAt? (absent = none newer)
 *   - pointer item: sk = `POINT#${pointId}` (sorts after every timestamp), attribute capturedAt:
 *     where the point currently lives, so a re-put with another time moves it instead of copying it
 *   - snapshot lookup item: machineId = `SNAP#${snapshotId}`, sk = `POINT#${machineId}#${pointId}`,
 *     attributes pointMachineId, pointId: which points hold a snapshot (scan verdicts name snapshots)
 *
 * State table (incidents, findings, group claims, audit log, approvals), PAY_PER_REQUEST:
 *   pk  S  HASH,  sk  S  RANGE
 *   GSI gsi1: gsi1pk S HASH, gsi1sk S RANGE, projection ALL (newest-first listings)
 *   - INCIDENT#<incidentId> / META        gsi1pk = INCIDENTS, gsi1sk = `${createdAt}#${incidentId}`
 *   - FINDING#<findingId>   / META        first incidentId, latest updatedAt
 *   - GROUP#<group>         / LOCK        owner = incidentId holding the group
 *   - AUDIT#<incidentId>    / 000000001…  append-only hash-chained entries
 *   - APPROVAL#<approvalId> / META        gsi1pk = APPROVALS, gsi1sk = `${createdAt}#${approvalId}`
 *
 * No TTL and no transactions: the adapters use single-item conditional writes only (the
 * embedded emulator supports neither). Point-in-time recovery and deletion protection are
 * settings serverless.yml adds; they are not part of CreateTable.
 */
import {
  CreateTableCommand, DescribeTableCommand, type CreateTableCommandInput, type DynamoDBClient, type TableDescription,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sleep } from './client.ts';

export const STATE_GSI1 = 'gsi1';

export function catalogTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'machineId', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'machineId', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
  };
}

export function stateTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'gsi1pk', AttributeType: 'S' },
      { AttributeName: 'gsi1sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: STATE_GSI1,
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

type AnyClient = DynamoDBClient | DynamoDBDocumentClient;

/**
 * Create the named tables unless they exist, then wait until they (and their indexes) are
 * ACTIVE. Idempotent. An existing table with a different key schema is an error, not a
 * silent mismatch.
 */
export async function ensureTables(client: AnyClient, names: { catalog?: string; state?: string }, options: { timeoutMs?: number } = {}): Promise<void> {
  const wanted: CreateTableCommandInput[] = [];
  if (names.catalog) wanted.push(catalogTableDefinition(names.catalog));
  if (names.state) wanted.push(stateTableDefinition(names.state));
  // The document client sends plain DynamoDB commands unchanged; one signature for both.
  const send = (command: CreateTableCommand | DescribeTableCommand) => (client as DynamoDBClient).send(command as DescribeTableCommand);
  await Promise.all(wanted.map(async (definition) => {
    try {
      await send(new CreateTableCommand(definition));
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
    }
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const { Table } = await send(new DescribeTableCommand({ TableName: definition.TableName }));
      if (Table) assertSameKeys(definition, Table);
      if (Table && isActive(Table)) return;
      if (Date.now() > deadline) throw new Error(`table ${definition.TableName} is not ACTIVE after ${options.timeoutMs ?? 60_000} ms`);
      await sleep(100);
    }
  }));
}

function isActive(table: TableDescription): boolean {
  return table.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
}

const keyText = (keys: readonly { AttributeName?: string; KeyType?: string }[] | undefined) =>
  (keys ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');

function assertSameKeys(definition: CreateTableCommandInput, table: TableDescription): void {
  const problems: string[] = [];
  if (keyText(definition.KeySchema) !== keyText(table.KeySchema)) {
    problems.push(`key schema is ${keyText(table.KeySchema)}, expected ${keyText(definition.KeySchema)}`);
  }
  for (const index of definition.GlobalSecondaryIndexes ?? []) {
    const found = table.GlobalSecondaryIndexes?.find((i) => i.IndexName === index.IndexName);
    if (!found) problems.push(`index ${index.IndexName} is missing`);
    else if (keyText(found.KeySchema) !== keyText(index.KeySchema)) problems.push(`index ${index.IndexName} has keys ${keyText(found.KeySchema)}`);
  }
  if (problems.length) throw new Error(`table ${definition.TableName} exists but does not match: ${problems.join('; ')}`);
}
