import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, UnsupportedEventError, ValidationError } from '../../domain/shared/index.ts';
import { GROUP_TAG } from '../../domain/protection/index.ts';
import type { RecoveryEnvironment } from '../../domain/ports/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { MemoryProtectionStore } from '../../functions/shared/adapters/memory/protection-store.ts';
import { compilePattern } from '../../local/event-pattern.ts';
import { eventRules, loadServerlessDefinition } from '../../local/serverless-config.ts';
import { loadSharedFixture } from '../helpers/fixtures.ts';
import { demoIndex, demoNetworkFacts, iso, MINUTE, point, RecordingEvents, RecordingNotifier, T0 } from './support.ts';

type Mod = typeof import('../../functions/check-protection/handler.ts');
let mod: Mod;

beforeAll(async () => {
  // What serverless.yml gives the function (validated at cold start, like on Lambda).
  Object.assign(process.env, {
    STATE_TABLE: 'cleanpoint-test-state', CATALOG_TABLE: 'cleanpoint-test-catalog', EVENT_BUS_NAME: 'cleanpoint-test', KMS_KEY_ID: 'alias/cleanpoint-test',
    INVENTORY_SOURCE: `file:${path.resolve('examples/inventory.yaml')}`,
  });
  mod = await import('../../functions/check-protection/handler.ts');
});

function deps(options: { extraInstance?: boolean; index?: ReturnType<typeof demoIndex> } = {}) {
  const index = options.index ?? demoIndex();
  const network = demoNetworkFacts(index);
  const environment: RecoveryEnvironment = {
    findInstances: async () => [
      ...[...index.machineById.values()].map(({ machine, group }) => ({ instanceId: machine.instanceId, state: 'running' as const, tags: { [GROUP_TAG]: group.name } })),
      ...(options.extraInstance ? [{ instanceId: 'i-0feedfacecafe0001', state: 'running' as const, tags: { [GROUP_TAG]: 'crm' } }] : []),
    ],
    describeNetworks: async () => network,
    instanceQuota: async () => ({ maxInstances: 100, running: 6 }),
    keyStatus: async () => ({ ok: true, detail: 'ok' }),
    emailSenderStatus: async () => ({ ok: true, detail: 'ok' }),
  };
  const d = {
    index, environment, catalog: new InMemoryRecoveryPointCatalog([...index.machineById.keys()].map((m) => point(m, T0 - 90 * MINUTE))),
    store: new MemoryProtectionStore(), notifier: new RecordingNotifier(), events: new RecordingEvents(), clock: fixedClock(T0),
    lastPassedDrillAt: async () => iso(T0 - MINUTE), defaultKeyId: 'alias/cleanpoint-test',
  };
  return { d, handle: mod.makeHandler(async () => d) };
}

describe('check-protection handler', () => {
  it('exports the middleware-wrapped handler for serverless.yml and the bare factory for tests', () => {
    expect(typeof (mod.handler as { use?: unknown }).use).toBe('function');
    expect(typeof mod.makeHandler).toBe('function');
  });

  it('runs the RPO task: payments (60 min) is in breach with 90-minute-old points, crm and intranet are not', async () => {
    const { handle } = deps();
    expect(await handle({ task: 'rpo' })).toEqual({
      task: 'rpo', at: iso(T0), started: ['payments-db-1', 'payments-api-1', 'payments-api-2'], ended: [], resent: [],
      inBreach: ['payments-db-1', 'payments-api-1', 'payments-api-2'],
    });
  });

  it('runs the coverage task, and the same check on an EC2 instance state change', async () => {
    const { handle } = deps({ extraInstance: true });
    const scheduled = await handle({ task: 'coverage' }) as { gaps: { kind: string; instanceId: string }[]; changed: boolean };
    expect(scheduled.gaps.map((g) => [g.kind, g.instanceId])).toEqual([['unprotected-instance', 'i-0feedfacecafe0001']]);
    const event = { source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-0feedfacecafe0001', state: 'running' } };
    expect(await handle(event)).toMatchObject({ task: 'coverage', changed: false, notified: false });
  });

  it('runs the readiness task for some groups without notifying when asked not to', async () => {
    const { d, handle } = deps();
    const out = await handle({ task: 'readiness', groups: ['crm'], notify: false }) as { groups: { group: string; ready: boolean }[] };
    expect(out.groups).toEqual([{ group: 'crm', ready: true, problems: [] }]);
    expect(d.notifier.sent).toEqual([]);
  });

  it('raises the breach of the machine DRS reports stalled', async () => {
    const index = demoIndex((raw) => { ((raw['groups'] as { machines: Record<string, unknown>[] }[])[1]!.machines[0]!)['drsSourceServerId'] = 's-12345678901234567'; });
    const { handle } = deps({ index });
    const event = { ...loadSharedFixture<Record<string, unknown>>('eventbridge/drs/awsdocs-drs_DRS-Source-Server-Data-Replication-Stalled-Change_STALLED.json'), time: iso(T0) };
    expect(await handle(event)).toMatchObject({ task: 'replication-stall', machineId: 'crm-db-1', stalled: true, run: { started: ['crm-db-1'], ended: [] } });
  });

  it('refuses bad task input and events it does not handle', async () => {
    const { handle } = deps();
    await expect(handle({ task: 'everything' })).rejects.toBeInstanceOf(ValidationError);
    await expect(handle({ task: 'rpo', extra: 1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(handle({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'x' } })).rejects.toBeInstanceOf(ValidationError);
    await expect(handle({ source: 'aws.guardduty', 'detail-type': 'GuardDuty Finding', detail: {} })).rejects.toBeInstanceOf(UnsupportedEventError);
  });
});

describe('the rules serverless.yml declares for check-protection', () => {
  const rules = eventRules(loadServerlessDefinition()).filter((r) => r.functionName === 'check-protection').map((r) => compilePattern(r.pattern));
  const routed = (event: unknown) => rules.some((match) => match(event));
  const drs = (file: string) => loadSharedFixture(`eventbridge/drs/${file}`);
  const ec2 = (state: string) => ({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-0feedfacecafe0001', state } });

  it('route both DRS replication stall samples and the instance states that change coverage', () => {
    expect(routed(drs('awsdocs-drs_DRS-Source-Server-Data-Replication-Stalled-Change_STALLED.json'))).toBe(true);
    expect(routed(drs('awsdocs-drs_DRS-Source-Server-Data-Replication-Stalled-Change_NOT_STALLED.json'))).toBe(true);
    for (const state of ['running', 'stopped', 'terminated']) expect(routed(ec2(state)), state).toBe(true);
  });

  it('ignore other DRS events, transitional instance states and snapshots', () => {
    expect(routed(drs('awsdocs-drs_DRS-PIT-Snapshot-Taken_PIT-Snapshot-Taken.json'))).toBe(false);
    expect(routed(drs('awsdocs-drs_DRS-Source-Server-Launch-Result_RECOVERY_LAUNCH_FAILED.json'))).toBe(false);
    for (const state of ['pending', 'stopping', 'shutting-down']) expect(routed(ec2(state)), state).toBe(false);
    expect(routed(loadSharedFixture('eventbridge/ebs/awsdocs_ebs_createSnapshot_succeeded.json'))).toBe(false);
  });
});
