/**
 * The composition root: how a function gets its dependencies. One pattern for every handler
 * module (functions/<name>/handler.ts):
 *
 *   makeHandler(deps)          Pure wiring of the domain use case: parse ▶ call ▶ map the result.
 *                              `deps` is `() => Promise<Deps>` (the use case's ports), so tests
 *                              pass in-memory adapters and nothing here reads the environment.
 *   compose(env, overrides?)   Builds those dependencies for one function: validates the
 *                              variables it uses from `env` (loadConfig + configVars; a missing or
 *                              malformed one throws a ConfigError naming it) and builds its
 *                              adapters (wiring.ts) over a Platform — clock, AWS SDK clients,
 *                              Slack transport, account checks — whose defaults are the real
 *                              ones (system clock, the module-scope clients of clients.ts,
 *                              HTTPS) unless `overrides` names a replacement. Returns the
 *                              `() => Promise<Deps>` makeHandler takes.
 *   handler                    What serverless.yml deploys:
 *                                export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
 *                              Composed on the first invocation (once per container), so merely
 *                              importing a handler module never throws when variables are absent.
 *
 * Who calls compose with what:
 *   Lambda          compose(process.env)                      (through `handler`)
 *   local runtime   compose(<this function's environment from serverless.yml>,
 *                           { clock: virtual, clients: pointed at the emulators, slackTransport: outbox, … })
 *                   and wraps the result with lambda() itself: one composition per function,
 *                   no process-wide setters, no process.env mutation, any import order.
 *   tests           makeHandler(memory fakes), or compose(env, { clock: fixedClock(NOW),
 *                   adapters: { incidents: new MemoryIncidentStore(), … } }) to run the real wiring.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { GuardDutyClient } from '@aws-sdk/client-guardduty';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SlackDecisionJob } from './adapters/slack/interaction.ts';
import type { Pacer } from '../../domain/failover/index.ts';
import type {
  ApprovalStore, AuditLog, DrillStore, IncidentStore, ProtectionStore, RecoveryPointCatalog, RecoveryPointLookup,
  RecoveryPointSnapshotIndex, RecoveryPointWriter, RunStore,
} from '../../domain/ports/index.ts';
import { systemClock, type Clock } from '../../domain/shared/index.ts';
import type { AccountChecks } from './adapters/ec2-environment.ts';
import { fetchTransport, type SlackTransport } from './adapters/slack-notifier.ts';
import * as sdk from './clients.ts';

/** What a function's environment is: process.env on AWS, serverless.yml's resolution locally. */
export type Env = Readonly<Record<string, string | undefined>>;

/** One client per AWS service. */
export interface AwsClients {
  dynamo: DynamoDBClient;
  /** The document client over `dynamo` (the DynamoDB adapters use this one). */
  document: DynamoDBDocumentClient;
  ec2: EC2Client;
  sfn: SFNClient;
  eventBridge: EventBridgeClient;
  ses: SESv2Client;
  ssm: SSMClient;
  kms: KMSClient;
  guardDuty: GuardDutyClient;
}

/** Queues a verified Slack click for the asynchronous leg (on AWS: PutEvents on the bus). */
export type SlackJobDispatcher = (detail: { job: SlackDecisionJob; mac: string }) => Promise<void>;

/**
 * Adapters used instead of the ones the environment names: the contract-tested memory adapters
 * (adapters/memory/) in tests. Each builder in wiring.ts takes its override when there is one.
 */
export interface AdapterOverrides {
  incidents: IncidentStore;
  approvals: ApprovalStore;
  audit: AuditLog;
  runs: RunStore;
  drills: DrillStore;
  catalog: RecoveryPointCatalog & RecoveryPointWriter & RecoveryPointLookup & RecoveryPointSnapshotIndex;
  protection: ProtectionStore;
  /** launch-machine's fleet-wide RunInstances bucket. */
  pacer: Pacer;
}

