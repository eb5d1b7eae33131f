import {
  CreateSnapshotsCommand,
  DeregisterImageCommand,
  DescribeSnapshotsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type InstanceStatus,
  RunInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { InsufficientCapacityError, ThrottledError, TransientError, ValidationError } from '../../../domain/shared/index.ts';
import type { ComputeProvider, LaunchRequest, RegisterImageInput } from '../../../domain/ports/index.ts';
import type { InstanceState, InstanceView } from '../../../domain/inventory/index.ts';
import type { SnapshotRef } from '../../../domain/recovery-points/index.ts';
import { Ec2ImageRegistry } from './ec2-images.ts';

/**
 * How an EC2 error code maps onto the domain's retry vocabulary. The client is built with
 * `maxAttempts: 1`, so every throttle and blip reaches this adapter once and the domain
 * (launchOne / launchMachine, the pacer, the state machine) decides whether and when to retry.
 */
const THROTTLING_CODES = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException']);
const CAPACITY_CODES = new Set(['InsufficientInstanceCapacity', 'InsufficientCapacity']);
const TRANSIENT_CODES = new Set([
  'InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable',
  // Network-level failures the SDK surfaces without an HTTP response.
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE',
  // A freshly registered image can be `pending` for a moment: RunInstances succeeds once it is `available`.
  'InvalidAMIID.Unavailable',
]);

/** Describe/terminate calls take at most this many ids (EC2 filter values are limited to 200). */
const ID_BATCH = 100;
/** Largest page DescribeInstances and DescribeImages hand out. */
const PAGE_SIZE = 1000;
/** Every instance state except `terminated`: what findTagged calls "not yet deleted". */
const NOT_TERMINATED: InstanceState[] = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

interface AwsErrorShape {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The AWS error code of an SDK error (`name` for service exceptions, `code` for socket errors). */
export function ec2ErrorCode(error: unknown): string {
  const e = (error ?? {}) as AwsErrorShape;
  for (const candidate of [e.Code, e.name, e.code]) {
    if (typeof candidate === 'string' && candidate !== '' && candidate !== 'Error') return candidate;
  }
  return 'UnknownError';
}

/**
 * Translate an SDK error into the domain's errors; the AWS code stays in the message and the
 * original error is the `cause`.
 * - RequestLimitExceeded / Throttling → ThrottledError (retry later, through the pacer)
 * - InsufficientInstanceCapacity / InsufficientCapacity → InsufficientCapacityError (next type)
 * - InternalError / ServiceUnavailable / Unavailable / any other 5xx or server fault → TransientError
 * - anything else (validation, permissions, limits, idempotency mismatch) → Error, not retried
 * Capacity is checked before the 5xx rule because EC2 answers it with HTTP 500.
 */
export function mapEc2Error(operation: string, error: unknown): Error {
  const e = (error ?? {}) as AwsErrorShape;
  const code = ec2ErrorCode(error);
  const awsMessage = typeof e.message === 'string' && e.message !== '' ? e.message : String(error);
  const message = `EC2 ${operation} failed: ${code}: ${awsMessage}`;
  const options = { cause: error };
  if (THROTTLING_CODES.has(code)) return new ThrottledError(message, options);
  if (CAPACITY_CODES.has(code)) return new InsufficientCapacityError(message, options);
  const status = e.$metadata?.httpStatusCode;
  if (TRANSIENT_CODES.has(code) || (typeof status === 'number' && status >= 500) || e.$fault === 'server') {
    return new TransientError(message, options);
  }
  return new Error(message, options);
}

const isNotFound = (error: unknown, code: string): boolean => ec2ErrorCode(error) === code;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function toTagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function fromTagList(tags: Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** `tag:<key>` filters; `*` and `?` are EC2 filter wildcards, so they are escaped to match literally. */
function tagFilters(tags: Record<string, string>): Filter[] {
  return Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value.replace(/[\\*?]/g, '\\$&')] }));
}

/**
 * Both status checks `ok` → true. Either `impaired` → false: a check actually failed, which
 * waiting will not fix. Everything else → null, "not known yet": `initializing` (booting or
 * just running), `not-applicable` (not running), `insufficient-data` (EC2 has not gathered
 * enough data yet; it resolves to ok or impaired), or no status at all (eventual consistency
 * right after launch). checkMachine keeps polling on null and gives up only on its own deadline.
 */
