import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsAccountChecks } from '../../functions/shared/adapters/ec2-environment.ts';

const kms = mockClient(KMSClient);
const checks = () => new AwsAccountChecks(new SESv2Client({ region: 'us-east-1' }), 'dr@example.com', new KMSClient({ region: 'us-east-1' }));
const awsError = (name: string) => Object.assign(new Error(name), { name, $metadata: {} });

beforeEach(() => kms.reset());

describe('readiness: is the recovery volumes\' KMS key usable?', () => {
  it('passes an enabled key', async () => {
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: 'k', KeyState: 'Enabled' } });
    expect(await checks().keyStatus('alias/cleanpoint')).toMatchObject({ ok: true });
  });

  it('fails a disabled key or one pending deletion, saying what to fix', async () => {
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: 'k', KeyState: 'PendingDeletion' } });
    const out = await checks().keyStatus('alias/cleanpoint');
    expect(out.ok).toBe(false);
    expect(out.detail).toMatch(/PendingDeletion.*enable it or set another key/);
  });

  it('fails a key that does not exist', async () => {
    kms.on(DescribeKeyCommand).rejects(awsError('NotFoundException'));
    expect(await checks().keyStatus('alias/gone')).toMatchObject({ ok: false, detail: 'KMS key alias/gone does not exist' });
  });

  it('reports "could not be verified" when the key cannot be read for another reason', async () => {
    kms.on(DescribeKeyCommand).rejects(awsError('AccessDeniedException'));
    expect(await checks().keyStatus('alias/cleanpoint')).toMatchObject({ ok: null });
  });
});
