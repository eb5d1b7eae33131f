export type MachineKind = 'incident-response' | 'failover' | 'drill' | 'failback';

/**
 * Starts workflows and answers the tasks that wait for a decision. An answer for a task that is
 * no longer waiting (it timed out, its execution ended, the token is unknown) rejects with the
 * domain's WorkflowGoneError: adapters translate their engine's own error names into it.
 */
export interface WorkflowEngine {
  /** Idempotent by name: starting an existing execution with the same input returns it. */
  startExecution(input: { machine: MachineKind; name: string; input: unknown }): Promise<{ executionArn: string; alreadyStarted: boolean }>;
  sendTaskSuccess(taskToken: string, output: unknown): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
}

/**
 * What an operator's way out needs from the engine (manage-incident): stop a run that is still
 * going. StopExecution of an execution that has already ended is not an error: the adapter
 * treats it as done, so a repeated close changes nothing.
 */
export interface WorkflowControl {
  stopExecution(input: { machine: MachineKind; name: string; cause: string }): Promise<void>;
}
