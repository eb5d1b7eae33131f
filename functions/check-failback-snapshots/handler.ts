import { z } from 'zod';
import { failbackPlanWhenSnapshotsReady } from '../../domain/failover/index.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { snapshotDirectory, stateStores } from '../shared/wiring.ts';

const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE });
const stores = stateStores(config);
const snapshots = snapshotDirectory();
const input = z.strictObject({ runId: ids.runId });
type Deps = Parameters<typeof failbackPlanWhenSnapshotsReady>[0];

/** Step Functions task: the failback waves once every snapshot is complete (retried until then). */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => failbackPlanWhenSnapshotsReady(await deps())(taskInput(input, event));
}

export const handler = lambda(makeHandler(async () => ({ runs: stores.runs, snapshots })));