/** Everything a composition builds on. */
export interface Platform {
  /** Business time (timestamps, RTO, boot waits): the system clock on AWS, the virtual one locally. */
  clock: Clock;
  /** Wall-clock time for third-party timestamps (Slack's signatures): never a simulated clock. */
  wallClock: Clock;
  /** The clients the caller supplied; the accessors below (ec2Of, …) fall back to the real ones. */
  clients: Partial<AwsClients>;
  /** Where Slack posts go: HTTPS on AWS, the outbox locally. */
  slackTransport: SlackTransport;
  /** Replaces the bus for queued Slack decisions when set (null: PutEvents on EVENT_BUS_NAME). */
  slackJobDispatcher: SlackJobDispatcher | null;
  /** KMS key and SES identity checks (readiness); null: ask KMS and SES through the clients. */
  accountChecks: AccountChecks | null;
  adapters: Partial<AdapterOverrides>;
}

/** What a caller of compose may replace; anything left out keeps its real default. */
export interface Overrides {
  clock?: Clock;
  wallClock?: Clock;
  clients?: Partial<AwsClients>;
  slackTransport?: SlackTransport;
  slackJobDispatcher?: SlackJobDispatcher | null;
  accountChecks?: AccountChecks | null;
  adapters?: Partial<AdapterOverrides>;
}

/**
 * The client for one service: the platform's when it names one (the local runtime's, tests'),
 * else the module-scope client of clients.ts. One accessor per service, so a function's bundle
 * carries only the SDK packages of the adapters it builds (the bundler drops the others).
 */
export const dynamoOf = (p: Platform): DynamoDBClient => p.clients.dynamo ?? sdk.dynamoClient;
export const documentOf = (p: Platform): DynamoDBDocumentClient => p.clients.document ?? sdk.documentClient;
export const ec2Of = (p: Platform): EC2Client => p.clients.ec2 ?? sdk.ec2Client;
export const sfnOf = (p: Platform): SFNClient => p.clients.sfn ?? sdk.sfnClient;
export const eventBridgeOf = (p: Platform): EventBridgeClient => p.clients.eventBridge ?? sdk.eventBridgeClient;
export const sesOf = (p: Platform): SESv2Client => p.clients.ses ?? sdk.sesClient;
export const ssmOf = (p: Platform): SSMClient => p.clients.ssm ?? sdk.ssmClient;
export const kmsOf = (p: Platform): KMSClient => p.clients.kms ?? sdk.kmsClient;
export const guardDutyOf = (p: Platform): GuardDutyClient => p.clients.guardDuty ?? sdk.guardDutyClient;

/** The platform with `overrides` applied over the real defaults. */
export function platform(overrides: Overrides = {}): Platform {
  return {
    clock: overrides.clock ?? systemClock,
    wallClock: overrides.wallClock ?? systemClock,
    clients: { ...overrides.clients },
    slackTransport: overrides.slackTransport ?? fetchTransport,
    slackJobDispatcher: overrides.slackJobDispatcher ?? null,
    accountChecks: overrides.accountChecks ?? null,
    adapters: { ...overrides.adapters },
  };
}

/**
 * Composes on first use and keeps the result (one composition per container). A composition
 * that throws (a ConfigError) is not kept: every invocation fails loudly with the same message.
 */
export function onFirstUse<D>(compose: () => () => Promise<D>): () => Promise<D> {
  let deps: (() => Promise<D>) | undefined;
  return () => (deps ??= compose())();
}

/**
 * The shape of a handler module, as the local runtime uses it: `makeHandler(compose(env, overrides))`
 * (each module's own Deps type pairs them; seen from outside they are opaque).
 */
export interface HandlerModule {
  makeHandler(deps: never): (event: never, context: never) => Promise<unknown>;
  compose(env: Env, overrides?: Overrides): () => Promise<unknown>;
  handler: unknown;
}
