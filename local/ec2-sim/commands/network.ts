import type {
  AccountAttributeName,
  DeleteSubnetCommandInput,
  DeleteSubnetCommandOutput,
  DescribeAccountAttributesCommandInput,
  DescribeAccountAttributesCommandOutput,
  DescribeRouteTablesCommandInput,
  DescribeRouteTablesCommandOutput,
  DescribeSecurityGroupsCommandInput,
  DescribeSecurityGroupsCommandOutput,
  DescribeSubnetsCommandInput,
  DescribeSubnetsCommandOutput,
  DescribeVpcsCommandInput,
  DescribeVpcsCommandOutput,
} from '@aws-sdk/client-ec2';
import { ec2Error, invalidParameter, requireValue } from '../errors.ts';
import { instanceLive } from '../lifecycle.ts';
import { applyFilters, ID_KINDS, paginate, selectByIds } from '../query.ts';
import type { RouteTableRecord, SecurityGroupRecord, SimContext, SubnetRecord, VpcRecord } from '../state.ts';
import { routeTableView, securityGroupView, subnetView, vpcView } from '../views.ts';
import { findOne } from '../world.ts';
import type { Output } from './types.ts';

export function describeVpcs(ctx: SimContext, input: DescribeVpcsCommandInput): Output<DescribeVpcsCommandOutput> {
  const vpcs = selectByIds(input.VpcIds, ID_KINDS.vpc, (id) => ctx.state.vpcs[id], () => Object.values(ctx.state.vpcs));
  const matching = applyFilters(vpcs, input.Filters, {
    'vpc-id': (v: VpcRecord) => v.vpcId,
    'cidr-block': (v) => v.cidrBlock,
    cidr: (v) => v.cidrBlock,
    'is-default': (v) => v.isDefault,
    state: () => 'available',
    'owner-id': () => ctx.settings.accountId,
  });
  const { page, NextToken } = paginate(matching, input, { min: 5, max: 1000 });
  return { Vpcs: page.map((v) => vpcView(ctx, v)), NextToken };
}

export function describeSubnets(ctx: SimContext, input: DescribeSubnetsCommandInput): Output<DescribeSubnetsCommandOutput> {
  const subnets = selectByIds(input.SubnetIds, ID_KINDS.subnet, (id) => ctx.state.subnets[id], () => Object.values(ctx.state.subnets));
  const matching = applyFilters(subnets, input.Filters, {
    'subnet-id': (s: SubnetRecord) => s.subnetId,
    'vpc-id': (s) => s.vpcId,
    'cidr-block': (s) => s.cidrBlock,
    cidr: (s) => s.cidrBlock,
    'availability-zone': (s) => s.availabilityZone,
    'default-for-az': (s) => s.defaultForAz,
    'map-public-ip-on-launch': (s) => s.mapPublicIpOnLaunch,
    state: () => 'available',
    'owner-id': () => ctx.settings.accountId,
  });
  const { page, NextToken } = paginate(matching, input, { min: 5, max: 1000 });
  return { Subnets: page.map((s) => subnetView(ctx, s)), NextToken };
}

export function deleteSubnet(ctx: SimContext, input: DeleteSubnetCommandInput): Output<DeleteSubnetCommandOutput> {
  const subnet = findOne(requireValue(input.SubnetId, 'SubnetId'), ID_KINDS.subnet, (id) => ctx.state.subnets[id]);
  const now = ctx.clock.now();
  if (Object.values(ctx.state.instances).some((i) => i.subnetId === subnet.subnetId && instanceLive(i, now))) {
    throw ec2Error('DependencyViolation', `The subnet '${subnet.subnetId}' has dependencies and cannot be deleted.`);
  }
  delete ctx.state.subnets[subnet.subnetId];
  return {};
}

export function describeSecurityGroups(ctx: SimContext, input: DescribeSecurityGroupsCommandInput): Output<DescribeSecurityGroupsCommandOutput> {
  const all = Object.values(ctx.state.securityGroups);
  let groups = selectByIds(input.GroupIds, ID_KINDS.securityGroup, (id) => ctx.state.securityGroups[id], () => all);
  const names = input.GroupNames ?? [];
  if (names.length > 0) {
    const missing = names.filter((n) => !groups.some((g) => g.groupName === n));
    if (missing.length > 0) throw ec2Error('InvalidGroup.NotFound', `The security group '${missing.join(', ')}' does not exist`);
    groups = groups.filter((g) => names.includes(g.groupName));
  }
  const matching = applyFilters(groups, input.Filters, {
    'group-id': (g: SecurityGroupRecord) => g.groupId,
    'group-name': (g) => g.groupName,
    description: (g) => g.description,
    'vpc-id': (g) => g.vpcId,
    'owner-id': () => ctx.settings.accountId,
  });
  const { page, NextToken } = paginate(matching, input, { min: 5, max: 1000 });
  return { SecurityGroups: page.map((g) => securityGroupView(ctx, g)), NextToken };
}

export function describeRouteTables(ctx: SimContext, input: DescribeRouteTablesCommandInput): Output<DescribeRouteTablesCommandOutput> {
  const tables = selectByIds(input.RouteTableIds, ID_KINDS.routeTable, (id) => ctx.state.routeTables[id], () => Object.values(ctx.state.routeTables));
  const associatedSubnets = (t: RouteTableRecord) =>
    Object.values(ctx.state.subnets).filter((s) => s.routeTableId === t.routeTableId).map((s) => s.subnetId);
  const matching = applyFilters(tables, input.Filters, {
    'route-table-id': (t: RouteTableRecord) => t.routeTableId,
    'vpc-id': (t) => t.vpcId,
    'association.subnet-id': associatedSubnets,
    'association.main': (t) => t.main,
    'route.destination-cidr-block': (t) => [ctx.state.vpcs[t.vpcId]?.cidrBlock, ...t.routes.map((r) => r.destinationCidrBlock)],
    'route.gateway-id': (t) => ['local', ...t.routes.map((r) => r.gatewayId)],
    'route.nat-gateway-id': (t) => t.routes.map((r) => r.natGatewayId),
    'route.vpc-peering-connection-id': (t) => t.routes.map((r) => r.vpcPeeringConnectionId),
    'route.transit-gateway-id': (t) => t.routes.map((r) => r.transitGatewayId),
    'owner-id': () => ctx.settings.accountId,
  });
  const { page, NextToken } = paginate(matching, input, { min: 5, max: 100 });
  return { RouteTables: page.map((t) => routeTableView(ctx, t)), NextToken };
}

export function describeAccountAttributes(ctx: SimContext, input: DescribeAccountAttributesCommandInput): Output<DescribeAccountAttributesCommandOutput> {
  const defaultVpc = Object.values(ctx.state.vpcs).find((v) => v.isDefault)?.vpcId ?? 'none';
  const attributes: Record<AccountAttributeName | string, string[]> = {
    'supported-platforms': ['VPC'],
    'default-vpc': [defaultVpc],
    'max-instances': [String(ctx.settings.maxInstances)],
    'vpc-max-security-groups-per-interface': ['5'],
    'max-elastic-ips': ['5'],
    'vpc-max-elastic-ips': ['5'],
  };
  const names = input.AttributeNames ?? Object.keys(attributes);
  for (const name of names) {
    if (!(name in attributes)) throw invalidParameter('AttributeName', `'${name}' is not a valid account attribute`);
  }
  return {
    AccountAttributes: names.map((AttributeName) => ({
      AttributeName,
      AttributeValues: attributes[AttributeName]!.map((AttributeValue) => ({ AttributeValue })),
    })),
  };
}
