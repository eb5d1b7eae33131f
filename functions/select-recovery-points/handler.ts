import { z } from 'zod';
import { selectForIncident } from '../../domain/recovery-points/index.ts';
import { onFirstUse, platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { catalogStore, estate, stateStores } from '../shared/wiring.ts';


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

/** The dependencies from the function's environment (compose.ts). */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<Deps> {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, CATALOG_TABLE: configVars.CATALOG_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, POLICY_SOURCE: configVars.POLICY_SOURCE }, env);
  const p = platform(overrides);
  const fixed = { ...stateStores(config, p), catalog: catalogStore(config, p), clock: p.clock };
  return async () => ({ ...fixed, ...(await estate(config, p)) });
}

export const handler = lambda(makeHandler(onFirstUse(() => compose(process.env))));
