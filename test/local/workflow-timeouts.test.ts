/**
 * Task timeouts as Step Functions applies them (Developer Guide, "Task workflow state"), on the
 * runtime's virtual clock:
 *  - TimeoutSeconds / TimeoutSecondsPath (read from the state input): an attempt that runs
 *    longer fails with States.Timeout; without either, the default is 99999999 s, so nothing is
 *    cut (the interpreter's own 60 s wall-clock default must not apply);
 *  - HeartbeatSeconds / HeartbeatSecondsPath on a callback task: no SendTaskHeartbeat for that
 *    long fails it with States.HeartbeatTimeout ("This action resets the Heartbeat clock");
 *  - the machine's TimeoutSeconds ends the execution TIMED_OUT.
 *
 * The clock runs at speed 1 over faked wall-clock timers: the interpreter's timer is a real
 * setTimeout, so a 60 s wall-clock cut would show up here as it did in the runtime.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerlessDefinition } from '../../local/serverless-config.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { type LocalExecution, LocalWorkflowEngine, TaskTokenError, referencePath } from '../../local/workflow-runner.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

let clock: VirtualClock;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'] });
  clock = new VirtualClock({ startMs: Date.UTC(2025, 0, 1), speed: 1 });
});
afterEach(() => {
  clock.dispose();
  vi.useRealTimers();
});

interface Harness {
  engine: LocalWorkflowEngine;
  /** Payloads each function was invoked with. */
  calls: Array<{ fn: string; payload: Record<string, unknown> }>;
}

function harness(definitions: Record<string, Record<string, unknown>>, work: (fn: string, payload: Record<string, unknown>) => Promise<unknown> = async () => ({})): Harness {
  const def = {
    raw: { service: 'test' },
    functions: new Map([['request-approval', {}], ['slow', {}], ['ask', {}]]),
    stateMachines: new Map(Object.entries(definitions).map(([k, d]) => [k, { name: k, definition: d, file: `${k}.asl.json` }])),
  } as unknown as ServerlessDefinition;
  const calls: Harness['calls'] = [];
  const engine = new LocalWorkflowEngine(def, async (fn, payload) => {
    calls.push({ fn, payload: payload as Record<string, unknown> });
    return work(fn, payload as Record<string, unknown>);
  }, { clock });
  return { engine, calls };
}

/** Advance the virtual (and wall) clock by `ms`, letting everything due run. */
async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

async function settled(execution: LocalExecution): Promise<LocalExecution> {
  await elapse(0);
  expect(execution.status).not.toBe('RUNNING');
  return execution.done;
}

const callback = (fields: Record<string, unknown>) => ({
  StartAt: 'Ask',
  States: {
    Ask: {
      Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: 'ask', Payload: { 'taskToken.$': '$$.Task.Token' } }, ...fields,
      Catch: [{ ErrorEquals: ['States.Timeout', 'States.HeartbeatTimeout'], ResultPath: '$.error', Next: 'Gave Up' }],
      Next: 'Answered',
    },
    Answered: { Type: 'Pass', End: true },
    'Gave Up': { Type: 'Pass', End: true },
  },
});

describe('a Task without TimeoutSeconds', () => {
  it('is not cut at 60 s: a task taking 90 virtual seconds succeeds', async () => {
    const slow = { StartAt: 'Slow', States: { Slow: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'slow' }, OutputPath: '$.Payload', End: true } } };
    const { engine } = harness({ m: slow }, async () => { await clock.sleep(90 * SECOND); return { done: true }; });
    const { execution } = engine.start('m', 'slow', {});

    await elapse(89 * SECOND);
    expect(execution.status).toBe('RUNNING');
    await elapse(2 * SECOND);

    const done = await settled(execution);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toEqual({ done: true });
  });

  it('a Wait of two hours is not cut either', async () => {
    const waiting = { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 7200, End: true } } };
    const { execution } = harness({ m: waiting }).engine.start('m', 'pause', { x: 1 });

    await elapse(119 * MINUTE);
    expect(execution.status).toBe('RUNNING');
    await elapse(2 * MINUTE);

    expect((await settled(execution)).status).toBe('SUCCEEDED');
  });
});

