import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { coverageOf, machinesWithAnyPoint, renderCoverage, type ObservedInstance } from '../../domain/protection/index.ts';
import { indexInventory, parseInventoryText, type InventoryIndex, type InstanceState } from '../../domain/inventory/index.ts';
import type { DrillStore, RecoveryEnvironment } from '../../domain/ports/index.ts';
import { parseCatalog, type RecoveryPointCatalog } from '../../domain/recovery-points/index.ts';
import { parseWith } from '../../domain/shared/index.ts';
import { inFile, parseJsonText, readInput, UsageError, type Io } from '../io.ts';

export const COVERAGE_USAGE = 'cleanpoint coverage [--inventory FILE] [--instances FILE [--catalog FILE]] [--json]';

/**
 * Where the protection commands (`coverage`, `readiness`) get their facts.
 *
 * There is no AWS account behind the CLI, and the local server has no protection API yet, so
 * by default the commands start the local system in memory, in process: the inventory's demo
 * estate is seeded into the EC2 simulator and the catalogue (as `npm start` does), and the
 * checks run through the real EC2 and DynamoDB adapters. That shows what the checks report and
 * how, not the state of a real account. For a real account, `coverage --instances FILE` reads
 * the output of `aws ec2 describe-instances` instead (and `--catalog FILE` a catalogue export).
 */
export interface LocalEstate {
  index: InventoryIndex;
  environment: RecoveryEnvironment;
  catalog: RecoveryPointCatalog;
  drills: DrillStore;
  now: number;
  /** Where the facts come from, printed above the report. */
  source: string;
}

export type OpenEstate = <T>(inventoryFile: string, use: (estate: LocalEstate) => Promise<T>) => Promise<T>;

/** Start the local system in memory with the inventory's demo estate, run `use`, stop it. */
export const inProcessEstate: OpenEstate = async (inventoryFile, use) => {
  const { startLocalRuntime } = await import('../../local/runtime.ts');
  const { seedDemoEstate } = await import('../../local/demo-estate.ts');
  const rt = await startLocalRuntime({ dataDir: null, inventoryFile, speed: 1, publicBaseUrl: 'http://127.0.0.1:8787', logLevel: 'ERROR' });
  try {
    const wiring = await import('../../functions/shared/wiring.ts');
    // The runtime's platform: its emulated clients and simulated account checks (no KMS, no SES identities locally).
    const catalog = wiring.catalogStore({ CATALOG_TABLE: rt.tables.catalog }, rt.platform);
    await seedDemoEstate(rt.index.inventory, rt.sim, catalog, { nowMs: rt.clock.now(), days: 3 });
    return await use({
      index: rt.index, catalog, now: rt.clock.now(),
      environment: wiring.recoveryEnvironment({ NOTIFY_EMAIL_FROM: process.env['NOTIFY_EMAIL_FROM'] }, rt.platform),
      drills: wiring.stateStores({ STATE_TABLE: rt.tables.state }, rt.platform).drills,
      source: `the local demo estate seeded in memory from ${path.relative(process.cwd(), inventoryFile) || inventoryFile} (not an AWS account)`,
    });
  } finally {
    await rt.close();
  }
};

/** `aws ec2 describe-instances --output json`, the fields the check reads. */
const describeInstancesOutput = z.looseObject({
  Reservations: z.array(z.looseObject({
    Instances: z.array(z.looseObject({
      InstanceId: z.string().min(1),
      State: z.looseObject({ Name: z.enum(['pending', 'running', 'shutting-down', 'terminated', 'stopping', 'stopped']) }),
      Tags: z.array(z.looseObject({ Key: z.string(), Value: z.string().optional() })).optional(),
    })).default([]),
  })).default([]),
});

export function instancesFromDescribeOutput(value: unknown, source = 'instances'): ObservedInstance[] {
  const out = parseWith(describeInstancesOutput, value, source);
  return out.Reservations.flatMap((r) => r.Instances.map((i) => ({
    instanceId: i.InstanceId, state: i.State.Name as InstanceState, tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key, t.Value ?? ''])),
  })));
}

/**
 * `coverage`: instances tagged `cleanpoint:group` that the inventory misses, inventory machines
 * whose instance is gone, machines without recovery points. Exit 0 without gaps, 1 with gaps.
 */
export async function coverageCommand(io: Io, argv: string[], openEstate: OpenEstate = inProcessEstate): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { inventory: { type: 'string', default: 'examples/inventory.yaml' }, instances: { type: 'string' }, catalog: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}\nusage: ${COVERAGE_USAGE}`);
  if (values.catalog && !values.instances) throw new UsageError(`--catalog needs --instances (without them the local demo estate is checked)\nusage: ${COVERAGE_USAGE}`);
  let report;
  let source: string;
  if (values.instances) {
    const inv = await readInput(io, values.inventory, 'the inventory');
    const index = indexInventory(await inFile(inv.name, () => parseInventoryText(inv.text, 'inventory')));
    const file = await readInput(io, values.instances, 'the describe-instances output');
    const instances = await inFile(file.name, () => instancesFromDescribeOutput(parseJsonText(file.text, 'instances'), 'instances'));
    let withPoints: Set<string> | null = null;
    if (values.catalog) {
      const cat = await readInput(io, values.catalog, 'the catalogue');
      const points = await inFile(cat.name, () => parseCatalog(parseJsonText(cat.text, 'catalog')));
      withPoints = await machinesWithAnyPoint(new InMemoryRecoveryPointCatalog(points), [...index.machineById.keys()]);
    }
    report = coverageOf(index, instances, withPoints, Date.now());
    source = `${file.name}${values.catalog ? ` and ${values.catalog}` : ''}`;
  } else {
    const inventoryFile = await checkedInventoryFile(io, values.inventory);
    ({ report, source } = await openEstate(inventoryFile, async (estate) => {
      const instanceIds = [...estate.index.machineByInstanceId.keys()];
      const [instances, withPoints] = await Promise.all([
        estate.environment.findInstances({ tagKey: 'cleanpoint:group', instanceIds }),
        machinesWithAnyPoint(estate.catalog, [...estate.index.machineById.keys()]),
      ]);
      return { report: coverageOf(estate.index, instances, withPoints, estate.now), source: estate.source };
    }));
  }
  io.stdout(values.json ? JSON.stringify({ source, ...report }, null, 2) : `Facts from ${source}.\n${renderCoverage(report)}`);
  return report.gaps.length ? 1 : 0;
}

/** Validate the inventory before starting anything, so a bad file is exit 2 with its path, fast. */
export async function checkedInventoryFile(io: Io, file: string): Promise<string> {
  if (file === '-') throw new UsageError('--inventory must be a file here (the local estate is started from it)');
  const inv = await readInput(io, file, 'the inventory');
  await inFile(inv.name, () => parseInventoryText(inv.text, 'inventory'));
  return path.resolve(file);
}
