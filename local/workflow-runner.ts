import './polyfills.ts';
import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { Clock } from '../domain/shared/index.ts';
import type { ServerlessDefinition } from './serverless-config.ts';
import { sleepUnlessAborted } from './virtual-clock.ts';
import type { ExecutionJournal, JournalRecord } from './execution-journal.ts';
import {
  HISTORY_LIMIT_CAUSE, HISTORY_LIMIT_ERROR, HistoryCounter, MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES, type StateShape,
  exceedsPayloadLimit, inlineMapConcurrency, invalidNameReason, payloadBytes,
} from './sfn-limits.ts';

/**
 * Runs the state machines from statemachines/ in the local ASL interpreter, with every Task
 * bound to the same handler code the Lambdas run:
 *  - Lambda tasks (`Fn::GetAtt` of a function, or `lambda:invoke`) call the handler;
 *  - `.waitForTaskToken` tasks call the handler with a fresh token and then wait until the
 *    real SendTaskSuccess/SendTaskFailure code path (through the SFN client) settles it;
 *  - `states:startExecution.sync:2` runs the nested machine and returns its output.
 * Waits, task timeouts, heartbeats and the machine's own TimeoutSeconds run on the runtime's
 * clock, matching the simulator's sped-up time; retry intervals are divided by `timeScale`.
 */
/** The interpreter's event log entries (its type is not exported). */
export interface EventLog { type: string; timestamp: number; /** When it happened on the runtime's clock (virtual ms), stamped by the engine. */ at?: number; state?: { name: string; type: string; input?: unknown; output?: unknown }; Error?: string; Cause?: unknown; [k: string]: unknown }

export type Invoke = (functionName: string, event: unknown) => Promise<unknown>;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface LocalExecution {
  executionArn: string;
  name: string;
  machine: string;
  status: ExecutionStatus;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  startDate: string;
  stopDate?: string;
  events: EventLog[];
  /** Entered states (billing counts state transitions). */
  transitions: number;
  /** Events AWS would have recorded in this execution's history so far (see HistoryCounter). */
  historyEvents: number;
  /** RedriveExecution: how often it was redriven (0 until then), and when last. */
  redriveCount: number;
  redriveDate?: string;
  done: Promise<LocalExecution>;
}

export class TaskTokenError extends Error {
  constructor(override readonly name: 'TaskDoesNotExist' | 'TaskTimedOut' | 'InvalidToken', message: string) { super(message); }
}

interface Running {
  /** Stops the interpreter and aborts `halt`. */
  abort: () => void;
  aborted: boolean;
  children: Set<string>;
  /**
   * A terminal error (States.DataLimitExceeded, States.Runtime, or the machine's own
   * States.Timeout) that ended the execution past Catch and Retry. `historyFull`: the history
   * quota was reached, so no event after it is kept. `status`: TIMED_OUT for the machine's timeout.
   */
  terminal?: { error: string; cause: string; historyFull?: boolean; status?: 'TIMED_OUT' };
  /** Aborted once the execution stops for any reason: its timers are cancelled, its tasks let go. */
  halt: AbortController;
}

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  settled: boolean;
  executionArn: string;
  /** SendTaskHeartbeat: restarts the task's heartbeat timer (absent without HeartbeatSeconds). */
  beat?: () => void;
}

/**
 * What an execution resumed after a restart takes up again, from its journal: the callback
 * tasks whose tokens were handed out (pending, or settled before the state ended), the Waits
 * in progress (their deadlines), and the top-level state it re-enters.
 */
interface ResumeState {
  tokens: Map<string, PendingToken[]>;
  waits: Map<string, number[]>;
  /** The state re-entered: its `.sync` task finds the child it started (startChild). */
  reentry: Set<string>;
}

interface PendingToken {
  token: string;
  /** The attempt's TimeoutSeconds on the virtual clock (ms since the epoch). */
  deadline?: number;
  outcome?: { output: unknown } | { error: string; cause: string };
}

/** One attempt of a Task, as its handler sees it. */
interface TaskAttempt {
  /** When the attempt times out on the runtime's clock (ms), if it has a TimeoutSeconds. */
  deadline?: number;
  /** HeartbeatSeconds (or HeartbeatSecondsPath resolved) for this attempt. */
  heartbeatSeconds?: number;
  /** Aborted when the attempt is over: it settled, it timed out, or the execution stopped. */
  signal: AbortSignal;
  /** A callback task's token, which expires with the attempt's timeout. */
  token?: string;
}

type TaskRun = (input: unknown, attempt: TaskAttempt) => Promise<unknown>;

/**
 * The interpreter races every Task against its own wall-clock timer: TimeoutSeconds, or 60 s
 * when the state has none (aws-local-stepfunctions 3.0.0, TaskStateAction DEFAULT_TIMEOUT_SECONDS),
 * and the timer cannot be turned off (a falsy TimeoutSeconds means 60 s). Every Task gets the
 * longest timer setTimeout accepts instead, 2^31 - 1 ms (24.8 days of wall time; a longer delay
 * fires at once), and the state's own timeouts run on the runtime's clock (withTimeouts).
 */
export const INTERPRETER_TIMER_CEILING_SECONDS = Math.floor(2_147_483_647 / 1000);

/**
 * A Task's TimeoutSecondsPath / HeartbeatSecondsPath is resolved against the state input (after
 * InputPath): the engine adds these fields around the Task's Parameters so that the interpreter
 * hands them over (it passes a Task handler only the input after Parameters).
 */
const WRAPPED = 'cleanpoint:wrapped';
interface Wrapped { [WRAPPED]: true; state: unknown; context?: unknown; input?: unknown }

function statesError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

const ACCOUNT = '000000000000';
const END_EVENTS = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionAborted', 'ExecutionTimeout']);
const STOPPED = Symbol('stopped');
const REGION = 'us-east-1';
/** RedriveExecution: "You can redrive an execution … up to 1000 times" (redriveCount). */
export const MAX_REDRIVES = 1000;

/**
 * How many times each retrier of `stateName` has retried since the state was last entered at
 * the top level (keyed by its ErrorEquals), so that a resumed state goes on with the attempts left.
 */
export function retriesSince(events: readonly EventLog[], stateName: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i]!;
    if (ev.state?.name !== stateName || ev.index !== undefined) continue;
    if (ev.type === 'StateEntered') break;
    if (ev.type === 'StateRetried') {
      const key = JSON.stringify((ev['retry'] as { retrier?: { ErrorEquals?: unknown } } | undefined)?.retrier?.ErrorEquals);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** DescribeExecution's redriveStatus: whether RedriveExecution would accept the execution now. */
export function redriveStatus(e: Pick<LocalExecution, 'status' | 'redriveCount' | 'historyEvents'>): 'REDRIVABLE' | 'NOT_REDRIVABLE' {
  const redrivable = e.status !== 'RUNNING' && e.status !== 'SUCCEEDED' && e.redriveCount < MAX_REDRIVES && e.historyEvents < MAX_HISTORY_EVENTS - 1;
  return redrivable ? 'REDRIVABLE' : 'NOT_REDRIVABLE';
}

/**
 * Where an unfinished or unsuccessful execution goes on: its last top-level state entered (a
 * nested state, in a Map or Parallel, re-enters its top-level state), with the input it was
 * entered with; undefined when no state was entered (it starts at StartAt with its input).
 */
export function resumePoint(definition: Record<string, unknown>, events: readonly EventLog[]): { name: string; input: unknown } | undefined {
  const top = new Set(Object.keys((definition['States'] ?? {}) as Record<string, unknown>));
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i]!;
    if (ev.type === 'StateEntered' && ev.state && top.has(ev.state.name) && ev.index === undefined) return { name: ev.state.name, input: ev.state.input };
  }
  return undefined;
}

