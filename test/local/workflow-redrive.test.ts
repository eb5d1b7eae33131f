/**
 * RedriveExecution on the local engine, as Step Functions does it (API reference,
 * "RedriveExecution"; Developer Guide, "Redriving state machines"): an execution that FAILED,
 * TIMED_OUT or was ABORTED continues from its unsuccessful step with that step's input, under the
 * same ARN; the steps that succeeded are not run again; redriveCount counts the redrives; a
 * running or succeeded execution is ExecutionNotRedrivable, an unknown one ExecutionDoesNotExist.
 * Through the real SFN client too (RedriveExecutionCommand, DescribeExecution's redrive fields).
 */
import { describe, expect, it } from 'vitest';
import type { ServerlessDefinition } from '../../local/serverless-config.ts';
import { LocalWorkflowEngine, resumePoint } from '../../local/workflow-runner.ts';

function engine(definitions: Record<string, Record<string, unknown>>, invoke: (fn: string, event: unknown) => Promise<unknown>) {
  const def = {
    raw: { service: 'test' },
    functions: new Map([['first', {}], ['flaky', {}], ['last', {}]]),
    stateMachines: new Map(Object.entries(definitions).map(([k, d]) => [k, { name: k, definition: d, file: `${k}.asl.json` }])),
  } as unknown as ServerlessDefinition;
  return new LocalWorkflowEngine(def, invoke);
}

const threeSteps = {
  StartAt: 'First',
  States: {
    First: { Type: 'Task', Resource: { 'Fn::GetAtt': ['FirstLambdaFunction', 'Arn'] }, ResultPath: '$.first', Next: 'Flaky' },
    Flaky: { Type: 'Task', Resource: { 'Fn::GetAtt': ['FlakyLambdaFunction', 'Arn'] }, ResultPath: '$.flaky', Next: 'Last' },
    Last: { Type: 'Task', Resource: { 'Fn::GetAtt': ['LastLambdaFunction', 'Arn'] }, End: true },
  },
};

function refusal(f: () => unknown): Error & { name: string } {
  try { f(); } catch (e) { return e as Error & { name: string }; }
  throw new Error('expected a refusal');
}

describe('LocalWorkflowEngine.redrive', () => {
  it('continues a failed execution from the failed state with its input; earlier states are not run again', async () => {
    const calls: string[] = [];
    let failing = true;
    const e = engine({ m: threeSteps }, async (fn, event) => {
      calls.push(fn);
      if (fn === 'flaky' && failing) throw Object.assign(new Error('boom'), { name: 'Boom' });
      return fn === 'last' ? { done: event } : fn;
    });
    const started = e.start('m', 'run-1', { n: 1 });
    const failed = await started.execution.done;
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('Boom');
    expect(calls).toEqual(['first', 'flaky']);
    const eventsBefore = failed.events.length;

    failing = false;
    const { execution, redriveDate } = e.redrive(started.executionArn);
    expect(execution.executionArn).toBe(started.executionArn);
    expect(execution.status).toBe('RUNNING');
    expect(Date.parse(redriveDate)).not.toBeNaN();
    const done = await execution.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toEqual({ done: { n: 1, first: 'first', flaky: 'flaky' } });
    expect(done.error).toBeUndefined();
    expect(calls).toEqual(['first', 'flaky', 'flaky', 'last']);
    expect(done.redriveCount).toBe(1);
    // The history goes on: the first attempt's events, ExecutionRedriven, then the rest.
    expect(done.events.slice(0, eventsBefore).map((x) => x.type)).toContain('ExecutionFailed');
    expect(done.events[eventsBefore]?.type).toBe('ExecutionRedriven');
    expect(done.events.at(-1)?.type).toBe('ExecutionSucceeded');
    expect(e.executions.size).toBe(1);
  });

  it('refuses a running, a succeeded and an unknown execution as AWS does', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const e = engine({ m: threeSteps }, async (fn) => { if (fn === 'first') await gate; return fn; });
    const running = e.start('m', 'run-2', {});
    expect(refusal(() => e.redrive(running.executionArn)).name).toBe('ExecutionNotRedrivable');
    release();
    expect((await running.execution.done).status).toBe('SUCCEEDED');
    expect(refusal(() => e.redrive(running.executionArn)).name).toBe('ExecutionNotRedrivable');
    expect(refusal(() => e.redrive('arn:aws:states:us-east-1:000000000000:execution:m:nope')).name).toBe('ExecutionDoesNotExist');
  });

  it('redrives an aborted execution from the state it was stopped in', async () => {
    const calls: string[] = [];
    let hold = true;
    let entered!: () => void;
    const inFlaky = new Promise<void>((r) => { entered = r; });
    const e = engine({ m: threeSteps }, async (fn) => {
      calls.push(fn);
      if (fn === 'flaky' && hold) { entered(); await new Promise(() => undefined); }
      return fn;
    });
    const started = e.start('m', 'run-3', {});
    await inFlaky;
    e.abort(started.executionArn);
    expect((await started.execution.done).status).toBe('ABORTED');
    hold = false;
    const done = await e.redrive(started.executionArn).execution.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(calls).toEqual(['first', 'flaky', 'flaky', 'last']);
  });

  it('a redriven parent waits for its .sync child redriven, not started twice', async () => {
    let childFails = true;
    const calls: string[] = [];
    const child = { StartAt: 'Flaky', States: { Flaky: { Type: 'Task', Resource: { 'Fn::GetAtt': ['FlakyLambdaFunction', 'Arn'] }, End: true } } };
    const parent = {
      StartAt: 'First',
      States: {
        First: { Type: 'Task', Resource: { 'Fn::GetAtt': ['FirstLambdaFunction', 'Arn'] }, ResultPath: null, Next: 'Child' },
        Child: { Type: 'Task', Resource: 'arn:aws:states:::states:startExecution.sync:2', Parameters: { StateMachineArn: { Ref: 'Child' }, 'Name.$': '$.runId', Input: { x: 1 } }, End: true },
      },
    };
    const e = engine({ parent, child }, async (fn) => {
      calls.push(fn);
      if (fn === 'flaky' && childFails) throw Object.assign(new Error('no'), { name: 'No' });
      return 'ok';
    });
    const started = e.start('parent', 'p-1', { runId: 'c-1' });
    expect((await started.execution.done).status).toBe('FAILED');
    childFails = false;
    const done = await e.redrive(started.executionArn).execution.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(calls).toEqual(['first', 'flaky', 'flaky']);
    expect(e.executions.size).toBe(2);
    const childRun = [...e.executions.values()].find((x) => x.machine === 'child')!;
    expect(childRun.status).toBe('SUCCEEDED');
    expect(childRun.redriveCount).toBe(1);
  });
});

describe('resumePoint', () => {
  it('is the last top-level state entered, with its input; a nested state re-enters its Map', () => {
    const def = { States: { A: {}, M: {} } };
    const at = (type: string, name: string, input: unknown, index?: number) => ({ type, timestamp: 0, state: { name, type: 'Task', input }, ...(index !== undefined ? { index } : {}) });
    expect(resumePoint(def, [])).toBeUndefined();
    expect(resumePoint(def, [at('StateEntered', 'A', 1), at('StateExited', 'A', 1), at('StateEntered', 'M', 2), at('StateEntered', 'Inner', 3, 0)])).toEqual({ name: 'M', input: 2 });
  });
});
