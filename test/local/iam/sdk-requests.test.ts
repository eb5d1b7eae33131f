import { describe, expect, it } from 'vitest';
import { actionReference, arnFormatOf, conditionKeysOf } from '../../../local/iam/service-reference.ts';
import { requestsFor, UnmappedCommandError, type AccountView, type ServiceName } from '../../../local/iam/sdk-requests.ts';

/**
 * The permissions the local runtime asks IAM for, checked against the service authorization
 * reference itself: every action a mapped command needs exists, every resource it names is of
 * a type that action can name, and every ARN has the reference's format for that type. A typo
 * here ("ec2:RunInstance", an image ARN with an account) would make the local runtime allow or
 * refuse what AWS decides differently.
 */

const view: AccountView = {
  region: 'us-east-1',
  account: '111122223333',
  ec2: (id) => ({
    'ami-0123456789abcdef0': { tags: { 'cleanpoint:run': 'r1' }, snapshotIds: ['snap-0aaaaaaaaaaaaaaaa', 'snap-0bbbbbbbbbbbbbbbb'] },
    'snap-0aaaaaaaaaaaaaaaa': { tags: {}, encrypted: true, kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555' },
    'snap-0bbbbbbbbbbbbbbbb': { tags: {} },
    'i-0123456789abcdef0': { tags: { 'cleanpoint:mode': 'test' }, volumeIds: ['vol-0123456789abcdef0'] },
  } as Record<string, ReturnType<AccountView['ec2']>>)[id],
};

const tagged = (type: string) => [{ ResourceType: type, Tags: [{ Key: 'cleanpoint:run', Value: 'r1' }] }];

/** One input per mapped command (every branch of the mapping). */
const CASES: [ServiceName, string, Record<string, unknown>][] = [
  ...['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'DescribeTable', 'CreateTable', 'DeleteTable'].map(
    (op) => ['dynamodb', `${op}Command`, { TableName: 'cleanpoint-local-state', ReturnValues: 'ALL_NEW' }] as [ServiceName, string, Record<string, unknown>]),
  ['dynamodb', 'QueryCommand', { TableName: 'cleanpoint-local-state' }],
  ['dynamodb', 'QueryCommand', { TableName: 'cleanpoint-local-state', IndexName: 'byStatus' }],
  ['dynamodb', 'ScanCommand', { TableName: 'cleanpoint-local-catalog' }],
  ['dynamodb', 'BatchGetItemCommand', { RequestItems: { a: {}, b: {} } }],
  ['dynamodb', 'BatchWriteItemCommand', { RequestItems: { a: [] } }],
  ['dynamodb', 'TransactWriteItemsCommand', { TransactItems: [{ Put: { TableName: 'a' } }, { Update: { TableName: 'a' } }, { Delete: { TableName: 'b' } }, { ConditionCheck: { TableName: 'b' } }] }],
  ['dynamodb', 'TransactGetItemsCommand', { TransactItems: [{ Get: { TableName: 'a' } }] }],
  ['ec2', 'DescribeInstancesCommand', {}],
  ['ec2', 'DescribeInstanceStatusCommand', {}],
  ['ec2', 'DescribeSnapshotsCommand', {}],
  ['ec2', 'RunInstancesCommand', {
    ImageId: 'ami-0123456789abcdef0', SubnetId: 'subnet-0123456789abcdef0', SecurityGroupIds: ['sg-0123456789abcdef0'], KeyName: 'ops',
    TagSpecifications: [...tagged('instance'), ...tagged('volume')],
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, KmsKeyId: '99999999-8888-7777-6666-555555555555' } }],
  }],
  ['ec2', 'RegisterImageCommand', { Name: 'x', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0bbbbbbbbbbbbbbbb' } }], TagSpecifications: tagged('image') }],
  ...['TerminateInstances', 'StopInstances', 'StartInstances', 'RebootInstances'].map(
    (op) => ['ec2', `${op}Command`, { InstanceIds: ['i-0123456789abcdef0'] }] as [ServiceName, string, Record<string, unknown>]),
  ['ec2', 'DeregisterImageCommand', { ImageId: 'ami-0123456789abcdef0' }],
  ['ec2', 'DeleteSnapshotCommand', { SnapshotId: 'snap-0bbbbbbbbbbbbbbbb' }],
  ['ec2', 'CreateSnapshotsCommand', { InstanceSpecification: { InstanceId: 'i-0123456789abcdef0' }, TagSpecifications: tagged('snapshot') }],
  ['states', 'StartExecutionCommand', { stateMachineArn: 'arn:aws:states:us-east-1:111122223333:stateMachine:cleanpoint-local-failover' }],
  ...['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat'].map((op) => ['states', `${op}Command`, { taskToken: 't' }] as [ServiceName, string, Record<string, unknown>]),
  ...['DescribeExecution', 'StopExecution', 'RedriveExecution', 'GetExecutionHistory'].map(
    (op) => ['states', `${op}Command`, { executionArn: 'arn:aws:states:us-east-1:111122223333:execution:cleanpoint-local-failover:run-1' }] as [ServiceName, string, Record<string, unknown>]),
  ['events', 'PutEventsCommand', { Entries: [{ Source: 'cleanpoint', DetailType: 'x' }, { EventBusName: 'arn:aws:events:us-east-1:111122223333:event-bus/other', Source: 'cleanpoint', DetailType: 'y' }] }],
  ...['GetParameter', 'PutParameter', 'DeleteParameter'].map((op) => ['ssm', `${op}Command`, { Name: '/cleanpoint/local/inventory' }] as [ServiceName, string, Record<string, unknown>]),
  ['ssm', 'GetParametersCommand', { Names: ['/a', 'b'] }],
  ['ssm', 'SendCommandCommand', { DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-0123456789abcdef0'] }],
  ['ssm', 'SendCommandCommand', { DocumentName: 'cleanpoint-check', InstanceIds: ['i-0123456789abcdef0'] }],
  ['ssm', 'GetCommandInvocationCommand', { CommandId: 'c', InstanceId: 'i-0123456789abcdef0' }],
  ['ssm', 'ListCommandInvocationsCommand', {}],
  ['ses', 'SendEmailCommand', { FromEmailAddress: '"Cleanpoint" <dr@example.com>', Destination: { ToAddresses: ['a@example.com'] }, ConfigurationSetName: 'cs' }],
  ['ses', 'GetEmailIdentityCommand', { EmailIdentity: 'dr@example.com' }],
  ...['DescribeKey', 'Decrypt', 'Encrypt', 'GenerateDataKey'].map((op) => ['kms', `${op}Command`, { KeyId: 'alias/cleanpoint' }] as [ServiceName, string, Record<string, unknown>]),
  ['guardduty', 'StartMalwareScanCommand', { ResourceArn: 'arn:aws:ec2:us-east-1::snapshot/snap-0bbbbbbbbbbbbbbbb', ScanConfiguration: { Role: 'arn:aws:iam::111122223333:role/scanner' } }],
  ['guardduty', 'GetMalwareScanCommand', { ScanId: 's' }],
  ['guardduty', 'ListMalwareScansCommand', {}],
];

/** The reference's format as a pattern: each `${Name}` one or more characters, `${Partition}` aws. */
function formatPattern(format: string, awsOwned = false): RegExp {
  const parts = format.split(/(\$\{[^}]+\})/).map((p) => {
    if (p === '${Partition}') return 'aws';
    if (p === '${Region}') return '[a-z]{2}(-[a-z]+)+-\\d';
    // AWS-owned SSM documents (AWS-RunShellScript) carry no account in their ARN.
    if (p === '${Account}') return awsOwned ? '' : '\\d{12}';
    if (/^\$\{[^}]+\}$/.test(p)) return '.+';
    return p.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('')}$`);
}

describe('sdk-requests: what each SDK call asks IAM, against the service authorization reference', () => {
  it.each(CASES.map(([s, c, i]) => [`${s} ${c}`, s, c, i] as const))('%s: actions, resource types and ARNs are the reference\'s', async (_, service, command, input) => {
    const requests = requestsFor(service, command, input, view);
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) {
      const reference = await actionReference(request.action);
      // The reference spells the action this way (IAM matches case-insensitively; we don't rely on it).
      expect(reference.action.toLowerCase()).toBe(request.action.toLowerCase());
      expect(request.resources.length).toBeGreaterThan(0);
      for (const resource of request.resources) {
        if (resource.type === '*') {
          expect(resource.arn).toBe('*');
          continue;
        }
        await expect(conditionKeysOf(request.action, resource.type), `${request.action} names ${resource.type}`).resolves.toBeDefined();
        const [, , svc] = resource.arn.split(':');
        const format = await arnFormatOf(svc!, resource.type);
        const arn = resource.arn.replace(/\/\*$/, '/x');
        expect(arn, `${request.action}: ${resource.type} ARN against ${format}`).toMatch(formatPattern(format, /:document\/AWS-/.test(arn)));
      }
    }
  });

  it('asks RunInstances for every resource AWS authorizes it on, and EBS encryption through EC2 for another key', () => {
    const [run, tags, ...kms] = requestsFor('ec2', 'RunInstancesCommand', CASES.find((c) => c[1] === 'RunInstancesCommand')![2], view);
    expect(run!.resources.map((r) => r.type)).toEqual(['instance', 'volume', 'network-interface', 'image', 'snapshot', 'snapshot', 'security-group', 'subnet', 'key-pair']);
    expect(tags).toMatchObject({ action: 'ec2:CreateTags', context: { 'ec2:CreateAction': 'RunInstances' } });
    expect(kms.map((k) => k.action)).toEqual(['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo']);
    expect(kms.every((k) => k.context?.['kms:ViaService'] === 'ec2.us-east-1.amazonaws.com')).toBe(true);
  });

  it('RunInstances with an instance profile also asks iam:PassRole on the profile\'s ROLE, passed to EC2; the volumes\' key requests fail the launch, not the call', () => {
    const profileView: AccountView = { ...view, instanceProfileRole: (arn) => (arn.endsWith('/web') ? 'arn:aws:iam::111122223333:role/web-workload' : undefined) };
    const input = { ...CASES.find((c) => c[1] === 'RunInstancesCommand')![2], IamInstanceProfile: { Arn: 'arn:aws:iam::111122223333:instance-profile/web' } };
    const requests = requestsFor('ec2', 'RunInstancesCommand', input, profileView);
    expect(requests.find((r) => r.action === 'iam:PassRole')).toEqual({
      action: 'iam:PassRole', resources: [{ arn: 'arn:aws:iam::111122223333:role/web-workload', type: 'role' }], context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
    });
    expect(requests.filter((r) => r.action.startsWith('kms:')).every((r) => r.deferred === 'launch-fails')).toBe(true);
    // A profile IAM does not know: no PassRole to ask; EC2 itself refuses the ARN.
    const unknown = requestsFor('ec2', 'RunInstancesCommand', { ...input, IamInstanceProfile: { Arn: 'arn:aws:iam::111122223333:instance-profile/gone' } }, profileView);
    expect(unknown.some((r) => r.action === 'iam:PassRole')).toBe(false);
  });

  it('passes the scanner role to GuardDuty with iam:PassedToService', () => {
    const requests = requestsFor('guardduty', 'StartMalwareScanCommand', { ScanConfiguration: { Role: 'arn:aws:iam::111122223333:role/scanner' } }, view);
    expect(requests[1]).toMatchObject({ action: 'iam:PassRole', context: { 'iam:PassedToService': 'malware-protection.guardduty.amazonaws.com' } });
  });

  it('fails closed on a command it does not know, naming it', () => {
    expect(() => requestsFor('ec2', 'CreateVpcCommand', {}, view)).toThrow(UnmappedCommandError);
    expect(() => requestsFor('ec2', 'CreateVpcCommand', {}, view)).toThrow(/ec2:CreateVpc/);
    expect(() => requestsFor('states', 'DeleteStateMachineCommand', {}, view)).toThrow(UnmappedCommandError);
  });
});
