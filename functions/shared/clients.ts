import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GuardDutyClient } from '@aws-sdk/client-guardduty';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One client per AWS service per container, created at module scope so warm invocations
 * reuse connections. The local runtime plugs its emulators into these same instances
 * (client middleware), so the adapter code that runs locally is the code that runs on AWS.
 *
 * The `@__PURE__` marks let the bundler drop the clients (and their SDK packages) a function
 * never uses: every function would otherwise carry all six clients (EC2's alone is 0.56 MB).
 */
export const dynamoClient = /* @__PURE__ */ new DynamoDBClient({});

/** The document client the DynamoDB adapters use, over `client` (how items are marshalled, in one place). */
export function documentClientOver(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } });
}

export const documentClient = /* @__PURE__ */ documentClientOver(dynamoClient);
/** The EC2 adapter owns its retry policy (paced, with jitter), so the SDK does not retry blindly. */
export const ec2Client = /* @__PURE__ */ new EC2Client({ maxAttempts: 1 });
export const sfnClient = /* @__PURE__ */ new SFNClient({});
export const eventBridgeClient = /* @__PURE__ */ new EventBridgeClient({});
export const sesClient = /* @__PURE__ */ new SESv2Client({});
export const ssmClient = /* @__PURE__ */ new SSMClient({});
export const kmsClient = /* @__PURE__ */ new KMSClient({});
/** Malware scans of recovery points before launch (GuardDuty Malware Protection, docs/scanning.md). */
export const guardDutyClient = /* @__PURE__ */ new GuardDutyClient({});
