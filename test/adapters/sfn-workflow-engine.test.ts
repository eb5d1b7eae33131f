import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { WorkflowGoneError } from '../../domain/shared/index.ts';
import { SfnWorkflowEngine } from '../../functions/shared/adapters/sfn-workflow-engine.ts';
import { localWorkflows } from '../../local/drills-api.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { TaskTokenError } from '../../local/workflow-runner.ts';

/**
 * The domain knows one way a waiting task can be gone (WorkflowGoneError); Step Functions' own
 * error names stay in the adapters that talk to it.
 */
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:cleanpoint-prod-incident';
const client = new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
const sfn = mockClient(client);
const engine = new SfnWorkflowEngine(client, { 'incident-response': MACHINE });
const named = (name: string) => Object.assign(new Error(`${name} happened`), { name });

beforeEach(() => sfn.reset());

describe('SfnWorkflowEngine', () => {
  it.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])('answers a task Step Functions reports as %s with WorkflowGoneError', async (name) => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).rejects(named(name));
    sfn.on(SendTaskFailureCommand).rejects(named(name));
    // Act + Assess
    await expect(engine.sendTaskSuccess('token-1', { approved: true })).rejects.toBeInstanceOf(WorkflowGoneError);
    await expect(engine.sendTaskFailure('token-1', 'ProposalSuperseded', 'superseded')).rejects.toBeInstanceOf(WorkflowGoneError);
  });

  it('lets any other error through unchanged', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(named('ThrottlingException'));
    await expect(engine.sendTaskSuccess('token-1', {})).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('reports an execution that already exists as already started, with its ARN', async () => {
    sfn.on(StartExecutionCommand).rejects(named('ExecutionAlreadyExists'));
    expect(await engine.startExecution({ machine: 'incident-response', name: 'inc-1', input: {} })).toEqual({
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:cleanpoint-prod-incident:inc-1', alreadyStarted: true,
    });
  });
});

describe('the local WorkflowEngine port (localWorkflows)', () => {
  it.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'] as const)('answers a task the local engine reports as %s with WorkflowGoneError', async (name) => {
    // Prepare: an engine whose every task is gone
    const gone = () => { throw new TaskTokenError(name, `${name} happened`); };
    const workflows = localWorkflows({ engine: { sendTaskSuccess: gone, sendTaskFailure: gone } } as unknown as LocalRuntime);
    // Act + Assess
    await expect(workflows.sendTaskSuccess('token-1', {})).rejects.toBeInstanceOf(WorkflowGoneError);
    await expect(workflows.sendTaskFailure('token-1', 'ProposalSuperseded', 'superseded')).rejects.toBeInstanceOf(WorkflowGoneError);
  });
});