export function statusOf(status: InstanceStatus | undefined): Pick<InstanceView, 'statusOk' | 'statusDetail'> {
  const instance = status?.InstanceStatus?.Status ?? 'unknown';
  const system = status?.SystemStatus?.Status ?? 'unknown';
  if (instance === 'ok' && system === 'ok') return { statusOk: true };
  const statusDetail = `instance ${instance}, system ${system}`;
  if (instance === 'impaired' || system === 'impaired') return { statusOk: false, statusDetail };
  return { statusOk: null, statusDetail };
}

function toView(instance: Instance, status: InstanceStatus | undefined): InstanceView {
  return {
    instanceId: instance.InstanceId ?? '',
    state: (instance.State?.Name ?? 'pending') as InstanceState,
    ...statusOf(status),
    instanceType: instance.InstanceType ?? '',
    imageId: instance.ImageId ?? '',
    ...(instance.SubnetId ? { subnetId: instance.SubnetId } : {}),
    ...(instance.PrivateIpAddress ? { privateIpAddress: instance.PrivateIpAddress } : {}),
    ...(instance.LaunchTime ? { launchTime: instance.LaunchTime.toISOString() } : {}),
    ...(instance.StateReason?.Code ? { stateReason: { code: instance.StateReason.Code, message: instance.StateReason.Message ?? '' } } : {}),
    tags: fromTagList(instance.Tags),
  };
}

/**
 * ComputeProvider on EC2: recovery machines are launched from an AMI registered over the
 * recovery point's EBS snapshots.
 *
 * Idempotency: images are found by name before registering (and a lost race on the name is
 * resolved by looking again); RunInstances carries the caller's ClientToken, so a retry with the
 * same token and parameters returns the first instance. Cleanup only terminates instances and
 * deregisters images: the snapshots are the recovery points and are never deleted here.
 */
export class Ec2ComputeProvider implements ComputeProvider {
  private readonly images: Ec2ImageRegistry;
  private readonly kmsKeyId: string | undefined;

  /** `client` is the module-scope EC2Client (`maxAttempts: 1`): retries are this adapter's callers' job. */
  constructor(private readonly client: EC2Client, options: { kmsKeyId?: string | undefined } = {}) {
    this.kmsKeyId = options.kmsKeyId || undefined;
    this.images = new Ec2ImageRegistry(client);
  }

  /** Registration lives in ec2-images.ts (Ec2ImageRegistry); this provider delegates. */
  registerImage(input: RegisterImageInput): Promise<{ imageId: string }> {
    return this.images.registerImage(input);
  }

  async runInstance(request: LaunchRequest): Promise<{ instanceId: string }> {
    const devices = await this.devicesOf(request.imageId);
    const kmsKeyId = request.kmsKeyId || this.kmsKeyId;
    const tags = toTagList(request.tags);
    let out;
    try {
      out = await this.client.send(new RunInstancesCommand({
        ImageId: request.imageId,
        InstanceType: request.instanceType as _InstanceType,
        MinCount: 1,
        MaxCount: 1,
        ClientToken: request.clientToken,
        SubnetId: request.subnetId,
        SecurityGroupIds: request.securityGroupIds,
        // IMDSv2 only: a compromised workload cannot read instance credentials with a plain GET.
        MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
        // Every volume encrypted, with the configured key when there is one (else the account's EBS default key).
        BlockDeviceMappings: devices.map((DeviceName) => ({ DeviceName, Ebs: { Encrypted: true, ...(kmsKeyId ? { KmsKeyId: kmsKeyId } : {}) } })),
        // The source's role, by ARN; EC2 checks that the caller may iam:PassRole the profile's role.
        ...(request.instanceProfileArn ? { IamInstanceProfile: { Arn: request.instanceProfileArn } } : {}),
        ...(request.privateIpAddress ? { PrivateIpAddress: request.privateIpAddress } : {}),
        // RunInstances takes user data base64-encoded (the v3 SDK does not encode it); 16 KB raw at most (checked at inventory parse).
        ...(request.userData !== undefined ? { UserData: Buffer.from(request.userData, 'utf8').toString('base64') } : {}),
        ...(tags.length ? { TagSpecifications: [{ ResourceType: 'instance', Tags: tags }, { ResourceType: 'volume', Tags: tags }] } : {}),
      }));
    } catch (e) {
      throw mapEc2Error('RunInstances', e);
    }
    const instanceId = out.Instances?.[0]?.InstanceId;
    if (!instanceId) throw new TransientError(`EC2 RunInstances returned no instance for client token ${request.clientToken}`);
    return { instanceId };
  }

