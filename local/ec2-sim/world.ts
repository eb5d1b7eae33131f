import type { LaunchPlatform } from './platforms.ts';
import type { IpPermission } from '@aws-sdk/client-ec2';
import { containsCidr, formatIp, overlaps, parseCidr, usableOffsets } from './cidr.ts';
import { ec2Error, invalidParameter } from './errors.ts';
import { instanceLive, instanceVisible, volumeExists } from './lifecycle.ts';
import { ID_KINDS, type IdKind, selectByIds } from './query.ts';
import type {
  ImageDeviceRecord,
  ImageRecord,
  InstancePhase,
  InstanceRecord,
  RouteRecord,
  RouteTableRecord,
  SecurityGroupRecord,
  SimContext,
  SnapshotRecord,
  SubnetRecord,
  Tags,
  VolumeRecord,
  VpcRecord,
} from './state.ts';

/**
 * Operations on the simulated world shared by the command handlers (which parse and validate SDK input)
 * and the seeding helpers (which build fixtures directly).
 */

/** Look one ID up, failing with `<Kind>.Malformed` / `<Kind>.NotFound` like EC2. */
export function findOne<R>(id: string, kind: IdKind, lookup: (id: string) => R | undefined): R {
  return selectByIds([id], kind, lookup, () => [])[0]!;
}

export const lookups = {
  instance: (ctx: SimContext) => (id: string) => {
    const i = ctx.state.instances[id];
    return i !== undefined && instanceVisible(ctx, i, ctx.clock.now()) ? i : undefined;
  },
  volume: (ctx: SimContext) => (id: string) => {
    const v = ctx.state.volumes[id];
    return v !== undefined && volumeExists(ctx, v, ctx.clock.now()) ? v : undefined;
  },
};

function claimId(ctx: SimContext, prefix: string, wanted: string | undefined, taken: Record<string, unknown>): string {
  if (wanted === undefined) return ctx.newId(prefix);
  if (!wanted.startsWith(`${prefix}-`)) throw invalidParameter('id', `'${wanted}' must start with '${prefix}-'`);
  if (wanted in taken) throw invalidParameter('id', `'${wanted}' already exists`);
  return wanted;
}

export function createVpc(ctx: SimContext, spec: { vpcId?: string; cidrBlock: string; isDefault: boolean; tags: Tags }): VpcRecord {
  parseCidr(spec.cidrBlock);
  const vpcId = claimId(ctx, 'vpc', spec.vpcId, ctx.state.vpcs);
  const main = createRouteTable(ctx, { vpcId, main: true, routes: [], tags: {} });
  const vpc: VpcRecord = { vpcId, cidrBlock: spec.cidrBlock, isDefault: spec.isDefault, mainRouteTableId: main.routeTableId, tags: { ...spec.tags } };
  ctx.state.vpcs[vpcId] = vpc;
  return vpc;
}

export function createRouteTable(ctx: SimContext, spec: { vpcId: string; main: boolean; routes: RouteRecord[]; tags: Tags }): RouteTableRecord {
  const table: RouteTableRecord = { routeTableId: ctx.newId('rtb'), vpcId: spec.vpcId, main: spec.main, routes: structuredClone(spec.routes), tags: { ...spec.tags } };
  ctx.state.routeTables[table.routeTableId] = table;
  return table;
}

/** The internet gateway ID the simulator pretends is attached to a VPC. */
export function internetGatewayOf(vpcId: string): string {
  return `igw-${vpcId.slice('vpc-'.length)}`;
}

export interface SubnetSpec {
  subnetId?: string;
  vpcId: string;
  cidrBlock?: string;
  availabilityZone: string;
  defaultForAz: boolean;
  mapPublicIpOnLaunch: boolean;
  /** Routes besides `local`; default: a default route to the VPC's internet gateway unless isolated. */
  routes?: RouteRecord[];
  isolated: boolean;
  tags: Tags;
}

