/**
 * Ports: what the domain needs from the world. Adapters in functions/shared/ implement them
 * against AWS (DynamoDB, EC2, Step Functions, EventBridge, SES, Slack); in-memory fakes
 * implement them for unit tests; the contract suite runs one set of tests against both.
 */
import type { ApprovalRequest } from '../approvals/model.ts';
import type { Finding } from '../findings/model.ts';
import type { Incident } from '../incidents/model.ts';
import type { RecoveryPoint, ScanRecord, SnapshotRef } from '../recovery-points/model.ts';

export type { Clock } from '../shared/index.ts';
import type { InstanceState } from '../inventory/index.ts';
import type { ScanStatus, ScanResult, ScanThreat, PointScan } from '../recovery-points/model.ts';
import type { ProbeRequest, ProbeResult } from '../drills/model.ts';
import type { CoverageReport, ObservedInstance } from '../protection/model.ts';
import type { Drill, DrillStatus, GroupDrillStatus } from '../drills/model.ts';
import type { FailoverPlan } from '../failover/model.ts';
import type { GroupReadiness } from '../protection/model.ts';
import type { Selection } from '../recovery-points/model.ts';
import type { RpoSample, RpoState } from '../protection/model.ts';
export type { InstanceState } from '../inventory/index.ts';
export type { RecoveryPointCatalog } from '../recovery-points/model.ts';

/** Write side of the catalogue (fed by EBS/DRS events and reconciliation). */
export interface RecoveryPointWriter {
  /**
   * Insert or update one point (idempotent by machineId + pointId). Keeps `nextCapturedAt`
   * of the neighbouring points current so a reader never needs a second query.
   */
  putPoint(point: RecoveryPoint): Promise<void>;
  /** Change status/scan (e.g. quarantine, or a malware scan's verdict with its evidence). */
  markPoint(machineId: string, pointId: string, change: PointChange): Promise<void>;
}

/** What markPoint may change: the status, the verdict and the verdict's evidence. */
export type PointChange = Partial<Pick<RecoveryPoint, 'status' | 'scan'>> & { scanRecord?: ScanRecord };

/** One point by id, as the catalogue holds it now (re-validation before a launch). */
export interface RecoveryPointLookup {
  getPoint(machineId: string, pointId: string): Promise<RecoveryPoint | null>;
}

export type FindingDelivery = 'new' | 'update' | 'duplicate';

export interface IncidentStore {
  /** Conditional create: only when no incident with this id exists. */
  createIncident(incident: Incident): Promise<{ created: boolean; incident: Incident }>;
  getIncident(incidentId: string): Promise<Incident | null>;
  /**
   * Apply `changes` only if the stored version is `expectedVersion`; returns the new incident
   * (version + 1). Throws ConflictError when somebody else changed it first.
   */
  updateIncident(incidentId: string, expectedVersion: number, changes: Partial<Omit<Incident, 'incidentId' | 'version'>>): Promise<Incident>;
  /** Newest first. */
  listIncidents(options?: { limit?: number }): Promise<Incident[]>;
  /**
   * Record one delivery of a finding: `new` the first time this finding id is seen, `update`
   * when GuardDuty's updatedAt moved on, `duplicate` for a redelivery. Idempotent.
   */
  recordFinding(incidentId: string, finding: Finding): Promise<FindingDelivery>;
  /** The first delivery's record of a finding: the incident it belongs to (first writer wins). */
  getFindingRecord(findingId: string): Promise<{ findingId: string; incidentId: string; updatedAt: string } | null>;
  /**
   * Claim an application group for an open incident. Returns the owner after the attempt:
   * `incidentId` when the claim succeeded (or it already owned it), else the current owner.
   */
  claimGroup(group: string, incidentId: string): Promise<string>;
  releaseGroup(group: string, incidentId: string): Promise<void>;
}

export interface AuditEntryInput {
  /** e.g. finding.received, incident.created, approval.requested, approval.refused, decision.approved, launch.started, machine.launched, machine.terminated, outcome.recorded */
  type: string;
  actor: string;
  at: string;
  data: Record<string, unknown>;
}

