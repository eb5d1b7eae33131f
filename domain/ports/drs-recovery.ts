import { DRS_SOURCE_SERVER_ID, ValidationError, type Issue } from '../shared/index.ts';

/**
 * AWS Elastic Disaster Recovery (DRS) as a launch backend: what the domain needs from it
 * (issue 17). DRS replicates a source server continuously and keeps point-in-time (PIT)
 * snapshots of it; a recovery or drill job converts the chosen PIT's disks so they boot on EC2
 * and launches a "recovery instance" (a DRS resource wrapping one EC2 instance).
 *
 * The one rule every implementation applies: a recovery never starts without an explicit
 * point. Without `recoverySnapshotID` DRS takes a fresh snapshot of the latest data, which in a
 * ransomware recovery is the encrypted data. `StartDrsRecoveryRequest` makes the point id
 * required and `checkStartDrsRecovery` refuses a request that lacks one at run time too (a cast,
 * an `undefined` read from a record) before anything is sent.
 *
 * Not yet used by selection, plan, launch or drills: functions/shared/adapters/drs.ts
 * implements it; the wiring is the next step (docs/drs.md).
 */

/**
 * DRS's documented quotas for recovery jobs (issue 17's summary of the DRS quotas page; the API
 * itself accepts up to 200 servers in one StartRecovery call). The plan batches within them.
 */
export const DRS_MAX_SERVERS_PER_JOB = 100;
export const DRS_MAX_CONCURRENT_JOBS = 20;
export const DRS_MAX_SERVERS_IN_ACTIVE_JOBS = 500;
/** StartRecovery's own array limit (API reference: sourceServers, 1 to 200 items). */
export const DRS_START_RECOVERY_API_MAX = 200;

/** A PIT snapshot id as DRS returns it (`pit-` and 17 hex digits). */
export const DRS_RECOVERY_SNAPSHOT_ID = /^pit-[0-9a-f]{17}$/;

export interface DrsRecoverySnapshot {
  snapshotId: string;
  sourceServerId: string;
  /** When DRS scheduled the point (epoch ms). */
  expectedAt: number;
  /** When it was actually taken (epoch ms), once it has been. */
  takenAt?: number;
  ebsSnapshotIds: string[];
}

export interface DrsRecoveryServer {
  sourceServerId: string;
  /** The chosen PIT. Required: there is deliberately no way to say "latest data". */
  recoverySnapshotId: string;
}

export interface StartDrsRecoveryRequest {
  servers: DrsRecoveryServer[];
  /** Test mode: a drill. */
  isDrill: boolean;
  /** Tags DRS puts on the job (Cleanpoint's incident/drill tags). */
  tags: Record<string, string>;
}

export type DrsJobStatus = 'PENDING' | 'STARTED' | 'COMPLETED';
export type DrsLaunchStatus = 'PENDING' | 'IN_PROGRESS' | 'LAUNCHED' | 'FAILED' | 'TERMINATED';

export interface DrsJob {
  jobId: string;
  status: DrsJobStatus;
  /** LAUNCH, TERMINATE or CREATE_CONVERTED_SNAPSHOT. */
  type: string;
  /** START_RECOVERY, START_DRILL, TERMINATE_RECOVERY_INSTANCES, FAILBACK, ... */
  initiatedBy: string;
  createdAt?: number;
  endedAt?: number;
  tags: Record<string, string>;
  servers: Array<{ sourceServerId: string; launchStatus: DrsLaunchStatus | string; recoveryInstanceId?: string }>;
}

export interface DrsJobLogItem {
  at: number;
  /** JOB_START, SNAPSHOT_START, CONVERSION_START, CONVERSION_END, CONVERSION_FAIL, LAUNCH_START, LAUNCH_FAILED, JOB_END, ... */
  event: string;
  sourceServerId?: string;
  conversionServerId?: string;
  targetInstanceId?: string;
  /** DRS's raw error text for a failure event, shown as is in the incident timeline. */
  rawError?: string;
}

export interface DrsRecoveryInstance {
  recoveryInstanceId: string;
  sourceServerId: string;
  ec2InstanceId?: string;
  ec2InstanceState?: string;
  jobId?: string;
  isDrill: boolean;
  /** The PIT it was launched from (epoch ms), as DRS reports it. */
  pointInTimeAt?: number;
  tags: Record<string, string>;
}

