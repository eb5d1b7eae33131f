/**
 * Builds the adapters a handler needs from validated configuration. Handlers validate the
 * variables they use at cold start (loadConfig) and call these builders once, at module scope.
 */
import { systemClock, type Clock } from '../../domain/shared/index.ts';
import type { InventoryIndex } from '../../domain/inventory/index.ts';
import type { Policy } from '../../domain/findings/index.ts';
import { DynamoApprovalStore, DynamoAuditLog, DynamoIncidentStore, DynamoRecoveryPointCatalog } from './adapters/dynamodb/index.ts';
import { DynamoRunStore } from './adapters/dynamodb/run-store.ts';
import { DynamoDrillStore } from './adapters/dynamodb/drill-store.ts';
import { SsmAcceptanceChecker } from './adapters/ssm-acceptance-checker.ts';
import { EventBridgePublisher } from './adapters/eventbridge-publisher.ts';
import { CompositeNotifier } from './adapters/composite-notifier.ts';
import { SesNotifier } from './adapters/ses-notifier.ts';
import { slackNotifier, type SlackConfig } from './adapters/slack-notifier.ts';
import { logger } from './observability.ts';
import type { Notifier } from '../../domain/ports/index.ts';
import { SfnWorkflowEngine } from './adapters/sfn-workflow-engine.ts';
import { Ec2ComputeProvider } from './adapters/ec2-compute.ts';
import { Ec2SnapshotDirectory } from './adapters/ec2-snapshots.ts';
import { AwsAccountChecks, Ec2Environment, type AccountChecks } from './adapters/ec2-environment.ts';
import { DynamoProtectionStore } from './adapters/dynamodb/protection-store.ts';
import { documentClient, ec2Client, eventBridgeClient, kmsClient, sesClient, sfnClient, ssmClient } from './clients.ts';
import { loadInventory, loadPolicy } from './inventory-source.ts';

let current: Clock = systemClock;

/**
 * The clock every handler uses. On AWS it is the system clock; the local runtime switches it
 * to the simulator's (possibly sped-up) clock so timestamps, RTO and boot times agree.
 */
export const clock: Clock = { now: () => current.now(), sleep: (ms) => current.sleep(ms) };

export function useClock(c: Clock): void {
  current = c;
}

export function stateStores(config: { STATE_TABLE: string }) {
  const options = { client: documentClient, tableName: config.STATE_TABLE };
  return {
    incidents: new DynamoIncidentStore(options),
    approvals: new DynamoApprovalStore(options),
    audit: new DynamoAuditLog(options),
    runs: new DynamoRunStore(options),
    drills: new DynamoDrillStore(options),
  };
}

export function catalogStore(config: { CATALOG_TABLE: string }) {
  return new DynamoRecoveryPointCatalog({ client: documentClient, tableName: config.CATALOG_TABLE });
}

export function workflowEngine(config: { INCIDENT_STATE_MACHINE_ARN?: string | undefined; FAILBACK_STATE_MACHINE_ARN?: string | undefined }) {
  return new SfnWorkflowEngine(sfnClient, {
    ...(config.INCIDENT_STATE_MACHINE_ARN ? { 'incident-response': config.INCIDENT_STATE_MACHINE_ARN } : {}),
    ...(config.FAILBACK_STATE_MACHINE_ARN ? { failback: config.FAILBACK_STATE_MACHINE_ARN } : {}),
  });
}

/** Starts drills (the drill state machine only). */
export function drillWorkflows(config: { DRILL_STATE_MACHINE_ARN: string }) {
  return new SfnWorkflowEngine(sfnClient, { drill: config.DRILL_STATE_MACHINE_ARN });
}

/** Drill acceptance checks over SSM Run Command (answered by the local acceptance runner locally). */
export function acceptanceChecker() {
  return new SsmAcceptanceChecker(ssmClient, clock);
}

export function eventPublisher(config: { EVENT_BUS_NAME: string }) {
  return new EventBridgePublisher(eventBridgeClient, config.EVENT_BUS_NAME);
}

export function notifier(config: { NOTIFY_EMAIL_FROM?: string | undefined; NOTIFY_EMAIL_TO?: string | undefined; INVENTORY_SOURCE: string } & SlackConfig): Notifier {
  const email = new SesNotifier(sesClient, {
    from: config.NOTIFY_EMAIL_FROM ?? 'cleanpoint@localhost',
    fallbackTo: (config.NOTIFY_EMAIL_TO ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    index: () => loadInventory(config.INVENTORY_SOURCE),
  });
  const slack = slackNotifier(config);
  if (!slack) return email;
  // E-mail carries the personal links; Slack carries the shared message with buttons.
  return new CompositeNotifier([{ name: 'email', notifier: email }, { name: 'slack', notifier: slack }],
    (channel, error) => logger.warn('notification channel failed', { channel, error: error.message }));
}

/** The inventory and policy, loaded once per container and cached. */
export async function estate(config: { INVENTORY_SOURCE: string; POLICY_SOURCE?: string | undefined }): Promise<{ index: InventoryIndex; policy: Policy }> {
  const [index, policy] = await Promise.all([loadInventory(config.INVENTORY_SOURCE), loadPolicy(config.POLICY_SOURCE)]);
  return { index, policy };
}

export function compute(config: { KMS_KEY_ID: string }) {
  return new Ec2ComputeProvider(ec2Client, { kmsKeyId: config.KMS_KEY_ID });
}

export function snapshotDirectory() {
  return new Ec2SnapshotDirectory(ec2Client);
}

/** Protection state (RPO breaches and history, readiness and coverage reports) in the state table. */
export function protectionStore(config: { STATE_TABLE: string }) {
  return new DynamoProtectionStore({ client: documentClient, tableName: config.STATE_TABLE });
}

let accountChecksOverride: AccountChecks | undefined;

/**
 * The local runtime has no KMS or SES identities: it installs simulated account checks here
 * (as it does the clock). Read on every check, so it applies to handlers already loaded.
 */
export function useAccountChecks(checks: AccountChecks | undefined): void {
  accountChecksOverride = checks;
}

/** Networks, instances and quota from EC2; the key and the e-mail sender from the account checks. */
export function recoveryEnvironment(config: { NOTIFY_EMAIL_FROM?: string | undefined }) {
  const aws = new AwsAccountChecks(sesClient, config.NOTIFY_EMAIL_FROM, kmsClient);
  return new Ec2Environment(ec2Client, () => accountChecksOverride ?? aws);
}