export interface AuditEntry extends AuditEntryInput {
  incidentId: string;
  seq: number;
  /** sha-256 over the previous digest and this entry's canonical JSON: a chain tampering breaks. */
  prevDigest: string;
  digest: string;
}

/** Append-only: entries are written with conditional puts and never updated. */
export interface AuditLog {
  append(incidentId: string, entry: AuditEntryInput): Promise<AuditEntry>;
  list(incidentId: string): Promise<AuditEntry[]>;
}

export interface ApprovalStore {
  /** Conditional create. */
  createApproval(request: ApprovalRequest): Promise<void>;
  getApproval(approvalId: string): Promise<ApprovalRequest | null>;
  /** Optimistic update on `version`; ConflictError when it moved. */
  updateApproval(approvalId: string, expectedVersion: number, changes: Partial<Omit<ApprovalRequest, 'approvalId' | 'version'>>): Promise<ApprovalRequest>;
  listApprovals(options?: { incidentId?: string; status?: ApprovalRequest['status']; limit?: number }): Promise<ApprovalRequest[]>;
}


export interface InstanceView {
  instanceId: string;
  state: InstanceState;
  /** null while checks are initialising; true when system and instance status are ok. */
  statusOk: boolean | null;
  /** 'impaired' etc. when a check failed. */
  statusDetail?: string;
  instanceType: string;
  imageId: string;
  subnetId?: string;
  privateIpAddress?: string;
  launchTime?: string;
  tags: Record<string, string>;
}

export interface LaunchRequest {
  imageId: string;
  instanceType: string;
  subnetId: string;
  securityGroupIds: string[];
  /** EC2 idempotency token: the same token returns the same instance on a retry. */
  clientToken: string;
  kmsKeyId?: string;
  tags: Record<string, string>;
}

/** Launch machines from recovery points (EC2 snapshots first; DRS as a second backend). */
export interface ComputeProvider {
  /** Register (or find, by name) an image from a point's snapshots. */
  registerImage(input: { name: string; snapshots: SnapshotRef[]; tags: Record<string, string> }): Promise<{ imageId: string }>;
  /** Throws ThrottledError / InsufficientCapacityError / TransientError for the launcher to handle. */
  runInstance(request: LaunchRequest): Promise<{ instanceId: string }>;
  describeInstances(instanceIds: string[]): Promise<InstanceView[]>;
  terminateInstances(instanceIds: string[]): Promise<void>;
  deregisterImage(imageId: string): Promise<void>;
  /** Everything not yet deleted that carries all these tags (instances not terminated, images). */
  findTagged(tags: Record<string, string>): Promise<{ instances: InstanceView[]; imageIds: string[] }>;
  /**
   * Crash-consistent snapshots of all of an instance's volumes (CreateSnapshots), tagged. Idempotent:
   * snapshots already carrying `tags` for this instance are returned instead of taking new ones.
   */
  snapshotInstance(instanceId: string, tags: Record<string, string>): Promise<{ snapshots: SnapshotRef[] }>;
}

export interface Notification {
  kind: 'approval-request' | 'decision' | 'escalation' | 'outcome' | 'finding' | 'drill' | 'alarm';
  incidentId?: string;
  subject: string;
  text: string;
  /** Links to pages (never containing a task token). */
  links?: { label: string; url: string }[];
  /** Person ids to reach; empty = the configured channel. */
  recipients?: string[];
}

export interface Notifier {
  send(notification: Notification): Promise<void>;
}

export type MachineKind = 'incident-response' | 'failover' | 'drill' | 'failback';

export interface WorkflowEngine {
  /** Idempotent by name: starting an existing execution with the same input returns it. */
  startExecution(input: { machine: MachineKind; name: string; input: unknown }): Promise<{ executionArn: string; alreadyStarted: boolean }>;
  sendTaskSuccess(taskToken: string, output: unknown): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
}

export interface DomainEvent {
  detailType: string;
  detail: Record<string, unknown>;
}

