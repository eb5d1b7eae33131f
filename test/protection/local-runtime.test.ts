/**
 * Protection in the local runtime: the real handler behind the rules from serverless.yml, the
 * real EC2 adapter over the simulator, the DynamoDB adapters on the embedded DynamoDB.
 *
 * - an instance tagged for a group but not in the inventory shows up as unprotected (on its
 *   EC2 state-change event);
 * - a machine whose points stop is in RPO breach once its objective passes, and out of it when
 *   a point arrives (the pure monitor on a fixed clock over the catalogue adapter: the runtime's
 *   own clock cannot be jumped);
 * - deleting the test subnet through the EC2 API makes readiness fail, naming the subnet;
 * - a DRS "Data Replication Stalled" event raises the machine's breach at once.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteSubnetCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { fixedClock } from '../../domain/shared/index.ts';
import { monitorRpo, newestRestorablePoint } from '../../domain/protection/index.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { localStores, type LocalStores } from '../../local/stores.ts';
import { loadSharedFixture } from '../helpers/fixtures.ts';
import { startSeededRuntime } from '../helpers/local-runtime.ts';
import { iso, MINUTE, point, RecordingEvents, RecordingNotifier } from './support.ts';

const FN = 'check-protection';
const SOURCE_SERVER = 's-12345678901234567';

let rt: LocalRuntime;
let stores: LocalStores;
let wiring: typeof import('../../functions/shared/wiring.ts');

beforeAll(async () => {
  // The demo inventory, with crm-db-1 replicated by the DRS source server of the AWS samples.
  const raw = parse(readFileSync(path.resolve('examples/inventory.yaml'), 'utf8')) as { groups: { machines: Record<string, unknown>[] }[] };
  raw.groups[1]!.machines[0]!['drsSourceServerId'] = SOURCE_SERVER;
  const inventoryFile = path.join(mkdtempSync(path.join(tmpdir(), 'cleanpoint-protection-')), 'inventory.yaml');
  writeFileSync(inventoryFile, stringify(raw));
  rt = await startSeededRuntime({ inventoryFile, speed: 1, infected: {} });
  stores = await localStores(rt);
  wiring = await import('../../functions/shared/wiring.ts');
  // The local runtime composes check-protection with simulated account checks (no KMS, no SES identities locally).
  expect(rt.platform.accountChecks).toBe(rt.accountChecks);
}, 60_000);
afterAll(async () => { await rt?.close(); });

const delivery = (deliveries: Awaited<ReturnType<LocalRuntime['putEvent']>>) => {
  const d = deliveries.find((x) => x.functionName === FN);
  expect(d, `a rule in serverless.yml sends the event to ${FN}`).toBeDefined();
  expect(d!.error).toBeUndefined();
  return d!.result as Record<string, unknown>;
};

describe('protection in the local runtime', () => {
  it('accepts the input of each of its scheduled rules', async () => {
    const scheduled = rt.def.functions.get(FN)!.events.map((e) => e['eventBridge'] as Record<string, unknown>).filter((r) => r['schedule']);
    expect(scheduled.map((r) => [r['schedule'], r['input']])).toEqual([
      ['rate(5 minutes)', { task: 'rpo' }], ['rate(1 hour)', { task: 'coverage' }], ['cron(0 7 * * ? *)', { task: 'readiness' }],
    ]);
    for (const rule of scheduled) await expect(rt.invoke(FN, rule['input'])).resolves.toMatchObject({ task: (rule['input'] as { task: string }).task });
  }, 20_000);

  it('shows an instance tagged for a group but missing from the inventory as unprotected, on its state-change event', async () => {
    // Prepare: the seeded estate has no gaps
    const before = await rt.invoke(FN, { task: 'coverage' }) as { gaps: unknown[] };
    expect(before.gaps).toEqual([]);
    const instanceId = rt.sim.seedInstance({ subnetId: 'subnet-0a000000000000001', instanceType: 'm6i.large', tags: { Name: 'payments-api-3', 'cleanpoint:group': 'payments' } });

    // Act: EC2 announces the new instance
    const result = delivery(await rt.putEvent({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': instanceId, state: 'running' } }));

    // Assess
    expect(result['gaps']).toEqual([{
      kind: 'unprotected-instance', group: 'payments', instanceId, machineId: null,
      message: `instance ${instanceId} (running) is tagged cleanpoint:group=payments but is not in the inventory, so it would not be recovered: add it to the machines of group payments, or remove the tag`,
    }]);
    expect(result['notified']).toBe(true);
    expect(rt.outbox.some((m) => m.to.includes('eve@example.com') && m.subject === 'Protection coverage: 1 gap(s) in payments' && m.text.includes(instanceId))).toBe(true);
    expect((await wiring.protectionStore({ STATE_TABLE: rt.tables.state }, rt.platform).getCoverage())!.gaps).toHaveLength(1);
  }, 20_000);

  it('puts a machine whose points stop into RPO breach when its objective passes, and out of it when a point arrives', async () => {
    // Prepare: crm-app-1 (crm: RPO 240 min) gets no new point after its newest one
    const machineId = 'crm-app-1';
    const newest = (await newestRestorablePoint(stores.catalog, machineId, iso(rt.clock.now())))!;
    const clock = fixedClock(Date.parse(newest.capturedAt) + 239 * MINUTE);
    const notifier = new RecordingNotifier();
    const events = new RecordingEvents();
    const monitor = monitorRpo({ index: rt.index, catalog: stores.catalog, store: wiring.protectionStore({ STATE_TABLE: rt.tables.state }, rt.platform), notifier, events, clock });
    expect((await monitor({ machineIds: [machineId] })).started).toEqual([]);

    // Act: two minutes later the point is 241 minutes old
    clock.advance(2 * MINUTE);
    const breach = await monitor({ machineIds: [machineId] });
    const still = await monitor({ machineIds: [machineId] });

    // Assess
    expect(breach.started).toEqual([machineId]);
    expect(breach.machines[0]).toMatchObject({ ageMinutes: 241, objectiveMinutes: 240, breached: true });
    expect(still.started).toEqual([]);
    expect(events.published).toEqual([{ detailType: 'RPO Breach Started', detail: expect.objectContaining({ machineId, group: 'crm', ageMinutes: 241 }) }]);

    // Act: replication catches up
    clock.advance(MINUTE);
    await stores.catalog.putPoint(point(machineId, clock.now() - MINUTE));
    const healed = await monitor({ machineIds: [machineId] });

    // Assess
    expect(healed.ended).toEqual([machineId]);
    expect(notifier.sent.map((n) => n.subject)).toEqual([`RPO breach: ${machineId} (crm)`, `RPO breach over: ${machineId} (crm)`]);
    expect(await wiring.protectionStore({ STATE_TABLE: rt.tables.state }, rt.platform).getRpoState(machineId)).toMatchObject({ inBreach: false, notice: { kind: 'end', sent: true } });
  }, 20_000);

  it('fails readiness when the test subnet is deleted, naming the subnet and what to fix', async () => {
    // Prepare: the test network of payments exists and is isolated
    const before = await rt.invoke(FN, { task: 'readiness', groups: ['payments'], notify: false }) as { groups: { problems: string[] }[] };
    expect(before.groups[0]!.problems.join('\n')).not.toContain('subnet-0c000000000000001');
    const ec2Client = rt.clients.ec2;

    // Act
    await ec2Client.send(new DeleteSubnetCommand({ SubnetId: 'subnet-0c000000000000001' }));
    const after = await rt.invoke(FN, { task: 'readiness', groups: ['payments'] }) as { groups: { group: string; ready: boolean; problems: string[] }[] };

    // Assess
    expect(after.groups[0]).toMatchObject({ group: 'payments', ready: false });
    expect(after.groups[0]!.problems).toContain('test subnet subnet-0c000000000000001 of group payments does not exist: create it or fix networks.test in the inventory');
    const stored = await wiring.protectionStore({ STATE_TABLE: rt.tables.state }, rt.platform).getReadiness('payments');
    expect(stored!.items.find((i) => i.check === 'test-network')!.status).toBe('fail');
    const mail = [...rt.outbox].reverse().find((m) => m.to.includes('eve@example.com') && m.subject.startsWith('Readiness of payments: NOT READY'));
    expect(mail?.text).toContain('test subnet subnet-0c000000000000001 of group payments does not exist');
  }, 20_000);

  it('raises the RPO breach of crm-db-1 at once when DRS reports its replication stalled, and ends it when it resumes', async () => {
    const now = rt.clock.now();
    const stalled = { ...loadSharedFixture<Record<string, unknown>>('eventbridge/drs/awsdocs-drs_DRS-Source-Server-Data-Replication-Stalled-Change_STALLED.json'), time: iso(now) };
    const raised = delivery(await rt.putEvent(stalled));
    expect(raised).toMatchObject({ machineId: 'crm-db-1', stalled: true, applied: true, run: { started: ['crm-db-1'] } });
    expect(rt.outbox.some((m) => m.subject === 'RPO breach: crm-db-1 (crm)' && m.text.includes('replication as stalled'))).toBe(true);

    const resumed = { ...loadSharedFixture<Record<string, unknown>>('eventbridge/drs/awsdocs-drs_DRS-Source-Server-Data-Replication-Stalled-Change_NOT_STALLED.json'), time: iso(now + 1000) };
    expect(delivery(await rt.putEvent(resumed))).toMatchObject({ stalled: false, run: { ended: ['crm-db-1'] } });
    // One message per recipient and channel: the executor's mail box sees each announcement once.
    expect(rt.outbox.filter((m) => m.to.includes('eve@example.com') && m.subject.includes('crm-db-1')).map((m) => m.subject))
      .toEqual(['RPO breach: crm-db-1 (crm)', 'RPO breach over: crm-db-1 (crm)']);
  }, 20_000);
});
