import { createHash } from 'node:crypto';
import {
  ConflictException, DrsServiceException, ResourceNotFoundException, ServiceQuotaExceededException, ThrottlingException, ValidationException,
} from '@aws-sdk/client-drs';
import { z } from 'zod';
import type { Clock } from '../../domain/shared/index.ts';
import type { Ec2Simulator } from '../ec2-sim/index.ts';
import { attachEmulator } from '../sdk-emulator.ts';

/**
 * An in-memory AWS Elastic Disaster Recovery (one account, one Region) that the real DrsClient
 * talks to through `attachDrsSimulator`, on the injected (virtual) clock. Everything time-driven
 * (PIT snapshots, job progress, recovery instances) is derived from the clock when a call comes
 * in, so a test moves time and reads the result. Recovery instances are real instances of the
 * EC2 simulator given at construction (its TerminateInstances terminates them too).
 *
 * What it follows from AWS's documentation (docs/drs.md cites it): StartRecovery takes 1-200
 * servers, and without `recoverySnapshotID` takes an on-demand snapshot of the latest data
 * (accepted, as DRS does; counted in `stats().onDemandSnapshots` so tests can require zero);
 * the job quotas (100 servers per job, 20 concurrent jobs, 500 servers in all active jobs,
 * one active job per server) refused with ServiceQuotaExceededException / ConflictException;
 * the PIT policy (rules of interval + retention in MINUTE/HOUR/DAY; default every 10 minutes
 * for an hour, hourly for a day, daily for 7 days); Describe* paging with maxResults 1-1000 and
 * nextToken; throttling as 429 ThrottlingException with Retry-After. Not modelled: launch
 * configuration and templates, failback, source networks, launch actions, persistence.
 */

export interface PitRule { interval: number; retentionDuration: number; units: 'MINUTE' | 'HOUR' | 'DAY' }
export const DEFAULT_PIT_POLICY: PitRule[] = [
  { interval: 10, retentionDuration: 60, units: 'MINUTE' },
  { interval: 1, retentionDuration: 24, units: 'HOUR' },
  { interval: 1, retentionDuration: 7, units: 'DAY' },
];
const UNIT_MS = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 } as const;

export const drsFaultsSchema = z.strictObject({
  /** Conversion of these source servers fails (CONVERSION_FAIL, launchStatus FAILED). */
  conversionFailures: z.array(z.string()).optional(),
  /** Their EC2 launch fails after conversion (LAUNCH_FAILED). */
  launchFailures: z.array(z.string()).optional(),
  /** Replication of these servers is STALLED from now on: no new PIT snapshots, lag grows. */
  stalledReplication: z.array(z.string()).optional(),
  /** The next N calls are throttled (429, Retry-After `retryAfterSeconds`, default 5). */
  throttleNextCalls: z.number().int().nonnegative().optional(),
  retryAfterSeconds: z.number().int().positive().optional(),
});
export type DrsFaults = z.infer<typeof drsFaultsSchema>;

export interface DrsSimulatorOptions {
  clock: Clock;
  ec2: Ec2Simulator;
  accountId?: string;
  region?: string;
  /** Per-server phases of a recovery job (defaults: job starts after 5 s, 15 min conversion). */
  jobStartMs?: number;
  conversionMs?: number;
  onDemandSnapshotMs?: number;
  /** Quotas (defaults: DRS's). */
  maxServersPerJob?: number;
  maxConcurrentJobs?: number;
  maxServersInActiveJobs?: number;
  faults?: DrsFaults;
}

export interface SeedSourceServerOptions {
  sourceServerId?: string;
  hostname?: string;
  /** When replication became continuous (default: 8 days ago: a full PIT history). */
  replicatingSince?: number;
  pitPolicy?: PitRule[];
  /** Where its recovery instance is launched (the launch template's subnet). */
  subnetId: string;
  securityGroupIds?: string[];
  instanceType?: string;
  tags?: Record<string, string>;
}

interface ServerRecord extends Required<Omit<SeedSourceServerOptions, 'sourceServerId' | 'hostname' | 'tags'>> {
  sourceServerId: string;
  hostname: string;
  tags: Record<string, string>;
  stalledAt?: number;
  lastLaunch?: { type: 'RECOVERY' | 'DRILL'; jobId: string; at: number };
}

