/**
 * Ports: what the domain needs from the world. Adapters in functions/shared/ implement them
 * against AWS (DynamoDB, EC2, Step Functions, EventBridge, SES, Slack); in-memory fakes
 * implement them for unit tests; the contract suite runs one set of tests against both.
 */
import type { ApprovalRequest } from './approval.ts';
import type { Finding } from './finding.ts';
import type { Incident } from './incident.ts';
import type { RecoveryPoint, SnapshotRef } from './recovery-points.ts';

export type { Clock } from './clock.ts';
export type { RecoveryPointCatalog } from './recovery-points.ts';

/** Write side of the catalogue (fed by EBS/DRS events and reconciliation). */
export interface RecoveryPointWriter {
  /**
   * Insert or update one point (idempotent by machineId + pointId). Keeps `nextCapturedAt`
   * of the neighbouring points current so a reader never needs a second query.
   */
  putPoint(point: RecoveryPoint): Promise<void>;
  /** Change status/scan (e.g. quarantine after a malware scan). */
  markPoint(machineId: string, pointId: string, change: Partial<Pick<RecoveryPoint, 'status' | 'scan'>>): Promise<void>;
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

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

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
  selection: import('./recovery-points.ts').Selection;
  plan: import('./plan.ts').FailoverPlan;
}

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
  createDrill(drill: import('./drills.ts').Drill): Promise<{ created: boolean; drill: import('./drills.ts').Drill }>;
  getDrill(drillId: string): Promise<import('./drills.ts').Drill | null>;
  /**
   * Set the given attributes (`undefined` removes one). NotFoundError when the drill does not
   * exist; ConflictError when `ifStatusIn` is given and the stored status is not among them.
   */
  updateDrill(
    drillId: string,
    changes: Partial<Omit<import('./drills.ts').Drill, 'drillId' | 'group' | 'startedAt'>>,
    options?: { ifStatusIn?: import('./drills.ts').DrillStatus[] },
  ): Promise<import('./drills.ts').Drill>;
  /** A group's drills, newest (startedAt) first. */
  listDrills(group: string, options?: { limit?: number }): Promise<import('./drills.ts').Drill[]>;
  getGroupStatus(group: string): Promise<import('./drills.ts').GroupDrillStatus | null>;
  /** Replace the group's drill status (read-modify-write by its only writers: finish-drill and the scheduler). */
  putGroupStatus(status: import('./drills.ts').GroupDrillStatus): Promise<void>;
}

/**
 * Runs one acceptance-check probe from inside a drill's isolated test network (SSM Run Command
 * on AWS; simulated locally). Resolves with what was seen; rejects only when the probe could
 * not be run at all (the caller retries until the check's timeout).
 */
export interface AcceptanceChecker {
  probe(request: import('./acceptance-checks.ts').ProbeRequest): Promise<import('./acceptance-checks.ts').ProbeResult>;
}
