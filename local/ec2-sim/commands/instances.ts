import type {
  BlockDeviceMapping,
  DescribeInstancesCommandInput,
  DescribeInstancesCommandOutput,
  DescribeInstanceStatusCommandInput,
  DescribeInstanceStatusCommandOutput,
  InstanceStateChange,
  InstanceStateName,
  Reservation,
  RunInstancesCommandInput,
  RunInstancesCommandOutput,
  StartInstancesCommandInput,
  StartInstancesCommandOutput,
  StopInstancesCommandInput,
  StopInstancesCommandOutput,
  TerminateInstancesCommandInput,
  TerminateInstancesCommandOutput,
} from '@aws-sdk/client-ec2';
import { ec2Error, invalidParameter, requireIntInRange, requireNonEmptyList, requireOneOf, requireValue } from '../errors.ts';
import { INSTANCE_STATE_CODES, imageState, instanceLive, instanceState, instanceVisible, statusChecks } from '../lifecycle.ts';
import { applyFilters, type FilterFields, ID_KINDS, paginate, selectByIds, tagsFromSpecifications } from '../query.ts';
import type { ImageDeviceRecord, ImageRecord, InstancePhase, InstanceRecord, SimContext, SubnetRecord } from '../state.ts';
import { instanceStatusView, instanceView } from '../views.ts';
import { findOne, freeAddresses, launchInstance, lookups } from '../world.ts';
import { parseCidr, usableOffsets } from '../cidr.ts';
import { launchPlatform } from '../platforms.ts';
import type { Output } from './types.ts';

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
const RUN_TAGGABLE = ['instance', 'volume', 'network-interface'] as const;

/** Canonical JSON (sorted keys, undefined dropped): two requests are "the same" when these match. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value instanceof Date ? value.toISOString() : value);
}

function reservationView(ctx: SimContext, reservationId: string, instances: InstanceRecord[]): Reservation {
  return {
    ReservationId: reservationId,
    OwnerId: ctx.settings.accountId,
    Groups: [],
    Instances: instances.map((i) => instanceView(ctx, i)),
  };
}

function reservationInstances(ctx: SimContext, reservationId: string): InstanceRecord[] {
  return Object.values(ctx.state.instances).filter((i) => i.reservationId === reservationId);
}

/** Where the instance goes: SubnetId + SecurityGroupIds, or the primary NetworkInterfaces entry. */
function resolvePlacement(ctx: SimContext, input: RunInstancesCommandInput): { subnet: SubnetRecord; groupIds: string[] } {
  const nics = input.NetworkInterfaces ?? [];
  const primary = nics.find((n) => (n.DeviceIndex ?? 0) === 0);
  if (nics.length > 0 && primary === undefined) throw invalidParameter('NetworkInterfaces', 'a network interface with DeviceIndex 0 is required');
  if (primary !== undefined && input.SubnetId !== undefined) {
    throw ec2Error('InvalidParameterCombination', 'Network interfaces and an instance-level subnet ID may not be specified on the same request');
  }
  if (primary !== undefined && (input.SecurityGroupIds?.length ?? 0) > 0) {
    throw ec2Error('InvalidParameterCombination', 'Network interfaces and an instance-level security groups may not be specified on the same request');
  }
  if ((input.SecurityGroups?.length ?? 0) > 0) {
    throw invalidParameter('SecurityGroups', 'group names are not supported in a VPC; use SecurityGroupIds');
  }
  const subnetId = primary?.SubnetId ?? input.SubnetId;
  const subnet =
    subnetId !== undefined
      ? findOne(subnetId, ID_KINDS.subnet, (id) => ctx.state.subnets[id])
      : Object.values(ctx.state.subnets).find((s) => s.defaultForAz && ctx.state.vpcs[s.vpcId]?.isDefault);
  if (subnet === undefined) throw ec2Error('VPCIdNotSpecified', 'No default VPC for this user. Specify SubnetId.');

  const requested = primary?.Groups ?? input.SecurityGroupIds ?? [];
  const groupIds =
    requested.length > 0
      ? requested
      : Object.values(ctx.state.securityGroups).filter((g) => g.vpcId === subnet.vpcId && g.groupName === 'default').map((g) => g.groupId);
  for (const groupId of groupIds) {
    const group = findOne(groupId, ID_KINDS.securityGroup, (id) => ctx.state.securityGroups[id]);
    if (group.vpcId !== subnet.vpcId) {
      throw ec2Error('InvalidParameter', `Security group ${groupId} and subnet ${subnet.subnetId} belong to different networks.`);
    }
  }
  return { subnet, groupIds: [...new Set(groupIds)] };
}

