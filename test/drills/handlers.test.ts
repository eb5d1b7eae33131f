import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, ValidationError } from '../../domain/shared/index.ts';
import { DEFAULT_POLICY } from '../../domain/findings/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { MemoryDrillStore } from '../../functions/shared/adapters/memory/drill-store.ts';
import { MemoryAuditLog, MemoryIncidentStore } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { demoIndex, makeDrill, MINUTE, point, readOnlyCompute, RecordingNotifier, RecordingWorkflows, T0 } from './support.ts';

const NAMES = ['start-drill', 'run-acceptance-checks', 'record-drill', 'check-drill-schedule', 'finish-aborted-drill'] as const;
type Mod = { handler: unknown; makeHandler: (deps: () => Promise<never>) => (event: unknown) => Promise<unknown> };
const mods: Record<string, Mod> = {};

beforeAll(async () => {
  // What serverless.yml gives the functions (validated at cold start, like on Lambda).
  Object.assign(process.env, {
    STATE_TABLE: 'cleanpoint-test-state', CATALOG_TABLE: 'cleanpoint-test-catalog', KMS_KEY_ID: 'alias/cleanpoint-test',
    INVENTORY_SOURCE: `file:${path.resolve('examples/inventory.yaml')}`,
    DRILL_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:cleanpoint-test-drill',
  });
  for (const n of NAMES) mods[n] = await import(`../../functions/${n}/handler.ts`) as Mod;
});

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('drill handlers', () => {
  it.each(NAMES)('%s exports the middleware-wrapped handler for serverless.yml and the bare factory for tests', (name) => {
    const mod = mods[name]!;
    expect(typeof (mod.handler as { use?: unknown }).use).toBe('function');
    expect(typeof mod.makeHandler).toBe('function');
  });

  it('start-drill validates its task input and returns the run plan', async () => {
    const index = demoIndex();
    const points = ['payments-db-1', 'payments-api-1', 'payments-api-2'].map((m) => point(m, T0 - 5 * MINUTE));
    const deps = {
      drills: new MemoryDrillStore(), runs: new MemoryRunStore(), incidents: new MemoryIncidentStore(), audit: new MemoryAuditLog(),
      catalog: new InMemoryRecoveryPointCatalog(points), index, policy: DEFAULT_POLICY, clock: fixedClock(T0),
    };
    const handle = mods['start-drill']!.makeHandler((async () => deps) as never);
    expect(await rejection(handle({ drillId: 'drill-x', group: 'payments' }))).toBeInstanceOf(ValidationError);
    const plan = await handle({ drillId: 'drill-payments-x', group: 'payments', point: 'latest', trigger: 'on-demand', requestedBy: 'eve' }) as { runId: string; waves: unknown[] };
    expect(plan).toMatchObject({ runId: 'drill-payments-x', kind: 'drill', mode: 'test' });
    expect(plan.waves).toHaveLength(2);
  });

  it('record-drill takes the result step and the finish step, and nothing else', async () => {
    const drills = new MemoryDrillStore();
    await drills.createDrill(makeDrill({ drillId: 'drill-payments-x', status: 'running' }));
    const deps = {
      drills, runs: new MemoryRunStore(), audit: new MemoryAuditLog(), index: demoIndex(), clock: fixedClock(T0),
      compute: readOnlyCompute({ instances: [] }), notifier: new RecordingNotifier(),
    };
    const handle = mods['record-drill']!.makeHandler((async () => deps) as never);
    expect(await handle({ step: 'result', drillId: 'drill-payments-x', outcome: 'failed', error: { Error: 'LaunchFailedError', Cause: 'no capacity' } }))
      .toEqual({ drillId: 'drill-payments-x', result: 'fail', rtoMinutes: null });
    expect(await handle({ step: 'finish', drillId: 'drill-payments-x', cleanup: { terminated: [], deregistered: [], remaining: [] } }))
      .toMatchObject({ status: 'finished', result: 'fail', cleanup: 'clean' });
    expect(await rejection(handle({ step: 'guess', drillId: 'drill-payments-x' }))).toBeInstanceOf(ValidationError);
  });

  it('finish-aborted-drill accepts only ABORTED / TIMED_OUT status changes of an execution', async () => {
    const drills = new MemoryDrillStore();
    await drills.createDrill(makeDrill({ drillId: 'drill-payments-x', status: 'running' }));
    const workflows = new RecordingWorkflows();
    const handle = mods['finish-aborted-drill']!.makeHandler((async () => ({ drills, workflows, audit: new MemoryAuditLog(), clock: fixedClock(T0) })) as never);
    const event = (status: string) => ({
      source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change',
      detail: { executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:cleanpoint-test-drill:drill-payments-x', name: 'drill-payments-x', status, input: '{"drillId":"drill-payments-x"}' },
    });
    expect(await rejection(handle(event('SUCCEEDED')))).toBeInstanceOf(ValidationError);
    expect(await handle(event('TIMED_OUT'))).toMatchObject({ drillId: 'drill-payments-x', action: 'cleanup-started' });
    expect((await drills.getDrill('drill-payments-x'))!.abort?.status).toBe('TIMED_OUT');
  });

  it('check-drill-schedule knows its two scheduled tasks', async () => {
    const deps = { drills: new MemoryDrillStore(), incidents: new MemoryIncidentStore(), workflows: new RecordingWorkflows(), notifier: new RecordingNotifier(), clock: fixedClock(Date.parse('2025-03-05T12:00:00Z')), index: demoIndex() };
    const handle = mods['check-drill-schedule']!.makeHandler((async () => deps) as never);
    const tick = await handle({ task: 'start-due-drills' }) as { decisions: { group: string; action: string }[] };
    expect(tick.decisions.map((d) => [d.group, d.action])).toEqual([['payments', 'not-due'], ['crm', 'started']]);
    expect(await handle({ task: 'report-lifecycle' })).toMatchObject({ task: 'report-lifecycle' });
    expect(await rejection(handle({ task: 'drill-everything' }))).toBeInstanceOf(ValidationError);
  });
});
