import { z } from 'zod';
import { failbackPlanWhenSnapshotsReady } from '../../domain/failover/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { snapshotDirectory, stateStores } from '../shared/wiring.ts';

const input = z.strictObject({ runId: ids.runId });
type Deps = Parameters<typeof failbackPlanWhenSnapshotsReady>[0];

/** Step Functions task: the failback waves once every snapshot is complete (retried until then). */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => failbackPlanWhenSnapshotsReady(await deps())(taskInput(input, event));
}

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE }, env);
  const p = platform(overrides);
  const deps = { runs: stateStores(config, p).runs, snapshots: snapshotDirectory(p) };
  return async () => deps;
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