/** The image's block devices with the request's overrides applied (size, type, encryption, KMS key). */
function resolveDevices(ctx: SimContext, image: ImageRecord, mappings: BlockDeviceMapping[] | undefined): ImageDeviceRecord[] {
  const devices = new Map(image.blockDeviceMappings.map((d) => [d.deviceName, { ...d }]));
  for (const m of mappings ?? []) {
    const name = requireValue(m.DeviceName, 'BlockDeviceMapping.DeviceName');
    if (m.NoDevice !== undefined) {
      if (name === image.rootDeviceName) throw invalidParameter('BlockDeviceMapping.NoDevice', 'the root device cannot be suppressed');
      devices.delete(name);
      continue;
    }
    const ebs = m.Ebs;
    if (ebs === undefined) continue; // instance-store (VirtualName) mappings have no EBS volume
    const base = devices.get(name);
    if (ebs.SnapshotId !== undefined && ebs.SnapshotId !== base?.snapshotId) {
      throw invalidParameter('BlockDeviceMapping.Ebs.SnapshotId', 'a snapshot can only be given through the image');
    }
    const size = ebs.VolumeSize ?? base?.volumeSize;
    if (size === undefined) throw invalidParameter(`BlockDeviceMapping.Ebs.VolumeSize (${name})`, 'required for a new empty volume');
    if (base !== undefined && size < base.volumeSize) {
      throw invalidParameter(`BlockDeviceMapping.Ebs.VolumeSize (${name})`, `volume of ${size} GiB is smaller than snapshot size ${base.volumeSize} GiB`);
    }
    const snapshotEncrypted = base?.encrypted ?? false;
    if (ebs.Encrypted === false && snapshotEncrypted) {
      throw ec2Error('InvalidParameterCombination', `The volume for ${name} comes from an encrypted snapshot and cannot be unencrypted`);
    }
    if (ebs.KmsKeyId !== undefined && ebs.Encrypted !== true) {
      throw ec2Error('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.');
    }
    devices.set(name, {
      deviceName: name,
      snapshotId: base?.snapshotId,
      volumeSize: size,
      volumeType: ebs.VolumeType ?? base?.volumeType ?? 'gp3',
      encrypted: snapshotEncrypted || ebs.Encrypted === true,
      kmsKeyId: ebs.KmsKeyId ?? base?.kmsKeyId,
      deleteOnTermination: ebs.DeleteOnTermination ?? base?.deleteOnTermination ?? true,
    });
  }
  return [...devices.values()].map((d) => {
    const encrypted = d.encrypted || ctx.settings.ebsEncryptionByDefault;
    return { ...d, encrypted, kmsKeyId: encrypted ? (d.kmsKeyId ?? 'alias/aws/ebs') : undefined };
  });
}

/**
 * IamInstanceProfile (Arn or Name) must name a profile IAM knows (the account's profiles,
 * state.instanceProfiles); EC2 answers an unknown one with InvalidParameterValue "Value (…) for
 * parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN" (.name: "…
 * Invalid IAM Instance Profile name"). Whether the caller may pass the profile's role
 * (iam:PassRole) is the local IAM's check, before this one.
 */
function instanceProfileOf(ctx: SimContext, input: RunInstancesCommandInput): string | undefined {
  const spec = input.IamInstanceProfile;
  if (spec === undefined) return undefined;
  const profiles = ctx.state.instanceProfiles ?? {};
  if (spec.Arn !== undefined) {
    if (spec.Name !== undefined) throw ec2Error('InvalidParameterCombination', 'The parameter iamInstanceProfile.name cannot be used with the parameter iamInstanceProfile.arn');
    if (!(spec.Arn in profiles)) throw ec2Error('InvalidParameterValue', `Value (${spec.Arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN`);
    return spec.Arn;
  }
  const byName = Object.keys(profiles).find((arn) => arn.slice(arn.lastIndexOf('/') + 1) === spec.Name);
  if (spec.Name === undefined || byName === undefined) throw ec2Error('InvalidParameterValue', `Value (${spec.Name ?? ''}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`);
  return byName;
}

/**
 * A volume under a KMS key the caller cannot use does not fail the call: EC2 accepts the launch
 * and the instance goes pending ▶ terminated with StateReason Client.InternalError "Client.
 * InternalError: Client error on launch" (AWS knowledge centre, "kms-iam-ec2-permission" and
 * "encrypted-volumes-stops-immediately": the caller lacks kms:CreateGrant/Decrypt on the key, or
 * the key is disabled). Unusable: the `unusableKmsKeys` fault, or the local IAM's deferred KMS
 * denial for this request (state.kmsDenied by client token).
 */
