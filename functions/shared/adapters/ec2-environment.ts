import { DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import {
  type AccountAttributeName,
  DescribeAccountAttributesCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type Route,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { GetEmailIdentityCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { ObservedInstance } from '../../../domain/protection/index.ts';
import type { CheckOutcome, NetworkFacts, RecoveryEnvironment, RouteFact, RouteTargetKind } from '../../../domain/ports/index.ts';
import type { InstanceState } from '../../../domain/inventory/index.ts';
import { ec2ErrorCode, mapEc2Error } from './ec2-compute.ts';

/**
 * RecoveryEnvironment on EC2: read-only Describe* calls (IAM: Resource "*", as Describe calls
 * support no resource-level permissions). Every SDK error is mapped with mapEc2Error, so a
 * throttle becomes a ThrottledError the Lambda retry (or the caller) handles.
 *
 * Ids are looked up with filters (`subnet-id`, `group-id`, `instance-id`), not with `SubnetIds`
 * / `GroupIds` / `InstanceIds`: one unknown id fails the whole id-based call, while a filter
 * simply leaves it out, which is exactly "does it exist?".
 *
 * The account-level checks (KMS key, SES sender) are not EC2's: they come from an
 * AccountChecks strategy (SES and, once a KMS client is a dependency, KMS on AWS; simulated in
 * the local runtime), read through a getter so the local runtime can swap it after cold start.
 */

/** EC2 accepts at most 200 values per filter. */
const FILTER_BATCH = 200;
const PAGE_SIZE = 1000;
/** Accepted by EC2 (and documented for the CLI) but missing from the SDK's AccountAttributeName enum. */
const MAX_INSTANCES = 'max-instances' as AccountAttributeName;
const NOT_TERMINATED: InstanceState[] = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

export interface AccountChecks {
  keyStatus(keyId: string): Promise<CheckOutcome>;
  emailSenderStatus(): Promise<CheckOutcome>;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function tagsOf(instance: Instance): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of instance.Tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** What a route leads to, from whichever target field EC2 filled in. */
export function routeFact(route: Route): RouteFact | null {
  if (route.State === 'blackhole') return null; // leads nowhere
  const destination = route.DestinationCidrBlock ?? route.DestinationIpv6CidrBlock ?? route.DestinationPrefixListId ?? '?';
  const targets: [string | undefined, RouteTargetKind][] = [
    [route.NatGatewayId, 'nat-gateway'],
    [route.VpcPeeringConnectionId, 'vpc-peering'],
    [route.TransitGatewayId, 'transit-gateway'],
    [route.EgressOnlyInternetGatewayId, 'egress-only-internet-gateway'],
    [route.CarrierGatewayId, 'carrier-gateway'],
    [route.LocalGatewayId, 'local-gateway'],
    [route.InstanceId, 'instance'],
    [route.NetworkInterfaceId, 'network-interface'],
  ];
  for (const [id, kind] of targets) if (id) return { destination, target: id, kind };
  const gw = route.GatewayId;
  if (gw === 'local') return { destination, target: gw, kind: 'local' };
  if (gw?.startsWith('igw-')) return { destination, target: gw, kind: 'internet-gateway' };
  if (gw?.startsWith('vgw-')) return { destination, target: gw, kind: 'virtual-private-gateway' };
  if (gw?.startsWith('vpce-')) return { destination, target: gw, kind: 'vpc-endpoint' };
  return { destination, target: gw ?? route.CoreNetworkArn ?? '?', kind: 'other' };
}

export class Ec2Environment implements RecoveryEnvironment {
  constructor(private readonly client: EC2Client, private readonly account: () => AccountChecks) {}

  async findInstances(query: { tagKey: string; instanceIds: string[] }): Promise<ObservedInstance[]> {
    const byId = new Map<string, ObservedInstance>();
    const add = (list: Instance[]) => {
      for (const i of list) {
        if (i.InstanceId) byId.set(i.InstanceId, { instanceId: i.InstanceId, state: (i.State?.Name ?? 'pending') as InstanceState, tags: tagsOf(i) });
      }
    };
    add(await this.describeInstances([{ Name: 'tag-key', Values: [query.tagKey] }, { Name: 'instance-state-name', Values: NOT_TERMINATED }]));
    for (const ids of chunks([...new Set(query.instanceIds)], FILTER_BATCH)) add(await this.describeInstances([{ Name: 'instance-id', Values: ids }]));
    return [...byId.values()];
  }

  async describeNetworks(query: { subnetIds: string[]; securityGroupIds: string[] }): Promise<NetworkFacts> {
    const facts: NetworkFacts = { subnets: [], securityGroups: [], routes: {} };
    for (const ids of chunks([...new Set(query.subnetIds)], FILTER_BATCH)) {
      let token: string | undefined;
      do {
        const out = await this.call('DescribeSubnets', () => this.client.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: ids }], MaxResults: PAGE_SIZE, NextToken: token })));
        for (const s of out.Subnets ?? []) {
          if (s.SubnetId && s.VpcId) facts.subnets.push({ subnetId: s.SubnetId, vpcId: s.VpcId, ...(s.AvailableIpAddressCount !== undefined ? { availableIpAddressCount: s.AvailableIpAddressCount } : {}) });
        }
        token = out.NextToken || undefined;
      } while (token);
    }
    for (const ids of chunks([...new Set(query.securityGroupIds)], FILTER_BATCH)) {
      let token: string | undefined;
      do {
        const out = await this.call('DescribeSecurityGroups', () => this.client.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: ids }], MaxResults: PAGE_SIZE, NextToken: token })));
        for (const g of out.SecurityGroups ?? []) if (g.GroupId && g.VpcId) facts.securityGroups.push({ groupId: g.GroupId, vpcId: g.VpcId });
        token = out.NextToken || undefined;
      } while (token);
    }
    // Explicit associations first; a subnet without one uses its VPC's main route table.
    const existing = facts.subnets.map((s) => s.subnetId);
    for (const ids of chunks(existing, FILTER_BATCH)) {
      for (const table of await this.routeTables([{ Name: 'association.subnet-id', Values: ids }])) {
        for (const a of table.Associations ?? []) if (a.SubnetId && ids.includes(a.SubnetId)) facts.routes[a.SubnetId] = routesOf(table);
      }
    }
    const orphans = facts.subnets.filter((s) => !facts.routes[s.subnetId]);
    for (const vpcIds of chunks([...new Set(orphans.map((s) => s.vpcId))], FILTER_BATCH)) {
      const mains = await this.routeTables([{ Name: 'vpc-id', Values: vpcIds }, { Name: 'association.main', Values: ['true'] }]);
      for (const s of orphans) {
        const main = mains.find((t) => t.VpcId === s.vpcId);
        if (main) facts.routes[s.subnetId] = routesOf(main);
      }
    }
    return facts;
  }

  async instanceQuota(): Promise<{ maxInstances: number; running: number }> {
    const out = await this.call('DescribeAccountAttributes', () => this.client.send(new DescribeAccountAttributesCommand({ AttributeNames: [MAX_INSTANCES] })));
    const value = out.AccountAttributes?.find((a) => a.AttributeName === 'max-instances')?.AttributeValues?.[0]?.AttributeValue;
    const maxInstances = Number(value);
    if (!Number.isFinite(maxInstances)) throw new Error(`EC2 DescribeAccountAttributes returned no usable max-instances (${String(value)})`);
    const running = (await this.describeInstances([{ Name: 'instance-state-name', Values: ['pending', 'running'] }])).length;
    return { maxInstances, running };
  }

  keyStatus(keyId: string): Promise<CheckOutcome> {
    return this.account().keyStatus(keyId);
  }

  emailSenderStatus(): Promise<CheckOutcome> {
    return this.account().emailSenderStatus();
  }

  private async describeInstances(filters: Filter[]): Promise<Instance[]> {
    const instances: Instance[] = [];
    let token: string | undefined;
    do {
      const out = await this.call('DescribeInstances', () => this.client.send(new DescribeInstancesCommand({ Filters: filters, MaxResults: PAGE_SIZE, NextToken: token })));
      for (const r of out.Reservations ?? []) instances.push(...(r.Instances ?? []));
      token = out.NextToken || undefined;
    } while (token);
    return instances;
  }

  private async routeTables(filters: Filter[]): Promise<RouteTable[]> {
    const tables: RouteTable[] = [];
    let token: string | undefined;
    do {
      const out = await this.call('DescribeRouteTables', () => this.client.send(new DescribeRouteTablesCommand({ Filters: filters, MaxResults: 100, NextToken: token })));
      tables.push(...(out.RouteTables ?? []));
      token = out.NextToken || undefined;
    } while (token);
    return tables;
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      throw mapEc2Error(operation, e);
    }
  }
}

