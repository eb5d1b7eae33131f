import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, type RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { attachEc2Simulator, Ec2Simulator, type Ec2SimulatorOptions } from '../../local/ec2-sim/index.ts';
import { parseFaults } from '../../local/ec2-sim/faults.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

/**
 * The EC2 simulator's RunInstances for issue 16 items 5 and 6, as AWS documents it: instance
 * profiles IAM knows, a requested private IP, user data, and a volume key the caller cannot use.
 */
const KEY = 'arn:aws:kms:us-east-1:000000000000:key/0fedcba9-8765-4321-0fed-cba987654321';
const PROFILE = 'arn:aws:iam::000000000000:instance-profile/payments-api';
const ROLE = 'arn:aws:iam::000000000000:role/payments-api';

function account(options: Partial<Ec2SimulatorOptions> = {}) {
  const clock = new VirtualClock({ startMs: Date.UTC(2026, 0, 1), autoAdvance: false });
  const sim = new Ec2Simulator({ clock, bootMs: 30_000, ...options });
  const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  attachEc2Simulator(client, sim);
  const vpcId = sim.seedVpc();
  const subnetId = sim.seedSubnet({ vpcId, cidrBlock: '10.0.16.0/20' });
  const groupId = sim.seedSecurityGroup({ vpcId, groupName: 'recovery' });
  const imageId = sim.seedImage({ name: 'point', snapshotIds: [sim.seedSnapshot({ volumeSize: 8 })] });
  sim.seedInstanceProfile(PROFILE, ROLE);
  const run = (extra: Partial<RunInstancesCommandInput> = {}) => client.send(new RunInstancesCommand({
    ImageId: imageId, InstanceType: 't3.medium', MinCount: 1, MaxCount: 1, SubnetId: subnetId, SecurityGroupIds: [groupId],
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, KmsKeyId: KEY } }], ...extra,
  }));
  const describe = async (id: string) => (await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
  return { clock, sim, client, run, describe, subnetId };
}

async function refusal(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected a refusal');
}

describe('EC2 simulator RunInstances: instance profile, private IP, user data, KMS key', () => {
  it('launches with a known instance profile and reports it; refuses an unknown one as EC2 does', async () => {
    // Prepare
    const a = account();

    // Act
    const ok = await a.run({ IamInstanceProfile: { Arn: PROFILE } });
    const unknown = await refusal(a.run({ IamInstanceProfile: { Arn: 'arn:aws:iam::000000000000:instance-profile/nobody' } }));

    // Assess
    expect((await a.describe(ok.Instances![0]!.InstanceId!)).IamInstanceProfile?.Arn).toBe(PROFILE);
    expect(unknown).toMatchObject({ name: 'InvalidParameterValue', message: 'Value (arn:aws:iam::000000000000:instance-profile/nobody) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN' });
    expect(a.sim.instanceProfileRole(PROFILE)).toBe(ROLE);
  });

  it('keeps a requested private IP; refuses one outside the subnet, a reserved one, and one in use', async () => {
    // Prepare
    const a = account();

    // Act
    const kept = await a.run({ PrivateIpAddress: '10.0.17.25' });
    const taken = await refusal(a.run({ PrivateIpAddress: '10.0.17.25' }));
    const outside = await refusal(a.run({ PrivateIpAddress: '10.0.40.9' }));
    const reserved = await refusal(a.run({ PrivateIpAddress: '10.0.16.1' }));

    // Assess
    expect(kept.Instances![0]!.PrivateIpAddress).toBe('10.0.17.25');
    expect(taken).toMatchObject({ name: 'InvalidIPAddress.InUse', message: 'Address 10.0.17.25 is in use.' });
    expect(outside).toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('does not fall within the subnet') });
    expect(reserved.name).toBe('InvalidParameterValue');
  });

  it('takes user data base64 up to 16 KB raw; refuses more, and text that is not base64', async () => {
    // Prepare
    const a = account();
    const b64 = (bytes: number) => Buffer.alloc(bytes, 'a').toString('base64');

    // Act
    const fits = await a.run({ UserData: b64(16 * 1024) });
    const tooLarge = await refusal(a.run({ UserData: b64(16 * 1024 + 1) }));
    const plain = await refusal(a.run({ UserData: '#!/bin/sh\necho hi' }));

    // Assess
    expect(fits.Instances).toHaveLength(1);
    expect(tooLarge).toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('User data is limited to 16384 bytes') });
    expect(plain).toMatchObject({ name: 'InvalidParameterValue', message: 'Invalid BASE64 encoding of user data.' });
  });

  it('a volume key the caller cannot use (fault unusableKmsKeys): accepted, pending, then terminated with Client.InternalError', async () => {
    // Prepare
    const a = account({ faults: parseFaults({ unusableKmsKeys: [KEY] }) });

    // Act
    const out = await a.run();
    const id = out.Instances![0]!.InstanceId!;
    const during = await a.describe(id);
    a.clock.advance(31_000);
    const after = await a.describe(id);

    // Assess
    expect(during.State?.Name).toBe('pending');
    expect(after.State?.Name).toBe('terminated');
    expect(after.StateReason).toEqual({ Code: 'Client.InternalError', Message: 'Client.InternalError: Client error on launch' });
  });

  it('a launch the local IAM found the caller may not use the key for ends the same way; other launches are unaffected', async () => {
    // Prepare
    const a = account();
    a.sim.denyKmsForLaunch('token-denied', [KEY]);

    // Act
    const denied = await a.run({ ClientToken: 'token-denied' });
    const other = await a.run({ ClientToken: 'token-other' });
    a.clock.advance(31_000);

    // Assess
    expect((await a.describe(denied.Instances![0]!.InstanceId!)).StateReason?.Code).toBe('Client.InternalError');
    expect((await a.describe(other.Instances![0]!.InstanceId!)).State?.Name).toBe('running');
  });
});