export class LocalWorkflowEngine {
  readonly executions = new Map<string, LocalExecution>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly machines = new Map<string, { definition: Record<string, unknown>; name: string }>();
  /** Running executions: how to stop them, and the children their `.sync` tasks started. */
  private readonly running = new Map<string, Running>();
  /** What resumed or redriven executions take up again (consumed as their states run). */
  private readonly resumeOf = new Map<string, ResumeState>();
  /** When each execution started on the runtime's clock (its machine TimeoutSeconds counts from there). */
  private readonly startedAt = new Map<string, number>();
  /** Set by suspend(): the process is going away, nothing more is written and nothing ends. */
  private suspended = false;

  constructor(private readonly def: ServerlessDefinition, private readonly invoke: Invoke, private readonly options: {
    timeScale?: number;
    /** Task timeouts run on this clock (the runtime's sped-up clock); default: wall time divided by timeScale. */
    clock?: Clock;
    onEvent?: (e: LocalExecution, ev: EventLog) => void;
    /** Called once when an execution ends (SUCCEEDED, FAILED, TIMED_OUT or ABORTED), as EventBridge's status-change event. */
    onStatusChange?: (e: LocalExecution) => void;
    /** Where each execution's history is kept as it goes (the data folder's executions/); see restore(). */
    journal?: ExecutionJournal;
    /** Called once a state's StateEntered is in the journal (the runtime's fault hook). */
    onStateEntered?: (e: LocalExecution, stateName: string) => void;
  } = {}) {
    for (const [key, m] of def.stateMachines) this.machines.set(key, { definition: m.definition, name: m.name });
  }