export interface DrsSourceServerState {
  sourceServerId: string;
  /** CONTINUOUS, STALLED, DISCONNECTED, INITIATING, PAUSED, STOPPED, BACKLOG, ... */
  replicationState: string;
  /** Replication lag in seconds, parsed from DRS's ISO-8601 duration (absent when DRS gives none). */
  lagSeconds?: number;
  /** The last launch DRS knows of: RECOVERY or DRILL (also those started outside Cleanpoint). */
  lastLaunch?: { type: string; jobId?: string; at?: number; status?: string };
  tags: Record<string, string>;
}

export interface DrsJobUsage {
  /** Jobs not COMPLETED, in the whole account and Region (also those Cleanpoint did not start). */
  activeJobs: number;
  /** Servers taking part in those jobs. */
  serversInActiveJobs: number;
  jobs: DrsJob[];
}

export interface DrsRecoveryService {
  /** PIT snapshots of one server in [from, to] (epoch ms, both optional), newest first unless `order` says ASC. */
  listRecoverySnapshots(sourceServerId: string, window?: { from?: number; to?: number }, order?: 'ASC' | 'DESC'): Promise<DrsRecoverySnapshot[]>;
  /** The newest PIT taken at or before `cutoff`: one descending page of one item. */
  latestSnapshotBefore(sourceServerId: string, cutoff: number): Promise<DrsRecoverySnapshot | undefined>;
  /** Start a recovery (or drill) job; refuses a request without a point per server (checkStartDrsRecovery). */
  startRecovery(request: StartDrsRecoveryRequest): Promise<DrsJob>;
  describeJobs(filter?: { jobIds?: string[]; from?: number; to?: number }): Promise<DrsJob[]>;
  /** What counts against the concurrent-jobs and servers-in-active-jobs quotas right now. */
  activeJobUsage(): Promise<DrsJobUsage>;
  jobLogItems(jobId: string): Promise<DrsJobLogItem[]>;
  describeRecoveryInstances(filter?: { recoveryInstanceIds?: string[]; sourceServerIds?: string[] }): Promise<DrsRecoveryInstance[]>;
  /** Terminate recovery instances (drill cleanup): DRS terminates their EC2 instances too. */
  terminateRecoveryInstances(recoveryInstanceIds: string[]): Promise<DrsJob>;
  describeSourceServers(sourceServerIds?: string[]): Promise<DrsSourceServerState[]>;
}

/**
 * The checks a StartRecovery request must pass before it is sent: 1 to DRS_MAX_SERVERS_PER_JOB
 * servers, each a valid source server id once, each with a PIT id. Throws ValidationError
 * naming every problem.
 */
export function checkStartDrsRecovery(request: StartDrsRecoveryRequest): void {
  const issues: Issue[] = [];
  const servers: unknown = (request as { servers?: unknown })?.servers;
  if (!Array.isArray(servers) || servers.length === 0) {
    issues.push({ path: 'servers', message: 'at least one source server is required' });
  } else {
    if (servers.length > DRS_MAX_SERVERS_PER_JOB) {
      issues.push({ path: 'servers', message: `${servers.length} servers in one job; DRS allows at most ${DRS_MAX_SERVERS_PER_JOB} per job: split them into several jobs` });
    }
    const seen = new Set<string>();
    servers.forEach((s: unknown, i) => {
      const server = (s ?? {}) as Partial<DrsRecoveryServer>;
      const id = server.sourceServerId;
      if (typeof id !== 'string' || !DRS_SOURCE_SERVER_ID.pattern.test(id)) {
        issues.push({ path: `servers[${i}].sourceServerId`, message: `must be a DRS source server id like ${DRS_SOURCE_SERVER_ID.example}` });
      } else if (seen.has(id)) {
        issues.push({ path: `servers[${i}].sourceServerId`, message: `source server ${id} is listed twice` });
      } else {
        seen.add(id);
      }
      const point = server.recoverySnapshotId;
      if (typeof point !== 'string' || point === '') {
        issues.push({ path: `servers[${i}].recoverySnapshotId`, message: 'a chosen point-in-time snapshot is required: without one DRS would launch from the latest (possibly compromised) data' });
      } else if (!DRS_RECOVERY_SNAPSHOT_ID.test(point)) {
        issues.push({ path: `servers[${i}].recoverySnapshotId`, message: `must be a DRS point-in-time snapshot id like pit-0123456789abcdef0 (got ${JSON.stringify(point.slice(0, 40))})` });
      }
    });
  }
  if (typeof (request as { isDrill?: unknown })?.isDrill !== 'boolean') issues.push({ path: 'isDrill', message: 'must say whether this is a drill (true) or a recovery (false)' });
  if (issues.length > 0) throw new ValidationError('DRS StartRecovery request', issues);
}
