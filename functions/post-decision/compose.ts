import { platform, type Env, type Overrides } from '../shared/compose.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { catalogStore, estate, protectionStore, secret, stateStores, workflowEngine } from '../shared/wiring.ts';
import type { DecisionDeps } from './form.ts';

/** The dependencies from the function's environment (compose.ts). Task tokens are answered by token: no state machine ARN needed. */
export function compose(env: Env, overrides: Overrides = {}): () => Promise<DecisionDeps> {
  const config = loadConfig({
    STATE_TABLE: configVars.STATE_TABLE, CATALOG_TABLE: configVars.CATALOG_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
    POLICY_SOURCE: configVars.POLICY_SOURCE, LINK_SECRET_PARAMETER: configVars.LINK_SECRET_PARAMETER,
  }, env);
  const p = platform(overrides);
  const protection = protectionStore(config, p);
  const fixed = { ...stateStores(config, p), workflows: workflowEngine({}, p), catalog: catalogStore(config, p), clock: p.clock, readiness: (group: string) => protection.getReadiness(group) };
  return async () => ({ ...fixed, ...(await estate(config, p)), linkSecret: await secret(config.LINK_SECRET_PARAMETER, p) });
}

