import { readFileSync } from 'node:fs';
import path from 'node:path';
import { indexInventory, parseInventory, parseInventoryText, type Inventory, type InventoryIndex } from '../../domain/inventory/index.ts';
import type { DomainEvent, EventPublisher, NetworkFacts, Notifier } from '../../domain/ports/index.ts';
import type { Notification } from '../../domain/shared/index.ts';
import type { RecoveryPoint } from '../../domain/recovery-points/index.ts';

/** 2024-05-01T12:00:00Z: "now" of the unit tests. */
export const T0 = Date.parse('2024-05-01T12:00:00.000Z');
export const MINUTE = 60_000;
export const DAY = 86_400_000;
export const iso = (ms: number) => new Date(ms).toISOString();

/** The demo inventory (examples/inventory.yaml): payments (RPO 60), crm (RPO 240), intranet (RPO 1440). */
export function demoInventory(): Inventory {
  return parseInventoryText(readFileSync(path.resolve('examples/inventory.yaml'), 'utf8'));
}

export function demoIndex(change?: (raw: Record<string, unknown>) => void): InventoryIndex {
  if (!change) return indexInventory(demoInventory());
  const raw = structuredClone(demoInventory()) as unknown as Record<string, unknown>;
  change(raw);
  return indexInventory(parseInventory(raw));
}

/** An available, clean point of `machineId` captured at `ms`. */
export function point(machineId: string, ms: number, overrides: Partial<RecoveryPoint> = {}): RecoveryPoint {
  const capturedAt = iso(ms);
  return {
    machineId, pointId: `rp-${machineId}-${ms}`, capturedAt, status: 'available', scan: 'clean',
    snapshots: [{ deviceName: '/dev/xvda', snapshotId: 'snap-0123456789abcdef0', volumeSize: 8 }], source: 'ebs', ...overrides,
  };
}

export class RecordingNotifier implements Notifier {
  readonly sent: Notification[] = [];
  failNext = 0;
  async send(n: Notification): Promise<void> {
    if (this.failNext > 0) { this.failNext--; throw new Error('SES is down'); }
    this.sent.push(structuredClone(n));
  }
}

export class RecordingEvents implements EventPublisher {
  readonly published: DomainEvent[] = [];
  async publish(events: DomainEvent[]): Promise<void> {
    this.published.push(...structuredClone(events));
  }
}

/**
 * Network facts for the demo estate as the simulator seeds it: every subnet and security group
 * in one VPC, test subnets with only the local route, the others with an internet route.
 */
export function demoNetworkFacts(index: InventoryIndex): NetworkFacts {
  const facts: NetworkFacts = { subnets: [], securityGroups: [], routes: {} };
  for (const g of index.inventory.groups) {
    for (const [kind, net] of Object.entries(g.networks ?? {})) {
      if (!net || facts.subnets.some((s) => s.subnetId === net.subnetId)) continue;
      facts.subnets.push({ subnetId: net.subnetId, vpcId: 'vpc-0aaaaaaaaaaaaaaaa', availableIpAddressCount: 4000 });
      for (const sg of net.securityGroupIds) facts.securityGroups.push({ groupId: sg, vpcId: 'vpc-0aaaaaaaaaaaaaaaa' });
      facts.routes[net.subnetId] = [
        { destination: '10.0.0.0/16', target: 'local', kind: 'local' },
        ...(kind === 'test' ? [] : [{ destination: '0.0.0.0/0', target: 'igw-0aaaaaaaaaaaaaaaa', kind: 'internet-gateway' as const }]),
      ];
    }
  }
  return facts;
}
