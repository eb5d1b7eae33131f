import {
  DescribeJobLogItemsCommand,
  DescribeJobsCommand,
  DescribeRecoveryInstancesCommand,
  DescribeRecoverySnapshotsCommand,
  DescribeSourceServersCommand,
  type DrsClient,
  type Job,
  type RecoverySnapshot,
  StartRecoveryCommand,
  TerminateRecoveryInstancesCommand,
} from '@aws-sdk/client-drs';
import { ConflictError, NotFoundError, QuotaExceededError, ThrottledError, TransientError } from '../../../domain/shared/index.ts';
import {
  checkStartDrsRecovery,
  type DrsJob,
  type DrsJobLogItem,
  type DrsJobUsage,
  type DrsRecoveryInstance,
  type DrsRecoveryService,
  type DrsRecoverySnapshot,
  type DrsSourceServerState,
  type StartDrsRecoveryRequest,
} from '../../../domain/ports/index.ts';

/**
 * DrsRecoveryService over @aws-sdk/client-drs (3.523.0, which carries its own @aws-sdk/core:
 * import this file only from the functions that call DRS, so the others' bundles stay as they
 * are). Build the client with `maxAttempts: 1`: every throttle reaches this adapter once, is
 * mapped to ThrottledError with DRS's Retry-After, and the caller decides when to retry.
 */

/** The largest maxResults the DRS Describe* calls we page accept (API reference: 1 to 1000). */
const PAGE_SIZE = 1000;
/** DescribeRecoveryInstances / DescribeSourceServers filter lists: ask in batches this size. */
const ID_BATCH = 200;
/** Our own cap on pages followed in one call, so a token that never ends cannot loop us forever. */
const MAX_PAGES = 1000;
/** The raw AWS message we keep in ours, at most. */
const AWS_MESSAGE_MAX = 300;

interface DrsErrorShape {
  name?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  retryAfterSeconds?: unknown;
  quotaCode?: unknown;
  resourceId?: unknown;
}

/**
 * Translate a DRS SDK error into the domain's errors, with a message of ours naming the
 * operation; the service's own text follows (cut) so an operator sees what DRS objected to.
 * - ThrottlingException (429) → ThrottledError, retryAfterMs from Retry-After (retryAfterSeconds)
 * - ServiceQuotaExceededException → QuotaExceededError (servers per job, concurrent jobs, servers in active jobs)
 * - ConflictException → ConflictError (e.g. the server already takes part in a running job)
 * - ResourceNotFoundException → NotFoundError
 * - InternalServerException / 5xx / network → TransientError
 * - anything else (validation, access denied, uninitialised account) → Error, not retried
 */