export function createSubnet(ctx: SimContext, spec: SubnetSpec): SubnetRecord {
  const vpc = findOne(spec.vpcId, ID_KINDS.vpc, (id) => ctx.state.vpcs[id]);
  const vpcCidr = parseCidr(vpc.cidrBlock);
  const siblings = Object.values(ctx.state.subnets).filter((s) => s.vpcId === vpc.vpcId).map((s) => parseCidr(s.cidrBlock));
  const cidrBlock = spec.cidrBlock ?? nextFreeSubnetCidr(vpc.cidrBlock, siblings);
  const cidr = parseCidr(cidrBlock);
  if (!containsCidr(vpcCidr, cidr)) throw ec2Error('InvalidSubnet.Range', `The CIDR '${cidrBlock}' is not within ${vpc.cidrBlock}`);
  if (siblings.some((s) => overlaps(s, cidr))) throw ec2Error('InvalidSubnet.Conflict', `The CIDR '${cidrBlock}' conflicts with another subnet`);
  const routes = spec.routes ?? (spec.isolated ? [] : [{ destinationCidrBlock: '0.0.0.0/0', gatewayId: internetGatewayOf(vpc.vpcId) }]);
  const table = createRouteTable(ctx, { vpcId: vpc.vpcId, main: false, routes, tags: {} });
  const subnetId = claimId(ctx, 'subnet', spec.subnetId, ctx.state.subnets);
  const subnet: SubnetRecord = {
    subnetId,
    vpcId: vpc.vpcId,
    cidrBlock,
    availabilityZone: spec.availabilityZone,
    defaultForAz: spec.defaultForAz,
    mapPublicIpOnLaunch: spec.mapPublicIpOnLaunch,
    routeTableId: table.routeTableId,
    routeTableAssociationId: ctx.newId('rtbassoc'),
    tags: { ...spec.tags },
  };
  ctx.state.subnets[subnetId] = subnet;
  return subnet;
}

/** The first /20 (or /24 in small VPCs) inside the VPC that no sibling subnet overlaps. */
function nextFreeSubnetCidr(vpcCidrBlock: string, siblings: ReturnType<typeof parseCidr>[]): string {
  const vpc = parseCidr(vpcCidrBlock);
  const prefix = Math.min(28, Math.max(vpc.prefix + 4, 20));
  const size = 2 ** (32 - prefix);
  for (let base = vpc.base; base + size <= vpc.base + vpc.size; base += size) {
    const candidate = { base, prefix, size };
    if (!siblings.some((s) => overlaps(s, candidate))) return `${formatIp(base)}/${prefix}`;
  }
  throw ec2Error('InvalidSubnet.Range', `No free address range left in ${vpcCidrBlock}`);
}

/** The route table governing a subnet: its explicit association, else the VPC's main table. */
export function routeTableOf(ctx: SimContext, subnet: SubnetRecord): RouteTableRecord | undefined {
  const id = subnet.routeTableId ?? ctx.state.vpcs[subnet.vpcId]?.mainRouteTableId;
  return id === undefined ? undefined : ctx.state.routeTables[id];
}

export function createSecurityGroup(
  ctx: SimContext,
  spec: { groupId?: string; vpcId: string; groupName: string; description: string; ingress: IpPermission[]; egress: IpPermission[]; tags: Tags },
): SecurityGroupRecord {
  findOne(spec.vpcId, ID_KINDS.vpc, (id) => ctx.state.vpcs[id]);
  const clash = Object.values(ctx.state.securityGroups).some((g) => g.vpcId === spec.vpcId && g.groupName === spec.groupName);
  if (clash) throw ec2Error('InvalidGroup.Duplicate', `The security group '${spec.groupName}' already exists for VPC '${spec.vpcId}'`);
  const groupId = claimId(ctx, 'sg', spec.groupId, ctx.state.securityGroups);
  const sg: SecurityGroupRecord = {
    groupId,
    vpcId: spec.vpcId,
    groupName: spec.groupName,
    description: spec.description,
    ingress: structuredClone(spec.ingress),
    egress: structuredClone(spec.egress),
    tags: { ...spec.tags },
  };
  ctx.state.securityGroups[groupId] = sg;
  return sg;
}

