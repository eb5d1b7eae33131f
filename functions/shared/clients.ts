import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One client per AWS service per container, created at module scope so warm invocations
 * reuse connections. The local runtime plugs its emulators into these same instances
 * (client middleware), so the adapter code that runs locally is the code that runs on AWS.
 */
export const dynamoClient = new DynamoDBClient({});
export const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});
/** The EC2 adapter owns its retry policy (paced, with jitter), so the SDK does not retry blindly. */
export const ec2Client = new EC2Client({ maxAttempts: 1 });
export const sfnClient = new SFNClient({});
export const eventBridgeClient = new EventBridgeClient({});
export const sesClient = new SESv2Client({});
export const ssmClient = new SSMClient({});
