import type { IpPermission } from '@aws-sdk/client-ec2';
import type { Clock } from '../../domain/shared/index.ts';
import { COMMANDS, isSupportedCommand } from './commands/index.ts';
import type { CommandHandler } from './commands/types.ts';
import { ec2Error } from './errors.ts';
import { type Ec2Faults, FaultInjector, readFaultsFile } from './faults.ts';
import { formatId, idSpace } from './ids.ts';
import { imageState, instanceState, instanceVisible, snapshotState, volumeExists } from './lifecycle.ts';
import { type Ec2SimState, emptyState, type RouteRecord, type SimContext, type PlatformLineage, type SimSettings, type Tags } from './state.ts';
import { type BucketName, CallStats, type CallStatsSnapshot, type ThrottlingConfig, Throttler } from './throttling.ts';
import { createImage, createSecurityGroup, createSnapshot, createSubnet, createVpc, findOne, freeAddresses, launchInstance } from './world.ts';
import { ID_KINDS } from './query.ts';

export interface Ec2SimulatorOptions extends Partial<SimSettings> {
  /** Drives every lifecycle and the token buckets; a VirtualClock in tests and the local runtime. */
  clock: Clock;
  /**
   * Seeds the failure-rate RNG (default 1) and, when given, the resource IDs, which are then the
   * same on every run (benchmarks). Without a seed the IDs come from a random ID space drawn at
   * start (ids.ts), so no ID is handed out twice, even across restarts from lost or older state.
   */
  seed?: number;
  /** Override bucket sizes/rates, or `false` to disable throttling. Default: EC2's documented buckets. */
  throttling?: Partial<ThrottlingConfig> | false;
  /** Initial faults. */
  faults?: Ec2Faults;
  /** Clock time every admitted call takes before it is processed (default 0: no wait). */
  apiLatencyMs?: number;
  /** Start from a dump made by `snapshotState()`. */
  state?: Ec2SimState;
}

export const DEFAULT_SETTINGS: SimSettings = {
  accountId: '123456789012',
  region: 'us-east-1',
  bootMs: 30_000,
  statusCheckMs: 60_000,
  stopMs: 15_000,
  terminateMs: 10_000,
  snapshotMs: 30_000,
  imageAvailableMs: 0,
  terminatedVisibleMs: 3_600_000,
  maxInstances: 5_000,
  ebsEncryptionByDefault: false,
};

export interface SeedVpcOptions {
  vpcId?: string;
  cidrBlock?: string;
  isDefault?: boolean;
  tags?: Tags;
}

export interface SeedSubnetOptions {
  subnetId?: string;
  /** Default: the first VPC, created if there is none. */
  vpcId?: string;
  /** Default: the next free /20 of the VPC. */
  cidrBlock?: string;
  /** Default: `<region>a`. */
  availabilityZone?: string;
  defaultForAz?: boolean;
  mapPublicIpOnLaunch?: boolean;
  /** True: only the VPC-local route (no internet, no other VPC). Default false. */
  isolated?: boolean;
  /** Explicit routes besides `local` (overrides `isolated`), e.g. a peering route to another VPC. */
  routes?: RouteRecord[];
  tags?: Tags;
}

export interface SeedSecurityGroupOptions {
  groupId?: string;
  /** Default: the first VPC, created if there is none. */
  vpcId?: string;
  groupName: string;
  description?: string;
  ingress?: IpPermission[];
  /** Default: allow all outbound. */
  egress?: IpPermission[];
  tags?: Tags;
}

export interface SeedSnapshotOptions {
  snapshotId?: string;
  volumeId?: string;
  volumeSize: number;
  encrypted?: boolean;
  kmsKeyId?: string;
  description?: string;
  tags?: Tags;
  /** Default: now. */
  startedAt?: number;
  /** Default true; false = pending for `settings.snapshotMs` from startedAt. */
  completed?: boolean;
  /** A snapshot of a Windows (or billing-coded) root volume (platforms.ts). */
  lineage?: PlatformLineage;
}

export interface SeedImageOptions {
  imageId?: string;
  name: string;
  /** The first is the root device (`/dev/xvda`), the others `/dev/sdf`, `/dev/sdg`, ... */
  snapshotIds: string[];
  architecture?: string;
  tags?: Tags;
  bootMode?: 'legacy-bios' | 'uefi' | 'uefi-preferred';
  /** A Windows AMI (an own or base image of a Windows machine). */
  platform?: 'windows';
  /** Billing code, e.g. RunInstances:0010 (RHEL); default Linux/UNIX. */
  usageOperation?: string;
}

