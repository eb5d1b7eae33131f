import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import {
  ConflictException, DescribeJobLogItemsCommand, DescribeJobsCommand, DescribeRecoveryInstancesCommand, DescribeRecoverySnapshotsCommand,
  DescribeSourceServersCommand, DrsClient, InternalServerException, ResourceNotFoundException, ServiceQuotaExceededException, StartRecoveryCommand,
  TerminateRecoveryInstancesCommand, ThrottlingException, ValidationException,
} from '@aws-sdk/client-drs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, QuotaExceededError, ThrottledError, TransientError, ValidationError } from '../../domain/shared/index.ts';
import { DRS_MAX_SERVERS_PER_JOB, type StartDrsRecoveryRequest } from '../../domain/ports/index.ts';
import { DrsRecoveryAdapter, durationSeconds, mapDrsError } from '../../functions/shared/adapters/drs.ts';

const FIXTURES = '/work/shared/fixtures/drs-api';
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as { items: Record<string, unknown>[] };

const SERVER = 's-1234567890abcdef0';
const SERVER_2 = 's-1234567890abcdef1';
const PIT = 'pit-1234567890abcdef0';
const meta = { $metadata: { requestId: 'test' } };

function newClient(): DrsClient {
  return new DrsClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

const client = newClient();
// client-drs 3.523.0 carries older @smithy types than aws-sdk-client-mock expects: the cast is type-only.
interface LooseStub {
  on(command: unknown, input?: unknown): { resolves(value: unknown): unknown; rejects(error: unknown): unknown };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  commandCalls(command: unknown): Array<{ args: [{ input: any }] }>;
  reset(): void;
  restore(): void;
}
const drs = mockClient(client as never) as unknown as LooseStub;
const adapter = new DrsRecoveryAdapter(client);
afterAll(() => drs.restore());
beforeEach(() => drs.reset());

const job = (over: Record<string, unknown> = {}) => ({
  jobID: 'drsjob-1234567890abcdef0', type: 'LAUNCH', initiatedBy: 'START_RECOVERY', status: 'PENDING', creationDateTime: '2026-12-04T10:00:00.000Z',
  participatingServers: [{ sourceServerID: SERVER, launchStatus: 'PENDING' }], tags: { 'cleanpoint:incident': 'inc-1' }, ...over,
});

describe('DrsRecoveryAdapter.startRecovery: never without a recoverySnapshotID', () => {
  it('sends the chosen PIT per server, isDrill and the tags', async () => {
    drs.on(StartRecoveryCommand).resolves({ ...meta, job: job() });
    const result = await adapter.startRecovery({ servers: [{ sourceServerId: SERVER, recoverySnapshotId: PIT }], isDrill: true, tags: { 'cleanpoint:incident': 'inc-1' } });
    expect(drs.commandCalls(StartRecoveryCommand)[0]!.args[0].input).toEqual({
      isDrill: true, sourceServers: [{ sourceServerID: SERVER, recoverySnapshotID: PIT }], tags: { 'cleanpoint:incident': 'inc-1' },
    });
    expect(result).toMatchObject({ jobId: 'drsjob-1234567890abcdef0', status: 'PENDING', servers: [{ sourceServerId: SERVER, launchStatus: 'PENDING' }] });
  });

  it('the type makes recoverySnapshotId required (tsc fails if this line compiles)', () => {
    // @ts-expect-error recoverySnapshotId is required: there is no "latest data" recovery.
    const request: StartDrsRecoveryRequest = { servers: [{ sourceServerId: SERVER }], isDrill: false, tags: {} };
    expect(request.servers).toHaveLength(1);
  });

  it.each([
    ['missing', { sourceServerId: SERVER }],
    ['undefined', { sourceServerId: SERVER, recoverySnapshotId: undefined }],
    ['empty', { sourceServerId: SERVER, recoverySnapshotId: '' }],
    ['not a PIT id', { sourceServerId: SERVER, recoverySnapshotId: 'latest' }],
  ])('refuses a server whose recoverySnapshotId is %s, before calling DRS', async (_label, server) => {
    drs.on(StartRecoveryCommand).resolves({ ...meta, job: job() });
    const request = { servers: [{ sourceServerId: SERVER_2, recoverySnapshotId: PIT }, server], isDrill: false, tags: {} } as unknown as StartDrsRecoveryRequest;
    const error = await adapter.startRecovery(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual(['servers[1].recoverySnapshotId']);
    expect(drs.commandCalls(StartRecoveryCommand)).toHaveLength(0);
  });

  it('refuses more than 100 servers in one job, duplicates, bad ids, a missing isDrill, and no servers', async () => {
    const many = Array.from({ length: DRS_MAX_SERVERS_PER_JOB + 1 }, (_, i) => ({ sourceServerId: `s-${i.toString(16).padStart(17, '0')}`, recoverySnapshotId: PIT }));
    const cases: Array<[unknown, string[]]> = [
      [{ servers: many, isDrill: false, tags: {} }, ['servers']],
      [{ servers: [{ sourceServerId: SERVER, recoverySnapshotId: PIT }, { sourceServerId: SERVER, recoverySnapshotId: PIT }], isDrill: false, tags: {} }, ['servers[1].sourceServerId']],
      [{ servers: [{ sourceServerId: 'i-0123456789abcdef0', recoverySnapshotId: PIT }], isDrill: false, tags: {} }, ['servers[0].sourceServerId']],
      [{ servers: [{ sourceServerId: SERVER, recoverySnapshotId: PIT }], tags: {} }, ['isDrill']],
      [{ servers: [], isDrill: false, tags: {} }, ['servers']],
    ];
    for (const [request, paths] of cases) {
      const error = await adapter.startRecovery(request as StartDrsRecoveryRequest).catch((e: unknown) => e);
      expect((error as ValidationError).issues.map((i) => i.path)).toEqual(paths);
    }
    expect(drs.commandCalls(StartRecoveryCommand)).toHaveLength(0);
  });

  it('StartRecoveryCommand is built in this adapter only (no other code path can start a recovery)', () => {
    const root = join(import.meta.dirname, '../..');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|js|mjs)$/.test(name) && /StartRecoveryCommand|['"]StartRecovery['"]/.test(readFileSync(path, 'utf8'))) offenders.push(relative(root, path));
      }
    };
    for (const dir of ['domain', 'functions', 'cli', 'bench']) walk(join(root, dir));
    expect(offenders).toEqual(['functions/shared/adapters/drs.ts']);
  });
});

