/**
 * Compositions several functions share exactly (compose.ts describes the pattern): a handler
 * whose dependencies are one of these sets calls the builder from its own `compose`, so the
 * variables it validates and the adapters it builds are written once.
 */
import { platform, type Env, type Overrides } from './compose.ts';
import { configVars, loadConfig } from './config.ts';
import { catalogStore, compute, estate, stateStores } from './wiring.ts';

/** The state stores and the clock (functions that record what a run or an approval did). */
export function composeRecorder(env: Env, overrides: Overrides = {}) {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const deps = { incidents: stores.incidents, runs: stores.runs, audit: stores.audit, approvals: stores.approvals, clock: p.clock };
  return async () => deps;
}

/** Runs, audit, the compute provider and the clock (functions that look at or remove a run's machines). */
export function composeRunCompute(env: Env, overrides: Overrides = {}) {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, KMS_KEY_ID: configVars.KMS_KEY_ID }, env);
  const p = platform(overrides);
  const stores = stateStores(config, p);
  const deps = { runs: stores.runs, audit: stores.audit, compute: compute(config, p), clock: p.clock };
  return async () => deps;
}

/** The state stores, the catalogue, the clock and the estate (inventory and policy): functions that choose points. */
export function composePlanner(env: Env, overrides: Overrides = {}) {
  const config = loadConfig({ STATE_TABLE: configVars.STATE_TABLE, CATALOG_TABLE: configVars.CATALOG_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, POLICY_SOURCE: configVars.POLICY_SOURCE }, env);
  const p = platform(overrides);
  const fixed = { ...stateStores(config, p), catalog: catalogStore(config, p), clock: p.clock };
  return async () => ({ ...fixed, ...(await estate(config, p)) });
}