export interface SeedInstanceOptions {
  instanceId?: string;
  /** Default: a made-up AMI ID (it need not exist). */
  imageId?: string;
  instanceType?: string;
  subnetId: string;
  securityGroupIds?: string[];
  tags?: Tags;
  /** Default: one 8 GiB gp3 root volume. The first volume is the root device. */
  volumes?: Array<{ size: number; deviceName?: string; encrypted?: boolean; kmsKeyId?: string; volumeType?: string; tags?: Tags }>;
  /** Default 'running' with status checks already ok. */
  state?: 'running' | 'stopped';
  /** Default: long enough ago to be running with checks ok. `now` = just launched, still booting (a DRS recovery instance). */
  launchedAt?: number;
  httpTokens?: 'optional' | 'required';
  /** Default x86_64 Linux/UNIX, boot mode of the type. */
  architecture?: 'x86_64' | 'arm64';
  platform?: 'windows';
  usageOperation?: string;
  bootMode?: 'legacy-bios' | 'uefi';
}

export type SimResourceType = 'instance' | 'image' | 'snapshot' | 'volume' | 'vpc' | 'subnet' | 'security-group' | 'route-table';

export interface SimResource {
  type: SimResourceType;
  id: string;
  /** Lifecycle state where the resource has one (instance, image, snapshot). */
  state?: string;
  tags: Tags;
}

const DATA_DEVICE_NAMES = 'fghijklmnop'.split('').map((c) => `/dev/sd${c}`);

/**
 * An in-memory EC2 (one account, one region) that the real EC2Client talks to through
 * `attachEc2Simulator`. All timing comes from the injected Clock.
 */
export class Ec2Simulator {
  readonly clock: Clock;
  readonly settings: SimSettings;
  private state: Ec2SimState;
  private readonly seed: number;
  private readonly idSpace: number;
  private readonly faultInjector: FaultInjector;
  private readonly throttler: Throttler;
  private readonly callStats = new CallStats();
  private readonly apiLatencyMs: number;
  private readonly ctx: SimContext;

  constructor(options: Ec2SimulatorOptions) {
    const { clock, seed, throttling, faults, apiLatencyMs, state, ...settings } = options;
    this.clock = clock;
    this.settings = { ...DEFAULT_SETTINGS, ...stripUndefined(settings) };
    this.seed = seed ?? 1;
    this.idSpace = seed ?? idSpace();
    this.faultInjector = new FaultInjector(this.seed);
    if (faults !== undefined) this.faultInjector.set(faults);
    this.throttler = new Throttler(clock, throttling ?? {});
    this.apiLatencyMs = apiLatencyMs ?? 0;
    this.state = state === undefined ? emptyState() : structuredClone(state);
    const self = this;
    this.ctx = {
      get state() {
        return self.state;
      },
      clock,
      settings: this.settings,
      faults: this.faultInjector,
      newId: (prefix) => self.freshId(prefix),
    };
  }

  /**
   * The next ID of this simulator's space. One already in the state (a resource kept from a
   * run whose space coincided, or given explicitly) is skipped.
   */
  private freshId(prefix: string): string {
    const s = this.state;
    for (;;) {
      const id = formatId(prefix, ++s.idCounter, this.idSpace);
      const taken = id in s.instances || id in s.images || id in s.snapshots || id in s.volumes || id in s.vpcs || id in s.subnets || id in s.securityGroups || id in s.routeTables;
      if (!taken) return id;
    }
  }

  /**
   * Run one EC2 action as the middleware does: count it, throttle it, inject faults, then execute.
   * `command` is the action or SDK command name (`RunInstances` or `RunInstancesCommand`).
   * Resolves to the output without `$metadata`; rejects with an EC2-shaped error.
   */
  async execute(command: string, input: unknown): Promise<Record<string, unknown>> {
    const name = command.replace(/Command$/, '');
    this.callStats.count('requests', name);
    if (!isSupportedCommand(name)) {
      this.callStats.count('failed', name);
      throw ec2Error('UnsupportedOperation', `The Cleanpoint EC2 simulator does not implement ${name}`);
    }
    const args = (input ?? {}) as Record<string, unknown>;
    if (!this.throttler.admit(name, name === 'RunInstances' ? requestedInstances(args) : 0)) {
      this.callStats.count('throttled', name);
      throw ec2Error('RequestLimitExceeded', 'Request limit exceeded.');
    }
    this.callStats.count('accepted', name);
    try {
      if (this.apiLatencyMs > 0) await this.clock.sleep(this.apiLatencyMs);
      this.faultInjector.beforeCall(name);
      const handler = COMMANDS[name] as CommandHandler<unknown>;
      return compact(handler(this.ctx, args)) as Record<string, unknown>;
    } catch (error) {
      this.callStats.count('failed', name);
      throw error;
    }
  }

