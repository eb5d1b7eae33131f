import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { checkCoverage, checkReadiness, monitorRpo, replicationStallChanged, type CoverageDeps, type ReadinessDeps, type RpoMonitorDeps } from '../../domain/protection/index.ts';
import { INSTANCE_ID, UnsupportedEventError } from '../../domain/shared/index.ts';
import { slackConfigVars } from '../shared/adapters/slack-notifier.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { taskInput } from '../shared/task-input.ts';
import { catalogStore, estate, eventPublisher, notifier, protectionStore, recoveryEnvironment, stateStores } from '../shared/wiring.ts';

/** The scheduled rules' fixed input (serverless.yml), or an event from one of the two rules. */
const task = z.discriminatedUnion('task', [
  z.strictObject({ task: z.literal('rpo') }),
  z.strictObject({ task: z.literal('coverage') }),
  z.strictObject({ task: z.literal('readiness'), groups: z.array(z.string().min(1)).optional(), notify: z.boolean().default(true) }),
]);
const instanceStateChange = z.looseObject({
  source: z.literal('aws.ec2'),
  'detail-type': z.literal('EC2 Instance State-change Notification'),
  detail: z.looseObject({ 'instance-id': z.string().regex(INSTANCE_ID.pattern), state: z.string().min(1) }),
});

export type ProtectionDeps = RpoMonitorDeps & CoverageDeps & ReadinessDeps;

/**
 * Keeps the plan true (docs/readiness.md). Scheduled: RPO every 5 minutes, coverage hourly,
 * readiness daily. Events: an EC2 instance state change re-checks coverage; a DRS "Data
 * Replication Stalled Change" raises (or lets end) the machine's RPO breach at once. Every path
 * is idempotent (conditional writes decide who announces what), so EventBridge's at-least-once
 * delivery, Lambda's retries and overlapping runs announce each change once.
 */
export function makeHandler(deps: () => Promise<ProtectionDeps>) {
  return async (event: unknown) => {
    const e = (event ?? {}) as { task?: unknown; source?: unknown; 'detail-type'?: unknown };
    if (e.source === 'aws.drs') {
      const result = await replicationStallChanged(await deps())(event);
      logger.info('DRS replication stall change', { sourceServerId: result.sourceServerId, stalled: result.stalled, machineId: result.machineId, applied: result.applied });
      return { task: 'replication-stall', ...result, run: result.run && { started: result.run.started, ended: result.run.ended } };
    }
    if (e.source === 'aws.ec2') {
      const change = taskInput(instanceStateChange, event);
      logger.info('instance state change', { instanceId: change.detail['instance-id'], state: change.detail.state });
      return coverage(await deps());
    }
    if (e.task === undefined) throw new UnsupportedEventError(`not a protection check (source ${JSON.stringify(e.source)}, detail-type ${JSON.stringify(e['detail-type'])})`);
    const input = taskInput(task, event);
    const d = await deps();
    if (input.task === 'coverage') return coverage(d);
    if (input.task === 'readiness') {
      const run = await checkReadiness(d)({ ...(input.groups ? { groups: input.groups } : {}), notify: input.notify });
      metrics.addMetric('GroupsNotReady', MetricUnit.Count, run.reports.filter((r) => !r.ready).length);
      return { task: 'readiness', changed: run.changed, notified: run.notified, groups: run.reports.map((r) => ({ group: r.group, ready: r.ready, problems: r.problems })) };
    }
    const run = await monitorRpo(d)();
    metrics.addMetric('RpoBreachesStarted', MetricUnit.Count, run.started.length);
    metrics.addMetric('MachinesInRpoBreach', MetricUnit.Count, run.machines.filter((m) => m.breached).length);
    return { task: 'rpo', at: run.at, started: run.started, ended: run.ended, resent: run.resent, inBreach: run.machines.filter((m) => m.breached).map((m) => m.machineId) };
  };
}

async function coverage(d: ProtectionDeps) {
  const run = await checkCoverage(d)();
  metrics.addMetric('CoverageGaps', MetricUnit.Count, run.report.gaps.length);
  return { task: 'coverage', changed: run.changed, notified: run.notified, gaps: run.report.gaps };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<ProtectionDeps> {
  const config = loadConfig({
    CATALOG_TABLE: configVars.CATALOG_TABLE, STATE_TABLE: configVars.STATE_TABLE, EVENT_BUS_NAME: configVars.EVENT_BUS_NAME,
    INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, KMS_KEY_ID: configVars.KMS_KEY_ID,
    NOTIFY_EMAIL_FROM: configVars.NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO: configVars.NOTIFY_EMAIL_TO, ...slackConfigVars,
  }, env);
  const p = platform(overrides);
  const drills = stateStores(config, p).drills;
  const fixed = {
    catalog: catalogStore(config, p), store: protectionStore(config, p), environment: recoveryEnvironment(config, p), notifier: notifier(config, p),
    events: eventPublisher(config, p), clock: p.clock, defaultKeyId: config.KMS_KEY_ID,
    lastPassedDrillAt: async (group: string) => (await drills.getGroupStatus(group))?.lastPassedAt ?? null,
  };
  return async () => ({ ...fixed, index: (await estate(config, p)).index });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
