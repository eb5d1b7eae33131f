/** Protection: coverage, RPO monitoring, readiness (docs/readiness.md). */
import type { ObservedInstance } from '../protection/model.ts';

/** The result of a check that may be impossible to make: true, false, or null = could not be verified. */
export interface CheckOutcome {
  ok: boolean | null;
  detail: string;
}

export type RouteTargetKind =
  | 'local' | 'internet-gateway' | 'egress-only-internet-gateway' | 'nat-gateway' | 'vpc-peering' | 'transit-gateway'
  | 'virtual-private-gateway' | 'vpc-endpoint' | 'instance' | 'network-interface' | 'carrier-gateway' | 'local-gateway' | 'other';

export interface RouteFact {
  /** CIDR or prefix list. */
  destination: string;
  /** The target's id (`local`, `igw-…`, `nat-…`, `pcx-…`, …). */
  target: string;
  kind: RouteTargetKind;
}

/** What EC2 knows about the subnets and security groups asked for; missing ones are simply absent. */
export interface NetworkFacts {
  subnets: { subnetId: string; vpcId: string; availableIpAddressCount?: number }[];
  securityGroups: { groupId: string; vpcId: string }[];
  /** Routes of each existing subnet's route table (its explicit association, else its VPC's main table). */
  routes: Record<string, RouteFact[]>;
}

/**
 * The environment a recovery needs, read-only: the instances that exist, the networks, the
 * instance quota, and the account-level prerequisites (the KMS key, the e-mail sender).
 */
export interface RecoveryEnvironment {
  /** Instances carrying `tagKey` (any value) and not terminated, plus those of `instanceIds` that EC2 still knows (any state). */
  findInstances(query: { tagKey: string; instanceIds: string[] }): Promise<ObservedInstance[]>;
  describeNetworks(query: { subnetIds: string[]; securityGroupIds: string[] }): Promise<NetworkFacts>;
  /** The account's instance limit and the instances pending or running now. */
  instanceQuota(): Promise<{ maxInstances: number; running: number }>;
  /** Can recovery volumes be encrypted with this key (enabled, usable by EC2)? */
  keyStatus(keyId: string): Promise<CheckOutcome>;
  /** Can notifications be e-mailed (the sender identity verified)? */
  emailSenderStatus(): Promise<CheckOutcome>;
}