  // ---- faults, counters, buckets ----

  /** Replace the active faults (validated). */
  setFaults(faults: Ec2Faults): void {
    this.faultInjector.set(faults);
  }

  /** Replace the active faults with the JSON document at `path`. */
  loadFaultsFile(path: string): void {
    this.faultInjector.set(readFaultsFile(path));
  }

  clearFaults(): void {
    this.faultInjector.set({});
  }

  /** The active faults, including the remaining failNextCalls counts. */
  faults(): Ec2Faults {
    return this.faultInjector.current();
  }

  stats(): CallStatsSnapshot {
    return this.callStats.snapshot();
  }

  resetStats(): void {
    this.callStats.reset();
  }

  /** Tokens available now in each throttling bucket. */
  bucketLevels(): Record<BucketName, number> {
    return this.throttler.levels();
  }

  /** Refill every throttling bucket. */
  resetBuckets(): void {
    this.throttler.reset();
  }

  // ---- seeding (no throttling, no faults) ----

  seedVpc(options: SeedVpcOptions = {}): string {
    return createVpc(this.ctx, {
      vpcId: options.vpcId,
      cidrBlock: options.cidrBlock ?? `10.${Object.keys(this.state.vpcs).length % 256}.0.0/16`,
      isDefault: options.isDefault ?? false,
      tags: options.tags ?? {},
    }).vpcId;
  }

  seedSubnet(options: SeedSubnetOptions = {}): string {
    const subnetCount = Object.keys(this.state.subnets).length;
    return createSubnet(this.ctx, {
      subnetId: options.subnetId,
      vpcId: options.vpcId ?? this.firstVpc(),
      cidrBlock: options.cidrBlock,
      availabilityZone: options.availabilityZone ?? `${this.settings.region}${'abc'[subnetCount % 3]}`,
      defaultForAz: options.defaultForAz ?? false,
      mapPublicIpOnLaunch: options.mapPublicIpOnLaunch ?? false,
      routes: options.routes,
      isolated: options.isolated ?? false,
      tags: options.tags ?? {},
    }).subnetId;
  }

