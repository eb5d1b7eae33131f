/**
 * The IAM evaluator against AWS's documented rules. Each title names the rule it checks and
 * where AWS states it (IAM User Guide page, quoted where the wording matters).
 */
import { describe, expect, it } from 'vitest';
import {
  actionMatches,
  arnMatches,
  evaluate,
  PolicyError,
  resourceMatches,
  type ConditionBlock,
  type Decision,
  type Statement,
} from '../../../local/iam/evaluate.ts';
import type { RequestContext } from '../../../local/iam/request.ts';

type Elements = Omit<Statement, 'Effect'>;
const allow = (s: Elements): Statement => ({ Effect: 'Allow', ...s });
const deny = (s: Elements): Statement => ({ Effect: 'Deny', ...s });

const ACCOUNT = '123456789012';
const INSTANCE = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0abc`;
const IMAGE = 'arn:aws:ec2:us-east-1::image/ami-0123';
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Thread`;

function decide(statements: readonly Statement[], action: string, resource: string, context: RequestContext = {}): Decision {
  return evaluate(statements, { action, resource, context }).decision;
}

/** Decision of one Allow statement on `*` for `action` with the given Condition block. */
function underCondition(condition: ConditionBlock, context: RequestContext, action = 'ec2:RunInstances', resource = INSTANCE): Decision {
  return decide([allow({ Action: action, Resource: '*', Condition: condition })], action, resource, context);
}

