import { DeleteSubnetCommand, EC2Client, TerminateInstancesCommand, type Route } from '@aws-sdk/client-ec2';
import { GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ThrottledError } from '../../domain/shared/index.ts';
import { AwsAccountChecks, Ec2Environment, routeFact, SimulatedAccountChecks } from '../../functions/shared/adapters/ec2-environment.ts';
import { attachEc2Simulator, Ec2Simulator } from '../../local/ec2-sim/index.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

const START = Date.UTC(2025, 0, 1);

/** A simulated account: a VPC with an isolated test subnet, a prod subnet routed to the internet, a peered one. */
function account(options: { maxInstances?: number } = {}) {
  const clock = new VirtualClock({ startMs: START, autoAdvance: false });
  const sim = new Ec2Simulator({ clock, ...(options.maxInstances ? { maxInstances: options.maxInstances } : {}) });
  const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  attachEc2Simulator(client, sim);
  const vpcId = sim.seedVpc({ cidrBlock: '10.0.0.0/16' });
  const otherVpc = sim.seedVpc({ cidrBlock: '10.9.0.0/16' });
  const test = sim.seedSubnet({ vpcId, isolated: true });
  const prod = sim.seedSubnet({ vpcId });
  const peered = sim.seedSubnet({ vpcId, routes: [{ destinationCidrBlock: '10.9.0.0/16', vpcPeeringConnectionId: 'pcx-0123456789abcdef0' }] });
  const sg = sim.seedSecurityGroup({ vpcId, groupName: 'test' });
  const foreignSg = sim.seedSecurityGroup({ vpcId: otherVpc, groupName: 'elsewhere' });
  const checks = new SimulatedAccountChecks();
  const env = new Ec2Environment(client, () => checks);
  return { clock, sim, client, env, vpcId, otherVpc, test, prod, peered, sg, foreignSg, checks };
}

describe('Ec2Environment on the EC2 simulator', () => {
  it('describes existing subnets and security groups and leaves unknown ids out instead of failing', async () => {
    const a = account();
    const facts = await a.env.describeNetworks({ subnetIds: [a.test, 'subnet-0ffffffffffffffff'], securityGroupIds: [a.sg, a.foreignSg, 'sg-0ffffffffffffffff'] });
    expect(facts.subnets).toEqual([{ subnetId: a.test, vpcId: a.vpcId, availableIpAddressCount: expect.any(Number) }]);
    expect(facts.securityGroups.sort((x, y) => x.groupId.localeCompare(y.groupId))).toEqual([{ groupId: a.sg, vpcId: a.vpcId }, { groupId: a.foreignSg, vpcId: a.otherVpc }].sort((x, y) => x.groupId.localeCompare(y.groupId)));
  });

  it("reads each subnet's route table: local only when isolated, the internet gateway or peering route otherwise", async () => {
    const a = account();
    const { routes } = await a.env.describeNetworks({ subnetIds: [a.test, a.prod, a.peered], securityGroupIds: [] });
    expect(routes[a.test]).toEqual([{ destination: '10.0.0.0/16', target: 'local', kind: 'local' }]);
    expect(routes[a.prod]).toEqual([{ destination: '10.0.0.0/16', target: 'local', kind: 'local' }, { destination: '0.0.0.0/0', target: expect.stringMatching(/^igw-/), kind: 'internet-gateway' }]);
    expect(routes[a.peered]![1]).toEqual({ destination: '10.9.0.0/16', target: 'pcx-0123456789abcdef0', kind: 'vpc-peering' });
  });

  it('sees a deleted subnet as missing', async () => {
    const a = account();
    await a.client.send(new DeleteSubnetCommand({ SubnetId: a.test }));
    const facts = await a.env.describeNetworks({ subnetIds: [a.test, a.prod], securityGroupIds: [] });
    expect(facts.subnets.map((s) => s.subnetId)).toEqual([a.prod]);
    expect(facts.routes[a.test]).toBeUndefined();
  });

  it('finds tagged instances and the asked-for ids in any state, and not untagged strangers', async () => {
    const a = account();
    const tagged = a.sim.seedInstance({ subnetId: a.prod, tags: { 'cleanpoint:group': 'payments' } });
    const listed = a.sim.seedInstance({ subnetId: a.prod, state: 'stopped' });
    const stranger = a.sim.seedInstance({ subnetId: a.prod });
    const gone = a.sim.seedInstance({ subnetId: a.prod, tags: { 'cleanpoint:group': 'crm' } });
    await a.client.send(new TerminateInstancesCommand({ InstanceIds: [gone] }));
    const found = await a.env.findInstances({ tagKey: 'cleanpoint:group', instanceIds: [listed, gone, 'i-0ffffffffffffffff'] });
    const byId = new Map(found.map((i) => [i.instanceId, i]));
    expect(byId.get(tagged)).toEqual({ instanceId: tagged, state: 'running', tags: { 'cleanpoint:group': 'payments' } });
    expect(byId.get(listed)?.state).toBe('stopped');
    expect(byId.get(gone)?.state).toMatch(/shutting-down|terminated/);
    expect(byId.has(stranger)).toBe(false);
  });

  it('reads the instance quota and counts the running instances', async () => {
    const a = account({ maxInstances: 7 });
    a.sim.seedInstance({ subnetId: a.prod });
    a.sim.seedInstance({ subnetId: a.prod });
    a.sim.seedInstance({ subnetId: a.prod, state: 'stopped' });
    expect(await a.env.instanceQuota()).toEqual({ maxInstances: 7, running: 2 });
  });

  it('maps EC2 throttling to ThrottledError', async () => {
    const a = account();
    a.sim.setFaults({ failNextCalls: { DescribeSubnets: { count: 1, code: 'RequestLimitExceeded' } } });
    await expect(a.env.describeNetworks({ subnetIds: [a.test], securityGroupIds: [] })).rejects.toBeInstanceOf(ThrottledError);
  });

  it('asks the account checks for the key and the sender, at call time', async () => {
    const a = account();
    expect(await a.env.keyStatus('alias/k')).toEqual({ ok: true, detail: 'key alias/k is enabled (simulated)' });
    a.checks.disableKey('alias/k');
    a.checks.emailSenderVerified = false;
    expect((await a.env.keyStatus('alias/k')).ok).toBe(false);
    expect((await a.env.emailSenderStatus()).ok).toBe(false);
  });
});