export function mapDrsError(operation: string, error: unknown): Error {
  const e = (error ?? {}) as DrsErrorShape;
  const code = typeof e.name === 'string' && e.name !== '' && e.name !== 'Error' ? e.name : 'UnknownError';
  const raw = typeof e.message === 'string' ? e.message.slice(0, AWS_MESSAGE_MAX) : '';
  const said = raw ? ` (DRS said: ${raw})` : '';
  const options = { cause: error };
  switch (code) {
    case 'ThrottlingException': {
      const seconds = Number(e.retryAfterSeconds);
      const retryAfterMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
      return new ThrottledError(`DRS throttled ${operation}${retryAfterMs === undefined ? '' : `; retry after ${seconds} s`}${said}`, { ...options, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
    }
    case 'ServiceQuotaExceededException':
      return new QuotaExceededError(`DRS refused ${operation}: a service quota is exceeded${typeof e.quotaCode === 'string' ? ` (quota ${e.quotaCode})` : ''}${said}`, options);
    case 'ConflictException':
      return new ConflictError(`DRS refused ${operation}: it conflicts with the current state of ${typeof e.resourceId === 'string' ? e.resourceId : 'a resource'}${said}`, options);
    case 'ResourceNotFoundException':
      return new NotFoundError(`DRS ${operation}: ${typeof e.resourceId === 'string' ? e.resourceId : 'the resource'} was not found${said}`, options);
    case 'UninitializedAccountException':
      return new Error(`DRS ${operation}: Elastic Disaster Recovery is not initialized in this account and Region (docs/drs.md, setup)${said}`, options);
    case 'AccessDeniedException':
      return new Error(`DRS ${operation}: access denied to this function's role${said}`, options);
    default: {
      const status = e.$metadata?.httpStatusCode;
      if (code === 'InternalServerException' || e.$fault === 'server' || (typeof status === 'number' && status >= 500) || ['TimeoutError', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code)) {
        return new TransientError(`DRS ${operation} failed transiently: ${code}${said}`, options);
      }
      return new Error(`DRS ${operation} failed: ${code}${said}`, options);
    }
  }
}

const time = (iso: string | undefined): number | undefined => {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
};
const iso = (ms: number): string => new Date(ms).toISOString();

/** Seconds in an ISO-8601 duration as DRS writes lagDuration (`P0D`, `PT5M30S`, `P1DT2H`); undefined when unreadable. */
export function durationSeconds(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [d, h, min, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  return d! * 86_400 + h! * 3600 + min! * 60 + s!;
}

function toSnapshot(s: RecoverySnapshot): DrsRecoverySnapshot {
  const takenAt = time(s.timestamp);
  return {
    snapshotId: s.snapshotID ?? '',
    sourceServerId: s.sourceServerID ?? '',
    expectedAt: time(s.expectedTimestamp) ?? 0,
    ...(takenAt === undefined ? {} : { takenAt }),
    ebsSnapshotIds: [...(s.ebsSnapshots ?? [])],
  };
}

export function toDrsJob(j: Job): DrsJob {
  const createdAt = time(j.creationDateTime);
  const endedAt = time(j.endDateTime);
  return {
    jobId: j.jobID ?? '',
    status: (j.status ?? 'PENDING') as DrsJob['status'],
    type: j.type ?? 'LAUNCH',
    initiatedBy: j.initiatedBy ?? '',
    ...(createdAt === undefined ? {} : { createdAt }),
    ...(endedAt === undefined ? {} : { endedAt }),
    tags: { ...(j.tags ?? {}) },
    servers: (j.participatingServers ?? []).map((p) => ({
      sourceServerId: p.sourceServerID ?? '',
      launchStatus: p.launchStatus ?? 'PENDING',
      ...(p.recoveryInstanceID ? { recoveryInstanceId: p.recoveryInstanceID } : {}),
    })),
  };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class DrsRecoveryAdapter implements DrsRecoveryService {
  constructor(private readonly client: DrsClient) {}

  /** Follow nextToken until the last page; the mapped error names the operation. */
  private async pages<T>(operation: string, call: (nextToken: string | undefined) => Promise<{ items?: T[]; nextToken?: string }>): Promise<T[]> {
    const all: T[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      let out: { items?: T[]; nextToken?: string };
      try {
        out = await call(token);
      } catch (e) {
        throw mapDrsError(operation, e);
      }
      all.push(...(out.items ?? []));
      token = out.nextToken || undefined;
      if (token === undefined) return all;
    }
    throw new TransientError(`DRS ${operation}: more than ${MAX_PAGES} pages; stopped following nextToken`);
  }

  async listRecoverySnapshots(sourceServerId: string, window: { from?: number; to?: number } = {}, order: 'ASC' | 'DESC' = 'DESC'): Promise<DrsRecoverySnapshot[]> {
    const filters = {
      ...(window.from === undefined ? {} : { fromDateTime: iso(window.from) }),
      ...(window.to === undefined ? {} : { toDateTime: iso(window.to) }),
    };
    const items = await this.pages('DescribeRecoverySnapshots', (nextToken) =>
      this.client.send(new DescribeRecoverySnapshotsCommand({ sourceServerID: sourceServerId, filters, order, maxResults: PAGE_SIZE, ...(nextToken ? { nextToken } : {}) })),
    );
    return items.map(toSnapshot);
  }

  async latestSnapshotBefore(sourceServerId: string, cutoff: number): Promise<DrsRecoverySnapshot | undefined> {
    try {
      const out = await this.client.send(
        new DescribeRecoverySnapshotsCommand({ sourceServerID: sourceServerId, filters: { toDateTime: iso(cutoff) }, order: 'DESC', maxResults: 1 }),
      );
      const first = out.items?.[0];
      return first ? toSnapshot(first) : undefined;
    } catch (e) {
      throw mapDrsError('DescribeRecoverySnapshots', e);
    }
  }

  async startRecovery(request: StartDrsRecoveryRequest): Promise<DrsJob> {
    // The safety rule of this port: never a StartRecovery without the chosen point per server.
    checkStartDrsRecovery(request);
    let out;
    try {
      out = await this.client.send(
        new StartRecoveryCommand({
          isDrill: request.isDrill,
          sourceServers: request.servers.map((s) => ({ sourceServerID: s.sourceServerId, recoverySnapshotID: s.recoverySnapshotId })),
          tags: { ...request.tags },
        }),
      );
    } catch (e) {
      throw mapDrsError('StartRecovery', e);
    }
    if (!out.job?.jobID) throw new TransientError('DRS StartRecovery answered without a job');
    return toDrsJob(out.job);
  }

  async describeJobs(filter: { jobIds?: string[]; from?: number; to?: number } = {}): Promise<DrsJob[]> {
    const filters = {
      ...(filter.jobIds ? { jobIDs: filter.jobIds } : {}),
      ...(filter.from === undefined ? {} : { fromDate: iso(filter.from) }),
      ...(filter.to === undefined ? {} : { toDate: iso(filter.to) }),
    };
    const items = await this.pages('DescribeJobs', (nextToken) =>
      this.client.send(new DescribeJobsCommand({ filters, maxResults: PAGE_SIZE, ...(nextToken ? { nextToken } : {}) })),
    );
    return items.map(toDrsJob);
  }

  async activeJobUsage(): Promise<DrsJobUsage> {
    const jobs = (await this.describeJobs()).filter((j) => j.status !== 'COMPLETED');
    return { activeJobs: jobs.length, serversInActiveJobs: jobs.reduce((n, j) => n + j.servers.length, 0), jobs };
  }

  async jobLogItems(jobId: string): Promise<DrsJobLogItem[]> {
    const items = await this.pages('DescribeJobLogItems', (nextToken) =>
      this.client.send(new DescribeJobLogItemsCommand({ jobID: jobId, maxResults: PAGE_SIZE, ...(nextToken ? { nextToken } : {}) })),
    );
    return items.map((l) => {
      const d = l.eventData ?? {};
      return {
        at: time(l.logDateTime) ?? 0,
        event: l.event ?? 'UNKNOWN',
        ...(d.sourceServerID ? { sourceServerId: d.sourceServerID } : {}),
        ...(d.conversionServerID ? { conversionServerId: d.conversionServerID } : {}),
        ...(d.targetInstanceID ? { targetInstanceId: d.targetInstanceID } : {}),
        ...(d.rawError ? { rawError: d.rawError } : {}),
      };
    });
  }

  async describeRecoveryInstances(filter: { recoveryInstanceIds?: string[]; sourceServerIds?: string[] } = {}): Promise<DrsRecoveryInstance[]> {
    const batches: Array<{ recoveryInstanceIDs?: string[]; sourceServerIDs?: string[] }> = filter.recoveryInstanceIds
      ? chunks(filter.recoveryInstanceIds, ID_BATCH).map((ids) => ({ recoveryInstanceIDs: ids, ...(filter.sourceServerIds ? { sourceServerIDs: filter.sourceServerIds } : {}) }))
      : filter.sourceServerIds
        ? chunks(filter.sourceServerIds, ID_BATCH).map((ids) => ({ sourceServerIDs: ids }))
        : [{}];
    if (batches.length === 0) return [];
    const out: DrsRecoveryInstance[] = [];
    for (const filters of batches) {
      const items = await this.pages('DescribeRecoveryInstances', (nextToken) =>
        this.client.send(new DescribeRecoveryInstancesCommand({ filters, maxResults: PAGE_SIZE, ...(nextToken ? { nextToken } : {}) })),
      );
      for (const r of items) {
        const pit = time(r.pointInTimeSnapshotDateTime);
        out.push({
          recoveryInstanceId: r.recoveryInstanceID ?? '',
          sourceServerId: r.sourceServerID ?? '',
          ...(r.ec2InstanceID ? { ec2InstanceId: r.ec2InstanceID } : {}),
          ...(r.ec2InstanceState ? { ec2InstanceState: r.ec2InstanceState } : {}),
          ...(r.jobID ? { jobId: r.jobID } : {}),
          isDrill: r.isDrill === true,
          ...(pit === undefined ? {} : { pointInTimeAt: pit }),
          tags: { ...(r.tags ?? {}) },
        });
      }
    }
    return out;
  }

  async terminateRecoveryInstances(recoveryInstanceIds: string[]): Promise<DrsJob> {
    if (recoveryInstanceIds.length === 0) throw new Error('terminateRecoveryInstances: no recovery instance ids given');
    try {
      const out = await this.client.send(new TerminateRecoveryInstancesCommand({ recoveryInstanceIDs: recoveryInstanceIds }));
      if (!out.job?.jobID) throw new TransientError('DRS TerminateRecoveryInstances answered without a job');
      return toDrsJob(out.job);
    } catch (e) {
      if (e instanceof TransientError) throw e;
      throw mapDrsError('TerminateRecoveryInstances', e);
    }
  }

  async describeSourceServers(sourceServerIds?: string[]): Promise<DrsSourceServerState[]> {
    const batches = sourceServerIds ? chunks(sourceServerIds, ID_BATCH).map((ids) => ({ sourceServerIDs: ids })) : [{}];
    const out: DrsSourceServerState[] = [];
    for (const filters of batches) {
      const items = await this.pages('DescribeSourceServers', (nextToken) =>
        this.client.send(new DescribeSourceServersCommand({ filters, maxResults: PAGE_SIZE, ...(nextToken ? { nextToken } : {}) })),
      );
      for (const s of items) {
        const lag = durationSeconds(s.dataReplicationInfo?.lagDuration);
        const last = s.lifeCycle?.lastLaunch;
        const lastAt = time(last?.initiated?.apiCallDateTime);
        out.push({
          sourceServerId: s.sourceServerID ?? '',
          replicationState: s.dataReplicationInfo?.dataReplicationState ?? 'UNKNOWN',
          ...(lag === undefined ? {} : { lagSeconds: lag }),
          ...(last?.initiated?.type
            ? { lastLaunch: { type: last.initiated.type, ...(last.initiated.jobID ? { jobId: last.initiated.jobID } : {}), ...(lastAt === undefined ? {} : { at: lastAt }), ...(last.status ? { status: last.status } : {}) } }
            : {}),
          tags: { ...(s.tags ?? {}) },
        });
      }
    }
    return out;
  }
}
