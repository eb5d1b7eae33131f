/**
 * The local workflow engine refuses what Step Functions refuses (Developer Guide, "Step Functions
 * service quotas"; "Handling errors in Step Functions workflows"):
 *  - execution names: 1–80 characters, none of white space, `? *`, `< > { } [ ]`,
 *    `" # % \ ^ | ~ \` $ & , ; : /` or control characters → StartExecution answers InvalidName;
 *  - execution input at most 256 KiB of UTF-8 → InvalidExecutionInput;
 *  - a state's input or output (a Task result too) over 256 KiB fails the execution with
 *    States.DataLimitExceeded, "a terminal error that can't be caught by the States.ALL error type";
 *  - the execution history holds at most 25,000 events: event 25,000 may only be
 *    ExecutionSucceeded, otherwise it is ExecutionFailed with States.Runtime ("Avoid reaching the
 *    history quota"; the error and cause as AWS reports them);
 *  - an inline Map runs at most 40 iterations at once ("Using Map state in Inline mode").
 */
import { describe, expect, it } from 'vitest';
import { HISTORY_LIMIT_CAUSE, MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES, invalidNameReason, payloadBytes } from '../../local/sfn-limits.ts';
import type { ServerlessDefinition } from '../../local/serverless-config.ts';
import { LocalWorkflowEngine } from '../../local/workflow-runner.ts';

const pass = { StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } };

function engine(definitions: Record<string, Record<string, unknown>>, invoke: (fn: string, event: unknown) => Promise<unknown> = async (_fn, e) => e) {
  const def = {
    raw: { service: 'test' },
    functions: new Map([['big', {}], ['echo', {}], ['after', {}], ['inc', {}], ['work', {}]]),
    stateMachines: new Map(Object.entries(definitions).map(([k, d]) => [k, { name: k, definition: d, file: `${k}.asl.json` }])),
  } as unknown as ServerlessDefinition;
  return new LocalWorkflowEngine(def, invoke);
}

/** A JSON object whose UTF-8 text is exactly `bytes` long. */
function payloadOf(bytes: number): { d: string } {
  const p = { d: 'x'.repeat(bytes - '{"d":""}'.length) };
  expect(payloadBytes(p)).toBe(bytes);
  return p;
}

function refusal(f: () => unknown): Error & { name: string } {
  try { f(); } catch (e) { return e as Error & { name: string }; }
  throw new Error('expected StartExecution to be refused');
}

describe('StartExecution: execution names', () => {
  it('accepts an 80-character name and refuses an 81-character one with InvalidName', async () => {
    const e = engine({ m: pass });
    const ok = e.start('m', 'a'.repeat(80), {});
    expect((await ok.execution.done).status).toBe('SUCCEEDED');
    const err = refusal(() => e.start('m', 'a'.repeat(81), {}));
    expect(err.name).toBe('InvalidName');
    expect(e.executions.size).toBe(1);
  });

  it.each([' ', '?', '*', '<', '>', '{', '}', '[', ']', '"', '#', '%', '\\', '^', '|', '~', '`', '$', '&', ',', ';', ':', '/', '\u0000', '\u001f', '\u007f', '\u009f', '\t'])(
    'refuses a name containing %j with InvalidName',
    (ch) => {
      const err = refusal(() => engine({ m: pass }).start('m', `incident${ch}1`, {}));
      expect(err.name).toBe('InvalidName');
    },
  );

  it('refuses an empty name and accepts the characters AWS allows (letters, digits, - _ . and non-ASCII)', () => {
    expect(refusal(() => engine({ m: pass }).start('m', '', {})).name).toBe('InvalidName');
    expect(invalidNameReason('incident-42_retry.1')).toBeUndefined();
    expect(invalidNameReason('événement')).toBeUndefined();
  });

  it('checks the name before the idempotency rule (an invalid name is never an existing execution)', () => {
    const e = engine({ m: pass });
    expect(refusal(() => e.start('m', 'bad name', {})).name).toBe('InvalidName');
  });
});

describe('StartExecution: input size', () => {
  it('accepts an input of exactly 256 KiB and refuses 256 KiB + 1 byte with InvalidExecutionInput', async () => {
    const e = engine({ m: pass });
    const ok = e.start('m', 'at-limit', payloadOf(MAX_PAYLOAD_BYTES));
    expect((await ok.execution.done).status).toBe('SUCCEEDED');
    const err = refusal(() => e.start('m', 'over-limit', payloadOf(MAX_PAYLOAD_BYTES + 1)));
    expect(err.name).toBe('InvalidExecutionInput');
    expect(e.executions.has(ok.executionArn)).toBe(true);
    expect([...e.executions.values()].map((x) => x.name)).toEqual(['at-limit']);
  });

  it('measures UTF-8 bytes, not characters', () => {
    const e = engine({ m: pass });
    // 'é' is 2 bytes in UTF-8: 131,069 of them plus the 8 bytes of {"d":""} is 262,146 bytes.
    const err = refusal(() => e.start('m', 'utf8', { d: 'é'.repeat(131_069) }));
    expect(err.name).toBe('InvalidExecutionInput');
  });
});

