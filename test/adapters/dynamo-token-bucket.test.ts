import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../domain/shared/index.ts';
import { DynamoTokenBucketPacer } from '../../functions/shared/adapters/dynamodb/token-bucket.ts';
import { ensureTables } from '../../functions/shared/adapters/dynamodb/tables.ts';
import { startDynalite, type EmbeddedDynamo } from '../helpers/dynamo.ts';

let db: EmbeddedDynamo;
beforeAll(async () => {
  db = await startDynalite();
  await ensureTables(db.client, { state: 'bucket-state' });
}, 60_000);
afterAll(async () => { await db?.close(); });

describe('DynamoTokenBucketPacer (the RunInstances bucket shared by all launch containers)', () => {
  it('never hands out more tokens than the burst plus the refill, however many containers ask at once', async () => {
    // Prepare: 8 "containers", each with its own pacer object over the same item; a fast refill keeps the test short
    const bucket = { capacity: 5, refillPerSecond: 20 };
    const pacers = Array.from({ length: 8 }, () => new DynamoTokenBucketPacer({ client: db.docClient, tableName: 'bucket-state', name: 'test-bucket', clock: systemClock, bucket }));
    const start = Date.now();
    const grants: number[] = [];

    // Act: 40 acquisitions spread over the containers
    await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      await pacers[i % pacers.length]!.acquire();
      grants.push(Date.now() - start);
    }));

    // Assess: at every moment, granted ≤ burst + refill so far (+1 for timer granularity)
    grants.sort((a, b) => a - b);
    grants.forEach((t, i) => expect(i + 1, `grant ${i + 1} at ${t} ms`).toBeLessThanOrEqual(bucket.capacity + Math.floor((t / 1000) * bucket.refillPerSecond) + 1));
    expect(grants).toHaveLength(40);
  }, 30_000);

  it('empties the shared bucket when EC2 throttles anyway, so the next caller waits for a refill', async () => {
    // Prepare
    const bucket = { capacity: 5, refillPerSecond: 4 };
    const pacer = new DynamoTokenBucketPacer({ client: db.docClient, tableName: 'bucket-state', name: 'penalised', clock: systemClock, bucket });
    await pacer.acquire();

    // Act
    pacer.penalise();
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await pacer.acquire();

    // Assess: about one refill interval (250 ms) had to pass
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  }, 30_000);
});
