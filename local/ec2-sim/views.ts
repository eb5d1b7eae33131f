import { instancePlatformView, platformDetailsOf } from './platforms.ts';
import type { Image, Instance, InstanceStatus, RouteTable, SecurityGroup, Snapshot, Subnet, Vpc } from '@aws-sdk/client-ec2';
import { parseCidr, usableOffsets } from './cidr.ts';
import { imageState, INSTANCE_STATE_CODES, instanceLive, instanceState, snapshotState, statusChecks } from './lifecycle.ts';
import { toSdkTags } from './query.ts';
import type { ImageRecord, InstanceRecord, RouteTableRecord, SecurityGroupRecord, SimContext, SnapshotRecord, SubnetRecord, VpcRecord } from './state.ts';

/** Records → the SDK's output shapes. Every call builds fresh objects, so callers cannot mutate state. */

export function instanceView(ctx: SimContext, inst: InstanceRecord): Instance {
  const now = ctx.clock.now();
  const state = instanceState(inst, now);
  const groups = inst.securityGroupIds.map((id) => ({ GroupId: id, GroupName: ctx.state.securityGroups[id]?.groupName }));
  const launchTime = new Date(inst.phase.kind === 'start' ? inst.phase.at : inst.launchedAt);
  const attached = state !== 'terminated';
  return {
    InstanceId: inst.instanceId,
    ImageId: inst.imageId,
    InstanceType: inst.instanceType as Instance['InstanceType'],
    State: { Code: INSTANCE_STATE_CODES[state], Name: state },
    StateTransitionReason: inst.phase.kind === 'start' || inst.phase.kind === 'launch-failed' ? '' : `User initiated (${new Date(inst.phase.at).toISOString()})`,
    ...(inst.stateReason && state === 'terminated' ? { StateReason: { Code: inst.stateReason.code, Message: inst.stateReason.message } } : {}),
    ...(inst.iamInstanceProfileArn && state !== 'terminated' ? { IamInstanceProfile: { Arn: inst.iamInstanceProfileArn, Id: `AIPA${inst.instanceId.slice(2, 18).toUpperCase()}` } } : {}),
    LaunchTime: launchTime,
    AmiLaunchIndex: inst.launchIndex,
    Placement: { AvailabilityZone: inst.availabilityZone, Tenancy: 'default' },
    SubnetId: attached ? inst.subnetId : undefined,
    VpcId: attached ? inst.vpcId : undefined,
    PrivateIpAddress: attached ? inst.privateIpAddress : undefined,
    SecurityGroups: groups,
    KeyName: inst.keyName,
    ClientToken: inst.clientToken,
    ...instancePlatformView(inst),
    Hypervisor: 'xen',
    VirtualizationType: 'hvm',
    EnaSupport: true,
    EbsOptimized: false,
    RootDeviceType: 'ebs',
    RootDeviceName: inst.rootDeviceName,
    BlockDeviceMappings: attached
      ? inst.volumeIds.flatMap((volumeId) => {
          const v = ctx.state.volumes[volumeId];
          if (v?.attachment === undefined) return [];
          return [{
            DeviceName: v.attachment.deviceName,
            Ebs: { VolumeId: volumeId, Status: 'attached' as const, AttachTime: new Date(inst.launchedAt), DeleteOnTermination: v.attachment.deleteOnTermination },
          }];
        })
      : [],
    NetworkInterfaces: attached
      ? [{
          NetworkInterfaceId: inst.networkInterfaceId,
          SubnetId: inst.subnetId,
          VpcId: inst.vpcId,
          PrivateIpAddress: inst.privateIpAddress,
          Groups: groups,
          Status: 'in-use',
          Attachment: { DeviceIndex: 0, Status: 'attached', DeleteOnTermination: true },
        }]
      : [],
    MetadataOptions: {
      State: 'applied',
      HttpTokens: inst.metadata.httpTokens,
      HttpEndpoint: inst.metadata.httpEndpoint,
      HttpPutResponseHopLimit: inst.metadata.hopLimit,
    },
    Tags: toSdkTags(inst.tags),
  };
}

export function instanceStatusView(ctx: SimContext, inst: InstanceRecord): InstanceStatus {
  const now = ctx.clock.now();
  const state = instanceState(inst, now);
  const checks = statusChecks(ctx, inst, now);
  const detail = (status: typeof checks.instance) => ({
    Status: status,
    Details: status === 'not-applicable' ? undefined : [{
      Name: 'reachability' as const,
      Status: status === 'ok' ? ('passed' as const) : status === 'impaired' ? ('failed' as const) : ('initializing' as const),
    }],
  });
  return {
    InstanceId: inst.instanceId,
    AvailabilityZone: inst.availabilityZone,
    InstanceState: { Code: INSTANCE_STATE_CODES[state], Name: state },
    InstanceStatus: detail(checks.instance),
    SystemStatus: detail(checks.system),
  };
}