  machineArn(key: string): string {
    const m = this.machines.get(key);
    if (!m) throw new Error(`unknown state machine ${key}`);
    return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${m.name}`;
  }

  /** Key of a state machine from its ARN, its key, or its name. */
  machineKey(ref: string): string {
    for (const [key, m] of this.machines) if (ref === key || ref === m.name || ref === this.machineArn(key)) return key;
    throw new Error(`unknown state machine ${ref}`);
  }

  /**
   * Idempotent by name, like Step Functions: the same name returns the existing execution.
   * Refuses, as StartExecution does, a name AWS does not allow (InvalidName) and an input over
   * 256 KiB (InvalidExecutionInput); see sfn-limits.ts.
   */
  start(machine: string, name: string | undefined, input: unknown): { executionArn: string; alreadyStarted: boolean; execution: LocalExecution } {
    const key = this.machineKey(machine);
    const execName = name ?? randomUUID();
    const badName = invalidNameReason(execName);
    if (badName) throw Object.assign(new Error(`Invalid Name: '${execName}' (${badName})`), { name: 'InvalidName' });
    if (exceedsPayloadLimit(input)) {
      throw Object.assign(new Error(`Invalid Execution Input: the input is ${payloadBytes(input)} bytes of UTF-8, over the ${MAX_PAYLOAD_BYTES}-byte (256 KiB) quota`), { name: 'InvalidExecutionInput' });
    }
    const executionArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${this.machines.get(key)!.name}:${execName}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.status !== 'RUNNING' || JSON.stringify(existing.input) !== JSON.stringify(input)) {
        throw Object.assign(new Error(`Execution Already Exists: '${executionArn}'`), { name: 'ExecutionAlreadyExists' });
      }
      return { executionArn, alreadyStarted: true, execution: existing };
    }
    const execution = this.run(key, executionArn, execName, input);
    return { executionArn, alreadyStarted: false, execution };
  }

  sendTaskSuccess(token: string, output: unknown): void {
    const w = this.settle(token);
    this.record(w.executionArn, { t: 'settled', token, outcome: { output } });
    w.resolve(output);
  }

  sendTaskFailure(token: string, error: string, cause: string): void {
    const w = this.settle(token);
    this.record(w.executionArn, { t: 'settled', token, outcome: { error: error || 'States.TaskFailed', cause } });
    w.reject(Object.assign(new Error(cause), { name: error || 'States.TaskFailed' }));
  }

  /**
   * SendTaskHeartbeat: the task is still making progress, so its HeartbeatSeconds start again
   * ("This action resets the Heartbeat clock"; its TimeoutSeconds do not: "the Timeout of a task
   * … is its maximum allowed duration, regardless of the number of SendTaskHeartbeat requests").
   * As SendTaskSuccess, an unknown token is InvalidToken and a timed-out task TaskTimedOut.
   */
  sendTaskHeartbeat(token: string): void {
    const w = this.waiters.get(token);
    if (!w) throw new TaskTokenError('InvalidToken', 'Invalid token');
    if (w.settled) throw new TaskTokenError('TaskTimedOut', 'Task Timed Out');
    w.beat?.();
  }

  /**
   * StopExecution: the execution ends ABORTED, and (as `.sync` integrations do on AWS) so do the
   * executions its running tasks started. Task invocations already in flight run to their end,
   * as Lambda invocations do. Stopping an execution that has ended changes nothing.
   */
  abort(executionArn: string): LocalExecution {
    const execution = this.executions.get(executionArn);
    if (!execution) throw Object.assign(new Error(`Execution Does Not Exist: '${executionArn}'`), { name: 'ExecutionDoesNotExist' });
    const r = this.running.get(executionArn);
    if (!r || r.aborted || r.terminal) return execution;
    r.aborted = true;
    for (const child of r.children) this.abort(child);
    r.abort();
    return execution;
  }

  /**
   * RedriveExecution, as Step Functions does it: an execution that FAILED, TIMED_OUT or was
   * ABORTED continues from its unsuccessful top-level state, with that state's recorded input,
   * under the same ARN; the states that succeeded are not run again, the history goes on
   * (an ExecutionRedriven event, then the new events) and redriveCount counts up. A Map or
   * Parallel state is re-entered as a whole (AWS re-runs only its failed iterations and
   * branches; the tasks here are idempotent). Refused as AWS refuses: ExecutionDoesNotExist,
   * ExecutionNotRedrivable for a running or succeeded execution, one redriven 1,000 times, or
   * one whose history has no room left (24,999 events or more).
   */
  redrive(executionArn: string): { redriveDate: string; execution: LocalExecution } {
    const execution = this.executions.get(executionArn);
    if (!execution) throw Object.assign(new Error(`Execution Does Not Exist: '${executionArn}'`), { name: 'ExecutionDoesNotExist' });
    const notRedrivable = (why: string) => Object.assign(new Error(`Execution is not redrivable: '${executionArn}' (${why})`), { name: 'ExecutionNotRedrivable' });
    if (execution.status === 'RUNNING' || this.running.has(executionArn)) throw notRedrivable('it is still running');
    if (execution.status === 'SUCCEEDED') throw notRedrivable('it succeeded');
    if (execution.redriveCount >= MAX_REDRIVES) throw notRedrivable(`it was redriven ${MAX_REDRIVES} times`);
    if (execution.historyEvents >= MAX_HISTORY_EVENTS - 1) throw notRedrivable(`its history has ${execution.historyEvents} events`);
    const from = resumePoint(this.machines.get(execution.machine)!.definition, execution.events);
    const redriveDate = new Date(this.nowMs()).toISOString();
    execution.redriveCount++;
    execution.redriveDate = redriveDate;
    this.record(executionArn, { t: 'redrive', redriveCount: execution.redriveCount, redriveDate });
    this.resumeOf.set(executionArn, { tokens: new Map(), waits: new Map(), reentry: new Set(from ? [from.name] : []) });
    this.run(execution.machine, executionArn, execution.name, execution.input, { execution, startAt: from?.name, stateInput: from ? from.input : execution.input, redriven: true });
    return { redriveDate, execution };
  }

  /**
   * The execution a `states:startExecution` task starts. A `.sync` task that runs again (its
   * parent redriven or resumed after a restart) with the same name and input finds the child it
   * started before: a running child is waited for, a succeeded one answers its output, and an
   * unsuccessful one is redriven (not started twice).
   */
  private startChild(key: string, name: string | undefined, input: unknown, sync: boolean, reentered: boolean): ReturnType<LocalWorkflowEngine['start']> {
    const arn = name === undefined ? undefined : `arn:aws:states:${REGION}:${ACCOUNT}:execution:${this.machines.get(key)!.name}:${name}`;
    const existing = arn ? this.executions.get(arn) : undefined;
    if (sync && reentered && existing && existing.status !== 'RUNNING' && JSON.stringify(existing.input) === JSON.stringify(input)) {
      if (existing.status !== 'SUCCEEDED') this.redrive(existing.executionArn);
      return { executionArn: existing.executionArn, alreadyStarted: true, execution: existing };
    }
    return this.start(key, name, input);
  }

  /** Task tokens currently waiting (for tests and the console). */
  pendingTokens(): string[] {
    return [...this.waiters].filter(([, w]) => !w.settled).map(([t]) => t);
  }

  private settle(token: string): Waiter {
    const w = this.waiters.get(token);
    if (!w) throw new TaskTokenError('InvalidToken', 'Invalid token');
    if (w.settled) throw new TaskTokenError('TaskTimedOut', 'Task Timed Out');
    w.settled = true;
    return w;
  }

  private nowMs(): number {
    return this.options.clock ? this.options.clock.now() : Date.now();
  }

  /**
   * Runs an execution; with `resume`, an existing one continues from its top-level state
   * `startAt` with that state's input (the interpreter always starts at StartAt: it runs a copy
   * of the definition that starts there), keeping its ARN, events and counters.
   */
  private run(key: string, executionArn: string, name: string, input: unknown, resume?: { execution: LocalExecution; startAt: string | undefined; stateInput: unknown; redriven: boolean; retried?: Map<string, number> }): LocalExecution {
    const scale = this.options.timeScale ?? 1;
    const definition = structuredClone(this.machines.get(key)!.definition);
    if (resume?.startAt !== undefined) definition['StartAt'] = resume.startAt;
    // The machine's TimeoutSeconds runs on the runtime's clock too (the interpreter would time it on the wall clock).
    const machineTimeout = positiveInteger(definition['TimeoutSeconds']);
    delete definition['TimeoutSeconds'];
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retries: Record<string, number[]> = {};
    // State names are unique in the whole machine (nested ones included), so one map serves the
    // history counter; it is filled before Waits are rewritten as Tasks.
    const shapes = new Map<string, StateShape>();
    forEachState(definition, (stateName, state, parent) => {
      const resource = typeof state['Resource'] === 'string' ? state['Resource'] : '';
      shapes.set(stateName, { type: String(state['Type']), submits: /\.(waitForTaskToken|sync)(:\d+)?$/.test(resource) });
      if (state['Type'] === 'Wait') {
        // Waits run on the runtime's clock (sped up with the simulator): the Wait becomes a task
        // that sleeps and passes its input through unchanged.
        parent[stateName] = waitAsTask(state);
        const wait = this.waitHandler(executionArn, stateName, state);
        overrides[stateName] = (input) => this.guarded(executionArn, stateName, input, wait);
        return;
      }
      if (state['Type'] === 'Map') capInlineMap(stateName, state);
      if (state['Type'] === 'Task') overrides[stateName] = this.withTimeouts(executionArn, stateName, state, this.taskHandler(state, executionArn, stateName));
      // The interpreter takes one fixed interval per retrier (no backoff). Keep the first interval
      // (so a machine that is ready early is seen early) and allow as many attempts as it takes to
      // wait as long in total as the backoff schedule does on AWS.
      const retriers = (state['Retry'] ?? []) as Record<string, unknown>[];
      for (const r of retriers) {
        r['MaxAttempts'] = attemptsForSamePatience(r);
        // Resumed in the middle of its retries: the attempts left.
        const used = stateName === resume?.startAt ? resume.retried?.get(JSON.stringify(r['ErrorEquals'])) ?? 0 : 0;
        if (used) r['MaxAttempts'] = Math.max(0, Number(r['MaxAttempts']) - used);
      }
      if (retriers.length) retries[stateName] = retriers.map((r) => Math.round(Number(r['IntervalSeconds'] ?? 1) * 1000 / scale));
    });
    const machine = new StateMachine(definition as never, { validationOptions: { checkPaths: false, checkArn: false, noValidate: true } as never });
    const execution: LocalExecution = resume?.execution ?? {
      executionArn, name, machine: key, status: 'RUNNING', input, startDate: new Date().toISOString(), events: [], transitions: 0, historyEvents: 0, redriveCount: 0,
      done: undefined as unknown as Promise<LocalExecution>,
    };
    if (resume) {
      execution.status = 'RUNNING';
      for (const k of ['output', 'error', 'cause', 'stopDate'] as const) delete execution[k];
    } else {
      this.startedAt.set(executionArn, this.nowMs());
      this.record(executionArn, { t: 'start', executionArn, name, machine: key, input, startDate: execution.startDate, startMs: this.startedAt.get(executionArn)! });
    }
    this.executions.set(executionArn, execution);
    const tokenFactory = { get Token() { return `${randomUUID()}.${randomUUID()}`; } };
    // Registered before the interpreter starts: it runs the first state's task synchronously.
    const halt = new AbortController();
    let handle: { abort: () => void; result: Promise<unknown>; eventLogs?: unknown } | undefined;
    this.running.set(executionArn, { abort: () => { halt.abort(); handle?.abort(); }, aborted: false, children: new Set(), halt });
    handle = machine.run((resume ? resume.stateInput : input) as never, {
      overrides: { taskResourceLocalHandlers: overrides as never, retryIntervalOverrides: retries },
      context: { Execution: { Id: executionArn, Name: name, Input: input as never, StartTime: execution.startDate }, Task: tokenFactory, StateMachine: { Id: this.machineArn(key), Name: this.machines.get(key)!.name } } as never,
      noThrowOnAbort: true,
    } as never);
    if (halt.signal.aborted) handle.abort();
    if (machineTimeout !== undefined) {
      // Resumed after a restart, it counts from the start; redriven, from the redrive.
      const since = resume && !resume.redriven ? this.startedAt.get(executionArn) ?? this.nowMs() : this.nowMs();
      void this.sleep(Math.max(0, since + machineTimeout * 1000 - this.nowMs()), halt.signal).then((elapsed) => {
        if (elapsed) this.failTerminal(executionArn, { error: 'States.Timeout', cause: `The execution ran longer than the state machine's TimeoutSeconds (${machineTimeout} s)`, status: 'TIMED_OUT' });
      });
    }
    const replaceEnd = (ev: EventLog): EventLog => {
      const terminal = this.running.get(executionArn)?.terminal;
      if (!terminal || !END_EVENTS.has(ev.type)) return ev;
      return { type: terminal.status === 'TIMED_OUT' ? 'ExecutionTimeout' : 'ExecutionFailed', timestamp: ev.timestamp, Error: terminal.error, Cause: terminal.cause };
    };
    const history = new HistoryCounter((stateName) => shapes.get(stateName));
    history.total = execution.historyEvents;
    // This run's own events (a redriven or resumed execution keeps the earlier ones).
    const since = execution.events.length;
    execution.done = (async () => {
      const events = handle.eventLogs as AsyncGenerator<EventLog> | undefined;
      const collecting = events ? (async () => {
        for await (const raw of events) {
          if (this.running.get(executionArn)?.terminal?.historyFull && !END_EVENTS.has(raw.type)) continue;
          // Every state's input and output is held to the payload quota (the Task results too,
          // checked where they are produced, in guarded()).
          if (raw.type === 'StateEntered' && raw.state) this.checkPayload(executionArn, `the input of state '${raw.state.name}'`, raw.state.input);
          if (raw.type === 'StateExited' && raw.state) this.checkPayload(executionArn, `the output of state '${raw.state.name}'`, raw.state.output);
          if (resume && raw.type === 'ExecutionStarted') {
            // The copy of the machine "starts" again: on AWS the history goes on with ExecutionRedriven.
            if (!resume.redriven) continue;
            const redriven: EventLog = { type: 'ExecutionRedriven', timestamp: raw.timestamp, at: this.nowMs(), redriveCount: execution.redriveCount };
            this.countHistory(executionArn, execution, history, { ...raw });
            execution.events.push(redriven);
            this.record(executionArn, { t: 'event', ev: redriven, transitions: execution.transitions, historyEvents: execution.historyEvents });
            this.options.onEvent?.(execution, redriven);
            continue;
          }
          this.countHistory(executionArn, execution, history, raw);
          const ev = { ...replaceEnd(raw), at: this.nowMs() };
          execution.events.push(ev);
          if (ev.type === 'StateEntered') execution.transitions++;
          this.record(executionArn, { t: 'event', ev, transitions: execution.transitions, historyEvents: execution.historyEvents });
          this.options.onEvent?.(execution, ev);
          if (ev.type === 'StateEntered' && ev.state && !this.suspended) this.options.onStateEntered?.(execution, ev.state.name);
        }
      })() : Promise.resolve();
      try {
        execution.output = await handle.result;
        execution.status = this.running.get(executionArn)?.aborted ? 'ABORTED' : 'SUCCEEDED';
      } catch (e) {
        const err = e as Error & { cause?: unknown };
        const inner = (err.cause ?? err) as Error & { Error?: string; Cause?: string };
        // TIMED_OUT is only the machine's own TimeoutSeconds (a terminal, below); a task's
        // States.Timeout that nothing catches fails the execution, as on AWS.
        execution.status = 'FAILED';
        execution.error = inner.name === 'FailStateError' ? (inner as unknown as { Error?: string }).Error ?? 'States.Failed' : inner.name;
        execution.cause = inner.message;
        const failEvent = execution.events.slice(since).find((x) => x.type === 'ExecutionFailed') as { Error?: string; Cause?: unknown } | undefined;
        if (failEvent?.Error) { execution.error = failEvent.Error; execution.cause = String(failEvent.Cause ?? ''); }
      }
      await collecting.catch(() => undefined);
      if (this.suspended) {
        // Let go by suspend(): it stays running (in the journal too) for the next start to resume.
        execution.status = 'RUNNING';
        for (const k of ['output', 'error', 'cause'] as const) delete execution[k];
        this.running.delete(executionArn);
        return execution;
      }
      const failEvent = execution.events.slice(since).find((x) => x.type === 'ExecutionFailed') as { Error?: string; Cause?: unknown } | undefined;
      if (failEvent?.Error) { execution.error = failEvent.Error; execution.cause = String(failEvent.Cause ?? ''); }
      if (this.running.get(executionArn)?.aborted) execution.status = 'ABORTED';
      const terminal = this.running.get(executionArn)?.terminal;
      if (terminal) {
        execution.status = terminal.status ?? 'FAILED';
        execution.error = terminal.error;
        execution.cause = terminal.cause;
        delete execution.output;
      }
      execution.stopDate = new Date().toISOString();
      for (const [token, w] of this.waiters) if (w.executionArn === executionArn && !w.settled) { w.settled = true; this.waiters.delete(token); }
      this.running.get(executionArn)?.halt.abort();
      this.running.delete(executionArn);
      this.resumeOf.delete(executionArn);
      this.record(executionArn, {
        t: 'end', status: execution.status, stopDate: execution.stopDate,
        ...(execution.output !== undefined ? { output: execution.output } : {}), ...(execution.error !== undefined ? { error: execution.error, cause: execution.cause ?? '' } : {}),
      });
      this.options.onStatusChange?.(execution);
      return execution;
    })();
    return execution;
  }

  /**
   * States.DataLimitExceeded: ends the execution FAILED at once. It is a terminal error, which
   * States.ALL does not catch (and Retry does not retry), so it is not thrown into the
   * interpreter: the interpreter is stopped, and its end event is reported as ExecutionFailed.
   */
  private checkPayload(executionArn: string, what: string, value: unknown): boolean {
    if (!exceedsPayloadLimit(value)) return false;
    this.failTerminal(executionArn, { error: 'States.DataLimitExceeded', cause: `The state/task returned a result with a size exceeding the maximum number of bytes service limit: ${what} is ${payloadBytes(value)} bytes of UTF-8, over ${MAX_PAYLOAD_BYTES} (256 KiB).` });
    return true;
  }

  /**
   * Ends the execution with an error no Catch or Retry handles (States.DataLimitExceeded,
   * States.Runtime) or with the machine's own timeout: the interpreter and the executions its
   * `.sync` tasks started are stopped, and its end event is reported as this error.
   */
  private failTerminal(executionArn: string, terminal: NonNullable<Running['terminal']>): void {
    const r = this.running.get(executionArn);
    if (!r || r.aborted || r.terminal) return;
    r.terminal = terminal;
    for (const child of r.children) this.abort(child);
    r.abort();
  }

  /**
   * Counts the event as AWS records history and, when it would not fit, ends the execution as
   * AWS does at the quota: event 25,000 may only be ExecutionSucceeded; anything else makes it
   * ExecutionFailed with States.Runtime (sfn-limits.ts). The events past the quota are dropped,
   * so the execution's events end with that ExecutionFailed, event number 25,000.
   */
  private countHistory(executionArn: string, execution: LocalExecution, history: HistoryCounter, ev: EventLog): void {
    const r = this.running.get(executionArn);
    const n = history.eventsFor(ev);
    if (r?.terminal?.historyFull) return;
    const room = ev.type === 'ExecutionSucceeded' ? MAX_HISTORY_EVENTS : MAX_HISTORY_EVENTS - 1;
    if (history.total + n <= room || !r || r.aborted) {
      history.total += n;
    } else {
      // The events that fit are written, then ExecutionFailed as event 25,000.
      history.total = MAX_HISTORY_EVENTS;
      if (r.terminal) r.terminal.historyFull = true;
      else this.failTerminal(executionArn, { error: HISTORY_LIMIT_ERROR, cause: HISTORY_LIMIT_CAUSE, historyFull: true });
    }
    execution.historyEvents = history.total;
  }

  /** True once the execution has been stopped or has failed with a terminal error. */
  private halted(executionArn: string): boolean {
    const r = this.running.get(executionArn);
    return !r || r.aborted || r.terminal !== undefined;
  }

  /**
   * Runs a Task (or rewritten Wait) held to the payload quota: its input (after Parameters) and
   * its result. It first lets the event collector catch up, so that a state before it whose
   * output was over a quota ends the execution before this one has any effect. Once the
   * execution has stopped the task is let go at once (its invocation may still run to its end,
   * as a Lambda invocation does): the interpreter's own timer for it is then cleared.
   */
  private async guarded(executionArn: string, stateName: string, input: unknown, run: (input: unknown) => Promise<unknown>): Promise<unknown> {
    for (let i = 0; i < 20; i++) await Promise.resolve();
    const r = this.running.get(executionArn);
    if (!r || this.halted(executionArn) || this.checkPayload(executionArn, `the input of task '${stateName}'`, input)) return input;
    const stopped = new Promise<typeof STOPPED>((resolve) => {
      if (r.halt.signal.aborted) resolve(STOPPED);
      else r.halt.signal.addEventListener('abort', () => resolve(STOPPED), { once: true });
    });
    const work = run(input);
    work.catch(() => undefined);
    const result = await Promise.race([work, stopped]);
    if (result === STOPPED || this.halted(executionArn) || this.checkPayload(executionArn, `the result of task '${stateName}'`, result)) return input;
    return result;
  }

  /** Sleeps `ms` of the runtime's clock: true when the time elapsed, false when `signal` cancelled it. */
  private sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    const clock = this.options.clock;
    if (clock) return sleepUnlessAborted(clock, ms, signal);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => { clearTimeout(timer); resolve(false); };
      const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(true); }, ms / (this.options.timeScale ?? 1));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private waitHandler(executionArn: string, stateName: string, state: Record<string, unknown>): (input: unknown) => Promise<unknown> {
    return async (input) => {
      const now = this.nowMs();
      // A Wait resumed after a restart ends when it was due to.
      const resumed = this.resumeOf.get(executionArn)?.waits.get(stateName)?.shift();
      const deadline = resumed ?? now + waitMs(state, input, now);
      if (resumed === undefined) this.record(executionArn, { t: 'wait', state: stateName, deadline });
      const halt = this.running.get(executionArn)?.halt.signal;
      if (halt) await this.sleep(Math.max(0, deadline - now), halt);
      return input;
    };
  }

  /** Writes a record to the execution's journal (none once suspended, or without a journal). */
  private record(executionArn: string, record: JournalRecord): void {
    if (this.suspended || !this.options.journal) return;
    this.options.journal.append(executionArn, record);
  }

  /** True once for the state an execution re-enters when resumed or redriven. */
  private takeReentry(executionArn: string, stateName: string): boolean {
    return this.resumeOf.get(executionArn)?.reentry.delete(stateName) ?? false;
  }

  private peekToken(executionArn: string, stateName: string): PendingToken | undefined {
    return this.resumeOf.get(executionArn)?.tokens.get(stateName)?.[0];
  }

  private takeToken(executionArn: string, stateName: string): PendingToken | undefined {
    return this.resumeOf.get(executionArn)?.tokens.get(stateName)?.shift();
  }

  /**
   * The process is going away (Ctrl-C): every running execution is let go as it is, neither
   * ended nor written to any more, so that the next start on the same data folder resumes it
   * (restore). Nothing is published for them.
   */
  suspend(): void {
    if (this.suspended) return;
    this.suspended = true;
    for (const r of this.running.values()) { r.aborted = true; r.abort(); }
    this.options.journal?.close();
  }

  /**
   * After a restart: reads the journal, registers every execution it holds (the ended ones
   * with their history, for DescribeExecution and the console) and resumes every one that was
   * running, from its last top-level state entered, with that state's recorded input (the state
   * in progress runs again: the tasks are idempotent; a Map or Parallel is re-entered as a
   * whole). A callback task keeps its token and deadline and is not invoked again; a Wait ends
   * at its original deadline; a `.sync` task waits for the child it started (which resumes on
   * its own); retries go on with the attempts left; the machine's TimeoutSeconds counts from the
   * execution's start. Returns the executions resumed.
   */
  restore(): LocalExecution[] {
    const journal = this.options.journal;
    if (!journal) return [];
    const resumed: { execution: LocalExecution; state: ResumeState; children: Set<string>; retried: Map<string, number> }[] = [];
    for (const records of journal.load()) {
      const start = records[0] as Extract<JournalRecord, { t: 'start' }>;
      let key: string;
      try { key = this.machineKey(start.machine); } catch { continue; } // a machine no longer defined
      const execution: LocalExecution = {
        executionArn: start.executionArn, name: start.name, machine: key, status: 'RUNNING', input: start.input, startDate: start.startDate,
        events: [], transitions: 0, historyEvents: 0, redriveCount: 0, done: undefined as unknown as Promise<LocalExecution>,
      };
      const state: ResumeState = { tokens: new Map(), waits: new Map(), reentry: new Set() };
      const children = new Set<string>();
      const byToken = new Map<string, PendingToken>();
      for (const r of records) {
        switch (r.t) {
          case 'event': {
            const ev = r.ev as unknown as EventLog;
            execution.events.push(ev);
            execution.transitions = r.transitions;
            execution.historyEvents = r.historyEvents;
            // An attempt that ended (exited, or failed: retried, caught or not) takes its token and Wait with it.
            if ((ev.type === 'StateExited' || ev.type === 'StateFailed') && ev.state) {
              state.tokens.get(ev.state.name)?.shift();
              state.waits.get(ev.state.name)?.shift();
            }
            break;
          }
          case 'child': children.add(r.executionArn); break;
          case 'token': {
            const pending: PendingToken = { token: r.token, ...(r.deadline !== undefined ? { deadline: r.deadline } : {}) };
            byToken.set(r.token, pending);
            state.tokens.set(r.state, [...(state.tokens.get(r.state) ?? []), pending]);
            break;
          }
          case 'settled': {
            const pending = byToken.get(r.token);
            if (pending && !('expired' in r.outcome)) pending.outcome = r.outcome;
            break;
          }
          case 'wait': state.waits.set(r.state, [...(state.waits.get(r.state) ?? []), r.deadline]); break;
          case 'redrive':
            execution.redriveCount = r.redriveCount;
            execution.redriveDate = r.redriveDate;
            execution.status = 'RUNNING';
            for (const k of ['output', 'error', 'cause', 'stopDate'] as const) delete execution[k];
            state.tokens.clear();
            state.waits.clear();
            break;
          case 'end':
            execution.status = r.status as ExecutionStatus;
            if (r.output !== undefined) execution.output = r.output;
            if (r.error !== undefined) execution.error = r.error;
            if (r.cause !== undefined) execution.cause = r.cause;
            execution.stopDate = r.stopDate;
            break;
          default: break;
        }
      }
      this.executions.set(execution.executionArn, execution);
      this.startedAt.set(execution.executionArn, start.startMs);
      // Tokens already answered answer TaskTimedOut again, as before the restart.
      for (const [token, p] of byToken) {
        if (p.outcome || execution.status !== 'RUNNING') this.waiters.set(token, { settled: true, executionArn: execution.executionArn, resolve: () => undefined, reject: () => undefined });
      }
      if (execution.status !== 'RUNNING') { execution.done = Promise.resolve(execution); continue; }
      resumed.push({ execution, state, children, retried: new Map() });
    }
    // Every execution is registered before any resumes: a parent's `.sync` task finds its child.
    for (const { execution, state, children } of resumed) {
      const from = resumePoint(this.machines.get(execution.machine)!.definition, execution.events);
      if (from) state.reentry.add(from.name);
      this.resumeOf.set(execution.executionArn, state);
      this.run(execution.machine, execution.executionArn, execution.name, execution.input, {
        execution, startAt: from?.name, stateInput: from ? from.input : execution.input, redriven: false,
        retried: from ? retriesSince(execution.events, from.name) : new Map(),
      });
      const r = this.running.get(execution.executionArn);
      for (const child of children) r?.children.add(child);
    }
    return resumed.map((x) => x.execution);
  }

  /**
   * A Task's timeouts, as Step Functions applies them (Developer Guide, "Task workflow state"),
   * on the runtime's clock instead of the interpreter's wall-clock timer, so that a ten-hour
   * approval wait lasts ten hours of (possibly sped-up) virtual time:
   *  - TimeoutSeconds, or TimeoutSecondsPath read from the state input (after InputPath, not from
   *    the task's payload): each attempt that runs longer fails with States.Timeout. "If not
   *    provided, the default value is 99999999" seconds (over three years): no timer then, and
   *    in particular no cut at the interpreter's 60 s;
   *  - HeartbeatSeconds or HeartbeatSecondsPath: a callback task (`.waitForTaskToken`) with no
   *    SendTaskHeartbeat for that long fails with States.HeartbeatTimeout (taskHandler). Other
   *    tasks cannot heartbeat here (a Lambda invocation gets no token), so it does not apply to them;
   *  - a path that selects no positive integer fails the execution with States.Runtime, which no
   *    Catch or Retry handles.
   * After a timeout the task's token is spent: a late SendTaskSuccess answers TaskTimedOut.
   */
  private withTimeouts(executionArn: string, stateName: string, state: Record<string, unknown>, run: TaskRun): (input: unknown) => Promise<unknown> {
    const fixedTimeout = positiveInteger(state['TimeoutSeconds']);
    const fixedHeartbeat = positiveInteger(state['HeartbeatSeconds']);
    const timeoutPath = typeof state['TimeoutSecondsPath'] === 'string' ? state['TimeoutSecondsPath'] : undefined;
    const heartbeatPath = typeof state['HeartbeatSecondsPath'] === 'string' ? state['HeartbeatSecondsPath'] : undefined;
    for (const k of ['TimeoutSeconds', 'TimeoutSecondsPath', 'HeartbeatSeconds', 'HeartbeatSecondsPath']) delete state[k];
    state['TimeoutSeconds'] = INTERPRETER_TIMER_CEILING_SECONDS;
    const byPath = timeoutPath !== undefined || heartbeatPath !== undefined;
    if (byPath) {
      const usesContext = [timeoutPath, heartbeatPath].some((p) => p?.startsWith('$$'));
      state['Parameters'] = {
        [WRAPPED]: true, 'state.$': '$', ...(usesContext ? { 'context.$': '$$' } : {}),
        ...(state['Parameters'] !== undefined ? { input: state['Parameters'] } : {}),
      };
    }
    return async (raw) => {
      let input = raw;
      let timeoutSeconds = fixedTimeout;
      let heartbeatSeconds = fixedHeartbeat;
      if (byPath) {
        const w = raw as Wrapped;
        input = 'input' in w ? w.input : w.state;
        try {
          if (timeoutPath !== undefined) timeoutSeconds = secondsAt(timeoutPath, w, 'TimeoutSecondsPath');
          if (heartbeatPath !== undefined) heartbeatSeconds = secondsAt(heartbeatPath, w, 'HeartbeatSecondsPath');
        } catch (e) {
          this.failTerminal(executionArn, { error: 'States.Runtime', cause: `Task state '${stateName}': ${(e as Error).message}` });
          return input;
        }
      }
      return this.guarded(executionArn, stateName, input, (taskInput) => this.attempt(executionArn, stateName, taskInput, { timeoutSeconds, heartbeatSeconds }, run));
    };
  }

  /** One attempt of a Task: its handler, raced against its TimeoutSeconds. */
  private async attempt(executionArn: string, stateName: string, input: unknown, limits: { timeoutSeconds?: number; heartbeatSeconds?: number }, run: TaskRun): Promise<unknown> {
    const over = new AbortController();
    const halt = this.running.get(executionArn)?.halt.signal;
    // A callback task resumed after a restart keeps the deadline it had.
    const now = this.nowMs();
    const deadline = limits.timeoutSeconds === undefined ? undefined : this.peekToken(executionArn, stateName)?.deadline ?? now + limits.timeoutSeconds * 1000;
    const attempt: TaskAttempt = {
      signal: halt ? AbortSignal.any([over.signal, halt]) : over.signal,
      ...(limits.heartbeatSeconds ? { heartbeatSeconds: limits.heartbeatSeconds } : {}), ...(deadline !== undefined ? { deadline } : {}),
    };
    try {
      const work = run(input, attempt);
      if (limits.timeoutSeconds === undefined || deadline === undefined) return await work;
      work.catch(() => undefined);
      const seconds = limits.timeoutSeconds;
      const timer = this.sleep(Math.max(0, deadline - now), attempt.signal).then((elapsed) => {
        if (!elapsed) return new Promise<never>(() => undefined);
        if (attempt.token) this.expire(attempt.token);
        throw statesError('States.Timeout', `The task ran longer than its TimeoutSeconds (${seconds} s)`);
      });
      return await Promise.race([work, timer]);
    } finally {
      over.abort();
    }
  }

  /** A callback task that timed out: its token is spent (SendTask* answer TaskTimedOut). */
  private expire(token: string): void {
    const w = this.waiters.get(token);
    if (w && !w.settled) {
      w.settled = true;
      this.record(w.executionArn, { t: 'settled', token, outcome: { error: 'States.Timeout', cause: 'The task ran longer than its TimeoutSeconds' } });
    }
  }

  private taskHandler(state: Record<string, unknown>, executionArn: string, stateName: string): TaskRun {
    const resource = state['Resource'];
    const service = typeof resource === 'string' ? resource : '';
    if (service.startsWith('arn:aws:states:::states:startExecution')) {
      const sync = service.includes('.sync');
      return async (input) => {
        const p = input as { StateMachineArn: unknown; Input?: unknown; Name?: string };
        const key = this.machineKey(resolveRef(p.StateMachineArn, this.def, 'machine'));
        const child = this.startChild(key, p.Name, p.Input ?? {}, sync, this.takeReentry(executionArn, stateName));
        const r = this.running.get(executionArn);
        if (r && !r.children.has(child.executionArn)) {
          r.children.add(child.executionArn);
          this.record(executionArn, { t: 'child', executionArn: child.executionArn });
        }
        if (!sync) return { ExecutionArn: child.executionArn, StartDate: child.execution.startDate };
        const done = await child.execution.done;
        if (done.status !== 'SUCCEEDED') throw Object.assign(new Error(JSON.stringify({ Error: done.error, Cause: done.cause, ExecutionArn: done.executionArn })), { name: 'States.TaskFailed' });
        return { ExecutionArn: done.executionArn, Output: service.endsWith(':2') ? done.output : JSON.stringify(done.output), Status: 'SUCCEEDED', StartDate: done.startDate, StopDate: done.stopDate };
      };
    }
    if (service.startsWith('arn:aws:states:::lambda:invoke')) {
      const callback = service.endsWith('.waitForTaskToken');
      return async (input, attempt) => {
        const p = input as { FunctionName: unknown; Payload?: unknown };
        const fn = resolveRef(p.FunctionName, this.def, 'function');
        if (!callback) return { Payload: await this.invoke(fn, p.Payload ?? {}), StatusCode: 200, ExecutedVersion: '$LATEST' };
        // Resumed after a restart: the token handed out before keeps waiting (its links, its
        // deadline); the function is not invoked again (no second request). Settled before the
        // state ended: its answer stands.
        const resumed = this.takeToken(executionArn, stateName);
        const token = resumed?.token ?? findToken(p.Payload);
        if (!token) throw new Error(`${fn}: a waitForTaskToken task must pass $$.Task.Token in its payload`);
        const waiter = { settled: false, executionArn } as Waiter;
        const wait = new Promise((resolve, reject) => Object.assign(waiter, { resolve, reject }));
        this.waiters.set(token, waiter);
        attempt.token = token;
        if (resumed?.outcome) {
          waiter.settled = true;
          if ('output' in resumed.outcome) return resumed.outcome.output;
          throw statesError(resumed.outcome.error, resumed.outcome.cause);
        }
        if (resumed) {
          wait.catch(() => undefined);
          if (attempt.heartbeatSeconds) this.watchHeartbeat(waiter, attempt.heartbeatSeconds, attempt.signal);
          return wait;
        }
        this.record(executionArn, { t: 'token', state: stateName, token, ...(attempt.deadline !== undefined ? { deadline: attempt.deadline } : {}) });
        // The callback may arrive while the function still runs (a request superseded the moment
        // it was sent): the task then fails with it, as on AWS, once the invocation returns.
        wait.catch(() => undefined);
        if (attempt.heartbeatSeconds) this.watchHeartbeat(waiter, attempt.heartbeatSeconds, attempt.signal);
        await this.invoke(fn, p.Payload ?? {});
        return wait;
      };
    }
    const fn = resolveRef(resource, this.def, 'function');
    return (input) => this.invoke(fn, input);
  }

  /**
   * HeartbeatSeconds of a callback task: "If more time than the specified seconds elapses
   * between heartbeats from the task, this state fails with a States.HeartbeatTimeout error"
   * (Developer Guide, "Task workflow state"). The clock starts with the task; each
   * SendTaskHeartbeat starts it again. Like a timeout, it spends the token.
   */
  private watchHeartbeat(waiter: Waiter, seconds: number, over: AbortSignal): void {
    let beat: AbortController | undefined;
    const arm = (): void => {
      beat?.abort();
      const current = new AbortController();
      beat = current;
      void this.sleep(seconds * 1000, AbortSignal.any([current.signal, over])).then((elapsed) => {
        if (!elapsed || waiter.settled) return;
        waiter.settled = true;
        const token = [...this.waiters].find(([, w]) => w === waiter)?.[0];
        if (token) this.record(waiter.executionArn, { t: 'settled', token, outcome: { error: 'States.HeartbeatTimeout', cause: `No SendTaskHeartbeat for HeartbeatSeconds (${seconds} s)` } });
        waiter.reject(statesError('States.HeartbeatTimeout', `No SendTaskHeartbeat for HeartbeatSeconds (${seconds} s)`));
      });
    };
    waiter.beat = arm;
    arm();
  }
}

