import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Drill } from '../../domain/drills/index.ts';
import { indexInventory, parseInventoryText, type InventoryIndex, type InstanceView } from '../../domain/inventory/index.ts';
import type { ComputeProvider, MachineKind, Notifier, WorkflowEngine } from '../../domain/ports/index.ts';
import type { Notification } from '../../domain/shared/index.ts';
import type { RecoveryPoint } from '../../domain/recovery-points/index.ts';

/** The demo estate (payments: 3 machines in 2 waves with checks; crm: 2 machines, no checks; intranet: 1). */
export function demoIndex(): InventoryIndex {
  return indexInventory(parseInventoryText(readFileSync(path.resolve('examples/inventory.yaml'), 'utf8')));
}

export const MINUTE = 60_000;
export const DAY = 86_400_000;
/** Sunday 2025-03-02 03:20 UTC. */
export const T0 = Date.parse('2025-03-02T03:20:00.000Z');

let snap = 0;
export function point(machineId: string, capturedAt: number, overrides: Partial<RecoveryPoint> = {}): RecoveryPoint {
  snap++;
  return {
    machineId, pointId: `rp-${machineId}-${new Date(capturedAt).toISOString().slice(0, 16).replace(/[-:]/g, '')}`, capturedAt: new Date(capturedAt).toISOString(),
    status: 'available', scan: 'clean', snapshots: [{ deviceName: '/dev/xvda', snapshotId: `snap-${snap.toString(16).padStart(17, '0')}` }], ...overrides,
  };
}

export function makeDrill(overrides: Partial<Drill> & Pick<Drill, 'drillId'>): Drill {
  return {
    group: 'payments', trigger: 'on-demand', requestedBy: 'eve', pointSpec: 'latest', status: 'finished',
    startedAt: new Date(T0).toISOString(), machines: [], checks: [], reasons: [], objectives: { rpoMinutes: 60, rtoMinutes: 30 }, ...overrides,
  };
}

/** A finished, passing drill of payments in which every machine was ready. */
export function passedDrill(drillId: string, startedMs: number, group = 'payments', machines = ['payments-db-1', 'payments-api-1', 'payments-api-2']): Drill {
  const iso = (ms: number) => new Date(ms).toISOString();
  return makeDrill({
    drillId, group, startedAt: iso(startedMs), finishedAt: iso(startedMs + 10 * MINUTE), result: 'pass',
    machines: machines.map((machineId, i) => ({
      machineId, wave: i === 0 ? 1 : 2, pointId: `rp-${machineId}`, capturedAt: iso(startedMs - 10 * MINUTE), pointAgeMinutes: 10,
      instanceId: `i-0${String(i).padStart(16, '0')}`, launchedAt: iso(startedMs + MINUTE), readyAt: iso(startedMs + 4 * MINUTE),
    })),
    cleanup: { status: 'clean', at: iso(startedMs + 9 * MINUTE), terminated: [], deregistered: [], remaining: [] },
  });
}

export class RecordingWorkflows implements WorkflowEngine {
  readonly started: { machine: MachineKind; name: string; input: unknown }[] = [];
  async startExecution(input: { machine: MachineKind; name: string; input: unknown }) {
    const alreadyStarted = this.started.some((s) => s.name === input.name);
    if (!alreadyStarted) this.started.push(structuredClone(input));
    return { executionArn: `arn:aws:states:us-east-1:123456789012:execution:cleanpoint-test-${input.machine}:${input.name}`, alreadyStarted };
  }
  async sendTaskSuccess(): Promise<void> { throw new Error('not used'); }
  async sendTaskFailure(): Promise<void> { throw new Error('not used'); }
}

export class RecordingNotifier implements Notifier {
  readonly sent: Notification[] = [];
  async send(n: Notification): Promise<void> { this.sent.push(structuredClone(n)); }
}

/** A ComputeProvider that only answers what drills read: describe and findTagged. */
export function readOnlyCompute(world: { instances: InstanceView[]; imageIds?: string[] }): ComputeProvider {
  const no = async (): Promise<never> => { throw new Error('not expected in this test'); };
  return {
    registerImage: no, runInstance: no, terminateInstances: no, deregisterImage: no, snapshotInstance: no,
    describeInstances: async (ids) => world.instances.filter((i) => ids.includes(i.instanceId)),
    findTagged: async (tags) => ({
      instances: world.instances.filter((i) => Object.entries(tags).every(([k, v]) => i.tags[k] === v)),
      imageIds: world.imageIds ?? [],
    }),
  } as ComputeProvider;
}