export function createSnapshot(
  ctx: SimContext,
  spec: Omit<SnapshotRecord, 'snapshotId' | 'tags'> & { snapshotId?: string; tags: Tags },
): SnapshotRecord {
  const snapshotId = claimId(ctx, 'snap', spec.snapshotId, ctx.state.snapshots);
  const snap: SnapshotRecord = { ...spec, snapshotId, tags: { ...spec.tags } };
  ctx.state.snapshots[snapshotId] = snap;
  return snap;
}

/** A pending snapshot of a volume that completes after `settings.snapshotMs`. */
export function snapshotVolume(ctx: SimContext, volume: VolumeRecord, description: string, tags: Tags): SnapshotRecord {
  const now = ctx.clock.now();
  return createSnapshot(ctx, {
    volumeId: volume.volumeId,
    volumeSize: volume.size,
    encrypted: volume.encrypted,
    kmsKeyId: volume.kmsKeyId,
    description,
    startedAt: now,
    completesAt: now + ctx.settings.snapshotMs,
    tags,
    ...(volume.lineage ? { lineage: { ...volume.lineage } } : {}),
  });
}

export function createImage(ctx: SimContext, spec: Omit<ImageRecord, 'imageId' | 'createdAt' | 'availableAt'> & { imageId?: string }): ImageRecord {
  if (Object.values(ctx.state.images).some((i) => i.name === spec.name)) {
    throw ec2Error('InvalidAMIName.Duplicate', `AMI name ${spec.name} is already in use by another AMI`);
  }
  const now = ctx.clock.now();
  const imageId = claimId(ctx, 'ami', spec.imageId, ctx.state.images);
  const image: ImageRecord = { ...structuredClone(spec), imageId, createdAt: now, availableAt: now + ctx.settings.imageAvailableMs };
  ctx.state.images[imageId] = image;
  return image;
}

/** Up to `count` free private addresses in the subnet, lowest first (live instances hold theirs). */
export function freeAddresses(ctx: SimContext, subnet: SubnetRecord, count: number): string[] {
  const cidr = parseCidr(subnet.cidrBlock);
  const now = ctx.clock.now();
  const used = new Set(
    Object.values(ctx.state.instances)
      .filter((i) => i.subnetId === subnet.subnetId && instanceLive(i, now))
      .map((i) => i.privateIpAddress),
  );
  const { first, last } = usableOffsets(cidr);
  const free: string[] = [];
  for (let offset = first; offset <= last && free.length < count; offset++) {
    const ip = formatIp(cidr.base + offset);
    if (!used.has(ip)) free.push(ip);
  }
  return free;
}

function platformFields(p: LaunchPlatform): Partial<InstanceRecord> {
  return {
    architecture: p.architecture,
    ...(p.platform ? { platform: p.platform } : {}),
    ...(p.usageOperation ? { usageOperation: p.usageOperation } : {}),
    ...(p.bootMode ? { bootMode: p.bootMode } : {}),
    ...(p.bootFailure ? { bootFailure: p.bootFailure } : {}),
  };
}

export interface LaunchSpec {
  instanceId?: string;
  reservationId: string;
  launchIndex: number;
  imageId: string;
  instanceType: string;
  subnet: SubnetRecord;
  privateIpAddress: string;
  securityGroupIds: string[];
  clientToken?: string;
  keyName?: string;
  metadata: InstanceRecord['metadata'];
  rootDeviceName: string;
  devices: ImageDeviceRecord[];
  tags: Tags;
  volumeTags: Tags;
  /** Omitted: starts now and boots for the fault-adjusted `settings.bootMs`. */
  phase?: InstancePhase;
  /** Architecture, platform, boot mode and boot failure from the image (platforms.ts). */
  platform?: LaunchPlatform;
  launchedAt?: number;
  iamInstanceProfileArn?: string;
  /** EC2 ends the launch: pending for the boot time, then terminated with this state reason. */
  launchFailure?: { code: string; message: string };
}