  seedSecurityGroup(options: SeedSecurityGroupOptions): string {
    return createSecurityGroup(this.ctx, {
      groupId: options.groupId,
      vpcId: options.vpcId ?? this.firstVpc(),
      groupName: options.groupName,
      description: options.description ?? options.groupName,
      ingress: options.ingress ?? [],
      egress: options.egress ?? [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      tags: options.tags ?? {},
    }).groupId;
  }

  seedSnapshot(options: SeedSnapshotOptions): string {
    const startedAt = options.startedAt ?? this.clock.now();
    return createSnapshot(this.ctx, {
      snapshotId: options.snapshotId,
      volumeId: options.volumeId ?? this.ctx.newId('vol'),
      volumeSize: options.volumeSize,
      encrypted: options.encrypted ?? options.kmsKeyId !== undefined,
      kmsKeyId: options.kmsKeyId,
      description: options.description ?? '',
      startedAt,
      completesAt: options.completed === false ? startedAt + this.settings.snapshotMs : startedAt,
      tags: options.tags ?? {},
      ...(options.lineage ? { lineage: { ...options.lineage } } : {}),
    }).snapshotId;
  }

  seedImage(options: SeedImageOptions): string {
    const devices = options.snapshotIds.map((snapshotId, i) => {
      const snap = findOne(snapshotId, ID_KINDS.snapshot, (id) => this.state.snapshots[id]);
      return {
        deviceName: i === 0 ? '/dev/xvda' : DATA_DEVICE_NAMES[i - 1]!,
        snapshotId,
        volumeSize: snap.volumeSize,
        volumeType: 'gp3',
        encrypted: snap.encrypted,
        kmsKeyId: snap.kmsKeyId,
        deleteOnTermination: true,
      };
    });
    if (devices.length === 0) throw new Error('seedImage: at least one snapshot is required');
    return createImage(this.ctx, {
      imageId: options.imageId,
      name: options.name,
      architecture: options.architecture ?? 'x86_64',
      rootDeviceName: '/dev/xvda',
      virtualizationType: 'hvm',
      enaSupport: true,
      blockDeviceMappings: devices,
      tags: options.tags ?? {},
      ...(options.bootMode ? { bootMode: options.bootMode } : {}),
      ...(options.platform ? { platform: options.platform } : {}),
      ...(options.usageOperation ? { usageOperation: options.usageOperation } : {}),
    }).imageId;
  }

  /** An instance that is already running (status ok) or stopped: e.g. the protected source machine. */
  seedInstance(options: SeedInstanceOptions): string {
    const subnet = findOne(options.subnetId, ID_KINDS.subnet, (id) => this.state.subnets[id]);
    const [privateIpAddress] = freeAddresses(this.ctx, subnet, 1);
    if (privateIpAddress === undefined) throw new Error(`seedInstance: subnet ${subnet.subnetId} is full`);
    const now = this.clock.now();
    const launchedAt = options.launchedAt ?? now - this.settings.bootMs - this.settings.statusCheckMs;
    const volumes = options.volumes ?? [{ size: 8 }];
    return launchInstance(this.ctx, {
      instanceId: options.instanceId,
      reservationId: this.ctx.newId('r'),
      launchIndex: 0,
      imageId: options.imageId ?? formatId('ami', 0, this.idSpace),
      instanceType: options.instanceType ?? 't3.micro',
      subnet,
      privateIpAddress,
      securityGroupIds: options.securityGroupIds ?? [],
      metadata: { httpTokens: options.httpTokens ?? 'required', httpEndpoint: 'enabled', hopLimit: 2 },
      rootDeviceName: volumes[0]?.deviceName ?? '/dev/xvda',
      devices: volumes.map((v, i) => ({
        deviceName: v.deviceName ?? (i === 0 ? '/dev/xvda' : DATA_DEVICE_NAMES[i - 1]!),
        volumeSize: v.size,
        volumeType: v.volumeType ?? 'gp3',
        encrypted: v.encrypted ?? v.kmsKeyId !== undefined,
        kmsKeyId: v.kmsKeyId,
        deleteOnTermination: i === 0,
      })),
      tags: options.tags ?? {},
      volumeTags: {},
      platform: {
        architecture: options.architecture ?? 'x86_64',
        ...(options.platform ? { platform: options.platform } : {}),
        ...(options.usageOperation ? { usageOperation: options.usageOperation } : {}),
        ...(options.bootMode ? { bootMode: options.bootMode } : {}),
        ...(options.platform || options.usageOperation ? { rootLineage: { ...(options.platform ? { platform: options.platform } : {}), ...(options.usageOperation ? { usageOperation: options.usageOperation } : {}) } } : {}),
      },
      launchedAt,
      phase:
        options.state === 'stopped'
          ? { kind: 'stop', at: launchedAt, durationMs: 0 }
          : { kind: 'start', at: launchedAt, durationMs: this.settings.bootMs },
    }).instanceId;
  }

  // ---- persistence and inspection ----

  /**
   * What IAM reads about an existing resource when it authorizes a call that names it (the
   * local runtime's IAM enforcement): its tags (aws:ResourceTag/*), an image's snapshots, an
   * instance's volumes, a snapshot's key. Undefined for an id the account does not have.
   */
  iamFacts(id: string): { tags: Readonly<Record<string, string>>; snapshotIds?: string[]; volumeIds?: string[]; kmsKeyId?: string; encrypted?: boolean } | undefined {
    const s = this.state;
    const tags = (t: Tags) => ({ ...t });
    if (s.instances[id]) return { tags: tags(s.instances[id]!.tags), volumeIds: [...s.instances[id]!.volumeIds] };
    if (s.images[id]) return { tags: tags(s.images[id]!.tags), snapshotIds: s.images[id]!.blockDeviceMappings.flatMap((d) => (d.snapshotId ? [d.snapshotId] : [])) };
    if (s.snapshots[id]) return { tags: tags(s.snapshots[id]!.tags), encrypted: s.snapshots[id]!.encrypted, ...(s.snapshots[id]!.kmsKeyId ? { kmsKeyId: s.snapshots[id]!.kmsKeyId } : {}) };
    const other = s.volumes[id] ?? s.subnets[id] ?? s.securityGroups[id] ?? s.vpcs[id] ?? s.routeTables[id];
    return other ? { tags: tags(other.tags) } : undefined;
  }

  /** IAM stand-in: an instance profile of the account and the role it holds (RunInstances accepts only known profiles). */
  seedInstanceProfile(profileArn: string, roleArn: string): void {
    this.state.instanceProfiles = { ...(this.state.instanceProfiles ?? {}), [profileArn]: roleArn };
  }

  /** The role behind an instance profile (what iam:PassRole is asked about), undefined for an unknown profile. */
  instanceProfileRole(profileArn: string): string | undefined {
    return this.state.instanceProfiles?.[profileArn];
  }

  /**
   * The local IAM found that the caller of the RunInstances with this client token may not use
   * these KMS keys: that launch is accepted and ends pending ▶ terminated (Client.InternalError).
   */
  denyKmsForLaunch(clientToken: string, keyArns: string[]): void {
    const denied = this.state.kmsDenied ?? {};
    denied[clientToken] = [...new Set([...(denied[clientToken] ?? []), ...keyArns])];
    this.state.kmsDenied = denied;
  }

  /** Does the account still have this snapshot (not deleted)? */
  hasSnapshot(snapshotId: string): boolean {
    return this.state.snapshots[snapshotId] !== undefined;
  }

    /** A JSON-serialisable copy of the world (not the faults, counters or bucket levels). */
  snapshotState(): Ec2SimState {
    return structuredClone(this.state);
  }

  /** Replace the world with a dump from `snapshotState()` (e.g. read back from disk). */
  loadState(state: Ec2SimState): void {
    if (state?.version !== 1) throw new Error(`Ec2Simulator.loadState: unsupported state version ${String(state?.version)}`);
    this.state = { ...emptyState(), ...structuredClone(state) };
  }

  /**
   * Everything that exists now, optionally only what carries a tag (`value` omitted = any value):
   * instances (not terminated), images, snapshots, volumes, VPCs, subnets, security groups, route tables.
   */
  resources(query: { tag?: { key: string; value?: string } } = {}): SimResource[] {
    const now = this.clock.now();
    const s = this.state;
    const all: SimResource[] = [
      ...Object.values(s.instances)
        .filter((i) => instanceVisible(this.ctx, i, now) && instanceState(i, now) !== 'terminated')
        .map((i) => ({ type: 'instance' as const, id: i.instanceId, state: instanceState(i, now), tags: i.tags })),
      ...Object.values(s.images).map((i) => ({ type: 'image' as const, id: i.imageId, state: imageState(i, now), tags: i.tags })),
      ...Object.values(s.snapshots).map((x) => ({ type: 'snapshot' as const, id: x.snapshotId, state: snapshotState(x, now).state, tags: x.tags })),
      ...Object.values(s.volumes)
        .filter((v) => volumeExists(this.ctx, v, now))
        .map((v) => ({ type: 'volume' as const, id: v.volumeId, state: v.attachment ? 'in-use' : 'available', tags: v.tags })),
      ...Object.values(s.vpcs).map((v) => ({ type: 'vpc' as const, id: v.vpcId, tags: v.tags })),
      ...Object.values(s.subnets).map((x) => ({ type: 'subnet' as const, id: x.subnetId, tags: x.tags })),
      ...Object.values(s.securityGroups).map((g) => ({ type: 'security-group' as const, id: g.groupId, tags: g.tags })),
      ...Object.values(s.routeTables).map((t) => ({ type: 'route-table' as const, id: t.routeTableId, tags: t.tags })),
    ];
    const tag = query.tag;
    const selected = tag === undefined ? all : all.filter((r) => r.tags[tag.key] !== undefined && (tag.value === undefined || r.tags[tag.key] === tag.value));
    return selected.map((r) => ({ ...r, tags: { ...r.tags } }));
  }

  private firstVpc(): string {
    return Object.keys(this.state.vpcs)[0] ?? this.seedVpc();
  }
}

function requestedInstances(input: Record<string, unknown>): number {
  const max = input.MaxCount;
  return typeof max === 'number' && Number.isInteger(max) && max > 0 ? max : 1;
}

/** Drop undefined members recursively, as the SDK's deserialiser never produces them (Dates kept). */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = compact(v);
  return out;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
