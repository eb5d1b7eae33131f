import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { parseInventoryText } from '../domain/inventory/index.ts';
import { seedDemoEstate } from './demo-estate.ts';
import type { Ec2Faults } from './ec2-sim/index.ts';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from './runtime.ts';
import { closeServer, listenLocal, serveLocal } from './server.ts';
import { localStores, type LocalStores } from './stores.ts';

/**
 * The whole system on one machine: the local runtime, the demo estate (seeded once), and the
 * HTTP server (approval pages, console, local API) on 127.0.0.1. Used by `npm start`,
 * `npm run demo` and the tests, so all three run the same composition.
 */
export interface LocalSystemOptions {
  /** 0 picks a free port. */
  port: number;
  /** Folder for persisted state; null keeps everything in memory. */
  dataDir: string | null;
  inventoryFile: string;
  policyFile?: string;
  speed: number;
  faults?: Ec2Faults;
  ec2?: { bootMs?: number; statusCheckMs?: number };
  /** Demo history: days of recovery points, and machines whose newest points are infected. */
  seed?: { days?: number; infectedForMinutes?: Record<string, number> };
  echoOutbox?: boolean;
  logLevel?: string;
  /** Per-function IAM enforcement (default on); 'off' only to debug. */
  iam?: 'on' | 'off';
  /** The crash tests' fault hook (LocalRuntimeOptions.faultExitAt, CLEANPOINT_FAULT_EXIT_AT for `npm start`). */
  faultExitAt?: string;
  onFault?: LocalRuntimeOptions['onFault'];
}

export interface LocalSystem {
  rt: LocalRuntime;
  stores: LocalStores;
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8787 */
  url: string;
  server: Server;
  /** What was seeded on this start; null when the data dir already held an estate. */
  seeded: { points: number; machines: number } | null;
  /** Stop serving, save the simulator and the clock, close the embedded services. */
  close(): Promise<void>;
}

/** Ransomware has been spreading on the payments database for a while: its newest points are infected. */
export const DEMO_INFECTED_MINUTES: Record<string, number> = { 'payments-db-1': 150 };

const MARKER = 'demo-estate.json';

export async function startLocalSystem(options: LocalSystemOptions): Promise<LocalSystem> {
  // Listen first: the approval links the runtime sends must carry the real port.
  const { server, url } = await listenLocal(options.port);
  let rt: LocalRuntime | undefined;
  try {
    rt = await startLocalRuntime({
      dataDir: options.dataDir, inventoryFile: options.inventoryFile, speed: options.speed, publicBaseUrl: url,
      ...(options.policyFile ? { policyFile: options.policyFile } : {}),
      ec2: { ...options.ec2, ...(options.faults ? { faults: options.faults } : {}) },
      ...(options.echoOutbox !== undefined ? { echoOutbox: options.echoOutbox } : {}),
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      ...(options.iam ? { iam: options.iam } : {}),
      ...(options.faultExitAt ? { faultExitAt: options.faultExitAt } : {}), ...(options.onFault ? { onFault: options.onFault } : {}),
    });
    const stores = await localStores(rt);
    const seeded = await seedIfEmpty(rt, stores, options);
    serveLocal(server, { rt, stores });
    const runtime = rt;
    let closing: Promise<void> | undefined;
    return {
      rt, stores, url, server, seeded,
      close: () => (closing ??= closeServer(server).then(() => runtime.close())),
    };
  } catch (e) {
    await closeServer(server);
    await rt?.close();
    throw e;
  }
}

/**
 * Seeds the demo estate when the catalogue holds no point for any machine of the inventory
 * (first run, or --in-memory), and leaves a marker saying when. A restart with a data dir
 * keeps the estate, incidents and launched machines it had.
 */
async function seedIfEmpty(rt: LocalRuntime, stores: LocalStores, options: LocalSystemOptions): Promise<LocalSystem['seeded']> {
  const now = new Date(rt.clock.now()).toISOString();
  for (const machineId of rt.index.machineById.keys()) {
    for await (const _point of stores.catalog.pointsAtOrBefore(machineId, now, { pageSize: 1 })) return null;
  }
  const inventory = parseInventoryText(readFileSync(options.inventoryFile, 'utf8'), options.inventoryFile);
  const seeded = await seedDemoEstate(inventory, rt.sim, stores.catalog, {
    nowMs: rt.clock.now(), days: options.seed?.days ?? 30, infectedForMinutes: options.seed?.infectedForMinutes ?? DEMO_INFECTED_MINUTES,
  });
  if (options.dataDir) {
    rt.save();
    writeFileSync(path.join(options.dataDir, MARKER), JSON.stringify({ seededAt: now, inventory: path.resolve(options.inventoryFile), ...seeded }, null, 2));
  }
  return seeded;
}

/** When the estate in a data dir was seeded (null: not yet). */
export function seededAt(dataDir: string): string | null {
  const file = path.join(dataDir, MARKER);
  if (!existsSync(file)) return null;
  return (JSON.parse(readFileSync(file, 'utf8')) as { seededAt?: string }).seededAt ?? null;
}
