import { z } from 'zod';
import { selectForIncident } from '../../domain/recovery-points/index.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { lambda } from '../shared/middleware.ts';
import { logger } from '../shared/observability.ts';
import { ids, taskInput } from '../shared/task-input.ts';
import { catalogStore, clock, estate, stateStores } from '../shared/wiring.ts';

const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, CATALOG_TABLE: configVars.CATALOG_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, POLICY_SOURCE: configVars.POLICY_SOURCE });
const stores = stateStores(config);
const catalog = catalogStore(config);

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

export const handler = lambda(makeHandler(async () => ({ ...stores, catalog, ...(await estate(config)), clock })));