type Phase = 'PENDING' | 'IN_PROGRESS' | 'LAUNCHED' | 'FAILED' | 'TERMINATED';
interface JobServer { sourceServerId: string; pointAt: number; snapshotMs: number; launchStatus: Phase; recoveryInstanceId?: string; failure?: 'conversion' | 'launch' }
interface JobRecord {
  jobId: string; type: 'LAUNCH' | 'TERMINATE'; initiatedBy: string; createdAt: number; endedAt?: number; isDrill: boolean;
  tags: Record<string, string>; servers: JobServer[]; log: Array<{ at: number; event: string; eventData: Record<string, string> }>;
}
interface RecoveryInstanceRecord { recoveryInstanceId: string; sourceServerId: string; jobId: string; isDrill: boolean; pointAt: number; tags: Record<string, string>; terminated: boolean }

const hex17 = (seed: string) => createHash('sha256').update(seed).digest('hex').slice(0, 17);
const isoOf = (ms: number) => new Date(ms).toISOString();

export class DrsSimulator {
  readonly clock: Clock;
  readonly accountId: string;
  readonly region: string;
  private readonly ec2: Ec2Simulator;
  private readonly settings: { jobStartMs: number; conversionMs: number; onDemandSnapshotMs: number; maxServersPerJob: number; maxConcurrentJobs: number; maxServersInActiveJobs: number };
  private faults: DrsFaults = {};
  private readonly servers = new Map<string, ServerRecord>();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly instances = new Map<string, RecoveryInstanceRecord>();
  private counter = 0;
  private readonly counts = { requests: 0, throttled: 0, onDemandSnapshots: 0, startRecovery: 0 };

  constructor(options: DrsSimulatorOptions) {
    this.clock = options.clock;
    this.ec2 = options.ec2;
    this.accountId = options.accountId ?? '123456789012';
    this.region = options.region ?? 'us-east-1';
    this.settings = {
      jobStartMs: options.jobStartMs ?? 5_000,
      conversionMs: options.conversionMs ?? 15 * 60_000,
      onDemandSnapshotMs: options.onDemandSnapshotMs ?? 60_000,
      maxServersPerJob: options.maxServersPerJob ?? 100,
      maxConcurrentJobs: options.maxConcurrentJobs ?? 20,
      maxServersInActiveJobs: options.maxServersInActiveJobs ?? 500,
    };
    if (options.faults) this.setFaults(options.faults);
  }

  setFaults(faults: DrsFaults): void {
    this.faults = drsFaultsSchema.parse(faults);
    const now = this.clock.now();
    for (const id of this.faults.stalledReplication ?? []) {
      const s = this.servers.get(id);
      if (s && s.stalledAt === undefined) s.stalledAt = now;
    }
  }

  stats() {
    return { ...this.counts };
  }

  seedSourceServer(options: SeedSourceServerOptions): string {
    const id = options.sourceServerId ?? `s-${hex17(`server-${++this.counter}`)}`;
    this.servers.set(id, {
      sourceServerId: id,
      hostname: options.hostname ?? id,
      replicatingSince: options.replicatingSince ?? this.clock.now() - 8 * UNIT_MS.DAY,
      pitPolicy: options.pitPolicy ?? DEFAULT_PIT_POLICY,
      subnetId: options.subnetId,
      securityGroupIds: options.securityGroupIds ?? [],
      instanceType: options.instanceType ?? 't3.medium',
      tags: { ...(options.tags ?? {}) },
    });
    return id;
  }

  /** Times (epoch ms) of the server's PIT snapshots that exist now, oldest first. */
  pointTimes(server: ServerRecord, now: number): number[] {
    const last = Math.min(now, server.stalledAt ?? now);
    const times = new Set<number>();
    for (const rule of server.pitPolicy) {
      const step = rule.interval * UNIT_MS[rule.units];
      const keepFrom = now - rule.retentionDuration * UNIT_MS[rule.units];
      for (let t = Math.floor(last / step) * step; t >= keepFrom && t >= server.replicatingSince; t -= step) times.add(t);
    }
    return [...times].sort((a, b) => a - b);
  }

  private pointId(serverId: string, at: number): string {
    return `pit-${hex17(`${serverId}@${at}`)}`;
  }