describe('the failover approval (Request Failover Approval, TimeoutSecondsPath)', () => {
  /** The state as written in statemachines/incident-response.asl.json, routed to two end states. */
  function approvalMachine(patch: (state: Record<string, unknown>) => void = () => undefined): Record<string, unknown> {
    const asl = JSON.parse(readFileSync(path.resolve('statemachines/incident-response.asl.json'), 'utf8')) as { States: Record<string, Record<string, unknown>> };
    const state = structuredClone(asl.States['Request Failover Approval']!);
    expect(state['TimeoutSecondsPath']).toBe('$.selection.approvalTimeoutSeconds');
    state['Next'] = 'Decided';
    state['Catch'] = [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Expired' }];
    patch(state);
    return { StartAt: 'Request Failover Approval', States: { 'Request Failover Approval': state, Decided: { Type: 'Pass', End: true }, Expired: { Type: 'Pass', End: true } } };
  }
  const input = { incidentId: 'inc-1', selection: { approvalTimeoutSeconds: 600 * 60 } };

  it('does not expire before 600 virtual minutes, and a decision then still resumes it', async () => {
    const { engine, calls } = harness({ m: approvalMachine() });
    const { execution } = engine.start('m', 'approve-late', input);

    await elapse(599 * MINUTE);
    expect(execution.status).toBe('RUNNING');
    engine.sendTaskSuccess(String(calls[0]!.payload['taskToken']), { approved: true });

    const done = await settled(execution);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.events.filter((e) => e.type === 'StateEntered').map((e) => e.state?.name)).toEqual(['Request Failover Approval', 'Decided']);
    expect(done.output).toMatchObject({ approval: { approved: true } });
  });

  it('expires with States.Timeout once 600 virtual minutes have passed, and the token is spent', async () => {
    const { engine, calls } = harness({ m: approvalMachine() });
    const { execution } = engine.start('m', 'nobody-decides', input);

    await elapse(599 * MINUTE);
    expect(execution.status).toBe('RUNNING');
    await elapse(2 * MINUTE);

    const done = await settled(execution);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.events.filter((e) => e.type === 'StateEntered').map((e) => e.state?.name)).toEqual(['Request Failover Approval', 'Expired']);
    expect(done.output).toMatchObject({ error: { Error: 'States.Timeout' } });
    const late = (() => { try { engine.sendTaskSuccess(String(calls[0]!.payload['taskToken']), {}); } catch (e) { return e; } })();
    expect(late).toBeInstanceOf(TaskTokenError);
  });

  it('reads the timeout from the state input, not from the payload the function gets', async () => {
    const { engine } = harness({ m: approvalMachine((state) => {
      const payload = (state['Parameters'] as { Payload: Record<string, unknown> }).Payload;
      delete payload['timeoutSeconds.$'];
      payload['timeoutSeconds'] = 60;
    }) });
    const { execution } = engine.start('m', 'payload-disagrees', input);

    await elapse(30 * MINUTE);
    expect(execution.status).toBe('RUNNING');
    await elapse(571 * MINUTE);

    expect((await settled(execution)).events.at(-2)?.state?.name).toBe('Expired');
  });

  it('fails the execution with States.Runtime, past its Catch, when the path selects no positive integer', async () => {
    const { engine, calls } = harness({ m: approvalMachine((state) => {
      state['Catch'] = [{ ErrorEquals: ['States.ALL'], Next: 'Expired' }];
      const payload = (state['Parameters'] as { Payload: Record<string, unknown> }).Payload;
      delete payload['timeoutSeconds.$'];
      payload['timeoutSeconds'] = 3600;
    }) });
    const { execution } = engine.start('m', 'no-timeout', { incidentId: 'inc-1', selection: { approvalTimeoutSeconds: 'soon' } });

    const done = await settled(execution);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Runtime');
    expect(done.cause).toContain('TimeoutSecondsPath');
    expect(calls).toEqual([]);
  });
});

