import { SendTaskFailureCommand, SendTaskSuccessCommand, StartExecutionCommand, StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { WorkflowGoneError } from '../../../domain/shared/index.ts';
import type { MachineKind, WorkflowControl, WorkflowEngine } from '../../../domain/ports/index.ts';

/** Step Functions' ways of saying the task waiting for this token is no longer there. */
const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * Translate "the waiting task is gone" into the domain's WorkflowGoneError; anything else passes.
 * Also used by the local WorkflowEngine (local/drills-api.ts), whose engine throws the same names.
 */
export async function translated(call: () => unknown): Promise<void> {
  try {
    await call();
  } catch (e) {
    if (GONE.has((e as Error).name)) throw new WorkflowGoneError(`the workflow waiting for this task is gone (${(e as Error).name})`, { cause: e });
    throw e;
  }
}

/** Step Functions adapter. Execution names are derived from ids, so a start is idempotent. */
export class SfnWorkflowEngine implements WorkflowEngine, WorkflowControl {
  constructor(private readonly client: SFNClient, private readonly machines: Partial<Record<MachineKind, string>>) {}

  async startExecution(input: { machine: MachineKind; name: string; input: unknown }) {
    const stateMachineArn = this.machines[input.machine];
    if (!stateMachineArn) throw new Error(`no state machine ARN configured for ${input.machine}`);
    try {
      const out = await this.client.send(new StartExecutionCommand({ stateMachineArn, name: input.name, input: JSON.stringify(input.input) }));
      return { executionArn: out.executionArn!, alreadyStarted: false };
    } catch (e) {
      // Same name again (a redelivered event after the first start): the execution exists.
      if ((e as Error).name === 'ExecutionAlreadyExists') {
        return { executionArn: executionArnFor(stateMachineArn, input.name), alreadyStarted: true };
      }
      throw e;
    }
  }

  /**
   * StopExecution of the named execution (Step Functions also stops the executions its .sync
   * tasks started). An execution that does not exist (never started, or lost) has nothing to stop.
   */
  async stopExecution(input: { machine: MachineKind; name: string; cause: string }): Promise<void> {
    const stateMachineArn = this.machines[input.machine];
    if (!stateMachineArn) throw new Error(`no state machine ARN configured for ${input.machine}`);
    try {
      await this.client.send(new StopExecutionCommand({ executionArn: executionArnFor(stateMachineArn, input.name), cause: input.cause.slice(0, 32768) }));
    } catch (e) {
      if ((e as Error).name !== 'ExecutionDoesNotExist') throw e;
    }
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
    await translated(() => this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })));
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    await translated(() => this.client.send(new SendTaskFailureCommand({ taskToken, error, cause })));
  }
}

/** arn:aws:states:R:A:stateMachine:M + name → arn:aws:states:R:A:execution:M:name */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