  /** Run one DRS command as the middleware does. Rejects with DRS-shaped errors. */
  async execute(command: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const name = command.replace(/Command$/, '');
    this.counts.requests++;
    if ((this.faults.throttleNextCalls ?? 0) > 0) {
      this.faults.throttleNextCalls! -= 1;
      this.counts.throttled++;
      const seconds = this.faults.retryAfterSeconds ?? 5;
      throw new ThrottlingException({ message: 'Rate exceeded', retryAfterSeconds: String(seconds), $metadata: { httpStatusCode: 429 } });
    }
    this.advance();
    switch (name) {
      case 'DescribeRecoverySnapshots': return this.describeRecoverySnapshots(input);
      case 'StartRecovery': return this.startRecovery(input);
      case 'DescribeJobs': return this.describeJobs(input);
      case 'DescribeJobLogItems': return this.describeJobLogItems(input);
      case 'DescribeRecoveryInstances': return this.describeRecoveryInstances(input);
      case 'TerminateRecoveryInstances': return this.terminateRecoveryInstances(input);
      case 'DescribeSourceServers': return this.describeSourceServers(input);
      default:
        throw new DrsServiceException({ name: 'UnsupportedOperation', $fault: 'client', message: `The Cleanpoint DRS simulator does not implement ${name}`, $metadata: { httpStatusCode: 400 } });
    }
  }

  // ---- time: move every job to where the clock says it is ----

  private advance(): void {
    const now = this.clock.now();
    for (const job of this.jobs.values()) {
      if (job.endedAt !== undefined || job.type !== 'LAUNCH') continue;
      const started = job.createdAt + this.settings.jobStartMs;
      if (now < started) continue;
      if (!job.log.some((l) => l.event === 'JOB_START')) job.log.push({ at: started, event: 'JOB_START', eventData: {} });
      for (const s of job.servers) {
        if (s.launchStatus === 'LAUNCHED' || s.launchStatus === 'FAILED') continue;
        const ev = (at: number, event: string, extra: Record<string, string> = {}) => job.log.push({ at, event, eventData: { sourceServerID: s.sourceServerId, ...extra } });
        s.launchStatus = 'IN_PROGRESS';
        const convStart = started + s.snapshotMs;
        const convEnd = convStart + this.settings.conversionMs;
        if (s.snapshotMs > 0 && !job.log.some((l) => l.event === 'SNAPSHOT_START' && l.eventData['sourceServerID'] === s.sourceServerId)) {
          ev(started, 'SNAPSHOT_START'); ev(convStart, 'SNAPSHOT_END');
        }
        if (now < convStart) continue;
        if (!job.log.some((l) => l.event === 'CONVERSION_START' && l.eventData['sourceServerID'] === s.sourceServerId)) ev(convStart, 'CONVERSION_START', { conversionServerID: `i-${hex17(`conv-${job.jobId}-${s.sourceServerId}`)}` });
        if (now < convEnd) continue;
        if (s.failure === 'conversion') {
          ev(convEnd, 'CONVERSION_FAIL', { rawError: 'Failed to convert the replicated disks: the boot volume has no supported boot loader (simulated)' });
          s.launchStatus = 'FAILED';
          continue;
        }
        ev(convEnd, 'CONVERSION_END');
        ev(convEnd, 'LAUNCH_START');
        if (s.failure === 'launch') {
          ev(convEnd, 'LAUNCH_FAILED', { rawError: 'Failed to launch the recovery instance: InsufficientInstanceCapacity (simulated)' });
          s.launchStatus = 'FAILED';
          continue;
        }
        const server = this.servers.get(s.sourceServerId)!;
        const instanceId = this.ec2.seedInstance({
          subnetId: server.subnetId, securityGroupIds: server.securityGroupIds, instanceType: server.instanceType, launchedAt: convEnd,
          tags: { ...job.tags, AWSElasticDisasterRecoveryManaged: 'drs.amazonaws.com', AWSElasticDisasterRecoverySourceServerID: s.sourceServerId, Name: server.hostname },
        });
        // A recovery instance's id is its EC2 instance's id, as in DRS's responses.
        s.recoveryInstanceId = instanceId;
        s.launchStatus = 'LAUNCHED';
        this.instances.set(instanceId, { recoveryInstanceId: instanceId, sourceServerId: s.sourceServerId, jobId: job.jobId, isDrill: job.isDrill, pointAt: s.pointAt, tags: { ...job.tags }, terminated: false });
      }
      if (job.servers.every((s) => s.launchStatus === 'LAUNCHED' || s.launchStatus === 'FAILED')) {
        const end = Math.max(...job.log.map((l) => l.at));
        job.log.push({ at: end, event: 'JOB_END', eventData: {} });
        job.endedAt = end;
      }
    }
  }

  private status(job: JobRecord): 'PENDING' | 'STARTED' | 'COMPLETED' {
    if (job.endedAt !== undefined) return 'COMPLETED';
    return this.clock.now() < job.createdAt + this.settings.jobStartMs ? 'PENDING' : 'STARTED';
  }