describe('routeFact', () => {
  it.each<[Route, string | null]>([
    [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1', State: 'active' }, 'nat-gateway'],
    [{ DestinationCidrBlock: '0.0.0.0/0', TransitGatewayId: 'tgw-1' }, 'transit-gateway'],
    [{ DestinationIpv6CidrBlock: '::/0', EgressOnlyInternetGatewayId: 'eigw-1' }, 'egress-only-internet-gateway'],
    [{ DestinationCidrBlock: '10.1.0.0/16', GatewayId: 'vgw-1' }, 'virtual-private-gateway'],
    [{ DestinationPrefixListId: 'pl-1', GatewayId: 'vpce-1' }, 'vpc-endpoint'],
    [{ DestinationCidrBlock: '0.0.0.0/0', InstanceId: 'i-1', NetworkInterfaceId: 'eni-1' }, 'instance'],
    [{ DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-1', State: 'blackhole' }, null],
  ])('classifies %j', (route, kind) => {
    expect(routeFact(route)?.kind ?? null).toBe(kind);
  });
});

describe('AwsAccountChecks', () => {
  const ses = mockClient(SESv2Client);
  beforeEach(() => ses.reset());
  const notFound = Object.assign(new Error('not found'), { name: 'NotFoundException' });

  it('accepts a sender verified as an address or through its domain', async () => {
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'dr@example.com' }).resolves({ VerifiedForSendingStatus: true });
    expect((await new AwsAccountChecks(new SESv2Client({}), 'dr@example.com').emailSenderStatus()).ok).toBe(true);
    ses.reset();
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'dr@example.com' }).rejects(notFound);
    ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves({ VerifiedForSendingStatus: true });
    expect(await new AwsAccountChecks(new SESv2Client({}), 'dr@example.com').emailSenderStatus()).toEqual({ ok: true, detail: 'SES identity example.com is verified for sending' });
  });

  it('refuses an unverified or missing sender, and says "could not be verified" when SES cannot be asked', async () => {
    ses.on(GetEmailIdentityCommand).rejects(notFound);
    expect(await new AwsAccountChecks(new SESv2Client({}), 'dr@example.com').emailSenderStatus()).toEqual({ ok: false, detail: 'SES sender dr@example.com is not a verified identity (nor is example.com)' });
    expect((await new AwsAccountChecks(new SESv2Client({}), undefined).emailSenderStatus()).ok).toBe(false);
    ses.reset();
    ses.on(GetEmailIdentityCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    expect(await new AwsAccountChecks(new SESv2Client({}), 'dr@example.com').emailSenderStatus()).toEqual({ ok: null, detail: 'SES identity of dr@example.com could not be read (AccessDeniedException)' });
  });

  it('does not claim to have checked the KMS key', async () => {
    expect((await new AwsAccountChecks(new SESv2Client({}), 'dr@example.com').keyStatus('alias/k')).ok).toBeNull();
  });
});
