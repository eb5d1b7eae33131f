import { describe, expect, it } from 'vitest';
import { IamEnforcer, type FunctionRole } from '../../../local/iam/enforce.ts';
import type { Statement } from '../../../local/iam/evaluate.ts';
import { EC2_PRINCIPAL } from '../../../local/iam/sdk-requests.ts';
import { LOCAL_ACCOUNT, LOCAL_CUSTOMER_KMS_KEY, LOCAL_DEPLOY_PARAMS, LOCAL_INSTANCE_ROLE, LOCAL_REGION, LOCAL_STAGE } from '../../../local/runtime.ts';
import { functionRoleStatements, loadServerlessDefinition } from '../../../local/serverless-config.ts';

/**
 * launch-machine's role as serverless.yml gives it on a stage that lists one customer key and one
 * workload role (params launchKmsKeyArns, instanceRoleArns): only those, and only through EC2.
 */
const def = loadServerlessDefinition();
const roleFor = (params: Record<string, string>): FunctionRole => ({
  functionName: 'launch-machine',
  principalArn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/launch-machine-role/session`,
  statements: functionRoleStatements(def, 'launch-machine', { stage: LOCAL_STAGE, region: LOCAL_REGION, account: LOCAL_ACCOUNT, params }) as unknown as Statement[],
});
const enforcer = () => new IamEnforcer({ view: { region: LOCAL_REGION, account: LOCAL_ACCOUNT, ec2: () => undefined } });
const passRole = (arn: string, service = EC2_PRINCIPAL) => ({ action: 'iam:PassRole', resources: [{ arn, type: 'role' }], context: { 'iam:PassedToService': service } });
const kms = (action: string, key: string, extra: Record<string, boolean> = {}) => ({
  action, resources: [{ arn: key, type: 'key' }], context: { 'kms:ViaService': `ec2.${LOCAL_REGION}.amazonaws.com`, 'kms:CallerAccount': LOCAL_ACCOUNT, ...extra },
});
async function outcome(p: Promise<void>): Promise<string> {
  try { await p; return 'allowed'; } catch (e) { return (e as Error).name; }
}

describe('launch-machine role: customer keys and instance profile roles listed at deploy', () => {
  it('may pass a listed role to EC2 only; an unlisted role is refused', async () => {
    const iam = enforcer();
    const role = roleFor({ ...LOCAL_DEPLOY_PARAMS });
    await iam.expectDenials(async () => {
      expect(await outcome(iam.authorizeAs('ec2', passRole(LOCAL_INSTANCE_ROLE), role))).toBe('allowed');
      expect(await outcome(iam.authorizeAs('ec2', passRole(`arn:aws:iam::${LOCAL_ACCOUNT}:role/admin`), role))).toBe('UnauthorizedOperation');
      expect(await outcome(iam.authorizeAs('ec2', passRole(LOCAL_INSTANCE_ROLE, 'lambda.amazonaws.com'), role))).toBe('UnauthorizedOperation');
    });
    iam.retire();
  });

  it('with no roles listed, no role can be passed', async () => {
    const iam = enforcer();
    await iam.expectDenials(async () => {
      expect(await outcome(iam.authorizeAs('ec2', passRole(LOCAL_INSTANCE_ROLE), roleFor({})))).toBe('UnauthorizedOperation');
    });
    iam.retire();
  });

  it('may use a listed key through EC2 (CreateGrant only for an AWS resource); a key not listed is refused; no kms:Encrypt', async () => {
    const iam = enforcer();
    const role = roleFor({ ...LOCAL_DEPLOY_PARAMS });
    const unlisted = `arn:aws:kms:${LOCAL_REGION}:${LOCAL_ACCOUNT}:key/badbad00-0000-4000-8000-0000000bad00`;
    await iam.expectDenials(async () => {
      expect(await outcome(iam.authorizeAs('ec2', kms('kms:CreateGrant', LOCAL_CUSTOMER_KMS_KEY, { 'kms:GrantIsForAWSResource': true }), role))).toBe('allowed');
      expect(await outcome(iam.authorizeAs('ec2', kms('kms:CreateGrant', LOCAL_CUSTOMER_KMS_KEY), role))).toBe('UnauthorizedOperation');
      expect(await outcome(iam.authorizeAs('ec2', kms('kms:Decrypt', LOCAL_CUSTOMER_KMS_KEY), role))).toBe('allowed');
      expect(await outcome(iam.authorizeAs('ec2', kms('kms:Decrypt', unlisted), role))).toBe('UnauthorizedOperation');
      expect(await outcome(iam.authorizeAs('ec2', kms('kms:Encrypt', LOCAL_CUSTOMER_KMS_KEY), role))).toBe('UnauthorizedOperation');
    });
    iam.retire();
  });
});
