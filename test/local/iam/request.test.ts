/**
 * authorize(): every resource of a multi-resource action is authorized separately and all must
 * be allowed ("The entire statement is evaluated against every resource that is required to
 * launch the instance", IAM User Guide, Condition operators, ...IfExists). The statements are
 * the failover role's EC2 statements from serverless.yml with the intrinsics resolved.
 */
import { describe, expect, it } from 'vitest';
import type { Statement } from '../../../local/iam/evaluate.ts';
import { accessDeniedMessage, authorize, type AuthorizationRequest } from '../../../local/iam/request.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const ec2 = (resource: string, withAccount = true): string => `arn:aws:ec2:${REGION}:${withAccount ? ACCOUNT : ''}:${resource}`;

const FAILOVER_ROLE: readonly Statement[] = [
  { Effect: 'Allow', Action: ['ec2:DescribeImages', 'ec2:DescribeSnapshots'], Resource: '*' },
  { Effect: 'Allow', Action: ['ec2:RegisterImage'], Resource: ec2('image/*', false), Condition: { Null: { 'aws:RequestTag/cleanpoint:incident': 'false' } } },
  { Effect: 'Allow', Action: ['ec2:RegisterImage'], Resource: ec2('snapshot/*', false) },
  { Effect: 'Allow', Action: ['ec2:RunInstances'], Resource: [ec2('instance/*'), ec2('volume/*')], Condition: { Null: { 'aws:RequestTag/cleanpoint:incident': 'false' } } },
  { Effect: 'Allow', Action: ['ec2:RunInstances'], Resource: ec2('image/*', false), Condition: { Null: { 'aws:ResourceTag/cleanpoint:incident': 'false' } } },
  { Effect: 'Allow', Action: ['ec2:RunInstances'], Resource: [ec2('subnet/*'), ec2('security-group/*'), ec2('network-interface/*'), ec2('snapshot/*', false)] },
  {
    Effect: 'Allow',
    Action: ['ec2:CreateTags'],
    Resource: [ec2('instance/*'), ec2('volume/*'), ec2('network-interface/*'), ec2('image/*', false)],
    Condition: { StringEquals: { 'ec2:CreateAction': ['RunInstances', 'RegisterImage'] }, Null: { 'aws:RequestTag/cleanpoint:incident': 'false' } },
  },
];

const IMAGE = ec2('image/ami-0123', false);
const INSTANCE = ec2('instance/*');
const launch = (overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({
  action: 'ec2:RunInstances',
  resources: [IMAGE, INSTANCE, ec2('volume/*'), ec2('subnet/subnet-1'), ec2('security-group/sg-1'), ec2('network-interface/*')],
  context: { 'aws:RequestTag/cleanpoint:incident': 'inc-1', 'aws:TagKeys': ['cleanpoint:incident'] },
  resourceContext: { [IMAGE]: { 'aws:ResourceTag/cleanpoint:incident': 'inc-1' } },
  ...overrides,
});

describe('authorize (each resource of a request authorized separately)', () => {
  it('a launch whose every resource is allowed is allowed, each resource by its statement', () => {
    const result = authorize(FAILOVER_ROLE, launch());
    expect(result.decision).toBe('allow');
    if (result.decision !== 'allow') return;
    expect(result.allowed.map((a) => a.matchedStatement)).toEqual([4, 3, 3, 5, 5, 5]);
  });

  it('one resource no statement covers refuses the whole call, and the denial names that resource (a key pair is not in the role)', () => {
    const keyPair = ec2('key-pair/ops');
    const result = authorize(FAILOVER_ROLE, launch({ resources: [...launch().resources, keyPair] }));
    expect(result).toMatchObject({ decision: 'implicit-deny', action: 'ec2:RunInstances', resource: keyPair });
    expect(result.reason).toContain(keyPair);
  });

  it('the per-resource context decides per resource: an image without the incident tag is refused, the rest of the launch notwithstanding', () => {
    const result = authorize(FAILOVER_ROLE, launch({ resourceContext: {} }));
    expect(result).toMatchObject({ decision: 'implicit-deny', resource: IMAGE });
    expect(result.reason).toContain('aws:ResourceTag/cleanpoint:incident');
  });

  it('a launch without the incident request tag is refused at the instance (the Null check of the tag-on-create statement)', () => {
    const result = authorize(FAILOVER_ROLE, launch({ context: {} }));
    expect(result).toMatchObject({ decision: 'implicit-deny', resource: INSTANCE });
  });

  it('an explicit Deny on any one resource refuses the call and reports the Deny statement', () => {
    const guarded: Statement[] = [...FAILOVER_ROLE, { Sid: 'NoDefaultVpc', Effect: 'Deny', Action: 'ec2:RunInstances', Resource: ec2('subnet/subnet-default') }];
    const result = authorize(guarded, launch({ resources: [IMAGE, INSTANCE, ec2('subnet/subnet-default')] }));
    expect(result).toMatchObject({ decision: 'explicit-deny', resource: ec2('subnet/subnet-default'), matchedStatement: 'NoDefaultVpc' });
  });

  it('an action without resource-level permissions is authorized against "*" when no resource is named', () => {
    expect(authorize(FAILOVER_ROLE, { action: 'ec2:DescribeImages', resources: [], context: {} }).decision).toBe('allow');
    expect(authorize(FAILOVER_ROLE, { action: 'ec2:DescribeInstanceStatus', resources: [], context: {} }).decision).toBe('implicit-deny');
  });

  it('tags are allowed only as part of a create call (ec2:CreateAction), never on an existing instance', () => {
    const tagging = { action: 'ec2:CreateTags', resources: [ec2('instance/i-0abc')] };
    expect(authorize(FAILOVER_ROLE, { ...tagging, context: { 'ec2:CreateAction': 'RunInstances', 'aws:RequestTag/cleanpoint:incident': 'inc-1' } }).decision).toBe('allow');
    expect(authorize(FAILOVER_ROLE, { ...tagging, context: { 'aws:RequestTag/cleanpoint:incident': 'inc-1' } }).decision).toBe('implicit-deny');
  });

  it('the access-denied message reads like AWS\'s ("is not authorized to perform ... because no identity-based policy allows")', () => {
    const result = authorize(FAILOVER_ROLE, { action: 'ec2:TerminateInstances', resources: [ec2('instance/i-0abc')], context: {} });
    if (result.decision === 'allow') throw new Error('expected a denial');
    expect(accessDeniedMessage(result, `arn:aws:sts::${ACCOUNT}:assumed-role/failover/launch`)).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/failover/launch is not authorized to perform: ec2:TerminateInstances on resource: ${ec2('instance/i-0abc')} because no identity-based policy allows the ec2:TerminateInstances action`,
    );
  });
});
