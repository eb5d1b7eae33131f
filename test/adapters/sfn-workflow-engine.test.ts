import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
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

describe('SfnWorkflowEngine.stopExecution', () => {
  it('stops the named execution of the machine by its ARN, with the cause', async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    await engine.stopExecution({ machine: 'incident-response', name: 'incident-inc-1', cause: 'closed by carol: stuck' });
    expect(sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:cleanpoint-prod-incident:incident-inc-1', cause: 'closed by carol: stuck' },
    ]);
  });

  it('treats an execution that does not exist as nothing to stop, and lets other errors through', async () => {
    sfn.on(StopExecutionCommand).rejectsOnce(named('ExecutionDoesNotExist')).rejectsOnce(named('AccessDeniedException'));
    await expect(engine.stopExecution({ machine: 'incident-response', name: 'gone', cause: 'x' })).resolves.toBeUndefined();
    await expect(engine.stopExecution({ machine: 'incident-response', name: 'x', cause: 'x' })).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('refuses a machine it has no ARN for', async () => {
    await expect(engine.stopExecution({ machine: 'failback', name: 'x', cause: 'x' })).rejects.toThrow(/no state machine ARN configured for failback/);
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
