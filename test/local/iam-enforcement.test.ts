/**
 * Per-function IAM in the local runtime: each function's SDK calls are authorized against its
 * own role from serverless.yml (local/iam/enforce.ts), and refused as AWS refuses them.
 */
import { DescribeInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.ts';
import { startSeededRuntime } from '../helpers/local-runtime.ts';

let rt: LocalRuntime;
beforeAll(async () => { rt = await startSeededRuntime({ infected: {} }); }, 120_000);
afterAll(async () => { await rt?.close(); });

/** The runtime's refusals so far, for one function. */
const denials = (functionName: string) => rt.iam!.denials.filter((d) => d.functionName === functionName);

/** Two machines a run launched in the test network, and one it launched in recovery mode. */
function seedRunMachines(runId: string) {
  const subnetId = 'subnet-0c000000000000001';
  const test = [1, 2].map(() => rt.sim.seedInstance({ subnetId, tags: { 'cleanpoint:incident': runId, 'cleanpoint:mode': 'test' } }));
  const recovery = rt.sim.seedInstance({ subnetId, tags: { 'cleanpoint:incident': `${runId}-recovery`, 'cleanpoint:mode': 'recovery' } });
  return { test, recovery };
}

describe('cleanup-test-machines under its own role', () => {
  it('terminates what a test run launched: every call it makes is one its role allows', async () => {
    // Arrange
    const runId = 'drill-iam-cleanup-1';
    const { test } = seedRunMachines(runId);

    // Act
    const result = await rt.invoke('cleanup-test-machines', { runId, kind: 'drill' }) as { terminated: string[] };

    // Assess
    expect(denials('cleanup-test-machines')).toEqual([]);
    expect([...result.terminated].sort()).toEqual([...test].sort());
  });
});

describe('how a refusal looks', () => {
  it('EC2 answers UnauthorizedOperation naming the action and the resource, and the runtime logs the missing statement', async () => {
    // Arrange: the role of cleanup-test-machines may terminate only instances tagged cleanpoint:mode = test.
    const { recovery } = seedRunMachines('drill-iam-refusal-1');
    const before = rt.iam!.denials.length;

    // Act: the function's own EC2 client, as its adapter would use it
    const error = await rt.iam!.expectDenials(() => clientOf('cleanup-test-machines').ec2.send(new TerminateInstancesCommand({ InstanceIds: [recovery] })).catch((e: Error) => e));

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('UnauthorizedOperation');
    expect((error as Error).message).toContain(`is not authorized to perform: ec2:TerminateInstances on resource: arn:aws:ec2:us-east-1:000000000000:instance/${recovery}`);
    expect(rt.sim.resources().find((r) => r.id === recovery)?.state).toBe('running');
    expect(rt.iam!.denials.slice(before)).toMatchObject([{ functionName: 'cleanup-test-machines', action: 'ec2:TerminateInstances', decision: 'implicit-deny', expected: true }]);
  });

  it('a JSON service answers AccessDeniedException: a function may not write to a table its role does not name', async () => {
    // Act: check-machine's role allows the state table only
    const error = await rt.iam!.expectDenials(() => clientOf('check-machine').dynamo.send(new PutItemCommand({
      TableName: rt.tables.catalog, Item: { pk: { S: 'x' }, sk: { S: 'y' } },
    })).catch((e: Error) => e));

    // Assess
    expect((error as Error).name).toBe('AccessDeniedException');
    expect((error as Error).message).toContain(`dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/${rt.tables.catalog}`);
  });

  it('allows what the role allows (Describe* on "*")', async () => {
    const out = await clientOf('cleanup-test-machines').ec2.send(new DescribeInstancesCommand({}));
    expect(out.Reservations?.length).toBeGreaterThan(0);
  });
});

/** A function's own SDK clients, as the runtime composes it. */
function clientOf(functionName: string) {
  return rt.clientsOf(functionName);
}