/** Publishes `cleanpoint` events (EventBridge PutEvents, checking FailedEntryCount). */
export interface EventPublisher {
  publish(events: DomainEvent[]): Promise<void>;
}

export type RunKind = 'incident' | 'drill' | 'failback';

/** One failover (or drill, or failback) run: what was decided and when. */
export interface Run {
  runId: string;
  kind: RunKind;
  incidentId?: string;
  mode: 'recovery' | 'test';
  createdAt: string;
  /** When the decision that started the launches was taken: RTO is measured from here. */
  decidedAt: string;
  waves: { wave: number; machines: string[] }[];
}

/** One machine of a run: the plan entry and what happened to it. */
export interface RunMachine {
  runId: string;
  machineId: string;
  group: string;
  wave: number;
  mode: 'recovery' | 'test';
  pointId: string;
  capturedAt: string;
  lossMinutes: number;
  snapshots: SnapshotRef[];
  instanceType: string | null;
  fallbackInstanceTypes: string[];
  network: { subnetId: string; securityGroupIds: string[] } | null;
  imageId?: string;
  instanceId?: string;
  instanceTypeUsed?: string;
  launchedAt?: string;
  readyAt?: string;
  failedAt?: string;
  error?: string;
  throttledRetries?: number;
  /**
   * When a later decision (a re-proposal after new evidence, a re-infection) approved another
   * point for this machine: that decision's time (RTO is measured from it).
   */
  decidedAt?: string;
  /** Earlier points (and instances, if launched) this machine was re-planned away from, oldest first. */
  replaced?: { pointId: string; capturedAt: string; instanceId: string | null; at: string; why: string }[];
}

/**
 * Per-run and per-machine records. Large results live here, not in workflow state (Step
 * Functions payloads are limited to 256 KiB).
 */
export interface RunStore {
  /** Idempotent: re-creating an existing run leaves it (and its machines' progress) unchanged. */
  createRun(run: Run, machines: RunMachine[]): Promise<{ created: boolean }>;
  getRun(runId: string): Promise<Run | null>;
  getMachine(runId: string, machineId: string): Promise<RunMachine | null>;
  updateMachine(runId: string, machineId: string, changes: Partial<Omit<RunMachine, 'runId' | 'machineId'>>): Promise<RunMachine>;
  listMachines(runId: string): Promise<RunMachine[]>;
  /** The proposal shown to deciders (selection + plan), one per incident, replaced on re-selection. */
  saveProposal(incidentId: string, proposal: StoredProposal): Promise<void>;
  getProposal(incidentId: string): Promise<StoredProposal | null>;
}

export interface StoredProposal {
  incidentId: string;
  createdAt: string;
  cutoff: string;
  groupCutoffs?: Record<string, string>;
  /**
   * The incident's cutoff per group when the points were selected: evidence that moves one
   * earlier afterwards makes this proposal out of date before anybody is asked.
   */
  basis?: Record<string, string>;
  selection: Selection;
  plan: FailoverPlan;
  /** Malware scans of the chosen points (scan before launch, docs/scanning.md), by machine id. */
  scans?: Record<string, PointScan>;
  /** When the first scan of this proposal started: the scan budget is counted from here. */
  scansStartedAt?: string;
}

export type { ScanStatus, ScanResult, ScanThreat, PointScan } from '../recovery-points/model.ts';

export interface SnapshotInfo {
  snapshotId: string;
  state: 'pending' | 'completed' | 'error' | 'recoverable' | 'recovering';
  startTime: string;
  volumeId?: string;
  volumeSize?: number;
  tags: Record<string, string>;
}

/** Looks up snapshot metadata (tags, start time) that EBS notifications do not carry. */
export interface SnapshotDirectory {
  describeSnapshots(snapshotIds: string[]): Promise<SnapshotInfo[]>;
}

/**
 * Drill records (`DRILL#<drillId>` / `META`, listed per group newest first) and per-group drill
 * status (`GROUP#<group>` / `DRILLS`, next to the incident lock) in the state table.
 */