  async describeInstances(instanceIds: string[]): Promise<InstanceView[]> {
    const ids = [...new Set(instanceIds)];
    const views = new Map<string, InstanceView>();
    for (const batch of chunks(ids, ID_BATCH)) {
      const instances = await this.describeByIds(batch);
      const statuses = await this.statusesOf(instances.map((i) => i.InstanceId!));
      for (const i of instances) views.set(i.InstanceId!, toView(i, statuses.get(i.InstanceId!)));
    }
    // In the order asked for; ids EC2 does not know (yet, or any more) are simply absent.
    return ids.flatMap((id) => views.get(id) ?? []);
  }

  async terminateInstances(instanceIds: string[]): Promise<void> {
    for (const batch of chunks([...new Set(instanceIds)], ID_BATCH)) await this.terminateBatch(batch);
  }

  /** Deregisters the image only: its snapshots are recovery points and stay. Already gone is fine. */
  async deregisterImage(imageId: string): Promise<void> {
    try {
      await this.client.send(new DeregisterImageCommand({ ImageId: imageId }));
      this.images.forget(imageId);
    } catch (e) {
      if (isNotFound(e, 'InvalidAMIID.NotFound')) return;
      throw mapEc2Error('DeregisterImage', e);
    }
  }

  async findTagged(tags: Record<string, string>): Promise<{ instances: InstanceView[]; imageIds: string[] }> {
    // An empty filter would match the whole account: never let cleanup see that.
    if (Object.keys(tags).length === 0) throw new ValidationError('findTagged', [{ path: 'tags', message: 'at least one tag is required' }]);
    const filters = tagFilters(tags);
    const instances: Instance[] = [];
    let token: string | undefined;
    do {
      const out = await this.call('DescribeInstances', () => this.client.send(new DescribeInstancesCommand({
        Filters: [...filters, { Name: 'instance-state-name', Values: NOT_TERMINATED }], MaxResults: PAGE_SIZE, NextToken: token,
      })));
      for (const r of out.Reservations ?? []) instances.push(...(r.Instances ?? []).filter((i) => i.InstanceId));
      token = out.NextToken || undefined;
    } while (token);
    const statuses = new Map<string, InstanceStatus>();
    for (const batch of chunks(instances.map((i) => i.InstanceId!), ID_BATCH)) {
      for (const [id, s] of await this.statusesOf(batch)) statuses.set(id, s);
    }
    const imageIds: string[] = [];
    token = undefined;
    do {
      const out = await this.call('DescribeImages', () => this.client.send(new DescribeImagesCommand({
        Owners: ['self'], Filters: filters, MaxResults: PAGE_SIZE, NextToken: token,
      })));
      imageIds.push(...(out.Images ?? []).flatMap((i) => (i.ImageId ? [i.ImageId] : [])));
      token = out.NextToken || undefined;
    } while (token);
    return { instances: instances.map((i) => toView(i, statuses.get(i.InstanceId!))), imageIds };
  }