  private activeJobs(): JobRecord[] {
    return [...this.jobs.values()].filter((j) => this.status(j) !== 'COMPLETED');
  }

  // ---- commands ----

  private server(id: unknown): ServerRecord {
    const s = typeof id === 'string' ? this.servers.get(id) : undefined;
    if (!s) throw new ResourceNotFoundException({ message: `Source server ${String(id)} not found`, resourceId: String(id), resourceType: 'SOURCE_SERVER', $metadata: { httpStatusCode: 404 } });
    return s;
  }

  private page<T>(items: T[], input: Record<string, unknown>): { items: T[]; nextToken?: string } {
    const max = input['maxResults'] === undefined ? 1000 : Number(input['maxResults']);
    if (!Number.isInteger(max) || max < 1 || max > 1000) throw validation(`maxResults must be between 1 and 1000 (got ${String(input['maxResults'])})`);
    const start = typeof input['nextToken'] === 'string' ? Number(Buffer.from(input['nextToken'], 'base64url').toString()) : 0;
    if (!Number.isInteger(start) || start < 0) throw validation('nextToken is not valid');
    const slice = items.slice(start, start + max);
    return start + max < items.length ? { items: slice, nextToken: Buffer.from(String(start + max)).toString('base64url') } : { items: slice };
  }

  private describeRecoverySnapshots(input: Record<string, unknown>) {
    const server = this.server(input['sourceServerID']);
    const filters = (input['filters'] ?? {}) as { fromDateTime?: string; toDateTime?: string };
    const from = filters.fromDateTime ? Date.parse(filters.fromDateTime) : -Infinity;
    const to = filters.toDateTime ? Date.parse(filters.toDateTime) : Infinity;
    const order = input['order'] ?? 'ASC';
    if (order !== 'ASC' && order !== 'DESC') throw validation(`order must be ASC or DESC (got ${String(order)})`);
    let times = this.pointTimes(server, this.clock.now()).filter((t) => t >= from && t <= to);
    if (order === 'DESC') times = times.reverse();
    return this.page(times.map((t) => ({
      snapshotID: this.pointId(server.sourceServerId, t), sourceServerID: server.sourceServerId, expectedTimestamp: isoOf(t), timestamp: isoOf(t + 2_000),
      ebsSnapshots: [`snap-${hex17(`ebs-${server.sourceServerId}-${t}`)}`],
    })), input);
  }

  private startRecovery(input: Record<string, unknown>) {
    const list = input['sourceServers'];
    // The API's own bound (1-200 items) comes before the service quota (100 per job).
    if (!Array.isArray(list) || list.length < 1 || list.length > 200) throw validation('sourceServers must have between 1 and 200 items');
    const now = this.clock.now();
    const requested = list as Array<{ sourceServerID?: string; recoverySnapshotID?: string }>;
    if (requested.length > this.settings.maxServersPerJob) {
      throw quota(`A job can include at most ${this.settings.maxServersPerJob} source servers (requested ${requested.length})`, 'MAX_SOURCE_SERVERS_PER_JOB');
    }
    const active = this.activeJobs();
    if (active.length >= this.settings.maxConcurrentJobs) throw quota(`At most ${this.settings.maxConcurrentJobs} jobs can run at the same time`, 'MAX_CONCURRENT_JOBS');
    const busy = active.reduce((n, j) => n + j.servers.length, 0);
    if (busy + requested.length > this.settings.maxServersInActiveJobs) {
      throw quota(`At most ${this.settings.maxServersInActiveJobs} source servers can take part in active jobs (${busy} already do)`, 'MAX_SOURCE_SERVERS_IN_ACTIVE_JOBS');
    }
    const inJob = new Set(active.flatMap((j) => j.servers.map((s) => s.sourceServerId)));
    const servers: JobServer[] = requested.map((r) => {
      const server = this.server(r.sourceServerID);
      if (inJob.has(server.sourceServerId)) {
        throw new ConflictException({ message: `Source server ${server.sourceServerId} is already part of an active job`, resourceId: server.sourceServerId, resourceType: 'SOURCE_SERVER', $metadata: { httpStatusCode: 409 } });
      }
      inJob.add(server.sourceServerId);
      const failure = (this.faults.conversionFailures ?? []).includes(server.sourceServerId) ? 'conversion' as const
        : (this.faults.launchFailures ?? []).includes(server.sourceServerId) ? 'launch' as const : undefined;
      if (r.recoverySnapshotID === undefined) {
        // DRS accepts this and snapshots the latest data: what Cleanpoint must never ask for.
        this.counts.onDemandSnapshots++;
        return { sourceServerId: server.sourceServerId, pointAt: now, snapshotMs: this.settings.onDemandSnapshotMs, launchStatus: 'PENDING' as const, ...(failure ? { failure } : {}) };
      }
      const at = this.pointTimes(server, now).find((t) => this.pointId(server.sourceServerId, t) === r.recoverySnapshotID);
      if (at === undefined) {
        throw new ResourceNotFoundException({ message: `Recovery snapshot ${String(r.recoverySnapshotID)} not found for ${server.sourceServerId}`, resourceId: String(r.recoverySnapshotID), resourceType: 'RECOVERY_SNAPSHOT', $metadata: { httpStatusCode: 404 } });
      }
      return { sourceServerId: server.sourceServerId, pointAt: at, snapshotMs: 0, launchStatus: 'PENDING' as const, ...(failure ? { failure } : {}) };
    });
    const isDrill = input['isDrill'] === true;
    const job: JobRecord = {
      jobId: `drsjob-${hex17(`job-${++this.counter}-${now}`)}`, type: 'LAUNCH', initiatedBy: isDrill ? 'START_DRILL' : 'START_RECOVERY', createdAt: now, isDrill,
      tags: { ...((input['tags'] ?? {}) as Record<string, string>) }, servers, log: [],
    };
    this.jobs.set(job.jobId, job);
    this.counts.startRecovery++;
    for (const s of servers) this.servers.get(s.sourceServerId)!.lastLaunch = { type: isDrill ? 'DRILL' : 'RECOVERY', jobId: job.jobId, at: now };
    return { job: this.jobView(job) };
  }