export interface DrillStore {
  /** Conditional create; an existing drill is returned unchanged (`created: false`). */
  createDrill(drill: Drill): Promise<{ created: boolean; drill: Drill }>;
  getDrill(drillId: string): Promise<Drill | null>;
  /**
   * Set the given attributes (`undefined` removes one). NotFoundError when the drill does not
   * exist; ConflictError when `ifStatusIn` is given and the stored status is not among them.
   */
  updateDrill(
    drillId: string,
    changes: Partial<Omit<Drill, 'drillId' | 'group' | 'startedAt'>>,
    options?: { ifStatusIn?: DrillStatus[] },
  ): Promise<Drill>;
  /** A group's drills, newest (startedAt) first. */
  listDrills(group: string, options?: { limit?: number }): Promise<Drill[]>;
  getGroupStatus(group: string): Promise<GroupDrillStatus | null>;
  /** Replace the group's drill status (read-modify-write by its only writers: finish-drill and the scheduler). */
  putGroupStatus(status: GroupDrillStatus): Promise<void>;
}

/**
 * Runs one acceptance-check probe from inside a drill's isolated test network (SSM Run Command
 * on AWS; simulated locally). Resolves with what was seen; rejects only when the probe could
 * not be run at all (the caller retries until the check's timeout).
 */
export interface AcceptanceChecker {
  probe(request: ProbeRequest): Promise<ProbeResult>;
}

// ---------------------------------------------------------------------------------------------
// Protection: coverage, RPO monitoring, readiness (docs/readiness.md)

/** The result of a check that may be impossible to make: true, false, or null = could not be verified. */
export interface CheckOutcome {
  ok: boolean | null;
  detail: string;
}

export type RouteTargetKind =
  | 'local' | 'internet-gateway' | 'egress-only-internet-gateway' | 'nat-gateway' | 'vpc-peering' | 'transit-gateway'
  | 'virtual-private-gateway' | 'vpc-endpoint' | 'instance' | 'network-interface' | 'carrier-gateway' | 'local-gateway' | 'other';

export interface RouteFact {
  /** CIDR or prefix list. */
  destination: string;
  /** The target's id (`local`, `igw-…`, `nat-…`, `pcx-…`, …). */
  target: string;
  kind: RouteTargetKind;
}

/** What EC2 knows about the subnets and security groups asked for; missing ones are simply absent. */
export interface NetworkFacts {
  subnets: { subnetId: string; vpcId: string; availableIpAddressCount?: number }[];
  securityGroups: { groupId: string; vpcId: string }[];
  /** Routes of each existing subnet's route table (its explicit association, else its VPC's main table). */
  routes: Record<string, RouteFact[]>;
}

/**
 * The environment a recovery needs, read-only: the instances that exist, the networks, the
 * instance quota, and the account-level prerequisites (the KMS key, the e-mail sender).
 */
export interface RecoveryEnvironment {
  /** Instances carrying `tagKey` (any value) and not terminated, plus those of `instanceIds` that EC2 still knows (any state). */
  findInstances(query: { tagKey: string; instanceIds: string[] }): Promise<ObservedInstance[]>;
  describeNetworks(query: { subnetIds: string[]; securityGroupIds: string[] }): Promise<NetworkFacts>;
  /** The account's instance limit and the instances pending or running now. */
  instanceQuota(): Promise<{ maxInstances: number; running: number }>;
  /** Can recovery volumes be encrypted with this key (enabled, usable by EC2)? */
  keyStatus(keyId: string): Promise<CheckOutcome>;
  /** Can notifications be e-mailed (the sender identity verified)? */
  emailSenderStatus(): Promise<CheckOutcome>;
}

/**
 * Protection state in the state table: RPO breach state per machine (`RPO#<machineId>` / `STATE`,
 * conditional writes so each transition is announced once), achieved-RPO history per group
 * (`RPO#GROUP#<group>` / `HISTORY`, a bounded list), the latest readiness report per group
 * (`READINESS#<group>` / `LATEST`) and the latest coverage report (`COVERAGE` / `LATEST`).
 */