describe('States.DataLimitExceeded', () => {
  const catching = {
    StartAt: 'Big',
    States: {
      Big: {
        Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'big', 'Payload.$': '$' },
        Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3, IntervalSeconds: 1 }],
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Handled' }],
        Next: 'After',
      },
      After: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'after', 'Payload.$': '$' }, End: true },
      Handled: { Type: 'Pass', Result: 'caught', End: true },
    },
  };

  it('a Task returning a result over 256 KiB fails the execution although the state catches and retries States.ALL', async () => {
    const calls: string[] = [];
    const e = engine({ m: catching }, async (fn) => { calls.push(fn); return fn === 'big' ? payloadOf(MAX_PAYLOAD_BYTES + 1) : {}; });
    const done = await e.start('m', 'big-result', {}).execution.done;
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.DataLimitExceeded');
    expect(done.output).toBeUndefined();
    expect(calls).toEqual(['big']); // not retried, not caught, nothing after it ran
    expect(done.events.map((x) => x.type)).not.toContain('StateCaught');
    expect(done.events.at(-1)).toMatchObject({ type: 'ExecutionFailed', Error: 'States.DataLimitExceeded' });
  });

  it('a Task result of exactly 256 KiB passes', async () => {
    const e = engine({ m: { StartAt: 'Big', States: { Big: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'big' }, OutputPath: '$.Payload', End: true } } } },
      async () => payloadOf(MAX_PAYLOAD_BYTES - '{"Payload":,"StatusCode":200,"ExecutedVersion":"$LATEST"}'.length));
    const done = await e.start('m', 'at-limit', {}).execution.done;
    expect(done.status).toBe('SUCCEEDED');
  });

  it('a state output over 256 KiB (a Pass merging its input twice) fails the execution before the next Task runs', async () => {
    const calls: string[] = [];
    const half = payloadOf(MAX_PAYLOAD_BYTES / 2 + 100);
    const machine = {
      StartAt: 'Double',
      States: {
        Double: { Type: 'Pass', Parameters: { 'a.$': '$.d', 'b.$': '$.d' }, Next: 'After' },
        After: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'after' }, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Handled' }], End: true },
        Handled: { Type: 'Pass', End: true },
      },
    };
    const e = engine({ m: machine }, async (fn) => { calls.push(fn); return {}; });
    const done = await e.start('m', 'big-state', half).execution.done;
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.DataLimitExceeded');
    expect(done.cause).toContain('Double');
    expect(calls).toEqual([]);
  });
});