describe('DrsRecoveryAdapter: snapshots, jobs, logs, instances, servers', () => {
  it('lists recovery snapshots across pages (nextToken), newest first, in the window', async () => {
    const [item] = fixture('aws-cli-examples_drs_describe-recovery-snapshots_output.json').items;
    drs.on(DescribeRecoverySnapshotsCommand, { nextToken: undefined }).resolves({ ...meta, items: [item as never], nextToken: 'page-2' });
    drs.on(DescribeRecoverySnapshotsCommand, { nextToken: 'page-2' }).resolves({ ...meta, items: [{ ...item, snapshotID: 'pit-1234567890abcdef1', expectedTimestamp: '2024-06-15T14:20:00.000Z' } as never] });
    const from = Date.UTC(2024, 5, 15, 0, 0);
    const to = Date.UTC(2024, 5, 15, 15, 0);
    const points = await adapter.listRecoverySnapshots(SERVER, { from, to });
    expect(points.map((p) => p.snapshotId)).toEqual(['pit-1234567890abcdef0', 'pit-1234567890abcdef1']);
    expect(points[0]).toEqual({ snapshotId: PIT, sourceServerId: SERVER, expectedAt: Date.UTC(2024, 5, 15, 14, 30), ebsSnapshotIds: ['snap-1234567890abcdef0'] });
    const inputs = drs.commandCalls(DescribeRecoverySnapshotsCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toEqual({ sourceServerID: SERVER, filters: { fromDateTime: '2024-06-15T00:00:00.000Z', toDateTime: '2024-06-15T15:00:00.000Z' }, order: 'DESC', maxResults: 1000 });
    expect(inputs[1]).toMatchObject({ nextToken: 'page-2' });
  });

  it('latestSnapshotBefore asks for one descending item up to the cutoff', async () => {
    drs.on(DescribeRecoverySnapshotsCommand).resolves({ ...meta, items: [{ snapshotID: PIT, sourceServerID: SERVER, expectedTimestamp: '2024-06-15T14:30:00.000Z', timestamp: '2024-06-15T14:30:04.000Z' }], nextToken: 'more' });
    const point = await adapter.latestSnapshotBefore(SERVER, Date.UTC(2024, 5, 15, 14, 45));
    expect(point).toMatchObject({ snapshotId: PIT, takenAt: Date.UTC(2024, 5, 15, 14, 30, 4) });
    expect(drs.commandCalls(DescribeRecoverySnapshotsCommand).map((c) => c.args[0].input)).toEqual([
      { sourceServerID: SERVER, filters: { toDateTime: '2024-06-15T14:45:00.000Z' }, order: 'DESC', maxResults: 1 },
    ]);
    drs.on(DescribeRecoverySnapshotsCommand).resolves({ ...meta, items: [] });
    expect(await adapter.latestSnapshotBefore(SERVER, 0)).toBeUndefined();
  });

  it('counts active jobs and their servers across pages (COMPLETED jobs do not count)', async () => {
    drs.on(DescribeJobsCommand, { nextToken: undefined }).resolves({ ...meta, items: [job({ jobID: 'drsjob-1', status: 'STARTED' }), job({ jobID: 'drsjob-2', status: 'COMPLETED' })], nextToken: 't2' });
    drs.on(DescribeJobsCommand, { nextToken: 't2' }).resolves({
      ...meta, items: [job({ jobID: 'drsjob-3', status: 'PENDING', participatingServers: [{ sourceServerID: SERVER }, { sourceServerID: SERVER_2 }] })],
    });
    const usage = await adapter.activeJobUsage();
    expect(usage).toMatchObject({ activeJobs: 2, serversInActiveJobs: 3 });
    expect(usage.jobs.map((j) => j.jobId)).toEqual(['drsjob-1', 'drsjob-3']);
  });

  it('reads job log items with their raw errors (fixture shape), across pages', async () => {
    const items = fixture('aws-cli-examples_drs_describe-job-log-items_output.json').items;
    drs.on(DescribeJobLogItemsCommand, { nextToken: undefined }).resolves({ ...meta, items: items.slice(0, 2) as never, nextToken: 'n' });
    drs.on(DescribeJobLogItemsCommand, { nextToken: 'n' }).resolves({
      ...meta, items: [...items.slice(2), { event: 'CONVERSION_FAIL', logDateTime: '2024-06-15T15:10:00.000Z', eventData: { sourceServerID: SERVER, rawError: 'Failed to convert: unsupported boot loader' } }] as never,
    });
    const log = await adapter.jobLogItems('drsjob-1234567890abcdef0');
    expect(log.map((l) => l.event)).toEqual(['JOB_START', 'SNAPSHOT_START', 'SNAPSHOT_END', 'JOB_END', 'CONVERSION_FAIL']);
    expect(log[1]).toEqual({ at: Date.UTC(2024, 5, 15, 15, 0, 1), event: 'SNAPSHOT_START', sourceServerId: SERVER });
    expect(log[4]).toMatchObject({ rawError: 'Failed to convert: unsupported boot loader' });
  });

  it('describes recovery instances and terminates them (drill cleanup)', async () => {
    drs.on(DescribeRecoveryInstancesCommand).resolves({
      ...meta, items: [{ recoveryInstanceID: 'i-0aaaabbbbccccdddd', ec2InstanceID: 'i-0aaaabbbbccccdddd', ec2InstanceState: 'RUNNING', sourceServerID: SERVER, jobID: 'drsjob-1', isDrill: true, pointInTimeSnapshotDateTime: '2024-06-15T14:30:00.000Z', tags: { a: 'b' } }],
    });
    drs.on(TerminateRecoveryInstancesCommand).resolves({ ...meta, job: job({ jobID: 'drsjob-t', type: 'TERMINATE', initiatedBy: 'TERMINATE_RECOVERY_INSTANCES' }) });
    const instances = await adapter.describeRecoveryInstances({ sourceServerIds: [SERVER] });
    expect(instances).toEqual([{ recoveryInstanceId: 'i-0aaaabbbbccccdddd', ec2InstanceId: 'i-0aaaabbbbccccdddd', ec2InstanceState: 'RUNNING', sourceServerId: SERVER, jobId: 'drsjob-1', isDrill: true, pointInTimeAt: Date.UTC(2024, 5, 15, 14, 30), tags: { a: 'b' } }]);
    expect(drs.commandCalls(DescribeRecoveryInstancesCommand)[0]!.args[0].input).toMatchObject({ filters: { sourceServerIDs: [SERVER] } });
    const terminate = await adapter.terminateRecoveryInstances(['i-0aaaabbbbccccdddd']);
    expect(terminate).toMatchObject({ jobId: 'drsjob-t', type: 'TERMINATE', initiatedBy: 'TERMINATE_RECOVERY_INSTANCES' });
    await expect(adapter.terminateRecoveryInstances([])).rejects.toThrow(/no recovery instance ids/);
  });

  it('reads replication state, lag and last launch from DescribeSourceServers (fixture)', async () => {
    const items = fixture('aws-cli-examples_drs_describe-source-servers_output.json').items;
    drs.on(DescribeSourceServersCommand).resolves({ ...meta, items: [...items, { sourceServerID: SERVER_2, dataReplicationInfo: { dataReplicationState: 'STALLED', lagDuration: 'PT1H5M30S' } }] as never });
    const servers = await adapter.describeSourceServers([SERVER, SERVER_2]);
    expect(servers[0]).toMatchObject({ sourceServerId: SERVER, replicationState: 'CONTINUOUS', lagSeconds: 0, lastLaunch: { type: 'RECOVERY', jobId: 'drsjob-1234567890abcdef0', status: 'LAUNCHED', at: Date.UTC(2024, 5, 10, 15) } });
    expect(servers[1]).toEqual({ sourceServerId: SERVER_2, replicationState: 'STALLED', lagSeconds: 3930, tags: {} });
  });

  it('parses ISO-8601 durations as DRS writes lagDuration', () => {
    expect([durationSeconds('P0D'), durationSeconds('PT30S'), durationSeconds('P1DT2H'), durationSeconds('PT1.5S')]).toEqual([0, 30, 93_600, 1.5]);
    expect([durationSeconds('P'), durationSeconds('PT'), durationSeconds('5 minutes'), durationSeconds(undefined)]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('DRS errors → the domain\'s errors, with messages of ours', () => {
  const sdkError = (E: new (o: never) => Error, extra: Record<string, unknown> = {}) => new E({ message: 'internal text', $metadata: {}, ...extra } as never);

  it.each([
    ['ThrottlingException', () => sdkError(ThrottlingException, { retryAfterSeconds: '7' }), ThrottledError, /DRS throttled StartRecovery; retry after 7 s/],
    ['ServiceQuotaExceededException', () => sdkError(ServiceQuotaExceededException, { quotaCode: 'L-CONCURRENT-JOBS' }), QuotaExceededError, /a service quota is exceeded \(quota L-CONCURRENT-JOBS\)/],
    ['ConflictException', () => sdkError(ConflictException, { resourceId: SERVER }), ConflictError, new RegExp(`conflicts with the current state of ${SERVER}`)],
    ['ResourceNotFoundException', () => sdkError(ResourceNotFoundException), NotFoundError, /was not found/],
    ['InternalServerException', () => sdkError(InternalServerException), TransientError, /failed transiently: InternalServerException/],
  ])('%s', (_code, make, Type, message) => {
    const mapped = mapDrsError('StartRecovery', make());
    expect(mapped).toBeInstanceOf(Type);
    expect(mapped.message).toMatch(message);
    expect(mapped.message).toMatch(/^DRS /);
  });

  it('a ValidationException is not retried (plain Error) and names the operation', () => {
    const mapped = mapDrsError('DescribeJobs', sdkError(ValidationException));
    expect(mapped.constructor).toBe(Error);
    expect(mapped.message).toMatch(/^DRS DescribeJobs failed: ValidationException/);
  });

  it('a throttled page in the middle of a listing surfaces as ThrottledError', async () => {
    drs.on(DescribeJobsCommand, { nextToken: undefined }).resolves({ ...meta, items: [job()], nextToken: 'x' });
    drs.on(DescribeJobsCommand, { nextToken: 'x' }).rejects(sdkError(ThrottlingException, { retryAfterSeconds: '2' }));
    const error = await adapter.describeJobs().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(2000);
  });

  it('a real 429 response with Retry-After (through the SDK\'s own deserializer) becomes ThrottledError with retryAfterMs', async () => {
    // No mock: a request handler answers as DRS does, so the header → retryAfterSeconds binding is the SDK's.
    const raw = new DrsClient({
      region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1,
      requestHandler: {
        handle: async () => ({
          response: {
            statusCode: 429,
            headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ThrottlingException', 'retry-after': '12' },
            body: Readable.from([Buffer.from(JSON.stringify({ message: 'Rate exceeded' }))]),
          },
        }),
      } as never,
    });
    const error = await new DrsRecoveryAdapter(raw).startRecovery({ servers: [{ sourceServerId: SERVER, recoverySnapshotId: PIT }], isDrill: false, tags: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(12_000);
    expect((error as Error).message).toBe('DRS throttled StartRecovery; retry after 12 s (DRS said: Rate exceeded)');
  });
});
