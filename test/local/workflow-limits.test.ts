/**
 * The local workflow engine refuses what Step Functions refuses (Developer Guide, "Step Functions
 * service quotas"; "Handling errors in Step Functions workflows"):
 *  - execution names: 1–80 characters, none of white space, `? *`, `< > { } [ ]`,
 *    `" # % \ ^ | ~ \` $ & , ; : /` or control characters → StartExecution answers InvalidName;
 *  - execution input at most 256 KiB of UTF-8 → InvalidExecutionInput;
 *  - a state's input or output (a Task result too) over 256 KiB fails the execution with
 *    States.DataLimitExceeded, "a terminal error that can't be caught by the States.ALL error type".
 */
import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES, invalidNameReason, payloadBytes } from '../../local/sfn-limits.ts';
import type { ServerlessDefinition } from '../../local/serverless-config.ts';
import { LocalWorkflowEngine } from '../../local/workflow-runner.ts';

const pass = { StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } };

function engine(definitions: Record<string, Record<string, unknown>>, invoke: (fn: string, event: unknown) => Promise<unknown> = async (_fn, e) => e) {
  const def = {
    raw: { service: 'test' },
    functions: new Map([['big', {}], ['echo', {}], ['after', {}]]),
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