export function launchInstance(ctx: SimContext, spec: LaunchSpec): InstanceRecord {
  const now = ctx.clock.now();
  const launchedAt = spec.launchedAt ?? now;
  const instanceId = claimId(ctx, 'i', spec.instanceId, ctx.state.instances);
  const identity = { instanceId, instanceType: spec.instanceType, tags: spec.tags };
  const volumeIds = spec.devices.map((d) => {
    const volume: VolumeRecord = {
      volumeId: ctx.newId('vol'),
      size: d.volumeSize,
      snapshotId: d.snapshotId,
      encrypted: d.encrypted,
      kmsKeyId: d.kmsKeyId,
      volumeType: d.volumeType,
      availabilityZone: spec.subnet.availabilityZone,
      createdAt: launchedAt,
      attachment: { instanceId, deviceName: d.deviceName, deleteOnTermination: d.deleteOnTermination },
      tags: { ...spec.volumeTags },
      ...(d.deviceName === spec.rootDeviceName && spec.platform?.rootLineage ? { lineage: { ...spec.platform.rootLineage } } : {}),
    };
    ctx.state.volumes[volume.volumeId] = volume;
    return volume.volumeId;
  });
  const instance: InstanceRecord = {
    instanceId,
    reservationId: spec.reservationId,
    imageId: spec.imageId,
    instanceType: spec.instanceType,
    subnetId: spec.subnet.subnetId,
    vpcId: spec.subnet.vpcId,
    availabilityZone: spec.subnet.availabilityZone,
    privateIpAddress: spec.privateIpAddress,
    networkInterfaceId: ctx.newId('eni'),
    securityGroupIds: [...spec.securityGroupIds],
    launchIndex: spec.launchIndex,
    launchedAt,
    clientToken: spec.clientToken,
    keyName: spec.keyName,
    metadata: { ...spec.metadata },
    rootDeviceName: spec.rootDeviceName,
    volumeIds,
    phase: spec.phase ?? { kind: spec.launchFailure ? 'launch-failed' : 'start', at: launchedAt, durationMs: ctx.faults.bootMs(ctx.settings.bootMs, identity) },
    statusCheckMs: ctx.faults.statusCheckMs(ctx.settings.statusCheckMs),
    tags: { ...spec.tags },
    ...(spec.platform ? platformFields(spec.platform) : {}),
    ...(spec.iamInstanceProfileArn ? { iamInstanceProfileArn: spec.iamInstanceProfileArn } : {}),
    ...(spec.launchFailure ? { stateReason: { ...spec.launchFailure } } : {}),
  };
  ctx.state.instances[instanceId] = instance;
  return instance;
}

/** Any taggable resource by ID, for CreateTags / DeleteTags. */
export function findTaggable(ctx: SimContext, id: string): { tags: Tags } {
  const dash = id.indexOf('-');
  const prefix = dash < 0 ? '' : id.slice(0, dash);
  const tables: Record<string, [IdKind, (id: string) => { tags: Tags } | undefined]> = {
    i: [ID_KINDS.instance, lookups.instance(ctx)],
    vol: [ID_KINDS.volume, lookups.volume(ctx)],
    ami: [ID_KINDS.image, (x) => ctx.state.images[x]],
    snap: [ID_KINDS.snapshot, (x) => ctx.state.snapshots[x]],
    subnet: [ID_KINDS.subnet, (x) => ctx.state.subnets[x]],
    sg: [ID_KINDS.securityGroup, (x) => ctx.state.securityGroups[x]],
    vpc: [ID_KINDS.vpc, (x) => ctx.state.vpcs[x]],
    rtb: [ID_KINDS.routeTable, (x) => ctx.state.routeTables[x]],
  };
  const entry = tables[prefix];
  if (entry === undefined) throw ec2Error('InvalidID', `The ID '${id}' is not valid`);
  return findOne(id, entry[0], entry[1]);
}