function routesOf(table: RouteTable): RouteFact[] {
  return (table.Routes ?? []).map(routeFact).filter((r): r is RouteFact => r !== null);
}

/**
 * Account checks on AWS.
 * - E-mail: SES v2 GetEmailIdentity of the sender address, then of its domain (either may be the
 *   verified identity). No sender configured: e-mail cannot be sent. A call that fails for
 *   another reason (permissions, throttling) is "could not be verified", not "unverified".
 * - KMS: DescribeKey. Usable means enabled (KeyState `Enabled`) and not scheduled for deletion;
 *   the recovery volumes are encrypted with it, so a disabled key fails every launch. A call that
 *   fails for another reason than a missing key is "could not be verified".
 */
export class AwsAccountChecks implements AccountChecks {
  constructor(private readonly ses: SESv2Client, private readonly emailFrom: string | undefined, private readonly kms?: KMSClient) {}

  async keyStatus(keyId: string): Promise<CheckOutcome> {
    if (!this.kms) return { ok: null, detail: `KMS key ${keyId} is not checked: no KMS client configured` };
    try {
      const out = await this.kms.send(new DescribeKeyCommand({ KeyId: keyId }));
      const state = out.KeyMetadata?.KeyState ?? 'unknown';
      return state === 'Enabled'
        ? { ok: true, detail: `KMS key ${keyId} is enabled` }
        : { ok: false, detail: `KMS key ${keyId} is ${state}: recovery volumes cannot be encrypted with it; enable it or set another key` };
    } catch (e) {
      if (ec2ErrorCode(e) === 'NotFoundException') return { ok: false, detail: `KMS key ${keyId} does not exist` };
      return { ok: null, detail: `KMS key ${keyId} could not be read (${ec2ErrorCode(e)})` };
    }
  }

