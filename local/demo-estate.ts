import type { Inventory } from '../domain/inventory/index.ts';
import type { RecoveryPointWriter } from '../domain/ports/index.ts';
import type { RecoveryPoint } from '../domain/recovery-points/index.ts';
import type { Ec2Simulator } from './ec2-sim/index.ts';
import { HIDDEN_THREAT_TAG } from './guardduty-sim.ts';
import { hexId, replicationHistory } from './replication-history.ts';

/**
 * Seeds the simulator and the catalogue from an inventory: networks (test subnets isolated),
 * the running primary machines, and for every machine a recovery-point history at real
 * replication spacing (10 min for the last hour, hourly for a day, daily for `days` days),
 * each point backed by real snapshots in the simulator. A few points are marked quarantined
 * or infected so the demo shows points being skipped.
 */
export interface SeedOptions {
  nowMs: number;
  /** The role every instance profile of the inventory holds (default the local stage's listed role). */
  instanceRoleArn?: string;
  days?: number;
  /** Machines whose newest points are infected (ransomware already spreading), minutes back. */
  infectedForMinutes?: Record<string, number>;
  /**
   * Machines with points the catalogue believes clean but whose malware scan finds a threat:
   * how many of the newest points just older than the known-infected window (default: 1 for
   * every machine of `infectedForMinutes`, so a demo failover shows the scan stepping back).
   */
  hiddenThreats?: Record<string, number>;
}

/** The role the demo's instance profiles hold: the one the local stage lists (runtime.ts LOCAL_INSTANCE_ROLE). */
export const DEMO_INSTANCE_ROLE = 'arn:aws:iam::000000000000:role/cleanpoint-demo-workload';

/** What the scan of a hidden-infected demo point finds. */
export const DEMO_HIDDEN_THREAT = { name: 'Ransom:Linux/Cleanpoint.Demo', path: '/var/lib/app/.cache/locker.elf' };

export async function seedDemoEstate(inventory: Inventory, sim: Ec2Simulator, catalog: RecoveryPointWriter, options: SeedOptions): Promise<{ points: number; machines: number; hiddenInfected: string[] }> {
  const hiddenInfected: string[] = [];
  const vpcId = sim.seedVpc({ tags: { Name: 'cleanpoint-demo' } });
  const seenSubnets = new Set<string>();
  const seenGroups = new Set<string>();
  let cidr = 0;
  for (const group of inventory.groups) {
    for (const [kind, net] of Object.entries(group.networks ?? {})) {
      if (!net) continue;
      if (!seenSubnets.has(net.subnetId)) {
        seenSubnets.add(net.subnetId);
        sim.seedSubnet({ subnetId: net.subnetId, vpcId, cidrBlock: `10.0.${cidr++ * 16}.0/20`, isolated: kind === 'test', tags: { Name: `${group.name}-${kind}`, 'cleanpoint:network': kind } });
      }
      for (const sg of net.securityGroupIds) {
        if (seenGroups.has(sg)) continue;
        seenGroups.add(sg);
        sim.seedSecurityGroup({ groupId: sg, vpcId, groupName: `${group.name}-${kind}-${sg.slice(-4)}`, tags: { 'cleanpoint:network': kind } });
      }
    }
  }
  // IAM stand-in: every instance profile the inventory names exists, holding the local workload
  // role (the one the local stage lists in instanceRoleArns), so the launch role may pass it.
  for (const group of inventory.groups) {
    for (const arn of [group.testInstanceProfileArn, ...group.machines.map((m) => m.instanceProfileArn)]) {
      if (arn && sim.instanceProfileRole(arn) === undefined) sim.seedInstanceProfile(arn, options.instanceRoleArn ?? DEMO_INSTANCE_ROLE);
    }
  }
  let points = 0;
  let machines = 0;
  for (const group of inventory.groups) {
    const home = group.networks?.primary ?? group.networks?.recovery;
    for (const m of group.machines) {
      const devices = /db/.test(m.id) ? ['/dev/xvda', '/dev/xvdf'] : ['/dev/xvda'];
      if (home) {
        sim.seedInstance({
          instanceId: m.instanceId, instanceType: m.instanceType ?? 't3.medium', subnetId: home.subnetId, securityGroupIds: home.securityGroupIds,
          tags: { Name: m.id, 'cleanpoint:group': group.name, 'cleanpoint:machine': m.id }, volumes: devices.map((deviceName, i) => ({ size: i === 0 ? 30 : 100, deviceName })),
        });
        machines++;
      }
      const infectedFor = options.infectedForMinutes?.[m.id];
      const marks: NonNullable<Parameters<typeof replicationHistory>[2]>['marks'] = [];
      if (infectedFor) marks.push({ fromMs: options.nowMs - infectedFor * 60_000, toMs: options.nowMs, scan: 'infected' });
      const history = replicationHistory(m.id, options.nowMs, { days: options.days ?? 30, devices, marks });
      // Every 7th point of a history failed its integrity check: quarantined, as real catalogues have some.
      history.forEach((p, i) => { if (i % 7 === 3) p.status = 'quarantined'; });
      // Threats only a scan can see: the newest eligible points older than the known infection.
      let hide = options.hiddenThreats?.[m.id] ?? (infectedFor ? 1 : 0);
      const hidden = new Set<string>();
      for (let i = 0; i < history.length && hide > 0; i++) { // newest first
        const p = history[i]!;
        if (p.status !== 'available' || p.scan === 'infected' || (infectedFor && Date.parse(p.capturedAt) >= options.nowMs - infectedFor * 60_000)) continue;
        hidden.add(p.pointId);
        hiddenInfected.push(p.pointId);
        hide--;
      }
      for (const point of history) {
        for (const snap of point.snapshots) {
          sim.seedSnapshot({
            snapshotId: snap.snapshotId, volumeId: `vol-${hexId(`${m.id}/${snap.deviceName}`)}`, volumeSize: snap.volumeSize ?? 50,
            startedAt: Date.parse(point.capturedAt), tags: {
              'cleanpoint:machine': m.id, 'cleanpoint:device': snap.deviceName,
              ...(hidden.has(point.pointId) && snap.deviceName === point.snapshots[0]!.deviceName ? { [HIDDEN_THREAT_TAG]: `${DEMO_HIDDEN_THREAT.name}|${DEMO_HIDDEN_THREAT.path}` } : {}),
            },
          });
        }
        await catalog.putPoint(point as RecoveryPoint);
        points++;
      }
    }
  }
  return { points, machines, hiddenInfected };
}