describe('HeartbeatSeconds of a callback task', () => {
  it('fails with States.HeartbeatTimeout when no SendTaskHeartbeat arrives for HeartbeatSeconds', async () => {
    const { engine } = harness({ m: callback({ TimeoutSeconds: 3600, HeartbeatSeconds: 60 }) });
    const { execution } = engine.start('m', 'silent', {});

    await elapse(59 * SECOND);
    expect(execution.status).toBe('RUNNING');
    await elapse(2 * SECOND);

    const done = await settled(execution);
    expect(done.output).toMatchObject({ error: { Error: 'States.HeartbeatTimeout' } });
  });

  it('stays alive while heartbeats arrive, and times out HeartbeatSeconds after the last one', async () => {
    const { engine, calls } = harness({ m: callback({ TimeoutSeconds: 3600, HeartbeatSeconds: 60 }) });
    const { execution } = engine.start('m', 'beating', {});
    await elapse(0);
    const token = String(calls[0]!.payload['taskToken']);

    for (let i = 0; i < 5; i++) {
      await elapse(50 * SECOND);
      engine.sendTaskHeartbeat(token);
    }
    await elapse(59 * SECOND);
    expect(execution.status).toBe('RUNNING');
    await elapse(2 * SECOND);

    const done = await settled(execution);
    expect(done.output).toMatchObject({ error: { Error: 'States.HeartbeatTimeout' } });
    expect(() => engine.sendTaskHeartbeat(token)).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
    expect(() => engine.sendTaskSuccess(token, {})).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
  });

  it('does not extend TimeoutSeconds: heartbeats keep it alive only until the timeout', async () => {
    const { engine, calls } = harness({ m: callback({ TimeoutSeconds: 300, HeartbeatSeconds: 60 }) });
    const { execution } = engine.start('m', 'timeout-wins', {});
    await elapse(0);
    const token = String(calls[0]!.payload['taskToken']);
    for (let i = 0; i < 6; i++) {
      await elapse(50 * SECOND);
      if (execution.status === 'RUNNING') try { engine.sendTaskHeartbeat(token); } catch { /* timed out */ }
    }

    const done = await settled(execution);
    expect(done.output).toMatchObject({ error: { Error: 'States.Timeout' } });
  });

  it('reads HeartbeatSecondsPath from the state input', async () => {
    const { engine } = harness({ m: callback({ HeartbeatSecondsPath: '$.beatEvery' }) });
    const { execution } = engine.start('m', 'by-path', { beatEvery: 120 });

    await elapse(119 * SECOND);
    expect(execution.status).toBe('RUNNING');
    await elapse(2 * SECOND);

    expect((await settled(execution)).output).toMatchObject({ error: { Error: 'States.HeartbeatTimeout' } });
  });

  it('an answer before the heartbeat runs out succeeds, and unknown tokens are InvalidToken', async () => {
    const { engine, calls } = harness({ m: callback({ HeartbeatSeconds: 60 }) });
    const { execution } = engine.start('m', 'answered', {});
    await elapse(30 * SECOND);
    engine.sendTaskSuccess(String(calls[0]!.payload['taskToken']), { ok: true });

    expect((await settled(execution)).events.at(-2)?.state?.name).toBe('Answered');
    expect(() => engine.sendTaskHeartbeat('no-such-token')).toThrow(expect.objectContaining({ name: 'InvalidToken' }));
  });
});

describe("the state machine's TimeoutSeconds", () => {
  it('ends the execution TIMED_OUT on the virtual clock', async () => {
    const drillLike = { TimeoutSeconds: 6 * 3600, StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 7 * 3600, End: true } } };
    const { execution } = harness({ m: drillLike }).engine.start('m', 'too-long', {});

    await elapse(6 * 3600 * SECOND - MINUTE);
    expect(execution.status).toBe('RUNNING');
    await elapse(2 * MINUTE);

    const done = await settled(execution);
    expect(done.status).toBe('TIMED_OUT');
    expect(done.error).toBe('States.Timeout');
    expect(done.events.at(-1)?.type).toBe('ExecutionTimeout');
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('referencePath', () => {
  it('selects one node by dots, quoted brackets and indices, and nothing for a missing one', () => {
    const doc = { a: { 'b c': [{ d: 7 }] } };
    expect(referencePath('$.a', doc)).toEqual({ found: true, value: doc.a });
    expect(referencePath("$.a['b c'][0].d", doc)).toEqual({ found: true, value: 7 });
    expect(referencePath('$', doc)).toEqual({ found: true, value: doc });
    expect(referencePath('$.a.x', doc)).toEqual({ found: false });
    expect(referencePath("$.a['b c'][3]", doc)).toEqual({ found: false });
    expect(referencePath('$..d', doc)).toEqual({ found: false });
  });
});
