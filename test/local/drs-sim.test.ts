import { DrsClient } from '@aws-sdk/client-drs';
import { describe, expect, it } from 'vitest';
import { QuotaExceededError, ConflictError, ThrottledError } from '../../domain/shared/index.ts';
import { DrsRecoveryAdapter } from '../../functions/shared/adapters/drs.ts';
import { attachDrsSimulator, DrsSimulator, type DrsSimulatorOptions } from '../../local/drs-sim/simulator.ts';
import { Ec2Simulator } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

// The DRS simulator against the REAL @aws-sdk/client-drs client (and the real adapter), on a virtual clock.
const START = Date.UTC(2026, 11, 4, 12, 0, 0);
const MIN = 60_000;

function world(options: Partial<DrsSimulatorOptions> = {}, servers = 3) {
  const clock = new VirtualClock({ startMs: START, autoAdvance: false });
  const ec2 = new Ec2Simulator({ clock, throttling: false });
  const subnetId = ec2.seedSubnet({ cidrBlock: '10.0.0.0/20' });
  const sim = new DrsSimulator({ clock, ec2, ...options });
  const ids = Array.from({ length: servers }, (_, i) => sim.seedSourceServer({ subnetId, hostname: `erp-${i + 1}` }));
  const client = new DrsClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  attachDrsSimulator(client, sim);
  return { clock, ec2, sim, ids, client, drs: new DrsRecoveryAdapter(client) };
}

describe('DRS simulator: PIT snapshots on the retention schedule', () => {
  it('keeps 10-minute points for an hour, hourly for a day, daily for 7 days', async () => {
    const { drs, ids } = world();
    const points = await drs.listRecoverySnapshots(ids[0]!, {}, 'DESC');
    const ages = points.map((p) => (START - p.expectedAt) / MIN);
    expect(ages.slice(0, 7)).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(ages.filter((a) => a > 60 && a <= 24 * 60).every((a) => a % 60 === 0)).toBe(true);
    expect(ages.filter((a) => a > 24 * 60)).toEqual([36, 60, 84, 108, 132, 156].map((h) => h * 60)); // daily points at UTC midnight (START is noon)
    expect(Math.max(...ages)).toBeLessThanOrEqual(7 * 24 * 60);
    // 7 ten-minute points (0-60 min) + 23 hourly (2 h-24 h) + 6 daily older than a day = 36.
    expect(points).toHaveLength(36);
  });

  it('latest before a cutoff is one descending page; time passing adds points and expires old ones', async () => {
    const { drs, ids, clock } = world();
    const before = await drs.latestSnapshotBefore(ids[0]!, START - 25 * MIN);
    expect(before!.expectedAt).toBe(START - 30 * MIN);
    clock.advance(10 * MIN);
    const after = await drs.listRecoverySnapshots(ids[0]!, { from: START, to: START + 10 * MIN });
    expect(after.map((p) => p.expectedAt)).toEqual([START + 10 * MIN, START]);
  });

  it('pages with nextToken and refuses maxResults out of 1..1000 like DRS', async () => {
    const { client, ids, drs } = world();
    const { DescribeRecoverySnapshotsCommand } = await import('@aws-sdk/client-drs');
    const first = await client.send(new DescribeRecoverySnapshotsCommand({ sourceServerID: ids[0]!, maxResults: 5 }));
    expect(first.items).toHaveLength(5);
    expect(first.nextToken).toBeTruthy();
    await expect(client.send(new DescribeRecoverySnapshotsCommand({ sourceServerID: ids[0]!, maxResults: 1001 }))).rejects.toMatchObject({ name: 'ValidationException' });
    expect((await drs.listRecoverySnapshots(ids[0]!)).length).toBe(36); // the adapter follows every page
  });
});