describe('execution history quota (25,000 events)', () => {
  /**
   * `extraPasses` Pass states, then a loop of `iterations` rounds of Choice + Lambda Task:
   * ExecutionStarted (1) + 2 per Pass + 7 per round (ChoiceStateEntered/Exited, TaskStateEntered,
   * TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited) + the last Choice (2) + Succeed (2)
   * + ExecutionSucceeded (1) = 7 × iterations + 2 × extraPasses + 6 events.
   */
  function loop(extraPasses: number): Record<string, unknown> {
    const states: Record<string, unknown> = {};
    for (let i = 0; i < extraPasses; i++) states[`Pad ${i}`] = { Type: 'Pass', Next: i + 1 < extraPasses ? `Pad ${i + 1}` : 'More?' };
    Object.assign(states, {
      'More?': { Type: 'Choice', Choices: [{ Variable: '$.i', NumericLessThanPath: '$.n', Next: 'Increment' }], Default: 'Done' },
      Increment: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'inc', 'Payload.$': '$' }, OutputPath: '$.Payload', Next: 'More?' },
      Done: { Type: 'Succeed' },
    });
    return { StartAt: extraPasses > 0 ? 'Pad 0' : 'More?', States: states };
  }
  const inc = (calls: { n: number }) => async (_fn: string, e: unknown) => { calls.n++; const x = e as { i: number; n: number }; return { ...x, i: x.i + 1 }; };

  it('counts a Map and a retried, then caught, Task as AWS records them', async () => {
    const machine = {
      StartAt: 'Each',
      States: {
        Each: { Type: 'Map', ItemsPath: '$.items', ItemProcessor: { StartAt: 'Item', States: { Item: { Type: 'Pass', End: true } } }, ResultPath: null, Next: 'Flaky' },
        Flaky: {
          Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'work' },
          Retry: [{ ErrorEquals: ['Boom'], MaxAttempts: 1, IntervalSeconds: 0 }], Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Handled' }], End: true,
        },
        Handled: { Type: 'Pass', End: true },
      },
    };
    const e = engine({ m: machine }, async () => { throw Object.assign(new Error('no'), { name: 'Boom' }); });
    const done = await e.start('m', 'counted', { items: [1, 2, 3] }).execution.done;
    expect(done.status).toBe('SUCCEEDED');
    // ExecutionStarted 1; MapStateEntered, MapStateStarted 2; per item MapIterationStarted,
    // PassStateEntered, PassStateExited, MapIterationSucceeded 4 × 3; MapStateSucceeded,
    // MapStateExited 2; TaskStateEntered, TaskScheduled, TaskStarted, TaskFailed 4; retry:
    // TaskScheduled, TaskStarted, TaskFailed 3; TaskStateExited 1; Pass 2; ExecutionSucceeded 1.
    expect(done.historyEvents).toBe(1 + 2 + 12 + 2 + 4 + 3 + 1 + 2 + 1);
  });

  it('an execution whose history stays under the quota succeeds', async () => {
    const calls = { n: 0 };
    const e = engine({ m: loop(0) }, inc(calls));
    const done = await e.start('m', 'short-loop', { i: 0, n: 3000 }).execution.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.historyEvents).toBe(7 * 3000 + 6);
    expect(calls.n).toBe(3000);
  }, 60_000);

  it('succeeds when event 25,000 is ExecutionSucceeded', async () => {
    const e = engine({ m: loop(2) }, inc({ n: 0 }));
    const done = await e.start('m', 'exactly-at-quota', { i: 0, n: 3570 }).execution.done;
    expect(7 * 3570 + 2 * 2 + 6).toBe(MAX_HISTORY_EVENTS);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.historyEvents).toBe(MAX_HISTORY_EVENTS);
  }, 60_000);

  it('fails with States.Runtime when event 25,000 would not be ExecutionSucceeded (a history of 25,001 events)', async () => {
    const e = engine({ m: loop(6) }, inc({ n: 0 }));
    const done = await e.start('m', 'one-over-quota', { i: 0, n: 3569 }).execution.done;
    expect(7 * 3569 + 2 * 6 + 6).toBe(MAX_HISTORY_EVENTS + 1);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Runtime');
    expect(done.cause).toBe(HISTORY_LIMIT_CAUSE);
    expect(done.historyEvents).toBe(MAX_HISTORY_EVENTS);
  }, 60_000);

  it('ends a loop that would run far past the quota, not caught by States.ALL, and runs no task after it', async () => {
    const calls = { n: 0 };
    const machine = loop(0);
    (machine['States'] as Record<string, Record<string, unknown>>)['Increment']!['Catch'] = [{ ErrorEquals: ['States.ALL'], Next: 'Done' }];
    const e = engine({ m: machine }, inc(calls));
    const done = await e.start('m', 'long-loop', { i: 0, n: 100_000 }).execution.done;
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Runtime');
    expect(done.events.at(-1)).toMatchObject({ type: 'ExecutionFailed', Error: 'States.Runtime', Cause: HISTORY_LIMIT_CAUSE });
    expect(done.events.map((x) => x.type)).not.toContain('StateCaught');
    // ExecutionStarted, then 7 per round: 1 + 7 × 3,571 = 24,998 events. The next round's
    // ChoiceStateEntered is event 24,999 and its ChoiceStateExited cannot be 25,000: its Task never runs.
    expect(1 + 7 * 3571).toBe(MAX_HISTORY_EVENTS - 2);
    expect(calls.n).toBe(3571);
  }, 60_000);
});

describe('inline Map concurrency (at most 40 iterations at once)', () => {
  function fanOut(mapFields: Record<string, unknown>): Record<string, unknown> {
    return {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map', ItemsPath: '$.items', ...mapFields,
          ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'Work', States: { Work: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'work', 'Payload.$': '$' }, OutputPath: '$.Payload', End: true } } },
          End: true,
        },
      },
    };
  }
  /** Runs 100 items; each task stays in flight for 5 ms. Returns the most tasks in flight at once. */
  async function mostInFlight(mapFields: Record<string, unknown>): Promise<number> {
    let inFlight = 0;
    let most = 0;
    const e = engine({ m: fanOut(mapFields) }, async (_fn, item) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return item;
    });
    const items = Array.from({ length: 100 }, (_, i) => ({ i }));
    const done = await e.start('m', 'fan-out', { items }).execution.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toEqual(items);
    return most;
  }

  it('runs 40 iterations at once when MaxConcurrency is 0 (as many as possible)', async () => {
    expect(await mostInFlight({ MaxConcurrency: 0 })).toBe(40);
  });

  it('runs 40 iterations at once when MaxConcurrency is not given', async () => {
    expect(await mostInFlight({})).toBe(40);
  });

  it('holds a MaxConcurrency over 40 to 40', async () => {
    expect(await mostInFlight({ MaxConcurrency: 100 })).toBe(40);
  });

  it('runs at most MaxConcurrency iterations at once when it is under 40', async () => {
    expect(await mostInFlight({ MaxConcurrency: 5 })).toBe(5);
  });

  it('refuses a MaxConcurrencyPath, which it could not hold to 40', () => {
    const e = engine({ m: fanOut({ MaxConcurrencyPath: '$.concurrency' }) });
    expect(() => e.start('m', 'by-path', { items: [1], concurrency: 100 })).toThrow(/MaxConcurrencyPath/);
  });
});
