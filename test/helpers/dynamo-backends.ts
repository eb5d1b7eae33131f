import { afterAll, beforeAll } from 'vitest';
import { ensureTables } from '../../functions/shared/adapters/dynamodb/tables.ts';
import { freshTableName, startDynalite, type EmbeddedDynamo } from './dynamo.ts';
import { javaAvailable, startDynamoDbLocal } from './dynamodb-local.ts';

/** One embedded DynamoDB a contract suite runs against. */
export interface DynamoBackend {
  name: 'dynalite' | 'DynamoDB Local';
  /** The running server (available once the file's beforeAll has run). */
  db(): EmbeddedDynamo;
  /** A new, empty table of the given kind, for one test. */
  freshTable(kind: 'state' | 'catalog'): Promise<string>;
}

/**
 * Starts both embedded DynamoDBs for the calling test file — dynalite, and AWS's own DynamoDB
 * Local (java is on these machines and on CI; a machine without it fails loudly rather than
 * skipping) — and stops them after it. Call once, at the top level of a test file.
 */
export function embeddedDynamoBackends(): { dynalite: DynamoBackend; dynamoDbLocal: DynamoBackend; all: DynamoBackend[] } {
  const backend = (name: DynamoBackend['name'], start: () => Promise<EmbeddedDynamo>, timeoutMs: number): DynamoBackend => {
    let db: EmbeddedDynamo | undefined;
    beforeAll(async () => { db = await start(); }, timeoutMs);
    afterAll(async () => { await db?.close(); });
    const running = () => {
      if (!db) throw new Error(`${name} is not running`);
      return db;
    };
    return {
      name,
      db: running,
      async freshTable(kind) {
        const tableName = freshTableName(kind);
        await ensureTables(running().client, { [kind]: tableName });
        return tableName;
      },
    };
  };
  const dynalite = backend('dynalite', startDynalite, 60_000);
  const dynamoDbLocal = backend('DynamoDB Local', async () => {
    if (!javaAvailable()) throw new Error('java is needed to run the contract suite against DynamoDB Local');
    return startDynamoDbLocal();
  }, 90_000);
  return { dynalite, dynamoDbLocal, all: [dynalite, dynamoDbLocal] };
}