function kmsLaunchFailure(ctx: SimContext, devices: ImageDeviceRecord[], token: string | undefined): { code: string; message: string } | undefined {
  const keys = devices.filter((d) => d.encrypted && d.kmsKeyId).map((d) => d.kmsKeyId!);
  const denied = token !== undefined && (ctx.state.kmsDenied?.[token]?.length ?? 0) > 0;
  if (!denied && !keys.some((k) => ctx.faults.kmsKeyUnusable(k))) return undefined;
  return { code: 'Client.InternalError', message: 'Client.InternalError: Client error on launch' };
}

/**
 * UserData is base64 (the SDK does not encode it) and at most 16 KB raw, before encoding (EC2
 * User Guide, "Run commands when you launch an EC2 instance with user data input").
 */
function validateUserData(userData: string | undefined): void {
  if (userData === undefined) return;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(userData) || userData.length % 4 !== 0) throw ec2Error('InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  const bytes = Buffer.from(userData, 'base64').length;
  if (bytes > 16 * 1024) throw ec2Error('InvalidParameterValue', `User data is limited to 16384 bytes (got ${bytes})`);
}

/**
 * PrivateIpAddress: one instance only, inside the subnet's CIDR block and not one of the five
 * addresses AWS reserves in every subnet, and free: EC2 answers InvalidIPAddress.InUse "Address
 * … is in use." when another (non-terminated) instance holds it.
 */
function requestedAddress(ctx: SimContext, subnet: SubnetRecord, ip: string, maxCount: number): string {
  if (maxCount > 1) throw ec2Error('InvalidParameterCombination', 'PrivateIpAddress can only be used when launching a single instance (MaxCount 1)');
  const cidr = parseCidr(subnet.cidrBlock);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  const octets = m?.slice(1).map(Number) ?? [];
  if (m === null || octets.some((o) => o > 255)) throw invalidParameter('PrivateIpAddress', `'${ip}' is not an IPv4 address`);
  const value = octets.reduce((acc, o) => acc * 256 + o, 0);
  const offset = value - cidr.base;
  const { first, last } = usableOffsets(cidr);
  if (offset < 0 || offset >= cidr.size) throw ec2Error('InvalidParameterValue', `Address ${ip} does not fall within the subnet's address range`);
  if (offset < first || offset > last) throw ec2Error('InvalidParameterValue', `Address ${ip} is reserved by AWS in subnet ${subnet.subnetId}`);
  const now = ctx.clock.now();
  if (Object.values(ctx.state.instances).some((i) => i.subnetId === subnet.subnetId && i.privateIpAddress === ip && instanceLive(i, now))) {
    throw ec2Error('InvalidIPAddress.InUse', `Address ${ip} is in use.`);
  }
  return ip;
}

function metadataOptions(input: RunInstancesCommandInput): InstanceRecord['metadata'] {
  const m = input.MetadataOptions;
  return {
    httpTokens: requireOneOf(m?.HttpTokens, ['optional', 'required'] as const, 'MetadataOptions.HttpTokens') ?? 'optional',
    httpEndpoint: requireOneOf(m?.HttpEndpoint, ['enabled', 'disabled'] as const, 'MetadataOptions.HttpEndpoint') ?? 'enabled',
    hopLimit: requireIntInRange(m?.HttpPutResponseHopLimit, 'MetadataOptions.HttpPutResponseHopLimit', 1, 64) ?? 1,
  };
}

