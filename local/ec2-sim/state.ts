import type { IpPermission } from '@aws-sdk/client-ec2';
import type { Clock } from '../../domain/shared/index.ts';
import type { FaultInjector } from './faults.ts';

/**
 * The simulator's world, as plain JSON-serialisable records (times are epoch ms of the injected Clock).
 * Lifecycle states (pending/running, snapshot pending/completed...) are not stored: they are derived on
 * read from the timestamps here (see lifecycle.ts), so no timers are needed.
 */
export type Tags = Record<string, string>;

export interface VpcRecord {
  vpcId: string;
  cidrBlock: string;
  isDefault: boolean;
  mainRouteTableId: string;
  tags: Tags;
}

/** A route besides the implicit `local` route of the VPC. */
export interface RouteRecord {
  destinationCidrBlock: string;
  gatewayId?: string;
  natGatewayId?: string;
  vpcPeeringConnectionId?: string;
  transitGatewayId?: string;
}

/** A route table; `routes` empty = isolated (local VPC traffic only). */
export interface RouteTableRecord {
  routeTableId: string;
  vpcId: string;
  main: boolean;
  routes: RouteRecord[];
  tags: Tags;
}

export interface SubnetRecord {
  subnetId: string;
  vpcId: string;
  cidrBlock: string;
  availabilityZone: string;
  defaultForAz: boolean;
  mapPublicIpOnLaunch: boolean;
  /** Explicitly associated route table (else the VPC's main table). */
  routeTableId?: string;
  routeTableAssociationId?: string;
  tags: Tags;
}

export interface SecurityGroupRecord {
  groupId: string;
  groupName: string;
  description: string;
  vpcId: string;
  ingress: IpPermission[];
  egress: IpPermission[];
  tags: Tags;
}

export interface SnapshotRecord {
  snapshotId: string;
  volumeId: string;
  volumeSize: number;
  encrypted: boolean;
  kmsKeyId?: string;
  description: string;
  startedAt: number;
  completesAt: number;
  tags: Tags;
  /** The OS lineage of the volume it was taken of: a Windows (or billing-coded) root disk stays one (see PlatformLineage). */
  lineage?: PlatformLineage;
}

/**
 * What an EBS volume carries of the image it came from. AWS documents that an AMI registered from
 * a Windows snapshot does not launch successfully and that RHEL/SLES/Marketplace billing codes are
 * not carried over by RegisterImage: the simulator remembers the lineage on volumes and snapshots
 * so that RegisterImage over such a root snapshot produces an image whose instances fail at boot
 * (Windows) or run without the billing code (the image's usage operation is plain RunInstances).
 */
export interface PlatformLineage {
  platform?: 'windows';
  usageOperation?: string;
}

export interface ImageDeviceRecord {
  deviceName: string;
  snapshotId?: string;
  volumeSize: number;
  volumeType: string;
  encrypted: boolean;
  kmsKeyId?: string;
  deleteOnTermination: boolean;
}

export interface ImageRecord {
  imageId: string;
  name: string;
  description?: string;
  architecture: string;
  rootDeviceName: string;
  virtualizationType: string;
  enaSupport: boolean;
  bootMode?: string;
  tpmSupport?: string;
  imdsSupport?: string;
  sriovNetSupport?: string;
  /** `windows` for a Windows AMI (its own or a base image); RegisterImage never sets it. */
  platform?: 'windows';
  /** Billing code; absent = `RunInstances` (Linux/UNIX). */
  usageOperation?: string;
  /** RegisterImage over a root snapshot of Windows lineage: the instance does not boot (AWS documents it). */
  rootLineage?: PlatformLineage;
  createdAt: number;
  availableAt: number;
  blockDeviceMappings: ImageDeviceRecord[];
  tags: Tags;
}

export interface VolumeRecord {
  volumeId: string;
  size: number;
  snapshotId?: string;
  encrypted: boolean;
  kmsKeyId?: string;
  volumeType: string;
  availabilityZone: string;
  createdAt: number;
  attachment?: { instanceId: string; deviceName: string; deleteOnTermination: boolean };
  tags: Tags;
  lineage?: PlatformLineage;
}