  private jobView(job: JobRecord) {
    return {
      jobID: job.jobId, arn: `arn:aws:drs:${this.region}:${this.accountId}:job/${job.jobId}`, type: job.type, initiatedBy: job.initiatedBy,
      creationDateTime: isoOf(job.createdAt), ...(job.endedAt === undefined ? {} : { endDateTime: isoOf(job.endedAt) }), status: this.status(job), tags: { ...job.tags },
      participatingServers: job.servers.map((s) => ({ sourceServerID: s.sourceServerId, launchStatus: s.launchStatus, ...(s.recoveryInstanceId ? { recoveryInstanceID: s.recoveryInstanceId } : {}) })),
    };
  }

  private describeJobs(input: Record<string, unknown>) {
    const f = (input['filters'] ?? {}) as { jobIDs?: string[]; fromDate?: string; toDate?: string };
    const from = f.fromDate ? Date.parse(f.fromDate) : -Infinity;
    const to = f.toDate ? Date.parse(f.toDate) : Infinity;
    const jobs = [...this.jobs.values()].filter((j) => (!f.jobIDs || f.jobIDs.length === 0 || f.jobIDs.includes(j.jobId)) && j.createdAt >= from && j.createdAt <= to);
    return this.page(jobs.map((j) => this.jobView(j)), input);
  }

  private describeJobLogItems(input: Record<string, unknown>) {
    const job = typeof input['jobID'] === 'string' ? this.jobs.get(input['jobID']) : undefined;
    if (!job) throw new ResourceNotFoundException({ message: `Job ${String(input['jobID'])} not found`, resourceId: String(input['jobID']), resourceType: 'JOB', $metadata: { httpStatusCode: 404 } });
    const items = [...job.log].sort((a, b) => a.at - b.at).map((l) => ({ logDateTime: isoOf(l.at), event: l.event, eventData: { ...l.eventData } }));
    return this.page(items, input);
  }

  private describeRecoveryInstances(input: Record<string, unknown>) {
    const f = (input['filters'] ?? {}) as { recoveryInstanceIDs?: string[]; sourceServerIDs?: string[] };
    const items = [...this.instances.values()]
      .filter((r) => !r.terminated)
      .filter((r) => (!f.recoveryInstanceIDs?.length || f.recoveryInstanceIDs.includes(r.recoveryInstanceId)) && (!f.sourceServerIDs?.length || f.sourceServerIDs.includes(r.sourceServerId)))
      .map((r) => {
        const state = this.ec2.resources().find((x) => x.type === 'instance' && x.id === r.recoveryInstanceId)?.state;
        return {
          recoveryInstanceID: r.recoveryInstanceId, ec2InstanceID: r.recoveryInstanceId, ec2InstanceState: (state ?? 'NOT_FOUND').toUpperCase().replace('SHUTTING-DOWN', 'STOPPING'),
          sourceServerID: r.sourceServerId, jobID: r.jobId, isDrill: r.isDrill, pointInTimeSnapshotDateTime: isoOf(r.pointAt), tags: { ...r.tags },
          arn: `arn:aws:drs:${this.region}:${this.accountId}:recovery-instance/${r.recoveryInstanceId}`,
        };
      });
    return this.page(items, input);
  }