describe('DRS simulator: recovery jobs', () => {
  it('a drill converts, then launches REAL EC2 instances tagged and flagged; cleanup terminates them', async () => {
    const { drs, ids, clock, ec2, sim } = world({ conversionMs: 10 * MIN });
    const servers = await Promise.all(ids.map(async (id) => ({ sourceServerId: id, recoverySnapshotId: (await drs.latestSnapshotBefore(id, START - 5 * MIN))!.snapshotId })));
    const job = await drs.startRecovery({ servers, isDrill: true, tags: { 'cleanpoint:drill': 'drill-erp-1' } });
    expect(job).toMatchObject({ status: 'PENDING', initiatedBy: 'START_DRILL' });
    clock.advance(MIN);
    expect((await drs.describeJobs({ jobIds: [job.jobId] }))[0]).toMatchObject({ status: 'STARTED' });
    expect(ec2.resources({ tag: { key: 'cleanpoint:drill' } })).toHaveLength(0);
    clock.advance(10 * MIN);
    const [done] = await drs.describeJobs({ jobIds: [job.jobId] });
    expect(done!.status).toBe('COMPLETED');
    expect(done!.servers.every((s) => s.launchStatus === 'LAUNCHED' && s.recoveryInstanceId)).toBe(true);
    const log = await drs.jobLogItems(job.jobId);
    expect(log.map((l) => l.event)).toEqual(expect.arrayContaining(['JOB_START', 'CONVERSION_START', 'CONVERSION_END', 'LAUNCH_START', 'JOB_END']));
    expect(log.some((l) => l.event.startsWith('SNAPSHOT_'))).toBe(false);
    const instances = await drs.describeRecoveryInstances({ sourceServerIds: ids });
    expect(instances).toHaveLength(3);
    expect(instances.every((i) => i.isDrill && i.pointInTimeAt === START - 10 * MIN)).toBe(true);
    expect(ec2.resources({ tag: { key: 'cleanpoint:drill', value: 'drill-erp-1' } }).map((r) => r.id).sort()).toEqual(instances.map((i) => i.ec2InstanceId).sort());
    expect((await drs.describeSourceServers([ids[0]!]))[0]!.lastLaunch).toMatchObject({ type: 'DRILL', jobId: job.jobId, status: 'LAUNCHED' });

    const terminate = await drs.terminateRecoveryInstances(instances.map((i) => i.recoveryInstanceId));
    expect(terminate).toMatchObject({ type: 'TERMINATE', initiatedBy: 'TERMINATE_RECOVERY_INSTANCES' });
    expect(await drs.describeRecoveryInstances({ sourceServerIds: ids })).toEqual([]);
    clock.advance(MIN);
    expect(ec2.resources({ tag: { key: 'cleanpoint:drill' } })).toEqual([]);
    expect(sim.stats().onDemandSnapshots).toBe(0);
  });

  it('a StartRecovery without recoverySnapshotID is accepted as DRS does, takes a snapshot of the latest data, and is counted', async () => {
    const { client, ids, sim, clock, drs } = world({ conversionMs: MIN });
    const { StartRecoveryCommand } = await import('@aws-sdk/client-drs');
    const out = await client.send(new StartRecoveryCommand({ sourceServers: [{ sourceServerID: ids[0]! }] }));
    expect(sim.stats().onDemandSnapshots).toBe(1);
    clock.advance(5 * MIN);
    expect((await drs.jobLogItems(out.job!.jobID!)).map((l) => l.event).slice(0, 3)).toEqual(['JOB_START', 'SNAPSHOT_START', 'SNAPSHOT_END']);
  });

  it('conversion and launch faults fail the server with DRS-style log items and raw errors', async () => {
    const { drs, ids, clock, sim } = world({ conversionMs: MIN });
    sim.setFaults({ conversionFailures: [ids[0]!], launchFailures: [ids[1]!] });
    const servers = await Promise.all(ids.map(async (id) => ({ sourceServerId: id, recoverySnapshotId: (await drs.latestSnapshotBefore(id, START))!.snapshotId })));
    const job = await drs.startRecovery({ servers, isDrill: false, tags: {} });
    clock.advance(5 * MIN);
    const [done] = await drs.describeJobs({ jobIds: [job.jobId] });
    expect(done!.servers.map((s) => s.launchStatus)).toEqual(['FAILED', 'FAILED', 'LAUNCHED']);
    const log = await drs.jobLogItems(job.jobId);
    expect(log.find((l) => l.event === 'CONVERSION_FAIL')).toMatchObject({ sourceServerId: ids[0], rawError: expect.stringMatching(/convert/) });
    expect(log.find((l) => l.event === 'LAUNCH_FAILED')).toMatchObject({ sourceServerId: ids[1], rawError: expect.stringMatching(/launch/) });
  });

  it('refuses with DRS quota errors: servers per job, concurrent jobs, servers in active jobs; a server already in a job conflicts', async () => {
    const { drs, ids } = world({ maxServersPerJob: 2, maxConcurrentJobs: 2, maxServersInActiveJobs: 3 }, 5);
    const point = async (id: string) => ({ sourceServerId: id, recoverySnapshotId: (await drs.latestSnapshotBefore(id, START))!.snapshotId });
    const p = await Promise.all(ids.map(point));
    await expect(drs.startRecovery({ servers: p.slice(0, 3), isDrill: false, tags: {} })).rejects.toThrow(QuotaExceededError);
    await drs.startRecovery({ servers: p.slice(0, 2), isDrill: false, tags: {} });
    await expect(drs.startRecovery({ servers: [p[0]!], isDrill: false, tags: {} })).rejects.toThrow(ConflictError);
    await expect(drs.startRecovery({ servers: p.slice(2, 4), isDrill: false, tags: {} })).rejects.toThrow(/MAX_SOURCE_SERVERS_IN_ACTIVE_JOBS/);
    await drs.startRecovery({ servers: [p[2]!], isDrill: false, tags: {} });
    const usage = await drs.activeJobUsage();
    expect(usage).toMatchObject({ activeJobs: 2, serversInActiveJobs: 3 });
    await expect(drs.startRecovery({ servers: [p[4]!], isDrill: false, tags: {} })).rejects.toThrow(/quota MAX_CONCURRENT_JOBS/);
  });

  it('throttles with 429 and Retry-After, seen by the adapter as ThrottledError with retryAfterMs', async () => {
    const { drs, ids, sim } = world();
    sim.setFaults({ throttleNextCalls: 1, retryAfterSeconds: 9 });
    const error = await drs.describeSourceServers(ids).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(9000);
    expect(await drs.describeSourceServers(ids)).toHaveLength(3);
  });

  it('stalled replication: state STALLED, lag grows, no new points', async () => {
    const { drs, ids, sim, clock } = world();
    sim.setFaults({ stalledReplication: [ids[0]!] });
    clock.advance(30 * MIN);
    const [stalled, healthy] = await drs.describeSourceServers(ids.slice(0, 2));
    expect(stalled).toMatchObject({ replicationState: 'STALLED', lagSeconds: 1800 });
    expect(healthy).toMatchObject({ replicationState: 'CONTINUOUS', lagSeconds: 0 });
    expect((await drs.latestSnapshotBefore(ids[0]!, clock.now()))!.expectedAt).toBe(START);
    expect((await drs.latestSnapshotBefore(ids[1]!, clock.now()))!.expectedAt).toBe(START + 30 * MIN);
  });
});