/** Resolve `{Fn::GetAtt: [x, Arn]}`, `{Ref: x}`, or an ARN to a function key or machine key. */
export function resolveRef(ref: unknown, def: ServerlessDefinition, kind: 'function' | 'machine'): string {
  let id: string | undefined;
  if (typeof ref === 'string') id = ref.split(':').at(-1);
  else if (ref && typeof ref === 'object') {
    const o = ref as Record<string, unknown>;
    if (Array.isArray(o['Fn::GetAtt'])) id = String(o['Fn::GetAtt'][0]);
    else if (typeof o['Fn::GetAtt'] === 'string') id = o['Fn::GetAtt'].split('.')[0];
    else if (typeof o['Ref'] === 'string') id = o['Ref'];
  }
  if (!id) throw new Error(`cannot resolve ${JSON.stringify(ref)}`);
  const candidates = kind === 'function' ? [...def.functions.keys()] : [...def.stateMachines.keys()];
  for (const key of candidates) {
    const names = kind === 'function'
      ? [key, `${logicalName(key)}LambdaFunction`, `${def.raw['service']}-dev-${key}`]
      : [key, logicalName(key), def.stateMachines.get(key)!.name, `${logicalName(key)}StateMachine`];
    if (names.includes(id) || id.endsWith(`-${key}`)) return key;
  }
  throw new Error(`${JSON.stringify(ref)} names no ${kind} in serverless.yml`);
}

