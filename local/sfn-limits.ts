/**
 * Step Functions quotas the local engine enforces as AWS does (Step Functions Developer Guide,
 * "Step Functions service quotas" and "Handling errors in Step Functions workflows"):
 *  - names of executions are 1–80 characters and contain no white space, wildcard characters
 *    (`? *`), bracket characters (`< > { } [ ]`), special characters (`" # % \ ^ | ~ \` $ & , ; : /`)
 *    or control characters (U+0000–U+001F, U+007F–U+009F); StartExecution answers `InvalidName`;
 *  - the input or output of a task, state or execution is at most 256 KiB of UTF-8 data
 *    (the API's 262144-byte length constraint); StartExecution answers `InvalidExecutionInput`,
 *    and a running state fails the execution with `States.DataLimitExceeded`, a terminal error
 *    that States.ALL does not catch (nor Retry retry);
 *  - an execution's history holds at most 25,000 events, counted as AWS records them
 *    (HistoryCounter): event 25,000 may only be ExecutionSucceeded, otherwise the execution fails
 *    with `States.Runtime`, terminal as well.
 */

/** 256 KiB, in bytes of UTF-8. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
export const MAX_NAME_LENGTH = 80;

// eslint-disable-next-line no-control-regex
const FORBIDDEN_NAME_CHARS = /[\s?*<>{}[\]"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;

/** Why AWS refuses this execution name, or undefined when it accepts it. */
export function invalidNameReason(name: string): string | undefined {
  const length = [...name].length;
  if (length < 1) return 'the name is empty';
  if (length > MAX_NAME_LENGTH) return `the name has ${length} characters (at most ${MAX_NAME_LENGTH})`;
  const bad = FORBIDDEN_NAME_CHARS.exec(name);
  if (bad) return `the name contains ${JSON.stringify(bad[0])}`;
  return undefined;
}

/** Size in bytes of the UTF-8 JSON text of a payload (what Step Functions measures). */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null) ?? 'null', 'utf8');
}

export function exceedsPayloadLimit(value: unknown): boolean {
  return payloadBytes(value) > MAX_PAYLOAD_BYTES;
}

/**
 * Execution history quota (Standard workflows): "a hard quota of 25,000 entries in the execution
 * event history. When an execution reaches 24,999 events, it waits for the next event to happen.
 * If the event number 25,000 is ExecutionSucceeded, the execution finishes successfully. If the
 * event number 25,000 isn't ExecutionSucceeded, the ExecutionFailed event is logged and the state
 * machine execution fails because of reaching the history limit" (Developer Guide, "Avoid
 * reaching the history quota", bp-history-limit). That ExecutionFailed carries the error
 * `States.Runtime` and the cause below, as AWS reports it (seen in GetExecutionHistory, e.g.
 * loads/ardere#86, floci-io/floci#2734). States.Runtime is terminal: no Catch or Retry applies.
 */
export const MAX_HISTORY_EVENTS = 25_000;
export const HISTORY_LIMIT_ERROR = 'States.Runtime';
export const HISTORY_LIMIT_CAUSE = `The execution reached the maximum number of history events (${MAX_HISTORY_EVENTS}).`;

/** What the counter needs to know about a state to count its events as AWS records them. */
export interface StateShape {
  /** The ASL type as written (a Wait the engine runs as a Task is still 'Wait'). */
  type: string;
  /** Callback (`.waitForTaskToken`) and `.sync` tasks: AWS records a TaskSubmitted per attempt. */
  submits: boolean;
}

/** The interpreter's event (aws-local-stepfunctions' EventLog, of which only these fields matter). */
interface InterpreterEvent { type: string; state?: { name: string }; index?: number }

const COMPOUND = new Set(['Task', 'Map', 'Parallel']);