  async snapshotInstance(instanceId: string, tags: Record<string, string>): Promise<{ snapshots: SnapshotRef[] }> {
    const [instance] = await this.describeByIds([instanceId]);
    if (!instance) throw new ValidationError('snapshotInstance', [{ path: 'instanceId', message: `instance ${instanceId} not found` }]);
    const deviceOf = new Map((instance.BlockDeviceMappings ?? []).flatMap((b) => (b.Ebs?.VolumeId && b.DeviceName ? [[b.Ebs.VolumeId, b.DeviceName] as const] : [])));
    // A retried task finds the snapshots it already took (by tags) instead of taking a second set.
    const existing = await this.call('DescribeSnapshots', () => this.client.send(new DescribeSnapshotsCommand({
      OwnerIds: ['self'], Filters: [...tagFilters(tags), { Name: 'volume-id', Values: [...deviceOf.keys()] }],
    })));
    let taken = (existing.Snapshots ?? []).map((x) => ({ SnapshotId: x.SnapshotId, VolumeId: x.VolumeId, VolumeSize: x.VolumeSize }));
    if (taken.length === 0) {
      const out = await this.call('CreateSnapshots', () => this.client.send(new CreateSnapshotsCommand({
        InstanceSpecification: { InstanceId: instanceId, ExcludeBootVolume: false },
        Description: `cleanpoint failback of ${instanceId}`,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
        CopyTagsFromSource: 'volume',
      })));
      taken = (out.Snapshots ?? []).map((x) => ({ SnapshotId: x.SnapshotId, VolumeId: x.VolumeId, VolumeSize: x.VolumeSize }));
    }
    const snapshots = taken.flatMap((x) => (x.SnapshotId && x.VolumeId && deviceOf.has(x.VolumeId)
      ? [{ deviceName: deviceOf.get(x.VolumeId)!, snapshotId: x.SnapshotId, ...(x.VolumeSize ? { volumeSize: x.VolumeSize } : {}) }] : []));
    const root = instance.RootDeviceName;
    return { snapshots: snapshots.sort((a, b) => (a.deviceName === root ? -1 : b.deviceName === root ? 1 : a.deviceName.localeCompare(b.deviceName))) };
  }

  // ---- helpers ----

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      throw mapEc2Error(operation, e);
    }
  }

  /** The image's EBS devices, to override each with encryption at launch. */
  private devicesOf(imageId: string): Promise<string[]> {
    return this.images.devicesOf(imageId);
  }

  /**
   * DescribeInstances by id. One unknown id fails the whole call (InvalidInstanceID.NotFound, also
   * seen briefly after RunInstances: EC2 is eventually consistent), so a batch that fails that way
   * is asked again id by id and the unknown ones are left out.
   */
  private async describeByIds(ids: string[]): Promise<Instance[]> {
    if (ids.length === 0) return [];
    try {
      const instances: Instance[] = [];
      let token: string | undefined;
      do {
        const out = await this.client.send(new DescribeInstancesCommand({ InstanceIds: ids, NextToken: token }));
        for (const r of out.Reservations ?? []) instances.push(...(r.Instances ?? []).filter((i) => i.InstanceId));
        token = out.NextToken || undefined;
      } while (token);
      return instances;
    } catch (e) {
      if (!isNotFound(e, 'InvalidInstanceID.NotFound')) throw mapEc2Error('DescribeInstances', e);
      if (ids.length === 1) return [];
      const each: Instance[] = [];
      for (const id of ids) each.push(...(await this.describeByIds([id])));
      return each;
    }
  }

  /** DescribeInstanceStatus with IncludeAllInstances (else only running instances are listed). */
  private async statusesOf(ids: string[]): Promise<Map<string, InstanceStatus>> {
    const statuses = new Map<string, InstanceStatus>();
    if (ids.length === 0) return statuses;
    try {
      let token: string | undefined;
      do {
        const out = await this.client.send(new DescribeInstanceStatusCommand({ InstanceIds: ids, IncludeAllInstances: true, NextToken: token }));
        for (const s of out.InstanceStatuses ?? []) if (s.InstanceId) statuses.set(s.InstanceId, s);
        token = out.NextToken || undefined;
      } while (token);
      return statuses;
    } catch (e) {
      if (!isNotFound(e, 'InvalidInstanceID.NotFound')) throw mapEc2Error('DescribeInstanceStatus', e);
      if (ids.length === 1) return statuses;
      for (const id of ids) for (const [k, v] of await this.statusesOf([id])) statuses.set(k, v);
      return statuses;
    }
  }

  /** Terminating is idempotent: terminated instances stay terminated, unknown ids are already gone. */
  private async terminateBatch(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.client.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    } catch (e) {
      if (!isNotFound(e, 'InvalidInstanceID.NotFound')) throw mapEc2Error('TerminateInstances', e);
      if (ids.length === 1) return;
      for (const id of ids) await this.terminateBatch([id]);
    }
  }
}
