/**
 * Builds the adapters a function needs from its validated configuration and a Platform
 * (compose.ts: clock, SDK clients, Slack transport, account checks, adapter overrides). Each
 * handler's `compose(env, overrides)` calls these once per composition; an adapter named in
 * `p.adapters` is used instead of the one the configuration names.
 */
import type { InventoryIndex } from '../../domain/inventory/index.ts';
import type { Policy } from '../../domain/findings/index.ts';
import type { Pacer } from '../../domain/failover/index.ts';
import { DynamoApprovalStore, DynamoAuditLog, DynamoIncidentStore, DynamoRecoveryPointCatalog } from './adapters/dynamodb/index.ts';
import { DynamoRunStore } from './adapters/dynamodb/run-store.ts';
import { DynamoDrillStore } from './adapters/dynamodb/drill-store.ts';
import { DynamoTokenBucketPacer } from './adapters/dynamodb/token-bucket.ts';
import { SsmAcceptanceChecker } from './adapters/ssm-acceptance-checker.ts';
import { EventBridgePublisher } from './adapters/eventbridge-publisher.ts';
import { CompositeNotifier } from './adapters/composite-notifier.ts';
import { SesNotifier } from './adapters/ses-notifier.ts';
import { slackNotifier, type SlackConfig } from './adapters/slack-notifier.ts';
import { logger } from './observability.ts';
import type { AuditLog, ApprovalStore, DrillStore, IncidentStore, Notifier, ProtectionStore, RunStore } from '../../domain/ports/index.ts';
import { SfnWorkflowEngine } from './adapters/sfn-workflow-engine.ts';
import { Ec2ComputeProvider } from './adapters/ec2-compute.ts';
import { Ec2SnapshotDirectory } from './adapters/ec2-snapshots.ts';
import { Ec2MachineDirectory } from './adapters/ec2-machines.ts';
import { Ec2ImageDirectory } from './adapters/ec2-images.ts';
import { AwsAccountChecks, Ec2Environment } from './adapters/ec2-environment.ts';
import { DynamoProtectionStore } from './adapters/dynamodb/protection-store.ts';
import { loadInventory, loadPolicy } from './inventory-source.ts';
import { getSecret } from './secrets.ts';
import { documentOf, ec2Of, eventBridgeOf, kmsOf, sesOf, sfnOf, ssmOf, type AdapterOverrides, type Platform } from './compose.ts';

export interface StateStores { incidents: IncidentStore; approvals: ApprovalStore; audit: AuditLog; runs: RunStore; drills: DrillStore }

export function stateStores(config: { STATE_TABLE: string }, p: Platform): StateStores {
  const options = { client: documentOf(p), tableName: config.STATE_TABLE };
  const a = p.adapters;
  return {
    incidents: a.incidents ?? new DynamoIncidentStore(options),
    approvals: a.approvals ?? new DynamoApprovalStore(options),
    audit: a.audit ?? new DynamoAuditLog(options),
    runs: a.runs ?? new DynamoRunStore(options),
    drills: a.drills ?? new DynamoDrillStore(options),
  };
}

export function catalogStore(config: { CATALOG_TABLE: string }, p: Platform): AdapterOverrides['catalog'] {
  return p.adapters.catalog ?? new DynamoRecoveryPointCatalog({ client: documentOf(p), tableName: config.CATALOG_TABLE });
}

export function workflowEngine(config: { INCIDENT_STATE_MACHINE_ARN?: string | undefined; FAILBACK_STATE_MACHINE_ARN?: string | undefined }, p: Platform) {
  return new SfnWorkflowEngine(sfnOf(p), {
    ...(config.INCIDENT_STATE_MACHINE_ARN ? { 'incident-response': config.INCIDENT_STATE_MACHINE_ARN } : {}),
    ...(config.FAILBACK_STATE_MACHINE_ARN ? { failback: config.FAILBACK_STATE_MACHINE_ARN } : {}),
  });
}

/** Starts drills (the drill state machine only). */
export function drillWorkflows(config: { DRILL_STATE_MACHINE_ARN: string }, p: Platform) {
  return new SfnWorkflowEngine(sfnOf(p), { drill: config.DRILL_STATE_MACHINE_ARN });
}