/** The Serverless Framework's logical-id normalisation: `launch-machine` → `LaunchDashmachine`. */
export function logicalName(name: string): string {
  const s = name.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function findToken(payload: unknown): string | undefined {
  if (!payload || typeof payload !== 'object') return undefined;
  for (const [k, v] of Object.entries(payload as Record<string, unknown>)) {
    if (/token/i.test(k) && typeof v === 'string') return v;
  }
  return undefined;
}

export function forEachState(definition: Record<string, unknown>, fn: (name: string, state: Record<string, unknown>, parent: Record<string, unknown>) => void): void {
  const states = (definition['States'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, state] of Object.entries(states)) {
    fn(name, state, states);
    const processor = (state['ItemProcessor'] ?? state['Iterator']) as Record<string, unknown> | undefined;
    if (processor) forEachState(processor, fn);
    for (const branch of (state['Branches'] ?? []) as Record<string, unknown>[]) forEachState(branch, fn);
  }
}

/**
 * Attempts at a fixed IntervalSeconds that wait as long in total as the retrier's schedule
 * (IntervalSeconds × BackoffRate^i for MaxAttempts attempts, each capped by MaxDelaySeconds).
 */
export function attemptsForSamePatience(r: Record<string, unknown>): number {
  const base = Number(r['IntervalSeconds'] ?? 1);
  const rate = Number(r['BackoffRate'] ?? 2);
  const attempts = Math.max(0, Number(r['MaxAttempts'] ?? 3));
  const cap = r['MaxDelaySeconds'] !== undefined ? Number(r['MaxDelaySeconds']) : Infinity;
  // No interval (IntervalSeconds 0): there is no patience to stretch, only the attempts.
  if (!(base > 0)) return attempts;
  let total = 0;
  for (let i = 0; i < attempts; i++) total += Math.min(cap, base * rate ** i);
  return Math.min(1000, Math.max(attempts, Math.ceil(total / base)));
}

/**
 * An inline Map runs at most 40 iterations at once on AWS, and MaxConcurrency 0 means as many as
 * possible (sfn-limits.ts). The interpreter runs `MaxConcurrency || 40` iterations through
 * p-limit, so 0 already gives 40 there but a MaxConcurrency over 40 would run that many: the
 * definition is capped at 40. MaxConcurrencyPath is resolved by the interpreter at run time, past
 * any hook, so it cannot be capped: it is refused rather than run with more iterations in flight
 * than AWS allows (no Cleanpoint machine uses it).
 */
function capInlineMap(stateName: string, state: Record<string, unknown>): void {
  const mode = ((state['ItemProcessor'] as Record<string, unknown> | undefined)?.['ProcessorConfig'] as { Mode?: string } | undefined)?.Mode;
  if (mode === 'DISTRIBUTED') return;
  if (state['MaxConcurrencyPath'] !== undefined) throw new Error(`Map state '${stateName}': MaxConcurrencyPath is not supported by the local engine (it cannot hold it to the inline Map's 40 concurrent iterations); use MaxConcurrency`);
  state['MaxConcurrency'] = inlineMapConcurrency(state['MaxConcurrency']);
}

/** A Wait state rewritten as a pass-through Task (same transitions and paths, no interpreter timeout). */
function waitAsTask(state: Record<string, unknown>): Record<string, unknown> {
  const task: Record<string, unknown> = { Type: 'Task', Resource: 'arn:aws:states:::local:wait', Comment: state['Comment'] ?? 'wait', TimeoutSeconds: INTERPRETER_TIMER_CEILING_SECONDS };
  for (const k of ['Next', 'End', 'InputPath', 'OutputPath']) if (k in state) task[k] = state[k];
  return task;
}

/** Milliseconds a Wait state waits for this input (Seconds, SecondsPath, Timestamp, TimestampPath). */
export function waitMs(state: Record<string, unknown>, input: unknown, nowMs: number): number {
  const at = (path: unknown) => String(path ?? '$').replace(/^\$\.?/, '').split('.').filter(Boolean).reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], input);
  if (typeof state['Seconds'] === 'number') return state['Seconds'] * 1000;
  if (typeof state['SecondsPath'] === 'string') return Number(at(state['SecondsPath'])) * 1000 || 0;
  const ts = typeof state['Timestamp'] === 'string' ? state['Timestamp'] : typeof state['TimestampPath'] === 'string' ? String(at(state['TimestampPath'])) : undefined;
  return ts ? Math.max(0, Date.parse(ts) - nowMs) : 0;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** TimeoutSecondsPath / HeartbeatSecondsPath: a reference path that must select a positive integer. */