export function runInstances(ctx: SimContext, input: RunInstancesCommandInput): Output<RunInstancesCommandOutput> {
  const imageId = requireValue(input.ImageId, 'ImageId');
  const minCount = requireIntInRange(requireValue(input.MinCount, 'MinCount'), 'MinCount', 1, 10_000)!;
  const maxCount = requireIntInRange(requireValue(input.MaxCount, 'MaxCount'), 'MaxCount', 1, 10_000)!;
  if (minCount > maxCount) throw invalidParameter('MinCount', `MinCount (${minCount}) must be less than or equal to MaxCount (${maxCount})`);
  const instanceType = input.InstanceType ?? 'm1.small';
  if (!INSTANCE_TYPE.test(instanceType)) throw invalidParameter('InstanceType', `'${instanceType}' is not a valid instance type`);
  const token = input.ClientToken;
  if (token !== undefined && (token.length === 0 || token.length > 64)) throw invalidParameter('ClientToken', 'must be 1-64 characters');
  const metadata = metadataOptions(input);
  const tags = tagsFromSpecifications(input.TagSpecifications, 'instance', RUN_TAGGABLE);
  const volumeTags = tagsFromSpecifications(input.TagSpecifications, 'volume', RUN_TAGGABLE);

  // Idempotency: same token + same parameters → the original reservation; different parameters → error.
  const fingerprint = canonical({ ...input, ClientToken: undefined });
  if (token !== undefined) {
    const previous = ctx.state.clientTokens[token];
    if (previous !== undefined) {
      if (previous.fingerprint !== fingerprint) {
        throw ec2Error('IdempotentParameterMismatch', `The client token '${token}' was already used with different parameters`);
      }
      return reservationView(ctx, previous.reservationId, reservationInstances(ctx, previous.reservationId));
    }
  }

  const image = findOne(imageId, ID_KINDS.image, (id) => ctx.state.images[id]);
  if (imageState(image, ctx.clock.now()) !== 'available') throw ec2Error('InvalidAMIID.Unavailable', `The image '${imageId}' is not available yet`);
  const platform = launchPlatform(image, instanceType);
  const { subnet, groupIds } = resolvePlacement(ctx, input);
  const devices = resolveDevices(ctx, image, input.BlockDeviceMappings);

  if (ctx.faults.capacityError(instanceType, subnet.availabilityZone, subnet.subnetId)) {
    throw ec2Error(
      'InsufficientInstanceCapacity',
      `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${subnet.availabilityZone}).`,
    );
  }
  const now = ctx.clock.now();
  const live = Object.values(ctx.state.instances).filter((i) => instanceLive(i, now)).length;
  const allowed = Math.min(maxCount, ctx.settings.maxInstances - live);
  if (allowed < minCount) {
    throw ec2Error('InstanceLimitExceeded', `You have requested more instances (${minCount}) than your current instance limit of ${ctx.settings.maxInstances} allows`);
  }
  const profileArn = instanceProfileOf(ctx, input);
  const launchFailure = kmsLaunchFailure(ctx, devices, token);
  validateUserData(input.UserData);
  const addresses = input.PrivateIpAddress !== undefined ? [requestedAddress(ctx, subnet, input.PrivateIpAddress, maxCount)] : freeAddresses(ctx, subnet, allowed);
  if (addresses.length < minCount) {
    throw ec2Error('InsufficientFreeAddressesInSubnet', `There are not enough free addresses in subnet '${subnet.subnetId}' to satisfy the requested number of instances.`);
  }

  const reservationId = ctx.newId('r');
  const instances = addresses.map((privateIpAddress, launchIndex) =>
    launchInstance(ctx, {
      reservationId,
      launchIndex,
      imageId,
      instanceType,
      subnet,
      privateIpAddress,
      securityGroupIds: groupIds,
      clientToken: token,
      keyName: input.KeyName,
      metadata,
      rootDeviceName: image.rootDeviceName,
      devices,
      tags,
      volumeTags,
      platform,
      ...(profileArn ? { iamInstanceProfileArn: profileArn } : {}),
      ...(launchFailure ? { launchFailure } : {}),
    }),
  );
  if (token !== undefined) ctx.state.clientTokens[token] = { fingerprint, reservationId };
  return reservationView(ctx, reservationId, instances);
}

function instanceFilterFields(ctx: SimContext): FilterFields<InstanceRecord> {
  const now = ctx.clock.now();
  return {
    'instance-id': (i) => i.instanceId,
    'instance-state-name': (i) => instanceState(i, now),
    'instance-state-code': (i) => INSTANCE_STATE_CODES[instanceState(i, now)],
    'instance-type': (i) => i.instanceType,
    'image-id': (i) => i.imageId,
    'subnet-id': (i) => i.subnetId,
    'vpc-id': (i) => i.vpcId,
    'reservation-id': (i) => i.reservationId,
    'client-token': (i) => i.clientToken,
    'private-ip-address': (i) => i.privateIpAddress,
    'availability-zone': (i) => i.availabilityZone,
    'key-name': (i) => i.keyName,
    'instance.group-id': (i) => i.securityGroupIds,
    'metadata-options.http-tokens': (i) => i.metadata.httpTokens,
    'instance-status.status': (i) => statusChecks(ctx, i, now).instance,
    'system-status.status': (i) => statusChecks(ctx, i, now).system,
  };
}

