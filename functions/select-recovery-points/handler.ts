import { z } from 'zod';
import { selectForIncident } from '../../domain/recovery-points/index.ts';
import { onFirstUse, type Env, type Overrides } from '../shared/compose.ts';
import { composePlanner } from '../shared/composers.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { catalogStore, snapshotDirectory } from '../shared/wiring.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { platform } from '../shared/compose.ts';


const input = z.strictObject({ incidentId: ids.incidentId, groupCutoffs: z.record(z.string(), z.string()).optional() });
type Deps = Parameters<typeof selectForIncident>[0];

/** Step Functions task: latest clean point per machine; the proposal is stored, a summary returned. */
export function makeHandler(deps: () => Promise<Deps>) {
  return async (event: unknown) => {
    const result = await selectForIncident(await deps())(taskInput(input, event));
    logger.info('recovery points selected', { machines: result.machineCount, blockers: result.blockerCount, ready: result.ready });
    return result;
  };
}

/**
 * The dependencies from the function's environment (compose.ts), and EC2's view of the chosen
 * points' snapshots: a point whose snapshot was deleted is marked expired and the next one chosen.
 */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  const planner = composePlanner(env, overrides);
  const p = platform(overrides);
  const writer = catalogStore(loadConfig({ CATALOG_TABLE: configVars.CATALOG_TABLE }, env), p);
  const snapshots = snapshotDirectory(p);
  return async () => ({ ...(await planner()), snapshots, writer });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
