import type { RecoveryPointCatalog, RecoveryPointWriter } from '../domain/ports/index.ts';
import { catalogStore, stateStores } from '../functions/shared/wiring.ts';
import type { LocalRuntime } from './runtime.ts';

/** The DynamoDB adapters the handlers use, for the local server, the console and the demo: over the runtime's clients. */
export async function localStores(rt: LocalRuntime) {
  const state = stateStores({ STATE_TABLE: rt.tables.state }, rt.platform);
  const catalog: RecoveryPointCatalog & RecoveryPointWriter = catalogStore({ CATALOG_TABLE: rt.tables.catalog }, rt.platform);
  return { ...state, catalog };
}

export type LocalStores = Awaited<ReturnType<typeof localStores>>;
