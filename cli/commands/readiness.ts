import { parseArgs } from 'node:util';
import { fixedClock } from '../../domain/shared/index.ts';
import { checkReadiness, renderReadiness } from '../../domain/protection/index.ts';
import { MemoryProtectionStore } from '../../functions/shared/adapters/memory/protection-store.ts';
import { UsageError, type Io } from '../io.ts';
import { checkedInventoryFile, inProcessEstate, type OpenEstate } from './coverage.ts';

export const READINESS_USAGE = 'cleanpoint readiness [GROUP] [--inventory FILE] [--json]';

/**
 * `readiness [GROUP]`: would a failover of each group (or GROUP) work today, and what to fix.
 * The facts come from the local system started in memory (see `coverage`); nothing is sent or
 * stored. Exit 0 when every group checked is ready, 1 when one is not, 2 for an unknown group.
 */
export async function readinessCommand(io: Io, argv: string[], openEstate: OpenEstate = inProcessEstate): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { inventory: { type: 'string', default: 'examples/inventory.yaml' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length > 1) throw new UsageError(`expected at most one GROUP\nusage: ${READINESS_USAGE}`);
  const inventoryFile = await checkedInventoryFile(io, values.inventory);
  const { reports, source } = await openEstate(inventoryFile, async (estate) => {
    const group = positionals[0];
    if (group !== undefined && !estate.index.groupByName.has(group)) {
      throw new UsageError(`group ${JSON.stringify(group)} is not in the inventory (groups: ${[...estate.index.groupByName.keys()].join(', ')})`);
    }
    const silent = { send: async () => undefined, publish: async () => undefined };
    const run = await checkReadiness({
      index: estate.index, environment: estate.environment, catalog: estate.catalog, store: new MemoryProtectionStore(),
      lastPassedDrillAt: async (g) => (await estate.drills.getGroupStatus(g))?.lastPassedAt ?? null,
      notifier: silent, events: silent, clock: fixedClock(estate.now), defaultKeyId: process.env['KMS_KEY_ID'] ?? 'alias/cleanpoint-local',
    })({ ...(group ? { groups: [group] } : {}), notify: false });
    return { reports: run.reports, source: estate.source };
  });
  io.stdout(values.json ? JSON.stringify({ source, groups: reports }, null, 2) : `Facts from ${source}.\n\n${renderReadiness(reports)}`);
  return reports.every((r) => r.ready) ? 0 : 1;
}