  async emailSenderStatus(): Promise<CheckOutcome> {
    const from = this.emailFrom;
    if (!from) return { ok: false, detail: 'no e-mail sender is configured (notifyEmailFrom)' };
    const domain = from.slice(from.lastIndexOf('@') + 1);
    for (const identity of [from, domain]) {
      try {
        const out = await this.ses.send(new GetEmailIdentityCommand({ EmailIdentity: identity }));
        if (out.VerifiedForSendingStatus) return { ok: true, detail: `SES identity ${identity} is verified for sending` };
      } catch (e) {
        if (ec2ErrorCode(e) === 'NotFoundException') continue;
        return { ok: null, detail: `SES identity of ${from} could not be read (${ec2ErrorCode(e)})` };
      }
    }
    return { ok: false, detail: `SES sender ${from} is not a verified identity (nor is ${domain})` };
  }
}

/**
 * The local runtime's account: every key usable and the sender verified, unless a test or
 * the console says otherwise (disableKey, emailSenderVerified = false).
 */
export class SimulatedAccountChecks implements AccountChecks {
  private readonly disabled = new Set<string>();
  emailSenderVerified = true;

  disableKey(keyId: string): void {
    this.disabled.add(keyId);
  }

  enableKey(keyId: string): void {
    this.disabled.delete(keyId);
  }

  async keyStatus(keyId: string): Promise<CheckOutcome> {
    return this.disabled.has(keyId)
      ? { ok: false, detail: `key ${keyId} is disabled (simulated)` }
      : { ok: true, detail: `key ${keyId} is enabled (simulated)` };
  }

  async emailSenderStatus(): Promise<CheckOutcome> {
    return this.emailSenderVerified ? { ok: true, detail: 'the local outbox accepts every message' } : { ok: false, detail: 'the sender is not verified (simulated)' };
  }
}