function secondsAt(path: string, wrapped: Wrapped, field: string): number {
  const found = path.startsWith('$$') ? referencePath(path.slice(1), wrapped.context) : referencePath(path, wrapped.state);
  const seconds = found.found ? positiveInteger(found.value) : undefined;
  if (seconds === undefined) {
    throw new Error(found.found ? `${field} '${path}' selects ${JSON.stringify(found.value)}, not a positive integer` : `${field} '${path}' selects nothing in the state input`);
  }
  return seconds;
}

const PATH_STEP = /\.([^.[\]]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/y;

/**
 * The value a Reference Path (`$.a.b`, `$['a']`, `$.list[0]`: one node, no wildcards or
 * filters; Amazon States Language, "Reference Paths") selects in `root`.
 */
export function referencePath(path: string, root: unknown): { found: boolean; value?: unknown } {
  if (!path.startsWith('$')) return { found: false };
  let value = root;
  PATH_STEP.lastIndex = 1;
  while (PATH_STEP.lastIndex < path.length) {
    const at = PATH_STEP.lastIndex;
    const m = PATH_STEP.exec(path);
    if (!m || m.index !== at) return { found: false };
    const key = m[1] ?? m[3] ?? m[4];
    if (key !== undefined) {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key)) return { found: false };
      value = (value as Record<string, unknown>)[key];
    } else {
      const index = Number(m[2]);
      if (!Array.isArray(value) || index >= value.length) return { found: false };
      value = value[index];
    }
  }
  return { found: true, value };
}
