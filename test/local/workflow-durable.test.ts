/**
 * Durable executions: the local engine keeps each execution's history in a journal (one file of
 * JSON lines per execution) as it goes and, started again over the same journal, resumes every
 * execution that was running from its last top-level state entered, with that state's input.
 *
 * A process killed with kill -9 writes nothing more: here the first engine is let go with
 * suspend(), which stops it writing at once, and a second engine over the same folder (and a
 * clock that goes on from where the first stopped) restores. The runtime-level crash tests, in a
 * child process killed for real, are in test/local/crash-resume.test.ts.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExecutionJournal } from '../../local/execution-journal.ts';
import type { ServerlessDefinition } from '../../local/serverless-config.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { LocalWorkflowEngine, TaskTokenError } from '../../local/workflow-runner.ts';

const SECOND = 1000;
type Work = (fn: string, event: unknown) => Promise<unknown>;

const clocks: VirtualClock[] = [];
afterEach(() => { for (const c of clocks.splice(0)) c.dispose(); });

function clockAt(ms: number): VirtualClock {
  const c = new VirtualClock({ startMs: ms, autoAdvance: false });
  clocks.push(c);
  return c;
}

function engineOver(dir: string, definitions: Record<string, Record<string, unknown>>, work: Work, clock: VirtualClock): LocalWorkflowEngine {
  const def = {
    raw: { service: 'test' },
    functions: new Map(['first', 'middle', 'last', 'ask', 'flaky'].map((f) => [f, {}])),
    stateMachines: new Map(Object.entries(definitions).map(([k, d]) => [k, { name: k, definition: d, file: `${k}.asl.json` }])),
  } as unknown as ServerlessDefinition;
  return new LocalWorkflowEngine(def, work, { clock, journal: new ExecutionJournal(dir) });
}

const fn = (name: string) => ({ 'Fn::GetAtt': [`${name[0]!.toUpperCase()}${name.slice(1)}LambdaFunction`, 'Arn'] });

const threeSteps = {
  StartAt: 'First',
  States: {
    First: { Type: 'Task', Resource: fn('first'), ResultPath: '$.first', Next: 'Middle' },
    Middle: { Type: 'Task', Resource: fn('middle'), ResultPath: '$.middle', Next: 'Last' },
    Last: { Type: 'Task', Resource: fn('last'), End: true },
  },
};

const approval = {
  StartAt: 'Ask',
  States: {
    Ask: {
      Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken', TimeoutSeconds: 600,
      Parameters: { FunctionName: fn('ask'), Payload: { 'token.$': '$$.Task.Token', 'who.$': '$.who' } },
      ResultPath: '$.decision', End: true,
    },
  },
};

/** A promise and its resolver: resolved when the named function is first invoked. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => { fire = r; });
  return { promise, fire };
}

const never = () => new Promise<never>(() => undefined);
const tick = async (n = 50) => { for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r)); };

function folder(): string {
  return mkdtempSync(path.join(tmpdir(), 'cleanpoint-journal-'));
}

describe('durable executions: resume after the process is gone', () => {
  it('resumes a running execution from the state in progress, with its input; the states before it do not run again', async () => {
    const dir = folder();
    const calls: Array<{ fn: string; event: unknown }> = [];
    const inMiddle = signal();
    const first = engineOver(dir, { m: threeSteps }, async (f, event) => {
      calls.push({ fn: f, event });
      if (f === 'middle') { inMiddle.fire(); return never(); }
      return f;
    }, clockAt(0));
    const started = first.start('m', 'run-1', { n: 1 });
    await inMiddle.promise;
    first.suspend();

    const second = engineOver(dir, { m: threeSteps }, async (f, event) => { calls.push({ fn: f, event }); return f === 'last' ? { done: event } : f; }, clockAt(0));
    const resumed = second.restore();
    expect(resumed.map((e) => e.executionArn)).toEqual([started.executionArn]);
    const done = await second.executions.get(started.executionArn)!.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toEqual({ done: { n: 1, first: 'first', middle: 'middle' } });
    expect(calls.map((c) => c.fn)).toEqual(['first', 'middle', 'middle', 'last']);
    expect(calls[2]!.event).toEqual(calls[1]!.event);
    // One history: ExecutionStarted once, then every state in order.
    expect(done.events.filter((e) => e.type === 'ExecutionStarted')).toHaveLength(1);
    expect(done.events.filter((e) => e.type === 'StateEntered').map((e) => e.state!.name)).toEqual(['First', 'Middle', 'Middle', 'Last']);
    expect(done.transitions).toBe(4);
  });

  it('keeps ended executions with their history and does not run them again', async () => {
    const dir = folder();
    const calls: string[] = [];
    const first = engineOver(dir, { m: threeSteps }, async (f) => { calls.push(f); return f; }, clockAt(0));
    const ok = await first.start('m', 'run-ok', {}).execution.done;
    first.suspend();
    const second = engineOver(dir, { m: threeSteps }, async (f) => { calls.push(f); return f; }, clockAt(0));
    expect(second.restore()).toEqual([]);
    const kept = second.executions.get(ok.executionArn)!;
    expect(kept.status).toBe('SUCCEEDED');
    expect(kept.output).toEqual(ok.output);
    expect(kept.events.map((e) => e.type)).toEqual(ok.events.map((e) => e.type));
    expect((await kept.done).status).toBe('SUCCEEDED');
    expect(calls).toEqual(['first', 'middle', 'last']);
    expect(() => second.start('m', 'run-ok', { other: 1 })).toThrow(/Already Exists/);
  });

  it('a pending callback keeps its token and its deadline; its function is not invoked again', async () => {
    const dir = folder();
    const asked: string[] = [];
    const gotToken = signal();
    const clock1 = clockAt(Date.UTC(2026, 0, 1));
    const first = engineOver(dir, { a: approval }, async (_f, event) => { asked.push((event as { token: string }).token); gotToken.fire(); return {}; }, clock1);
    const started = first.start('a', 'ask-1', { who: 'ana' });
    await gotToken.promise;
    await clock1.advanceAsync(300 * SECOND);
    first.suspend();

    const clock2 = clockAt(clock1.now());
    const second = engineOver(dir, { a: approval }, async (_f, event) => { asked.push((event as { token: string }).token); return {}; }, clock2);
    second.restore();
    await tick();
    expect(asked).toHaveLength(1);
    expect(second.pendingTokens()).toEqual([asked[0]]);
    await clock2.advanceAsync(299 * SECOND);
    expect(second.executions.get(started.executionArn)!.status).toBe('RUNNING');
    second.sendTaskSuccess(asked[0]!, { approved: true });
    const done = await second.executions.get(started.executionArn)!.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toEqual({ who: 'ana', decision: { approved: true } });
    expect(() => second.sendTaskSuccess(asked[0]!, {})).toThrow(TaskTokenError);
  });

  it('a resumed callback times out at its original deadline, not 600 s after the restart', async () => {
    const dir = folder();
    const tokens: string[] = [];
    const gotToken = signal();
    const clock1 = clockAt(Date.UTC(2026, 0, 1));
    const first = engineOver(dir, { a: approval }, async (_f, event) => { tokens.push((event as { token: string }).token); gotToken.fire(); return {}; }, clock1);
    const started = first.start('a', 'ask-2', { who: 'ana' });
    await gotToken.promise;
    await clock1.advanceAsync(500 * SECOND);
    first.suspend();

    const clock2 = clockAt(clock1.now());
    const second = engineOver(dir, { a: approval }, async () => ({}), clock2);
    second.restore();
    await tick();
    await clock2.advanceAsync(101 * SECOND);
    const done = await second.executions.get(started.executionArn)!.done;
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Timeout');
    expect(() => second.sendTaskSuccess(tokens[0]!, {})).toThrow(/Timed Out/);
  });

  it('a callback answered just before the crash, its state not yet ended, keeps that answer', async () => {
    const dir = folder();
    const tokens: string[] = [];
    const gotToken = signal();
    const first = engineOver(dir, { a: approval }, async (_f, event) => { tokens.push((event as { token: string }).token); gotToken.fire(); return {}; }, clockAt(0));
    const started = first.start('a', 'ask-3', { who: 'ana' });
    await gotToken.promise;
    // Suspended between the answer being recorded and the state's end being recorded.
    first.sendTaskSuccess(tokens[0]!, { approved: false });
    first.suspend();
    const second = engineOver(dir, { a: approval }, async (_f, event) => { tokens.push((event as { token: string }).token); return {}; }, clockAt(0));
    second.restore();
    const done = await second.executions.get(started.executionArn)!.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toEqual({ who: 'ana', decision: { approved: false } });
    expect(tokens).toHaveLength(1);
  });

  it('a Wait goes on to its original deadline on the virtual clock', async () => {
    const dir = folder();
    const waitThenLast = { StartAt: 'Hold', States: { Hold: { Type: 'Wait', Seconds: 3600, Next: 'Last' }, Last: { Type: 'Task', Resource: fn('last'), End: true } } };
    const clock1 = clockAt(Date.UTC(2026, 0, 1));
    const first = engineOver(dir, { w: waitThenLast }, async (f) => f, clock1);
    const started = first.start('w', 'wait-1', {});
    await tick();
    await clock1.advanceAsync(1800 * SECOND);
    first.suspend();

    const clock2 = clockAt(clock1.now());
    const calls: string[] = [];
    const second = engineOver(dir, { w: waitThenLast }, async (f) => { calls.push(f); return f; }, clock2);
    second.restore();
    await tick();
    await clock2.advanceAsync(1799 * SECOND);
    await tick();
    expect(second.executions.get(started.executionArn)!.status).toBe('RUNNING');
    expect(calls).toEqual([]);
    await clock2.advanceAsync(2 * SECOND);
    const done = await second.executions.get(started.executionArn)!.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(calls).toEqual(['last']);
  });

  it('a nested .sync child resumes and its parent waits for it: the child is not started twice', async () => {
    const dir = folder();
    const child = { StartAt: 'Middle', States: { Middle: { Type: 'Task', Resource: fn('middle'), End: true } } };
    const parent = {
      StartAt: 'First',
      States: {
        First: { Type: 'Task', Resource: fn('first'), ResultPath: null, Next: 'Run Child' },
        'Run Child': { Type: 'Task', Resource: 'arn:aws:states:::states:startExecution.sync:2', Parameters: { StateMachineArn: { Ref: 'Child' }, 'Name.$': '$.runId', Input: { x: 1 } }, OutputPath: '$.Output', End: true },
      },
    };
    const calls: string[] = [];
    const inChild = signal();
    const first = engineOver(dir, { parent, child }, async (f) => { calls.push(f); if (f === 'middle') { inChild.fire(); return never(); } return f; }, clockAt(0));
    const started = first.start('parent', 'p-1', { runId: 'c-1' });
    await inChild.promise;
    first.suspend();

    const second = engineOver(dir, { parent, child }, async (f) => { calls.push(f); return { from: f }; }, clockAt(0));
    expect(second.restore()).toHaveLength(2);
    const done = await second.executions.get(started.executionArn)!.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toEqual({ from: 'middle' });
    expect(second.executions.size).toBe(2);
    const childRun = [...second.executions.values()].find((e) => e.machine === 'child')!;
    expect(childRun.events.filter((e) => e.type === 'ExecutionStarted')).toHaveLength(1);
    expect(calls).toEqual(['first', 'middle', 'middle']);
  });

  it('a child that ended before the crash answers its parent once the parent resumes', async () => {
    const dir = folder();
    const child = { StartAt: 'Middle', States: { Middle: { Type: 'Task', Resource: fn('middle'), End: true } } };
    const parent = {
      StartAt: 'Run Child',
      States: {
        'Run Child': { Type: 'Task', Resource: 'arn:aws:states:::states:startExecution.sync:2', Parameters: { StateMachineArn: { Ref: 'Child' }, Name: 'c-2', Input: {} }, OutputPath: '$.Output', Next: 'Last' },
        Last: { Type: 'Task', Resource: fn('last'), End: true },
      },
    };
    const calls: string[] = [];
    const childDone = signal();
    let first!: LocalWorkflowEngine;
    first = engineOver(dir, { parent, child }, async (f) => { calls.push(f); if (f === 'last') return never(); return { from: f }; }, clockAt(0));
    const started = first.start('parent', 'p-2', {});
    const childArn = 'arn:aws:states:us-east-1:000000000000:execution:child:c-2';
    await (async () => { while (!first.executions.get(childArn)) await tick(1); await first.executions.get(childArn)!.done; childDone.fire(); })();
    // The parent is let go before it sees the child's end.
    first.suspend();
    const second = engineOver(dir, { parent, child }, async (f) => { calls.push(f); return { from: f }; }, clockAt(0));
    second.restore();
    const done = await second.executions.get(started.executionArn)!.done;
    expect(done.status).toBe('SUCCEEDED');
    expect(calls.filter((c) => c === 'middle')).toHaveLength(1);
  });

  it('task retries go on with the attempts left', async () => {
    const dir = folder();
    const retrying = {
      StartAt: 'Flaky',
      States: { Flaky: { Type: 'Task', Resource: fn('flaky'), Retry: [{ ErrorEquals: ['Boom'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 }], End: true } },
    };
    let attempts = 0;
    const second = signal();
    const boom = () => Object.assign(new Error('boom'), { name: 'Boom' });
    const one = engineOver(dir, { r: retrying }, async () => { attempts++; if (attempts === 2) { second.fire(); return never(); } throw boom(); }, clockAt(0));
    const started = one.start('r', 'retry-1', {});
    await second.promise;
    one.suspend();
    const two = engineOver(dir, { r: retrying }, async () => { attempts++; throw boom(); }, clockAt(0));
    two.restore();
    const done = await two.executions.get(started.executionArn)!.done;
    expect(done.status).toBe('FAILED');
    // 1 attempt + MaxAttempts 2 retries, however the restart fell: the second attempt, cut off by
    // the crash, runs again on resume and counts as that retry, then one retry is left (without
    // the count carried over there would be two more: 5 invocations).
    expect(attempts).toBe(4);
    expect(done.events.filter((e) => e.type === 'StateRetried')).toHaveLength(2);
  });

  it('ignores a last line cut short by the kill, and writes on after it', async () => {
    const dir = folder();
    const inMiddle = signal();
    const first = engineOver(dir, { m: threeSteps }, async (f) => { if (f === 'middle') { inMiddle.fire(); return never(); } return f; }, clockAt(0));
    const started = first.start('m', 'torn-1', {});
    await inMiddle.promise;
    first.suspend();
    const file = path.join(dir, readdirSync(dir)[0]!);
    appendFileSync(file, '{"t":"event","ev":{"type":"StateEx');

    const second = engineOver(dir, { m: threeSteps }, async (f) => f, clockAt(0));
    second.restore();
    expect((await second.executions.get(started.executionArn)!.done).status).toBe('SUCCEEDED');
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines.every((l) => { try { JSON.parse(l); return true; } catch { return false; } })).toBe(true);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ t: 'end', status: 'SUCCEEDED' });
  });

  it('a stop with suspend() publishes nothing and ends nothing', async () => {
    const dir = folder();
    const ended: string[] = [];
    const def = {
      raw: { service: 'test' }, functions: new Map([['middle', {}], ['first', {}], ['last', {}]]),
      stateMachines: new Map([['m', { name: 'm', definition: threeSteps, file: 'm.asl.json' }]]),
    } as unknown as ServerlessDefinition;
    const inMiddle = signal();
    const e = new LocalWorkflowEngine(def, async (f) => { if (f === 'middle') { inMiddle.fire(); return never(); } return f; }, { journal: new ExecutionJournal(dir), onStatusChange: (x) => ended.push(x.status) });
    const started = e.start('m', 'quiet', {});
    await inMiddle.promise;
    e.suspend();
    await started.execution.done;
    expect(ended).toEqual([]);
    expect(started.execution.status).toBe('RUNNING');
  });
});