export function imageView(ctx: SimContext, img: ImageRecord): Image {
  return {
    ImageId: img.imageId,
    Name: img.name,
    Description: img.description,
    State: imageState(img, ctx.clock.now()),
    OwnerId: ctx.settings.accountId,
    CreationDate: new Date(img.createdAt).toISOString(),
    Public: false,
    ImageType: 'machine',
    Architecture: img.architecture as Image['Architecture'],
    RootDeviceType: 'ebs',
    RootDeviceName: img.rootDeviceName,
    VirtualizationType: img.virtualizationType as Image['VirtualizationType'],
    Hypervisor: 'xen',
    EnaSupport: img.enaSupport,
    BootMode: img.bootMode as Image['BootMode'],
    TpmSupport: img.tpmSupport as Image['TpmSupport'],
    ImdsSupport: img.imdsSupport as Image['ImdsSupport'],
    SriovNetSupport: img.sriovNetSupport,
    // The wire value is lower-case `windows` (the SDK's enum says `Windows`).
    Platform: img.platform as Image['Platform'],
    PlatformDetails: platformDetailsOf(img.platform, img.usageOperation),
    UsageOperation: img.usageOperation ?? (img.platform === 'windows' ? 'RunInstances:0002' : 'RunInstances'),
    BlockDeviceMappings: img.blockDeviceMappings.map((m) => ({
      DeviceName: m.deviceName,
      Ebs: {
        SnapshotId: m.snapshotId,
        VolumeSize: m.volumeSize,
        VolumeType: m.volumeType as 'gp3',
        Encrypted: m.encrypted,
        KmsKeyId: m.kmsKeyId,
        DeleteOnTermination: m.deleteOnTermination,
      },
    })),
    Tags: toSdkTags(img.tags),
  };
}

export function snapshotView(ctx: SimContext, snap: SnapshotRecord): Snapshot {
  const { state, progress } = snapshotState(snap, ctx.clock.now());
  return {
    SnapshotId: snap.snapshotId,
    VolumeId: snap.volumeId,
    VolumeSize: snap.volumeSize,
    State: state,
    Progress: progress,
    StartTime: new Date(snap.startedAt),
    CompletionTime: state === 'completed' ? new Date(snap.completesAt) : undefined,
    Encrypted: snap.encrypted,
    KmsKeyId: snap.kmsKeyId,
    Description: snap.description,
    OwnerId: ctx.settings.accountId,
    StorageTier: 'standard',
    Tags: toSdkTags(snap.tags),
  };
}

export function subnetView(ctx: SimContext, subnet: SubnetRecord): Subnet {
  const cidr = parseCidr(subnet.cidrBlock);
  const { first, last } = usableOffsets(cidr);
  const now = ctx.clock.now();
  const used = Object.values(ctx.state.instances).filter((i) => i.subnetId === subnet.subnetId && instanceLive(i, now)).length;
  return {
    SubnetId: subnet.subnetId,
    SubnetArn: `arn:aws:ec2:${ctx.settings.region}:${ctx.settings.accountId}:subnet/${subnet.subnetId}`,
    VpcId: subnet.vpcId,
    CidrBlock: subnet.cidrBlock,
    AvailabilityZone: subnet.availabilityZone,
    AvailableIpAddressCount: last - first + 1 - used,
    State: 'available',
    DefaultForAz: subnet.defaultForAz,
    MapPublicIpOnLaunch: subnet.mapPublicIpOnLaunch,
    OwnerId: ctx.settings.accountId,
    Tags: toSdkTags(subnet.tags),
  };
}

export function securityGroupView(ctx: SimContext, sg: SecurityGroupRecord): SecurityGroup {
  return {
    GroupId: sg.groupId,
    GroupName: sg.groupName,
    Description: sg.description,
    VpcId: sg.vpcId,
    OwnerId: ctx.settings.accountId,
    IpPermissions: structuredClone(sg.ingress),
    IpPermissionsEgress: structuredClone(sg.egress),
    Tags: toSdkTags(sg.tags),
  };
}

export function vpcView(ctx: SimContext, vpc: VpcRecord): Vpc {
  return {
    VpcId: vpc.vpcId,
    CidrBlock: vpc.cidrBlock,
    State: 'available',
    IsDefault: vpc.isDefault,
    InstanceTenancy: 'default',
    OwnerId: ctx.settings.accountId,
    Tags: toSdkTags(vpc.tags),
  };
}

export function routeTableView(ctx: SimContext, table: RouteTableRecord): RouteTable {
  const vpc = ctx.state.vpcs[table.vpcId];
  const subnets = Object.values(ctx.state.subnets).filter((s) => s.routeTableId === table.routeTableId);
  return {
    RouteTableId: table.routeTableId,
    VpcId: table.vpcId,
    OwnerId: ctx.settings.accountId,
    Routes: [
      { DestinationCidrBlock: vpc?.cidrBlock, GatewayId: 'local', State: 'active', Origin: 'CreateRouteTable' },
      ...table.routes.map((r) => ({
        DestinationCidrBlock: r.destinationCidrBlock,
        GatewayId: r.gatewayId,
        NatGatewayId: r.natGatewayId,
        VpcPeeringConnectionId: r.vpcPeeringConnectionId,
        TransitGatewayId: r.transitGatewayId,
        State: 'active' as const,
        Origin: 'CreateRoute' as const,
      })),
    ],
    Associations: [
      ...(table.main
        ? [{ Main: true, RouteTableId: table.routeTableId, RouteTableAssociationId: `rtbassoc-${table.routeTableId.slice(4)}`, AssociationState: { State: 'associated' as const } }]
        : []),
      ...subnets.map((s) => ({
        Main: false,
        RouteTableId: table.routeTableId,
        SubnetId: s.subnetId,
        RouteTableAssociationId: s.routeTableAssociationId,
        AssociationState: { State: 'associated' as const },
      })),
    ],
    Tags: toSdkTags(table.tags),
  };
}