  private async terminateRecoveryInstances(input: Record<string, unknown>) {
    const ids = input['recoveryInstanceIDs'];
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 200) throw validation('recoveryInstanceIDs must have between 1 and 200 items');
    const records = ids.map((id) => {
      const r = this.instances.get(String(id));
      if (!r || r.terminated) throw new ResourceNotFoundException({ message: `Recovery instance ${String(id)} not found`, resourceId: String(id), resourceType: 'RECOVERY_INSTANCE', $metadata: { httpStatusCode: 404 } });
      return r;
    });
    // DRS terminates the EC2 instances itself (its calls count on the account's EC2 API, as here).
    await this.ec2.execute('TerminateInstances', { InstanceIds: records.map((r) => r.recoveryInstanceId) });
    const now = this.clock.now();
    for (const r of records) r.terminated = true;
    const job: JobRecord = {
      jobId: `drsjob-${hex17(`job-${++this.counter}-${now}`)}`, type: 'TERMINATE', initiatedBy: 'TERMINATE_RECOVERY_INSTANCES', createdAt: now, endedAt: now, isDrill: false, tags: {},
      servers: records.map((r) => ({ sourceServerId: r.sourceServerId, pointAt: r.pointAt, snapshotMs: 0, launchStatus: 'TERMINATED' as const, recoveryInstanceId: r.recoveryInstanceId })),
      log: [{ at: now, event: 'JOB_START', eventData: {} }, { at: now, event: 'JOB_END', eventData: {} }],
    };
    this.jobs.set(job.jobId, job);
    return { job: this.jobView(job) };
  }

  private describeSourceServers(input: Record<string, unknown>) {
    const f = (input['filters'] ?? {}) as { sourceServerIDs?: string[] };
    const now = this.clock.now();
    const items = [...this.servers.values()]
      .filter((s) => !f.sourceServerIDs?.length || f.sourceServerIDs.includes(s.sourceServerId))
      .map((s) => {
        const lagSeconds = s.stalledAt === undefined ? 0 : Math.floor((now - s.stalledAt) / 1000);
        return {
          sourceServerID: s.sourceServerId, arn: `arn:aws:drs:${this.region}:${this.accountId}:source-server/${s.sourceServerId}`, tags: { ...s.tags },
          dataReplicationInfo: { dataReplicationState: s.stalledAt === undefined ? 'CONTINUOUS' : 'STALLED', lagDuration: lagSeconds === 0 ? 'P0D' : `PT${lagSeconds}S` },
          lifeCycle: {
            addedToServiceDateTime: isoOf(s.replicatingSince),
            ...(s.lastLaunch ? { lastLaunch: { initiated: { apiCallDateTime: isoOf(s.lastLaunch.at), jobID: s.lastLaunch.jobId, type: s.lastLaunch.type }, status: this.launchStatusOf(s) } } : {}),
          },
          sourceProperties: { identificationHints: { hostname: s.hostname } },
        };
      });
    return this.page(items, input);
  }

  private launchStatusOf(s: ServerRecord): string {
    const job = s.lastLaunch ? this.jobs.get(s.lastLaunch.jobId) : undefined;
    return job?.servers.find((x) => x.sourceServerId === s.sourceServerId)?.launchStatus ?? 'PENDING';
  }
}

function validation(message: string): ValidationException {
  return new ValidationException({ message, reason: 'fieldValidationFailed', $metadata: { httpStatusCode: 400 } });
}

function quota(message: string, quotaCode: string): ServiceQuotaExceededException {
  return new ServiceQuotaExceededException({ message, quotaCode, serviceCode: 'drs', resourceType: 'JOB', $metadata: { httpStatusCode: 402 } });
}

/** Route every command of a real DrsClient to the simulator (set `maxAttempts: 1` to see throttles directly). */
export function attachDrsSimulator(client: { middlewareStack: unknown }, sim: DrsSimulator): void {
  attachEmulator(client as never, 'cleanpointDrsSimulator', (command, input) => sim.execute(command, input));
}