export interface ProtectionStore {
  getRpoState(machineId: string): Promise<RpoState | null>;
  /** Every machine's RPO state (the console's breach badges). */
  listRpoStates(): Promise<RpoState[]>;
  /**
   * Open a breach unless one is open: `opened` is true only for the call whose conditional write
   * took effect. Sets a pending start notice.
   */
  openRpoBreach(machineId: string, breach: { group: string; since: string; reason: string; last: NonNullable<RpoState['last']> }): Promise<{ opened: boolean }>;
  /** Close the open breach: `closed` is true only for the call that closed it. Sets a pending end notice. */
  closeRpoBreach(machineId: string, end: { group: string; endedAt: string; last: NonNullable<RpoState['last']> }): Promise<{ closed: boolean }>;
  /** Record an observation without a transition (creates the state when there is none). */
  observeRpo(machineId: string, observation: { group: string; last: NonNullable<RpoState['last']>; reason?: string }): Promise<void>;
  /** Record a DRS stall change at `at`; false (nothing changed) when a later change is already recorded. */
  setReplicationStalled(machineId: string, change: { group: string; stalled: boolean; at: string }): Promise<boolean>;
  /** The notice set at `noticeAt` went out. */
  markRpoNoticeSent(machineId: string, noticeAt: string): Promise<void>;
  /** Take over the unsent notice set at `noticeAt` (re-dated `at`): true for exactly one caller. */
  claimRpoNotice(machineId: string, noticeAt: string, at: string): Promise<boolean>;
  /** Append a sample unless the last one is younger than `minIntervalMs`; keeps the newest `keep`. */
  appendRpoSample(group: string, sample: RpoSample, options: { keep: number; minIntervalMs: number }): Promise<boolean>;
  /** Oldest first. */
  getRpoHistory(group: string): Promise<RpoSample[]>;
  /** Replace the group's latest readiness report; returns the one it replaced. */
  putReadiness(report: GroupReadiness): Promise<{ previous: GroupReadiness | null }>;
  getReadiness(group: string): Promise<GroupReadiness | null>;
  /**
   * Record a coverage report: `changed` only for the call that stored a fingerprint different from
   * the last one; `first` when there was no report before.
   */
  recordCoverage(report: CoverageReport & { fingerprint: string }): Promise<{ changed: boolean; first: boolean }>;
  getCoverage(): Promise<(CoverageReport & { fingerprint: string }) | null>;
}

// ---------------------------------------------------------------------------------------------
// Scan before launch (docs/scanning.md)

/**
 * Malware scans of a recovery point's snapshots (GuardDuty Malware Protection on AWS; a
 * simulator locally). One scan id per point, however many snapshots it has.
 */
export interface MalwareScanner {
  /** Throws ThrottledError / TransientError (retry), Error (e.g. the scanner role is not allowed). */
  startScan(input: {
    machineId: string; pointId: string; snapshotIds: string[];
    /** Same key, same scan: a retried task does not start a second one (GuardDuty clientToken). */
    idempotencyKey?: string;
  }): Promise<{ scanId: string }>;
  getScan(scanId: string): Promise<{ status: ScanStatus; result?: ScanResult; threats: ScanThreat[]; reason?: string }>;
}

/**
 * Reverse lookup of the catalogue: the points that contain a snapshot. Malware-scan verdicts
 * name a snapshot (or an AMI / AWS Backup recovery point that resolves to snapshots), never a
 * catalogue point, so they are mapped through this.
 */
export interface RecoveryPointSnapshotIndex {
  /**
   * Every point, of any machine, whose `snapshots` include `snapshotId`, as the catalogue holds
   * it now (ordered by machineId, then capturedAt, then pointId); [] when none does.
   */
  findPointsBySnapshot(snapshotId: string): Promise<RecoveryPoint[]>;
}

/** The EBS snapshots behind an AMI's block devices (EC2 DescribeImages, read-only). */
export interface ImageDirectory {
  /** Snapshot ids of the image's EBS block devices, or null when the image does not exist (any more). */
  imageSnapshots(imageId: string): Promise<string[] | null>;
}
