import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { launchMachine, type LaunchDeps } from '../../domain/failover/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { catalogStore, compute, runInstancesPacer, snapshotDirectory, stateStores } from '../shared/wiring.ts';

const input = z.strictObject({ runId: ids.runId, kind: ids.kind, mode: ids.mode, machineId: ids.machineId });

/**
 * Step Functions task (one per machine, in parallel within a wave): the point is judged again
 * (PointNoLongerEligible when it turned infected, quarantined, deleted or after the cutoff),
 * then an image from its snapshots and RunInstances with an idempotency token, so a retried
 * task never launches a second instance.
 */
export function makeHandler(deps: () => Promise<LaunchDeps>) {
  return async (event: unknown) => {
    const task = taskInput(input, event);
    const result = await launchMachine(await deps())({ runId: task.runId, machineId: task.machineId, kind: task.kind });
    logger.info('machine launched', { instanceId: result.instanceId, instanceType: result.instanceType, throttledRetries: result.throttledRetries });
    metrics.addMetric('MachinesLaunched', MetricUnit.Count, 1);
    return { ...task, instanceId: result.instanceId, waitSeconds: result.waitSeconds };
  };
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<LaunchDeps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, CATALOG_TABLE: configVars.CATALOG_TABLE, KMS_KEY_ID: configVars.KMS_KEY_ID }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  // The point is judged again at the moment of launch: the catalogue now, the incident's cutoff now,
  // and EC2's own view of the point's snapshots (a deleted one is marked expired in the catalogue).
  const catalog = catalogStore(config, p);
  const deps: LaunchDeps = {
    runs: stores.runs, audit: stores.audit, compute: compute(config, p), clock: p.clock, pacer: runInstancesPacer(config, p), kmsKeyId: config.KMS_KEY_ID,
    revalidate: { catalog, incidents: stores.incidents, snapshots: snapshotDirectory(p), writer: catalog },
  };
  return async () => deps;
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
