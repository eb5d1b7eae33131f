/// <reference path="../../types/dynalite.d.ts" />
/**
 * An embedded DynamoDB for tests: dynalite in this process, on an ephemeral loopback port,
 * reached through the real SDK clients (so marshalling, conditions and errors are real).
 * dynalite has no transactions and no TTL; the adapters are designed around that.
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';

export interface EmbeddedDynamo {
  endpoint: string;
  client: DynamoDBClient;
  docClient: DynamoDBDocumentClient;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<EmbeddedDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 3,
  });
  const docClient = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  let closed = false;
  return {
    endpoint,
    client,
    docClient,
    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

let tableCounter = 0;

/** A table name no other test in this process uses (dynalite: 3–255 chars of [a-zA-Z0-9_.-]). */
export function freshTableName(prefix: string): string {
  tableCounter += 1;
  return `${prefix}-${process.pid}-${tableCounter}`;
}