/** Drill acceptance checks over SSM Run Command (answered by the local acceptance runner locally). */
export function acceptanceChecker(p: Platform) {
  return new SsmAcceptanceChecker(ssmOf(p), p.clock);
}

export function eventPublisher(config: { EVENT_BUS_NAME: string }, p: Platform) {
  return new EventBridgePublisher(eventBridgeOf(p), config.EVENT_BUS_NAME);
}

export function notifier(config: { NOTIFY_EMAIL_FROM?: string | undefined; NOTIFY_EMAIL_TO?: string | undefined; INVENTORY_SOURCE: string } & SlackConfig, p: Platform): Notifier {
  const email = new SesNotifier(sesOf(p), {
    from: config.NOTIFY_EMAIL_FROM ?? 'cleanpoint@localhost',
    fallbackTo: (config.NOTIFY_EMAIL_TO ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    index: () => loadInventory(config.INVENTORY_SOURCE, ssmOf(p)),
  });
  const slack = slackNotifier(config, { transport: () => p.slackTransport, secret: (name) => secret(name, p) });
  if (!slack) return email;
  // E-mail carries the personal links; Slack carries the shared message with buttons.
  return new CompositeNotifier([{ name: 'email', notifier: email }, { name: 'slack', notifier: slack }],
    (channel, error) => logger.warn('notification channel failed', { channel, error: error.message }));
}

/** The inventory and policy, loaded once per container and cached. */
export async function estate(config: { INVENTORY_SOURCE: string; POLICY_SOURCE?: string | undefined }, p: Platform): Promise<{ index: InventoryIndex; policy: Policy }> {
  const [index, policy] = await Promise.all([loadInventory(config.INVENTORY_SOURCE, ssmOf(p)), loadPolicy(config.POLICY_SOURCE, ssmOf(p))]);
  return { index, policy };
}

/** A secret named by its SSM parameter (cached for five minutes; never logged). */
export function secret(parameterName: string, p: Platform): Promise<string> {
  return getSecret(parameterName, Date.now(), ssmOf(p));
}

export function compute(config: { KMS_KEY_ID: string }, p: Platform) {
  return new Ec2ComputeProvider(ec2Of(p), { kmsKeyId: config.KMS_KEY_ID });
}

export function snapshotDirectory(p: Platform) {
  return new Ec2SnapshotDirectory(ec2Of(p));
}

/** The source machines' facts (DescribeInstances / DescribeImages) and their volumes' snapshots. */
export function machineDirectory(p: Platform) {
  return new Ec2MachineDirectory(ec2Of(p), p.clock);
}

export function imageDirectory(p: Platform) {
  return new Ec2ImageDirectory(ec2Of(p));
}

/** Protection state (RPO breaches and history, readiness and coverage reports) in the state table. */
export function protectionStore(config: { STATE_TABLE: string }, p: Platform): ProtectionStore {
  return p.adapters.protection ?? new DynamoProtectionStore({ client: documentOf(p), tableName: config.STATE_TABLE });
}

/**
 * One RunInstances bucket for the whole fleet of launch containers (a DynamoDB item), so 40
 * parallel launches together stay within EC2's 5-then-2-per-second request budget.
 */
export function runInstancesPacer(config: { STATE_TABLE: string }, p: Platform): Pacer {
  return p.adapters.pacer ?? new DynamoTokenBucketPacer({ client: documentOf(p), tableName: config.STATE_TABLE, name: 'ec2-run-instances', clock: p.clock });
}

/**
 * Networks, instances and quota from EC2; the key and the e-mail sender from the account checks
 * (KMS and SES on AWS; the platform's stand-in where those services are not emulated).
 */
export function recoveryEnvironment(config: { NOTIFY_EMAIL_FROM?: string | undefined }, p: Platform) {
  const checks = p.accountChecks ?? new AwsAccountChecks(sesOf(p), config.NOTIFY_EMAIL_FROM, kmsOf(p));
  return new Ec2Environment(ec2Of(p), () => checks);
}
