import { DescribeImagesCommand, DescribeInstancesCommand, DescribeInstanceStatusCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import type { LaunchRequest } from '../../domain/ports/index.ts';
import { Ec2ComputeProvider } from '../../functions/shared/adapters/ec2-compute.ts';

/**
 * The RunInstances parameters of a recovery launch (issue 16, items 5 and 6): the volumes under
 * the machine's key, the instance profile, the preserved private IP and the user data.
 */
const CLEANPOINT_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CUSTOMER_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/0fedcba9-8765-4321-0fed-cba987654321';
const PROFILE = 'arn:aws:iam::111122223333:instance-profile/payments-api';
const IMAGE = 'ami-0123456789abcdef0';

const ec2 = mockClient(EC2Client);

function provider() {
  return new Ec2ComputeProvider(new EC2Client({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 }), { kmsKeyId: CLEANPOINT_KEY });
}

const request = (overrides: Partial<LaunchRequest> = {}): LaunchRequest => ({
  imageId: IMAGE, instanceType: 'm6i.large', subnetId: 'subnet-0123456789abcdef0', securityGroupIds: ['sg-0123456789abcdef0'],
  clientToken: 'token-1', tags: { 'cleanpoint:incident': 'inc-1' }, ...overrides,
});

beforeEach(() => {
  ec2.reset();
  ec2.on(DescribeImagesCommand).resolves({
    Images: [{ ImageId: IMAGE, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0a' } }, { DeviceName: '/dev/sdf', Ebs: { SnapshotId: 'snap-0b' } }] }],
  });
  ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0123456789abcdef0' }] });
});

describe('Ec2ComputeProvider.runInstance: keys, instance profile, private IP, user data', () => {
  it('encrypts every volume under the key of the request (the machine\'s), not the deployment\'s', async () => {
    // Act
    await provider().runInstance(request({ kmsKeyId: CUSTOMER_KEY }));

    // Assess
    expect(ec2).toHaveReceivedCommandWith(RunInstancesCommand, {
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { Encrypted: true, KmsKeyId: CUSTOMER_KEY } },
        { DeviceName: '/dev/sdf', Ebs: { Encrypted: true, KmsKeyId: CUSTOMER_KEY } },
      ],
    });
  });

  it('sends the instance profile by ARN, the preserved private IP and the user data base64-encoded', async () => {
    // Prepare
    const userData = '#!/bin/bash\nsystemctl start payments  # é\n';

    // Act
    await provider().runInstance(request({ instanceProfileArn: PROFILE, privateIpAddress: '10.0.1.25', userData }));

    // Assess
    const input = ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input;
    expect(input.IamInstanceProfile).toEqual({ Arn: PROFILE });
    expect(input.PrivateIpAddress).toBe('10.0.1.25');
    expect(Buffer.from(input.UserData ?? '', 'base64').toString('utf8')).toBe(userData);
  });

  it('sends none of them when the machine has none (no empty IamInstanceProfile, no UserData)', async () => {
    // Act
    await provider().runInstance(request());

    // Assess
    const input = ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input;
    expect(input).not.toHaveProperty('IamInstanceProfile');
    expect(input).not.toHaveProperty('PrivateIpAddress');
    expect(input).not.toHaveProperty('UserData');
    expect(input.BlockDeviceMappings?.[0]?.Ebs?.KmsKeyId).toBe(CLEANPOINT_KEY);
  });

  it('reports the state reason of an instance EC2 ended at launch (Client.InternalError: a key the caller cannot use)', async () => {
    // Prepare
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{
        InstanceId: 'i-0123456789abcdef0', State: { Name: 'terminated', Code: 48 }, InstanceType: 'm6i.large', ImageId: IMAGE,
        StateReason: { Code: 'Client.InternalError', Message: 'Client.InternalError: Client error on launch' },
      }] }],
    });
    ec2.on(DescribeInstanceStatusCommand).resolves({ InstanceStatuses: [] });

    // Act
    const [view] = await provider().describeInstances(['i-0123456789abcdef0']);

    // Assess
    expect(view?.state).toBe('terminated');
    expect(view?.stateReason).toEqual({ code: 'Client.InternalError', message: 'Client.InternalError: Client error on launch' });
  });
});