/** The latest lifecycle request: the state is `kind`'s transient state until `at + durationMs`, then final. */
export interface InstancePhase {
  /** `launch-failed`: pending, then terminated without ever running (EC2 ended the launch: `stateReason`). */
  kind: 'start' | 'stop' | 'terminate' | 'launch-failed';
  at: number;
  durationMs: number;
}

export interface InstanceRecord {
  instanceId: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  privateIpAddress: string;
  networkInterfaceId: string;
  securityGroupIds: string[];
  launchIndex: number;
  launchedAt: number;
  clientToken?: string;
  keyName?: string;
  metadata: { httpTokens: 'optional' | 'required'; httpEndpoint: 'enabled' | 'disabled'; hopLimit: number };
  rootDeviceName: string;
  volumeIds: string[];
  phase: InstancePhase;
  /** Status checks stay `initializing` this long after the instance reaches `running`. */
  statusCheckMs: number;
  tags: Tags;
  /** From the image at launch (absent on older saved states: x86_64 Linux/UNIX). */
  architecture?: string;
  platform?: 'windows';
  usageOperation?: string;
  bootMode?: string;
  /** Why the operating system does not come up (instance status check impaired), e.g. a legacy-bios image on a UEFI-only type. */
  bootFailure?: string;
  /** The instance profile it was launched with (RunInstances IamInstanceProfile.Arn). */
  iamInstanceProfileArn?: string;
  /** EC2's StateReason when EC2 itself ended the instance (a `launch-failed` phase). */
  stateReason?: { code: string; message: string };
}

export interface ClientTokenRecord {
  fingerprint: string;
  reservationId: string;
}

export interface Ec2SimState {
  version: 1;
  idCounter: number;
  vpcs: Record<string, VpcRecord>;
  subnets: Record<string, SubnetRecord>;
  routeTables: Record<string, RouteTableRecord>;
  securityGroups: Record<string, SecurityGroupRecord>;
  snapshots: Record<string, SnapshotRecord>;
  images: Record<string, ImageRecord>;
  volumes: Record<string, VolumeRecord>;
  instances: Record<string, InstanceRecord>;
  clientTokens: Record<string, ClientTokenRecord>;
  /**
   * IAM stand-in: the instance profiles of the account, profile ARN ▶ the ARN of its role.
   * RunInstances refuses a profile not listed here, as EC2 refuses one IAM does not know.
   */
  instanceProfiles?: Record<string, string>;
  /**
   * KMS stand-in: keys the caller of a RunInstances (by client token) could not use, as the local
   * IAM found them (the runtime's deferred KMS denials); that launch ends pending ▶ terminated.
   */
  kmsDenied?: Record<string, string[]>;
}

export function emptyState(): Ec2SimState {
  return {
    version: 1,
    idCounter: 0,
    vpcs: {},
    subnets: {},
    routeTables: {},
    securityGroups: {},
    snapshots: {},
    images: {},
    volumes: {},
    instances: {},
    clientTokens: {},
  };
}

/** Durations and account facts; all times in clock milliseconds. */
export interface SimSettings {
  accountId: string;
  region: string;
  /** pending → running. */
  bootMs: number;
  /** running → status checks ok. */
  statusCheckMs: number;
  /** stopping → stopped. */
  stopMs: number;
  /** shutting-down → terminated. */
  terminateMs: number;
  /** CreateSnapshot(s): pending → completed. */
  snapshotMs: number;
  /** RegisterImage: pending → available (0 = available at once). */
  imageAvailableMs: number;
  /** Terminated instances stay visible to Describe* this long (AWS: about an hour). */
  terminatedVisibleMs: number;
  /** DescribeAccountAttributes max-instances, and the cap on non-terminated instances. */
  maxInstances: number;
  /** Encrypt every new volume (account-level "EBS encryption by default"). */
  ebsEncryptionByDefault: boolean;
}

/** What command handlers work with. */
export interface SimContext {
  readonly state: Ec2SimState;
  readonly clock: Clock;
  readonly settings: SimSettings;
  readonly faults: FaultInjector;
  newId(prefix: string): string;
}
