import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LocalRuntime } from '../../local/runtime.ts';
import { startSeededRuntime } from '../../test/helpers/local-runtime.ts';

/**
 * The local runtime for the benchmarks that drive the whole system: a generated inventory in a
 * temporary file, the runtime started and seeded the way the integration tests do it
 * (in-memory DynamoDB, the EC2 simulator, the real ASL and handlers).
 */

export const DECIDER = { id: 'dana', name: 'Dana Decider', email: 'dana@example.com' } as const;
export const EXECUTOR = { id: 'eve', name: 'Eve Executor', email: 'eve@example.com' } as const;

export interface GroupSpec {
  name: string;
  /** Machines and their waves. */
  machines: { id: string; wave: number }[];
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/**
 * An inventory (JSON, which the YAML reader accepts) with roles, distinct instance ids and one
 * primary, recovery and test network shared by every group (local/demo-estate.ts carves its
 * subnets as /20s of one /16, so it can seed at most 16 distinct subnets).
 */
export function inventoryDocument(groups: GroupSpec[]): Record<string, unknown> {
  let machineNo = 0;
  const net = (kind: number) => ({ subnetId: `subnet-0${kind}${hex(0, 15)}`, securityGroupIds: [`sg-0${kind}${hex(0, 15)}`] });
  return {
    version: 1,
    kmsKeyId: 'alias/cleanpoint-bench',
    people: [DECIDER, EXECUTOR],
    groups: groups.map((g) => {
      return {
        name: g.name,
        objectives: { rpoMinutes: 60, rtoMinutes: 60 },
        networks: { primary: net(1), recovery: net(2), test: net(3) },
        roles: { analyst: [], decider: [DECIDER.id], executor: [EXECUTOR.id] },
        approval: { quorum: 1, timeoutMinutes: 60 },
        // The benchmarks measure Cleanpoint's own path; a malware scan before launch adds
        // GuardDuty's scan time (minutes on AWS, docs/scanning.md) and is measured by no target here.
        scanBeforeLaunch: 'never',
        machines: g.machines.map((m) => ({ id: m.id, instanceId: `i-0${hex(++machineNo, 16)}`, wave: m.wave, instanceType: 'm6i.large' })),
      };
    }),
  };
}

export interface BenchRuntime {
  rt: LocalRuntime;
  inventory: Record<string, unknown>;
  /** Instance id of a machine of the inventory. */
  instanceOf(machineId: string): string;
  close(): Promise<void>;
}

export async function startBenchRuntime(groups: GroupSpec[], options: { speed: number }): Promise<BenchRuntime> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleanpoint-bench-runtime-'));
  const inventory = inventoryDocument(groups);
  const inventoryFile = path.join(dir, 'inventory.json');
  writeFileSync(inventoryFile, JSON.stringify(inventory, null, 2));
  // A benchmark estate may be larger than one SSM parameter holds on AWS (8 KB; e2e-latency's
  // 21 groups are about 13 KB even as compact JSON): the runtime's parameter limit is off here.
  const rt = await startSeededRuntime({ inventoryFile, speed: options.speed, infected: {}, logLevel: 'ERROR', ssmParameterLimit: 'off' });
  const instances = new Map<string, string>();
  for (const g of inventory['groups'] as { machines: { id: string; instanceId: string }[] }[]) for (const m of g.machines) instances.set(m.id, m.instanceId);
  return {
    rt, inventory,
    instanceOf: (machineId) => {
      const id = instances.get(machineId);
      if (!id) throw new Error(`no machine ${machineId} in the bench inventory`);
      return id;
    },
    async close() {
      await rt.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