/**
 * Counts an execution's history the way Step Functions records it (HistoryEvent types, API
 * Reference), from the coarser event log of the local interpreter:
 *
 * | interpreter event          | AWS history events                                                    |
 * |----------------------------|-----------------------------------------------------------------------|
 * | ExecutionStarted / end     | ExecutionStarted; ExecutionSucceeded, ExecutionFailed, ExecutionAborted, ExecutionTimedOut |
 * | StateEntered, Task         | TaskStateEntered, TaskScheduled, TaskStarted (+ TaskSubmitted for callback/.sync) |
 * | StateEntered, Map/Parallel | MapStateEntered + MapStateStarted; ParallelStateEntered + ParallelStateStarted |
 * | StateEntered, other        | PassStateEntered, ChoiceStateEntered, WaitStateEntered, SucceedStateEntered, FailStateEntered |
 * | StateExited, Task/Map/Par. | TaskSucceeded + TaskStateExited (MapStateSucceeded/ParallelStateSucceeded + …Exited); only …Exited after a caught failure |
 * | StateExited, other         | PassStateExited, ChoiceStateExited, WaitStateExited, SucceedStateExited |
 * | StateFailed                | TaskFailed / TaskTimedOut, MapStateFailed, ParallelStateFailed; none for other types |
 * | StateRetried               | a new attempt: TaskScheduled, TaskStarted (+ TaskSubmitted); MapStateStarted/ParallelStateStarted again |
 * | StateCaught                | none (the state then exits)                                           |
 * | MapIteration*              | MapIterationStarted, MapIterationSucceeded, MapIterationFailed        |
 * | ParallelBranch*            | none (AWS has no branch events)                                       |
 *
 * Lambda tasks written with a function ARN record LambdaFunctionScheduled/Started/Succeeded
 * instead of the Task* events: the same number. This is an approximation where AWS's exact
 * shape is not documented (a retried Map or Parallel state; aborted states, which AWS records
 * as …Aborted and the interpreter does not report), exact for the Pass, Choice, Wait, Task and
 * Map shapes Cleanpoint's machines use.
 */
export class HistoryCounter {
  /** AWS history events counted so far. */
  total = 0;
  private readonly caught = new Set<string>();

  constructor(private readonly shapeOf: (stateName: string) => StateShape | undefined) {}

  /** How many AWS history events this interpreter event stands for. */
  eventsFor(ev: InterpreterEvent): number {
    const shape = ev.state ? this.shapeOf(ev.state.name) : undefined;
    const type = shape?.type ?? '';
    const key = `${ev.state?.name ?? ''}#${ev.index ?? ''}`;
    switch (ev.type) {
      case 'ExecutionStarted': case 'ExecutionSucceeded': case 'ExecutionFailed': case 'ExecutionAborted': case 'ExecutionTimeout':
      case 'MapIterationStarted': case 'MapIterationSucceeded': case 'MapIterationFailed':
        return 1;
      case 'StateEntered':
        this.caught.delete(key);
        if (type === 'Task') return shape?.submits ? 4 : 3;
        return type === 'Map' || type === 'Parallel' ? 2 : 1;
      case 'StateExited': {
        const afterCatch = this.caught.delete(key);
        return COMPOUND.has(type) && !afterCatch ? 2 : 1;
      }
      case 'StateFailed':
        return COMPOUND.has(type) ? 1 : 0;
      case 'StateRetried':
        if (type === 'Task') return shape?.submits ? 3 : 2;
        return type === 'Map' || type === 'Parallel' ? 1 : 0;
      case 'StateCaught':
        this.caught.add(key);
        return 0;
      default:
        return 0;
    }
  }
}

/**
 * Inline Map concurrency: "In this mode, the Map state supports up to 40 concurrent iterations"
 * (Developer Guide, "Using Map state in Inline mode"), and MaxConcurrency 0, the default, places
 * no limit of its own ("as many iterations as possible in parallel"), so 40.
 */
export const MAX_INLINE_MAP_CONCURRENCY = 40;

/** The concurrency an inline Map with this MaxConcurrency runs at. */
export function inlineMapConcurrency(maxConcurrency: unknown): number {
  const wanted = typeof maxConcurrency === 'number' && Number.isInteger(maxConcurrency) && maxConcurrency > 0 ? maxConcurrency : 0;
  return wanted === 0 ? MAX_INLINE_MAP_CONCURRENCY : Math.min(wanted, MAX_INLINE_MAP_CONCURRENCY);
}