function visibleInstances(ctx: SimContext, ids: string[] | undefined): InstanceRecord[] {
  const now = ctx.clock.now();
  return selectByIds(ids, ID_KINDS.instance, lookups.instance(ctx), () =>
    Object.values(ctx.state.instances).filter((i) => instanceVisible(ctx, i, now)),
  );
}

function rejectIdsWithPaging(input: { InstanceIds?: string[]; MaxResults?: number }): void {
  if ((input.InstanceIds?.length ?? 0) > 0 && input.MaxResults !== undefined) {
    throw ec2Error('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
}

export function describeInstances(ctx: SimContext, input: DescribeInstancesCommandInput): Output<DescribeInstancesCommandOutput> {
  rejectIdsWithPaging(input);
  const matching = applyFilters(visibleInstances(ctx, input.InstanceIds), input.Filters, instanceFilterFields(ctx));
  const { page, NextToken } = paginate(matching, input, { min: 5, max: 1000 });
  const byReservation = new Map<string, InstanceRecord[]>();
  for (const i of page) byReservation.set(i.reservationId, [...(byReservation.get(i.reservationId) ?? []), i]);
  return {
    Reservations: [...byReservation].map(([reservationId, instances]) => reservationView(ctx, reservationId, instances)),
    NextToken,
  };
}

export function describeInstanceStatus(ctx: SimContext, input: DescribeInstanceStatusCommandInput): Output<DescribeInstanceStatusCommandOutput> {
  rejectIdsWithPaging(input);
  const now = ctx.clock.now();
  const candidates = visibleInstances(ctx, input.InstanceIds).filter((i) => input.IncludeAllInstances === true || instanceState(i, now) === 'running');
  const matching = applyFilters(candidates, input.Filters, instanceFilterFields(ctx));
  const { page, NextToken } = paginate(matching, input, { min: 5, max: 1000 });
  return { InstanceStatuses: page.map((i) => instanceStatusView(ctx, i)), NextToken };
}

/**
 * Shared by Terminate/Stop/Start: decide each instance's new phase (undefined = no change) or throw
 * IncorrectInstanceState. All instances are checked before any changes (the call is all-or-nothing).
 */
function transition(
  ctx: SimContext,
  ids: string[] | undefined,
  verb: string,
  next: (i: InstanceRecord, state: InstanceStateName, now: number) => InstancePhase | undefined | 'invalid',
): InstanceStateChange[] {
  const instances = visibleInstances(ctx, requireNonEmptyList(ids, 'InstanceIds'));
  const now = ctx.clock.now();
  const plans = instances.map((i) => {
    const previous = instanceState(i, now);
    const phase = next(i, previous, now);
    if (phase === 'invalid') {
      throw ec2Error('IncorrectInstanceState', `The instance '${i.instanceId}' is not in a state from which it can be ${verb}.`);
    }
    return { i, previous, phase };
  });
  return plans.map(({ i, previous, phase }) => {
    if (phase !== undefined) i.phase = phase;
    const current = instanceState(i, now);
    return {
      InstanceId: i.instanceId,
      PreviousState: { Code: INSTANCE_STATE_CODES[previous], Name: previous },
      CurrentState: { Code: INSTANCE_STATE_CODES[current], Name: current },
    };
  });
}

export function terminateInstances(ctx: SimContext, input: TerminateInstancesCommandInput): Output<TerminateInstancesCommandOutput> {
  return {
    TerminatingInstances: transition(ctx, input.InstanceIds, 'terminated', (_i, state, now) =>
      state === 'shutting-down' || state === 'terminated' ? undefined : { kind: 'terminate', at: now, durationMs: ctx.settings.terminateMs },
    ),
  };
}

export function stopInstances(ctx: SimContext, input: StopInstancesCommandInput): Output<StopInstancesCommandOutput> {
  return {
    StoppingInstances: transition(ctx, input.InstanceIds, 'stopped', (_i, state, now) => {
      if (state === 'pending' || state === 'running') return { kind: 'stop', at: now, durationMs: ctx.settings.stopMs };
      return state === 'stopping' || state === 'stopped' ? undefined : 'invalid';
    }),
  };
}

export function startInstances(ctx: SimContext, input: StartInstancesCommandInput): Output<StartInstancesCommandOutput> {
  return {
    StartingInstances: transition(ctx, input.InstanceIds, 'started', (i, state, now) => {
      if (state === 'stopped') return { kind: 'start', at: now, durationMs: ctx.faults.bootMs(ctx.settings.bootMs, i) };
      return state === 'pending' || state === 'running' ? undefined : 'invalid';
    }),
  };
}
