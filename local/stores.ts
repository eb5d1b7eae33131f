import type { RecoveryPointCatalog, RecoveryPointWriter } from '../domain/ports/index.ts';
import type { LocalRuntime } from './runtime.ts';

/**
 * The DynamoDB adapters the handlers use, for the local server, the console and the demo.
 * Imported lazily: the SDK clients read their endpoints when their module loads, which must
 * happen after startLocalRuntime has pointed the environment at the embedded services.
 */
export async function localStores(rt: LocalRuntime) {
  const { stateStores, catalogStore } = await import('../functions/shared/wiring.ts');
  const state = stateStores({ STATE_TABLE: rt.tables.state });
  const catalog: RecoveryPointCatalog & RecoveryPointWriter = catalogStore({ CATALOG_TABLE: rt.tables.catalog });
  return { ...state, catalog };
}

export type LocalStores = Awaited<ReturnType<typeof localStores>>;