describe("policy evaluation logic ('Determining whether a request is allowed or denied within an account')", () => {
  it("no statement: implicit deny ('By default, all requests are implicitly denied')", () => {
    expect(decide([], 'ec2:RunInstances', INSTANCE)).toBe('implicit-deny');
  });

  it("a matching Allow overrides the default ('An explicit allow in an identity-based ... policy overrides this default')", () => {
    expect(decide([allow({ Action: 'ec2:RunInstances', Resource: INSTANCE })], 'ec2:RunInstances', INSTANCE)).toBe('allow');
  });

  it("explicit deny overrides allow ('An explicit deny in any policy overrides any allows')", () => {
    const statements = [allow({ Action: 'ec2:*', Resource: '*' }), deny({ Action: 'ec2:RunInstances', Resource: '*' })];
    expect(decide(statements, 'ec2:RunInstances', INSTANCE)).toBe('explicit-deny');
  });

  it("statement order does not matter: a Deny listed first still wins ('if the code finds even one explicit deny that applies, the code returns a final decision of Deny')", () => {
    const statements = [deny({ Action: 'ec2:RunInstances', Resource: '*' }), allow({ Action: 'ec2:*', Resource: '*' })];
    expect(decide(statements, 'ec2:RunInstances', INSTANCE)).toBe('explicit-deny');
  });

  it('a Deny alone is an explicit deny, not an implicit one (Deny evaluation step of the flow chart)', () => {
    expect(decide([deny({ Action: '*', Resource: '*' })], 'ssm:GetParameter', '*')).toBe('explicit-deny');
  });

  it('a Deny for another action does not touch the Allow (a Deny applies only when it matches the request)', () => {
    const statements = [allow({ Action: 'ec2:*', Resource: '*' }), deny({ Action: 'ec2:TerminateInstances', Resource: '*' })];
    expect(decide(statements, 'ec2:RunInstances', INSTANCE)).toBe('allow');
  });

  it("a Deny whose condition is false does not apply ('All context keys in a condition element block must resolve to true to invoke the desired Allow or Deny effect')", () => {
    const statements = [
      allow({ Action: 's3:*', Resource: '*' }),
      deny({ Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ];
    expect(decide(statements, 's3:GetObject', 'arn:aws:s3:::b/k', { 'aws:SecureTransport': true })).toBe('allow');
  });

  it('an Allow for a different action leaves the request implicitly denied (identity-based policies step: no statement allows the requested action)', () => {
    expect(decide([allow({ Action: 'ec2:DescribeImages', Resource: '*' })], 'ec2:RunInstances', INSTANCE)).toBe('implicit-deny');
  });

  it('the deciding statement is reported by Sid, else by its index (Sid element: an identifier for the statement)', () => {
    const bySid = evaluate([allow({ Sid: 'Launch', Action: 'ec2:RunInstances', Resource: '*' })], { action: 'ec2:RunInstances', resource: INSTANCE, context: {} });
    expect(bySid).toMatchObject({ decision: 'allow', matchedStatement: 'Launch' });
    const byIndex = evaluate([allow({ Action: 's3:*', Resource: '*' }), deny({ Action: 'ec2:*', Resource: '*' })], { action: 'ec2:RunInstances', resource: INSTANCE, context: {} });
    expect(byIndex).toMatchObject({ decision: 'explicit-deny', matchedStatement: 1 });
  });

  it('an implicit deny names the Allow statement that came closest and the condition it missed (so the log shows what is missing)', () => {
    const result = evaluate(
      [allow({ Sid: 'TaggedOnly', Action: 'ec2:RunInstances', Resource: '*', Condition: { Null: { 'aws:RequestTag/cleanpoint:incident': 'false' } } })],
      { action: 'ec2:RunInstances', resource: INSTANCE, context: {} },
    );
    expect(result.decision).toBe('implicit-deny');
    expect(result.matchedStatement).toBeUndefined();
    expect(result.reason).toContain('"TaggedOnly"');
    expect(result.reason).toContain('aws:RequestTag/cleanpoint:incident');
  });
});

describe('Action and NotAction (IAM JSON policy elements: Action, NotAction)', () => {
  it("action names are case-insensitive ('iam:ListAccessKeys is the same as IAM:listaccesskeys')", () => {
    expect(decide([allow({ Action: 'EC2:runinstances', Resource: '*' })], 'ec2:RunInstances', INSTANCE)).toBe('allow');
    expect(actionMatches('iam:ListAccessKeys', 'IAM:listaccesskeys')).toBe(true);
  });

  it("'s3:*' gives all the actions of the service ('You can use a wildcard (*) to give access to all the actions the specific AWS product offers')", () => {
    expect(actionMatches('ec2:*', 'ec2:TerminateInstances')).toBe(true);
    expect(actionMatches('ec2:*', 'ssm:GetParameter')).toBe(false);
  });

  it("a wildcard inside the name: 'iam:*AccessKey*' covers CreateAccessKey, DeleteAccessKey, ListAccessKeys, UpdateAccessKey (Action element)", () => {
    for (const a of ['iam:CreateAccessKey', 'iam:DeleteAccessKey', 'iam:ListAccessKeys', 'iam:UpdateAccessKey']) expect(actionMatches('iam:*AccessKey*', a)).toBe(true);
    expect(actionMatches('iam:*AccessKey*', 'iam:PassRole')).toBe(false);
  });

  it("a prefix wildcard covers only its prefix: 'ec2:Describe*' is not ec2:RunInstances (Action element wildcards)", () => {
    expect(decide([allow({ Action: 'ec2:Describe*', Resource: '*' })], 'ec2:RunInstances', INSTANCE)).toBe('implicit-deny');
    expect(decide([allow({ Action: 'ec2:Describe*', Resource: '*' })], 'ec2:DescribeInstanceStatus', '*')).toBe('allow');
  });

  it("'?' stands for exactly one character in an action (policy grammar: wildcards * and ?)", () => {
    expect(actionMatches('s3:GetObjec?', 's3:GetObject')).toBe(true);
    expect(actionMatches('s3:GetObjec?', 's3:GetObjectAcl')).toBe(false);
  });

  it("a list of actions applies when any one matches ('You can specify multiple values for the Action element')", () => {
    expect(decide([allow({ Action: ['sqs:SendMessage', 'dynamodb:UpdateItem'], Resource: '*' })], 'dynamodb:UpdateItem', TABLE)).toBe('allow');
  });

  it("NotAction with Allow allows every action except those listed ('NotAction ... explicitly matches everything except the specified list of actions')", () => {
    const statements = [allow({ NotAction: 'iam:*', Resource: '*' })];
    expect(decide(statements, 'ec2:RunInstances', INSTANCE)).toBe('allow');
    expect(decide(statements, 'iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/r`)).toBe('implicit-deny');
  });

  it('NotAction with Deny denies every action except those listed (NotAction element: using NotAction with Deny)', () => {
    const statements = [allow({ Action: '*', Resource: '*' }), deny({ NotAction: ['ec2:*', 'iam:PassRole'], Resource: '*' })];
    expect(decide(statements, 'ssm:GetParameter', '*')).toBe('explicit-deny');
    expect(decide(statements, 'ec2:RunInstances', INSTANCE)).toBe('allow');
  });

  it('NotAction patterns are case-insensitive like Action (Action element: prefix and action name are case insensitive)', () => {
    expect(decide([allow({ NotAction: 'IAM:*', Resource: '*' })], 'iam:PassRole', '*')).toBe('implicit-deny');
  });
});

describe('Resource and NotResource (IAM JSON policy elements: Resource, NotResource)', () => {
  it('an exact ARN matches that resource only (Resource element)', () => {
    const statements = [allow({ Action: 'ec2:TerminateInstances', Resource: INSTANCE })];
    expect(decide(statements, 'ec2:TerminateInstances', INSTANCE)).toBe('allow');
    expect(decide(statements, 'ec2:TerminateInstances', INSTANCE.replace('i-0abc', 'i-0def'))).toBe('implicit-deny');
  });

  it("'*' alone matches every resource, and the '*' of an action without resource-level permissions ('you use the wildcard character (*) in the Resource element')", () => {
    expect(resourceMatches('*', INSTANCE)).toBe(true);
    expect(decide([allow({ Action: 'ec2:DescribeInstanceStatus', Resource: '*' })], 'ec2:DescribeInstanceStatus', '*')).toBe('allow');
  });

  it('an ARN pattern does not cover the resource "*" of a wildcard-only action (such actions need Resource "*")', () => {
    expect(decide([allow({ Action: 'ec2:DescribeInstanceStatus', Resource: 'arn:aws:ec2:*:*:instance/*' })], 'ec2:DescribeInstanceStatus', '*')).toBe('implicit-deny');
  });

  it("'*' expands across '/' within a segment ('including characters like a forward slash (/) that may otherwise appear as a delimiter')", () => {
    expect(resourceMatches('arn:aws:s3:::amzn-s3-demo-bucket/*', 'arn:aws:s3:::amzn-s3-demo-bucket/a/b/c.txt')).toBe(true);
    expect(resourceMatches(`arn:aws:iam::${ACCOUNT}:user/accounting/*`, `arn:aws:iam::${ACCOUNT}:user/accounting/x/y`)).toBe(true);
  });

  it("'*' as the last character of a segment matches beyond the colon ('it can expand to match beyond colon boundaries')", () => {
    expect(resourceMatches('arn:aws:ec2:*:instance/i-0abc', INSTANCE)).toBe(true);
    expect(resourceMatches('arn:aws:ec2:us-east-1:*', INSTANCE)).toBe(true);
  });

  it("'?' matches exactly one character in an ARN ('any single character (?)')", () => {
    expect(resourceMatches('arn:aws:ec2:us-east-?::image/ami-0123', IMAGE)).toBe(true);
    expect(resourceMatches('arn:aws:ec2:us-east-?::image/ami-0123', 'arn:aws:ec2:us-east-12::image/ami-0123')).toBe(false);
  });

  it("resource matching is case-sensitive ('In the Resource element, the IAM user name is case sensitive')", () => {
    expect(resourceMatches(`arn:aws:iam::${ACCOUNT}:user/Bob`, `arn:aws:iam::${ACCOUNT}:user/Bob`)).toBe(true);
    expect(resourceMatches(`arn:aws:iam::${ACCOUNT}:user/Bob`, `arn:aws:iam::${ACCOUNT}:user/bob`)).toBe(false);
  });

  it('a resource of another account or region is not covered (the ARN must match segment for segment)', () => {
    const statements = [allow({ Action: 'ec2:RunInstances', Resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/*` })];
    expect(decide(statements, 'ec2:RunInstances', 'arn:aws:ec2:us-east-1:999999999999:instance/i-1')).toBe('implicit-deny');
    expect(decide(statements, 'ec2:RunInstances', `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-1`)).toBe('implicit-deny');
  });

  it('a list of resources applies when any one matches (Resource element takes an array)', () => {
    const statements = [allow({ Action: 'ec2:RunInstances', Resource: [IMAGE, INSTANCE] })];
    expect(decide(statements, 'ec2:RunInstances', INSTANCE)).toBe('allow');
  });

  it("NotResource with Allow allows all resources not listed ('allows all resources for the services in the statement, that are not explicitly listed')", () => {
    const statements = [allow({ Action: 'ec2:TerminateInstances', NotResource: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-protected` })];
    expect(decide(statements, 'ec2:TerminateInstances', INSTANCE)).toBe('allow');
    expect(decide(statements, 'ec2:TerminateInstances', `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-protected`)).toBe('implicit-deny');
  });

  it("NotResource with Deny denies every resource but the listed ones — the HRPayroll example ('explicitly denies access to all Amazon S3 resources other than the listed resources')", () => {
    const statements = [
      allow({ Action: 's3:*', Resource: '*' }),
      deny({ Action: 's3:*', NotResource: ['arn:aws:s3:::HRBucket/Payroll', 'arn:aws:s3:::HRBucket/Payroll/*'] }),
    ];
    expect(decide(statements, 's3:GetObject', 'arn:aws:s3:::HRBucket/Other/x')).toBe('explicit-deny');
    expect(decide(statements, 's3:GetObject', 'arn:aws:s3:::HRBucket/Payroll/march.csv')).toBe('allow');
  });

  it("the HRPayroll Deny grants nothing by itself ('this policy does not grant the user access to any resources')", () => {
    const statements = [deny({ Action: 's3:*', NotResource: ['arn:aws:s3:::HRBucket/Payroll', 'arn:aws:s3:::HRBucket/Payroll/*'] })];
    expect(decide(statements, 's3:GetObject', 'arn:aws:s3:::HRBucket/Payroll/march.csv')).toBe('implicit-deny');
  });
});

describe("condition logic ('Conditions with multiple context keys or values')", () => {
  it("several operators are ANDed ('the condition operators are evaluated using a logical AND')", () => {
    const condition = { StringEquals: { 'ec2:InstanceType': 't3.micro' }, Bool: { 'ec2:EbsOptimized': 'true' } };
    expect(underCondition(condition, { 'ec2:InstanceType': 't3.micro', 'ec2:EbsOptimized': true })).toBe('allow');
    expect(underCondition(condition, { 'ec2:InstanceType': 't3.micro', 'ec2:EbsOptimized': false })).toBe('implicit-deny');
  });

  it("several keys under one operator are ANDed ('the context keys are evaluated using a logical AND')", () => {
    const condition = { StringEquals: { 'ec2:InstanceType': 't3.micro', 'ec2:Tenancy': 'default' } };
    expect(underCondition(condition, { 'ec2:InstanceType': 't3.micro', 'ec2:Tenancy': 'default' })).toBe('allow');
    expect(underCondition(condition, { 'ec2:InstanceType': 't3.micro', 'ec2:Tenancy': 'dedicated' })).toBe('implicit-deny');
  });

  it("several values of one key are ORed ('those values are evaluated using a logical OR')", () => {
    const condition = { StringEquals: { 'ec2:CreateAction': ['RunInstances', 'RegisterImage'] } };
    expect(underCondition(condition, { 'ec2:CreateAction': 'RegisterImage' }, 'ec2:CreateTags')).toBe('allow');
    expect(underCondition(condition, { 'ec2:CreateAction': 'CreateVolume' }, 'ec2:CreateTags')).toBe('implicit-deny');
  });

  it("several values of a negated operator are NORed ('those values are evaluated using a logical NOR')", () => {
    const condition = { StringNotEquals: { 'aws:PrincipalTag/role': ['audit', 'security'] } };
    expect(underCondition(condition, { 'aws:PrincipalTag/role': 'audit' })).toBe('implicit-deny');
    expect(underCondition(condition, { 'aws:PrincipalTag/role': 'security' })).toBe('implicit-deny');
    expect(underCondition(condition, { 'aws:PrincipalTag/role': 'dev' })).toBe('allow');
  });

  it("condition key names are case-insensitive ('including the aws:SourceIP condition key is equivalent to testing for AWS:SourceIp')", () => {
    const condition = { StringEquals: { 'IAM:passedtoservice': 'malware-protection.guardduty.amazonaws.com' } };
    expect(underCondition(condition, { 'iam:PassedToService': 'malware-protection.guardduty.amazonaws.com' }, 'iam:PassRole')).toBe('allow');
  });

  it("the tag-key part of a key name is case-insensitive too ('Key names are not case-sensitive ... matches a resource tag key named either TagKey1 or tagkey1')", () => {
    expect(underCondition({ StringEquals: { 'aws:RequestTag/CostCenter': '42' } }, { 'aws:requesttag/costcenter': '42' })).toBe('allow');
  });
});

describe('missing keys (Condition operators: "If the key ... is not present in the request context, the values do not match")', () => {
  it('a positive operator on a missing key is false (StringEquals)', () => {
    expect(underCondition({ StringEquals: { 'aws:PrincipalTag/job-category': 'iamuser-admin' } }, {})).toBe('implicit-deny');
  });

  it("a negated operator on a missing key is true ('If the policy condition requires that the key is not matched, such as StringNotLike ... and the right key is not present, the condition is true')", () => {
    expect(underCondition({ StringNotEquals: { 'aws:PrincipalTag/job-category': 'intern' } }, {})).toBe('allow');
    expect(underCondition({ StringNotLike: { 'aws:PrincipalTag/job-category': 'intern*' } }, {})).toBe('allow');
  });

  it('ArnNotLike on a missing key is true (same rule, named for ArnNotLike)', () => {
    expect(underCondition({ ArnNotLike: { 'aws:SourceArn': 'arn:aws:sns:*:*:untrusted' } }, {})).toBe('allow');
  });

  it("a numeric comparison on a missing key is false ('only the operations that include the max-keys context key with a value of less than or equal to 10 would be allowed')", () => {
    expect(underCondition({ NumericLessThanEquals: { 's3:max-keys': '10' } }, {}, 's3:ListBucket', 'arn:aws:s3:::example_bucket')).toBe('implicit-deny');
  });

  it("a date comparison on a missing key is false ('The aws:TokenIssueTime key is present in the request context only when the principal uses temporary credentials')", () => {
    expect(underCondition({ DateGreaterThan: { 'aws:TokenIssueTime': '2020-01-01T00:00:01Z' } }, {})).toBe('implicit-deny');
  });
});

describe('...IfExists (Condition operators)', () => {
  const instanceTypes = { StringLikeIfExists: { 'ec2:InstanceType': ['t1.*', 't2.*', 'm3.*'] } };

  it("a missing key makes it true ('If the key is not present, evaluate the condition element as true') — the RunInstances image has no ec2:InstanceType", () => {
    expect(underCondition(instanceTypes, {}, 'ec2:RunInstances', IMAGE)).toBe('allow');
  });

  it("a present key is checked as the base operator ('If the policy key is present in the context of the request, process the key as specified in the policy')", () => {
    expect(underCondition(instanceTypes, { 'ec2:InstanceType': 't2.micro' })).toBe('allow');
    expect(underCondition(instanceTypes, { 'ec2:InstanceType': 'c5.large' })).toBe('implicit-deny');
  });

  it("without IfExists the same statement fails on the image ('THISPOLICYDOESNOTWORK': the additional resources do not have the ec2:InstanceType condition key)", () => {
    expect(underCondition({ StringLike: { 'ec2:InstanceType': ['t1.*', 't2.*', 'm3.*'] } }, {}, 'ec2:RunInstances', IMAGE)).toBe('implicit-deny');
  });

  it("a Deny with a negated IfExists operator still denies when the key is missing ('the request is still denied even if the tag is missing')", () => {
    const statements = [
      allow({ Action: 'ec2:*', Resource: '*' }),
      deny({ Action: 'ec2:*', Resource: '*', Condition: { StringNotEqualsIfExists: { 'aws:ResourceTag/team': 'blue' } } }),
    ];
    expect(decide(statements, 'ec2:TerminateInstances', INSTANCE, {})).toBe('explicit-deny');
    expect(decide(statements, 'ec2:TerminateInstances', INSTANCE, { 'aws:ResourceTag/team': 'blue' })).toBe('allow');
  });

  it("IfExists cannot be added to Null ('You can add IfExists to the end of any condition operator name except the Null condition')", () => {
    expect(() => underCondition({ NullIfExists: { 'aws:TokenIssueTime': 'true' } }, {})).toThrow(PolicyError);
  });
});

describe('Null (Condition operator to check existence of condition keys)', () => {
  it("Null true holds when the key is absent ('true (the key doesn't exist — it is null)')", () => {
    expect(underCondition({ Null: { 'aws:TokenIssueTime': 'true' } }, {})).toBe('allow');
  });

  it('Null true fails when the key is present (temporary credentials carry aws:TokenIssueTime)', () => {
    expect(underCondition({ Null: { 'aws:TokenIssueTime': 'true' } }, { 'aws:TokenIssueTime': '2024-05-01T10:00:00Z' })).toBe('implicit-deny');
  });

  it("Null false holds when the key is present ('false (the key exists and its value is not null)') — Cleanpoint's tag-on-create rule", () => {
    expect(underCondition({ Null: { 'aws:RequestTag/cleanpoint:incident': 'false' } }, { 'aws:RequestTag/cleanpoint:incident': 'inc-1' })).toBe('allow');
  });

  it('Null false fails when the key is absent: launching without the incident tag is refused', () => {
    expect(underCondition({ Null: { 'aws:RequestTag/cleanpoint:incident': 'false' } }, {})).toBe('implicit-deny');
  });

  it('Null takes the value as YAML parses it (boolean false is "false")', () => {
    expect(underCondition({ Null: { 'aws:RequestTag/cleanpoint:incident': false } }, { 'aws:RequestTag/cleanpoint:incident': 'inc-1' })).toBe('allow');
  });
});

describe('string operators (Condition operators: String)', () => {
  it("StringEquals is exact and case-sensitive ('only requests made by johndoe will match. Users named JohnDoe are denied access')", () => {
    expect(underCondition({ StringEquals: { 'aws:username': 'johndoe' } }, { 'aws:username': 'johndoe' })).toBe('allow');
    expect(underCondition({ StringEquals: { 'aws:username': 'johndoe' } }, { 'aws:username': 'JohnDoe' })).toBe('implicit-deny');
  });

  it("StringEqualsIgnoreCase ignores case ('to match users named johndoe or JohnDoe')", () => {
    expect(underCondition({ StringEqualsIgnoreCase: { 'aws:username': 'johndoe' } }, { 'aws:username': 'JohnDoe' })).toBe('allow');
  });

  it("StringNotEqualsIgnoreCase is the negation ignoring case ('Negated matching, ignoring case')", () => {
    expect(underCondition({ StringNotEqualsIgnoreCase: { 'aws:username': 'johndoe' } }, { 'aws:username': 'JOHNDOE' })).toBe('implicit-deny');
    expect(underCondition({ StringNotEqualsIgnoreCase: { 'aws:username': 'johndoe' } }, { 'aws:username': 'jane' })).toBe('allow');
  });

  it("StringLike takes * and ? anywhere in the string ('multi-character match wildcards (*) and single-character match wildcards (?) anywhere in the string')", () => {
    expect(underCondition({ StringLike: { 's3:prefix': 'home/*/docs/?' } }, { 's3:prefix': 'home/ann/docs/1' })).toBe('allow');
    expect(underCondition({ StringLike: { 's3:prefix': 'home/*/docs/?' } }, { 's3:prefix': 'home/ann/docs/12' })).toBe('implicit-deny');
  });

  it("StringLike is case-sensitive ('StringLike: Case-sensitive matching')", () => {
    expect(underCondition({ StringLike: { 'ec2:InstanceType': 't2.*' } }, { 'ec2:InstanceType': 'T2.micro' })).toBe('implicit-deny');
  });

  it("StringEquals takes * literally ('You must specify wildcards to achieve partial string matches' — with StringLike)", () => {
    expect(underCondition({ StringEquals: { 'ec2:InstanceType': 't2.*' } }, { 'ec2:InstanceType': 't2.micro' })).toBe('implicit-deny');
    expect(underCondition({ StringEquals: { 'ec2:InstanceType': 't2.*' } }, { 'ec2:InstanceType': 't2.*' })).toBe('allow');
  });

  it("StringNotLike is negated wildcard matching ('Negated case-sensitive matching')", () => {
    expect(underCondition({ StringNotLike: { 'ec2:InstanceType': '*.metal' } }, { 'ec2:InstanceType': 'm5.metal' })).toBe('implicit-deny');
    expect(underCondition({ StringNotLike: { 'ec2:InstanceType': '*.metal' } }, { 'ec2:InstanceType': 'm5.large' })).toBe('allow');
  });
});

describe('numeric operators (Condition operators: Numeric)', () => {
  const maxKeys = (value: string): Decision =>
    underCondition({ NumericLessThanEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': value }, 's3:ListBucket', 'arn:aws:s3:::example_bucket');

  it("NumericLessThanEquals: 'the requester can list up to 10 objects'", () => {
    expect(maxKeys('10')).toBe('allow');
    expect(maxKeys('11')).toBe('implicit-deny');
  });

  it("numbers compare as numbers, integer or decimal ('comparing a key to an integer or decimal value')", () => {
    expect(underCondition({ NumericEquals: { 'ec2:MetadataHttpPutResponseHopLimit': '1' } }, { 'ec2:MetadataHttpPutResponseHopLimit': '1.0' })).toBe('allow');
  });

  it("NumericNotEquals is negated matching ('Negated matching')", () => {
    expect(underCondition({ NumericNotEquals: { 'ec2:MetadataHttpPutResponseHopLimit': '1' } }, { 'ec2:MetadataHttpPutResponseHopLimit': '2' })).toBe('allow');
    expect(underCondition({ NumericNotEquals: { 'ec2:MetadataHttpPutResponseHopLimit': '1' } }, { 'ec2:MetadataHttpPutResponseHopLimit': '1' })).toBe('implicit-deny');
  });

  it('NumericGreaterThan is strict and NumericGreaterThanEquals is not ("Greater than" / "Greater than or equals" matching)', () => {
    expect(underCondition({ NumericGreaterThan: { 'dynamodb:Limit': '5' } }, { 'dynamodb:Limit': '5' })).toBe('implicit-deny');
    expect(underCondition({ NumericGreaterThanEquals: { 'dynamodb:Limit': '5' } }, { 'dynamodb:Limit': '5' })).toBe('allow');
    expect(underCondition({ NumericLessThan: { 'dynamodb:Limit': '5' } }, { 'dynamodb:Limit': '4' })).toBe('allow');
  });

  it('a policy value that is not a number is refused as a malformed policy (Numeric operators compare integers or decimals)', () => {
    expect(() => underCondition({ NumericLessThan: { 's3:max-keys': 'ten' } }, { 's3:max-keys': '3' })).toThrow(PolicyError);
  });
});

describe('date operators (Condition operators: Date)', () => {
  it("DateGreaterThan: credentials 'issued in 2020' or later pass, earlier ones fail", () => {
    const condition = { DateGreaterThan: { 'aws:TokenIssueTime': '2020-01-01T00:00:01Z' } };
    expect(underCondition(condition, { 'aws:TokenIssueTime': '2020-06-01T12:00:00Z' })).toBe('allow');
    expect(underCondition(condition, { 'aws:TokenIssueTime': '2019-12-31T23:59:59Z' })).toBe('implicit-deny');
  });

  it("epoch time and ISO 8601 compare as instants ('W3C implementations of the ISO 8601 date formats or in epoch (UNIX) time')", () => {
    // 1577836800 = 2020-01-01T00:00:00Z
    expect(underCondition({ DateLessThan: { 'aws:EpochTime': '2020-01-01T00:00:01Z' } }, { 'aws:EpochTime': '1577836800' })).toBe('allow');
    expect(underCondition({ DateEquals: { 'aws:CurrentTime': '2020-01-01T01:00:00+01:00' } }, { 'aws:CurrentTime': '2020-01-01T00:00:00Z' })).toBe('allow');
  });

  it('DateNotEquals, DateLessThanEquals, DateGreaterThanEquals (the Date operator table)', () => {
    expect(underCondition({ DateNotEquals: { 'aws:CurrentTime': '2020-01-01' } }, { 'aws:CurrentTime': '2020-01-01T00:00:00Z' })).toBe('implicit-deny');
    expect(underCondition({ DateLessThanEquals: { 'aws:CurrentTime': '2020-01-01' } }, { 'aws:CurrentTime': '2020-01-01T00:00:00Z' })).toBe('allow');
    expect(underCondition({ DateGreaterThanEquals: { 'aws:CurrentTime': '2020-01-02' } }, { 'aws:CurrentTime': '2020-01-01T23:59:59Z' })).toBe('implicit-deny');
  });

  it("a date operator value is a date, never a wildcard pattern ('Wildcards are not permitted for date condition operators')", () => {
    expect(() => underCondition({ DateLessThan: { 'aws:CurrentTime': '2020-*' } }, { 'aws:CurrentTime': '2019-01-01' })).toThrow(PolicyError);
  });
});

describe('Bool (Condition operators: Boolean)', () => {
  const tlsOnly = [
    allow({ Action: 's3:*', Resource: '*' }),
    deny({ Sid: 'BooleanExample', Action: 's3:*', Resource: ['arn:aws:s3:::DOC-EXAMPLE-BUCKET', 'arn:aws:s3:::DOC-EXAMPLE-BUCKET/*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
  ];

  it("Bool denies S3 'if the request is not over SSL' (the BooleanExample policy)", () => {
    expect(decide(tlsOnly, 's3:GetObject', 'arn:aws:s3:::DOC-EXAMPLE-BUCKET/k', { 'aws:SecureTransport': false })).toBe('explicit-deny');
    expect(decide(tlsOnly, 's3:GetObject', 'arn:aws:s3:::DOC-EXAMPLE-BUCKET/k', { 'aws:SecureTransport': true })).toBe('allow');
  });

  it('Bool compares "true"/"false" however the value is written: boolean in the context, string in the policy, or the reverse (comparing a key to "true" or "false")', () => {
    expect(underCondition({ Bool: { 'aws:MultiFactorAuthPresent': true } }, { 'aws:MultiFactorAuthPresent': 'true' })).toBe('allow');
    expect(underCondition({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } }, { 'aws:MultiFactorAuthPresent': true })).toBe('allow');
    expect(underCondition({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } }, { 'aws:MultiFactorAuthPresent': false })).toBe('implicit-deny');
  });
});

describe('ARN operators (Condition operators: Amazon Resource Name)', () => {
  it("ArnLike checks each of the six colon-delimited components with * and ? ('Each of the six colon-delimited components of the ARN is checked separately')", () => {
    expect(arnMatches('arn:aws:sns:us-east-?:*:alerts-*', `arn:aws:sns:us-east-1:${ACCOUNT}:alerts-prod`)).toBe(true);
    expect(arnMatches('arn:aws:sns:us-east-?:*:alerts-*', `arn:aws:sns:us-west-2:${ACCOUNT}:alerts-prod`)).toBe(false);
  });

  it("the documented pair: StringLike matches where ArnLike does not ('The first asterisk matches only us-east-2 and fails on 999999999999:store/abc:')", () => {
    const pattern = 'arn:aws:someservice:*:111122223333:finance/*';
    const value = 'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt';
    expect(underCondition({ StringLike: { 'aws:SourceArn': pattern } }, { 'aws:SourceArn': value })).toBe('allow');
    expect(underCondition({ ArnLike: { 'aws:SourceArn': pattern } }, { 'aws:SourceArn': value })).toBe('implicit-deny');
  });

  it("ArnEquals behaves as ArnLike, wildcards included ('The ArnEquals and ArnLike condition operators behave identically')", () => {
    expect(underCondition({ ArnEquals: { 'aws:SourceArn': 'arn:aws:sns:*:*:topic' } }, { 'aws:SourceArn': `arn:aws:sns:us-east-1:${ACCOUNT}:topic` })).toBe('allow');
  });

  it("ArnNotEquals / ArnNotLike are negated ARN matching ('Negated matching for ARN')", () => {
    expect(underCondition({ ArnNotEquals: { 'aws:SourceArn': 'arn:aws:sns:*:*:topic' } }, { 'aws:SourceArn': `arn:aws:sns:us-east-1:${ACCOUNT}:topic` })).toBe('implicit-deny');
    expect(underCondition({ ArnNotLike: { 'aws:SourceArn': 'arn:aws:sns:*:*:topic' } }, { 'aws:SourceArn': `arn:aws:sns:us-east-1:${ACCOUNT}:other` })).toBe('allow');
  });

  it("ARN matching is case-sensitive ('Case-sensitive matching of the ARN')", () => {
    expect(arnMatches(`arn:aws:iam::${ACCOUNT}:role/Scanner`, `arn:aws:iam::${ACCOUNT}:role/scanner`)).toBe(false);
  });

  it("a value that is not an ARN does not match an ARN pattern (an ARN has six components)", () => {
    expect(arnMatches('arn:aws:sns:*:*:*', 'not-an-arn')).toBe(false);
  });
});

describe("multivalued keys and set operators ('Single-valued vs. multivalued context keys', 'Conditions with multiple context keys or values')", () => {
  const onlyTheseAttributes = { 'ForAllValues:StringLike': { 'dynamodb:requestedAttributes': ['PostDateTime', 'Message', 'Tags'] } };
  const forbidden = { 'ForAnyValue:StringLike': { 'dynamodb:requestedAttributes': ['ID', 'PostDateTime'] } };

  it("ForAllValues holds when every request value matches a policy value ('the user's requested attributes all match values specified in the policy')", () => {
    expect(underCondition(onlyTheseAttributes, { 'dynamodb:requestedAttributes': ['PostDateTime', 'Message'] }, 'dynamodb:GetItem', TABLE)).toBe('allow');
  });

  it("ForAllValues fails when one request value matches none ('There's no match for UserName, so the condition operator returns false')", () => {
    expect(underCondition(onlyTheseAttributes, { 'dynamodb:requestedAttributes': ['PostDateTime', 'UserName'] }, 'dynamodb:GetItem', TABLE)).toBe('implicit-deny');
  });

  it("ForAllValues holds for a missing key ('The ForAllValues set operator also returns true if there are no context keys in the request')", () => {
    expect(underCondition(onlyTheseAttributes, {}, 'dynamodb:GetItem', TABLE)).toBe('allow');
  });

  it("ForAllValues holds for an empty set ('If the key values in the request resolve to an empty data set ... ForAllValues returns true')", () => {
    expect(underCondition(onlyTheseAttributes, { 'dynamodb:requestedAttributes': [] }, 'dynamodb:GetItem', TABLE)).toBe('allow');
  });

  it("ForAnyValue holds when one request value matches ('There is one match (PostDateTime), so the condition is true ... the request is denied')", () => {
    const statements = [allow({ Action: 'dynamodb:*', Resource: '*' }), deny({ Action: 'dynamodb:PutItem', Resource: TABLE, Condition: forbidden })];
    expect(decide(statements, 'dynamodb:PutItem', TABLE, { 'dynamodb:requestedAttributes': ['UserName', 'Message', 'PostDateTime'] })).toBe('explicit-deny');
  });

  it("ForAnyValue fails when no request value matches ('None of the attributes in the request ... match ... The condition returns false')", () => {
    const statements = [allow({ Action: 'dynamodb:*', Resource: '*' }), deny({ Action: 'dynamodb:PutItem', Resource: TABLE, Condition: forbidden })];
    expect(decide(statements, 'dynamodb:PutItem', TABLE, { 'dynamodb:requestedAttributes': ['UserName'] })).toBe('allow');
  });

  it("ForAnyValue fails for a missing or empty key ('a condition operator modified by ForAnyValue returns false')", () => {
    expect(underCondition({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['team'] } }, {})).toBe('implicit-deny');
    expect(underCondition({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['team'] } }, { 'aws:TagKeys': [] })).toBe('implicit-deny');
  });

  it('ForAnyValue with IfExists still fails for a missing key (the set qualifier decides an absent key: AWS re:Post, "ForAnyValue:StringEqualsIfExists behaving unexpectedly")', () => {
    expect(underCondition({ 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': ['team'] } }, {}, 'sqs:ListQueues', '*')).toBe('implicit-deny');
  });

  it("ForAllValues with a negated operator: no request value may equal a policy value (negated operator values are NORed, per request value)", () => {
    const condition = { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['DataClass', 'Owner'] } };
    expect(underCondition(condition, { 'aws:TagKeys': ['Dept', 'SIC'] })).toBe('allow');
    expect(underCondition(condition, { 'aws:TagKeys': ['Dept', 'DataClass'] })).toBe('implicit-deny');
  });

  it('ForAnyValue with a negated operator: some request value equals no policy value (ForAnyValue over the NOR of the values)', () => {
    const condition = { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['DataClass', 'Owner'] } };
    expect(underCondition(condition, { 'aws:TagKeys': ['DataClass', 'Dept'] })).toBe('allow');
    expect(underCondition(condition, { 'aws:TagKeys': ['DataClass', 'Owner'] })).toBe('implicit-deny');
  });

  it("a Deny with ForAllValues applies to a request without the key, unless a Null check guards it ('You can prevent missing context keys ... by including a Null condition operator ... with a value of false')", () => {
    const unguarded = [allow({ Action: 'iam:*', Resource: '*' }), deny({ Action: 'iam:TagUser', Resource: '*', Condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['key1*'] } } })];
    expect(decide(unguarded, 'iam:TagUser', `arn:aws:iam::${ACCOUNT}:user/u`, {})).toBe('explicit-deny');
    const guarded = [
      allow({ Action: 'iam:*', Resource: '*' }),
      deny({ Action: 'iam:TagUser', Resource: '*', Condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['key1*'] }, Null: { 'aws:TagKeys': 'false' } } }),
    ];
    expect(decide(guarded, 'iam:TagUser', `arn:aws:iam::${ACCOUNT}:user/u`, {})).toBe('allow');
    expect(decide(guarded, 'iam:TagUser', `arn:aws:iam::${ACCOUNT}:user/u`, { 'aws:TagKeys': ['key1-a'] })).toBe('explicit-deny');
  });
});

describe('policy variables (IAM policy elements: Variables and tags)', () => {
  it("${aws:username} in Resource is replaced by the caller's name ('IAM substitutes the user name from the current request')", () => {
    const statements = [allow({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::mybucket/${aws:username}/*' })];
    expect(decide(statements, 's3:GetObject', 'arn:aws:s3:::mybucket/David/notes.txt', { 'aws:username': 'David' })).toBe('allow');
    expect(decide(statements, 's3:GetObject', 'arn:aws:s3:::mybucket/Adele/notes.txt', { 'aws:username': 'David' })).toBe('implicit-deny');
  });

  it("a variable in a string condition value ('You can use a policy variable for Condition values in any condition that involves the string operators')", () => {
    expect(underCondition({ StringLike: { 's3:prefix': ['${aws:username}/*'] } }, { 's3:prefix': 'David/x', 'aws:username': 'David' }, 's3:ListBucket', 'arn:aws:s3:::mybucket')).toBe('allow');
  });

  it("an unresolvable variable makes the statement inapplicable ('If AWS cannot resolve a variable, this might cause the entire statement to be invalid')", () => {
    const statements = [allow({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::mybucket/${aws:username}/*' })];
    const result = evaluate(statements, { action: 's3:GetObject', resource: 'arn:aws:s3:::mybucket/David/x', context: {} });
    expect(result.decision).toBe('implicit-deny');
    expect(result.reason).toContain('aws:username');
    const denyStatements = [allow({ Action: 's3:*', Resource: '*' }), deny({ Action: 's3:*', Resource: 'arn:aws:s3:::mybucket/${aws:PrincipalTag/team}/*' })];
    expect(decide(denyStatements, 's3:GetObject', 'arn:aws:s3:::mybucket/x/y', {})).toBe('allow');
  });

  it("a default value stands in for a missing key ('Specifying default values': ${aws:PrincipalTag/team, 'company-wide'})", () => {
    const statements = [allow({ Action: 's3:GetObject', Resource: "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*" })];
    expect(decide(statements, 's3:GetObject', 'arn:aws:s3:::bucket/company-wide/x', {})).toBe('allow');
    expect(decide(statements, 's3:GetObject', 'arn:aws:s3:::bucket/red/x', { 'aws:PrincipalTag/team': 'red' })).toBe('allow');
  });

  it('${*} is a literal asterisk, not a wildcard (special characters in policy variables)', () => {
    const statements = [allow({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/${*}' })];
    expect(decide(statements, 's3:GetObject', 'arn:aws:s3:::bucket/*', {})).toBe('allow');
    expect(decide(statements, 's3:GetObject', 'arn:aws:s3:::bucket/anything', {})).toBe('implicit-deny');
  });
});

describe('policy grammar (what IAM refuses to store)', () => {
  it("a statement needs exactly one of Action and NotAction ('Statements must include either an Action or NotAction element')", () => {
    expect(() => decide([allow({ Action: 'ec2:*', NotAction: 'iam:*', Resource: '*' })], 'ec2:RunInstances', INSTANCE)).toThrow(PolicyError);
    expect(() => decide([allow({ Resource: '*' })], 'ec2:RunInstances', INSTANCE)).toThrow(PolicyError);
  });

  it("a statement needs exactly one of Resource and NotResource ('Statements must include either a Resource or a NotResource element')", () => {
    expect(() => decide([allow({ Action: 'ec2:*' })], 'ec2:RunInstances', INSTANCE)).toThrow(PolicyError);
  });

  it('an unknown condition operator is refused (the operator must be one of the documented operators)', () => {
    expect(() => underCondition({ StringMatches: { 'aws:username': 'x' } }, {})).toThrow(PolicyError);
  });

  it("IpAddress matches an address inside the policy's CIDR block ('IP address condition operators ... RFC 4632 CIDR format'), IPv4 and IPv6", () => {
    expect(underCondition({ IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.7' })).toBe('allow');
    expect(underCondition({ IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.114.7' })).toBe('implicit-deny');
    expect(underCondition({ IpAddress: { 'aws:SourceIp': ['198.51.100.0/24', '2001:db8::/32'] } }, { 'aws:SourceIp': '2001:db8:1::5' })).toBe('allow');
    expect(underCondition({ IpAddress: { 'aws:SourceIp': '203.0.113.7' } }, { 'aws:SourceIp': '203.0.113.7' })).toBe('allow');
    expect(underCondition({ IpAddress: { 'aws:SourceIp': '203.0.113.7' } }, { 'aws:SourceIp': '203.0.113.8' })).toBe('implicit-deny');
  });

  it("NotIpAddress holds for an address outside every block, and for a request without the key (negated operator, missing key)", () => {
    expect(underCondition({ NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '192.0.2.1' })).toBe('allow');
    expect(underCondition({ NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.1' })).toBe('implicit-deny');
    expect(underCondition({ NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, {})).toBe('allow');
    expect(underCondition({ IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, {})).toBe('implicit-deny');
  });

  it("BinaryEquals compares the bytes of base-64 values ('The value in the policy is base-64 encoded')", () => {
    const key = Buffer.from('cleanpoint').toString('base64');
    expect(underCondition({ BinaryEquals: { 'test:Key': key } }, { 'test:Key': key })).toBe('allow');
    expect(underCondition({ BinaryEquals: { 'test:Key': key } }, { 'test:Key': Buffer.from('other').toString('base64') })).toBe('implicit-deny');
  });

  it('an IP or binary policy value of the wrong form is refused, not evaluated', () => {
    expect(() => underCondition({ IpAddress: { 'aws:SourceIp': '203.0.113.0/33' } }, { 'aws:SourceIp': '203.0.113.1' })).toThrow(PolicyError);
    expect(() => underCondition({ IpAddress: { 'aws:SourceIp': 'not-an-address' } }, { 'aws:SourceIp': '203.0.113.1' })).toThrow(PolicyError);
    expect(() => underCondition({ BinaryEquals: { 'test:Key': 'not base64!' } }, { 'test:Key': 'eA==' })).toThrow(PolicyError);
  });

  it('an unresolved template value (an object where a string belongs) is refused', () => {
    expect(() => decide([allow({ Action: 'ec2:*', Resource: { 'Fn::GetAtt': ['X', 'Arn'] } as unknown as string })], 'ec2:RunInstances', INSTANCE)).toThrow(PolicyError);
  });
});
