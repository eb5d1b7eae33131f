/**
 * EC2's RunInstances token bucket, shared by every launch-machine container through one
 * DynamoDB item. Each Lambda container only sees its own calls; with 40 launching in parallel
 * a per-container model would believe it has the whole bucket and EC2 would throttle most of
 * them. Here every container takes its token from the same item with a conditional update, so
 * the fleet as a whole stays within the account's 5-then-2-per-second budget.
 *
 * Item: `pk = RATE#<name>`, `sk = BUCKET`, `tokens` (float), `refilledAt` (epoch ms).
 */
import type { Clock } from '../../../../domain/shared/index.ts';
import { EC2_RUN_INSTANCES_BUCKET, type Pacer } from '../../../../domain/failover/index.ts';
import { DynamoTable, isConditionFailed, type DynamoAdapterOptions } from './client.ts';

export interface SharedBucketOptions extends DynamoAdapterOptions {
  name: string;
  clock: Clock;
  bucket?: { capacity: number; refillPerSecond: number };
  /** Give up waiting after this long (the task then fails with a retryable throttle). */
  maxWaitMs?: number;
}

export class DynamoTokenBucketPacer implements Pacer {
  private readonly table: DynamoTable;
  private readonly key: { pk: string; sk: string };
  private readonly capacity: number;
  private readonly rate: number;

  constructor(private readonly options: SharedBucketOptions) {
    this.table = new DynamoTable(options);
    this.key = { pk: `RATE#${options.name}`, sk: 'BUCKET' };
    this.capacity = options.bucket?.capacity ?? EC2_RUN_INSTANCES_BUCKET.capacity;
    this.rate = options.bucket?.refillPerSecond ?? EC2_RUN_INSTANCES_BUCKET.refillPerSecond;
  }

  async acquire(): Promise<void> {
    const deadline = this.options.clock.now() + (this.options.maxWaitMs ?? 60_000);
    for (;;) {
      const now = this.options.clock.now();
      const item = (await this.table.get({ Key: this.key, ConsistentRead: true })).Item as { tokens?: number; refilledAt?: number } | undefined;
      const available = item ? Math.min(this.capacity, (item.tokens ?? 0) + Math.max(0, now - (item.refilledAt ?? now)) / 1000 * this.rate) : this.capacity;
      if (available >= 1) {
        try {
          await this.table.put({
            Item: { ...this.key, tokens: available - 1, refilledAt: now },
            // Only if nobody took a token since we read: otherwise read again.
            ConditionExpression: item ? 'refilledAt = :seen' : 'attribute_not_exists(pk)',
            ...(item ? { ExpressionAttributeValues: { ':seen': item.refilledAt } } : {}),
          });
          return;
        } catch (e) {
          if (!isConditionFailed(e)) throw e;
          continue;
        }
      }
      if (now >= deadline) return; // let EC2 decide; a throttle is then retried by the caller
      await this.options.clock.sleep(Math.ceil(((1 - available) / this.rate) * 1000) + Math.floor(Math.random() * 50));
    }
  }

  /** EC2 throttled anyway (another tool shares the account): empty the shared bucket. */
  penalise(): void {
    void this.table.put({ Item: { ...this.key, tokens: 0, refilledAt: this.options.clock.now() } }).catch(() => undefined);
  }
}
