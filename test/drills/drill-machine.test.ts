/**
 * statemachines/drill.asl.json executed in the local ASL interpreter with scripted tasks: every
 * path ends in the cleanup, whatever failed; the cleanup-only path (after an abort) runs the
 * same cleanup states; a cleanup that fails raises the alarm and fails the execution.
 * (The static rules every machine obeys are checked by test/statemachines/static.test.ts.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Handler = (input: JsonObject) => Json | Promise<Json>;

const definition = JSON.parse(readFileSync(path.resolve('statemachines/drill.asl.json'), 'utf8')) as JsonObject;

function resolveIntrinsics(value: Json): Json {
  if (Array.isArray(value)) return value.map(resolveIntrinsics);
  if (value && typeof value === 'object') {
    if (Array.isArray(value['Fn::GetAtt'])) return `arn:aws:lambda:us-east-1:123456789012:function:cleanpoint-test-${String(value['Fn::GetAtt'][0])}`;
    if (typeof value['Ref'] === 'string') return `arn:aws:states:us-east-1:123456789012:stateMachine:cleanpoint-test-${value['Ref']}`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveIntrinsics(v)]));
  }
  return value;
}

function named(name: string, message = name): Error {
  return Object.assign(new Error(message), { name });
}

const states = Object.entries(definition['States'] as Record<string, JsonObject>);
const TASKS = states.filter(([, s]) => s['Type'] === 'Task').map(([n]) => n);

async function execute(input: JsonObject, overrides: Record<string, Handler> = {}) {
  const calls: [string, JsonObject][] = [];
  const base: Record<string, Handler> = {
    'Start Drill': (i) => ({ runId: String(i['drillId']), kind: 'drill', mode: 'test', waves: [{ wave: 1, machines: [{ runId: String(i['drillId']), kind: 'drill', mode: 'test', machineId: 'db-1' }] }] }),
    'Launch Group In Test Mode': (i) => ({ ExecutionArn: `arn:aws:states:us-east-1:123456789012:execution:failover:${String(i['Name'])}`, Status: 'SUCCEEDED', Output: {} }),
    'Run Acceptance Checks': (i) => ({ drillId: i['drillId']!, passed: 2, total: 2 }),
    'Record Drill Result': (i) => ({ drillId: i['drillId']!, result: i['outcome'] === 'completed' ? 'pass' : 'fail', rtoMinutes: 5 }),
    'Record Drill Failure': (i) => ({ drillId: i['drillId']!, result: 'fail', rtoMinutes: null }),
    'Clean Up Drill': () => ({ terminated: ['i-1'], deregistered: ['ami-1'], remaining: [] }),
    'Finish Drill': (i) => ({ drillId: i['drillId']!, status: 'finished', result: 'pass', cleanup: 'clean', remaining: [] }),
    'Record Cleanup Failure': (i) => ({ drillId: i['drillId']!, status: 'finished', result: 'pass', cleanup: 'incomplete', remaining: ['instance i-1 (running)'] }),
    ...overrides,
  };
  const handlers = Object.fromEntries(TASKS.map((n) => [n, (i: unknown) => {
    calls.push([n, i as JsonObject]);
    const h = base[n];
    if (!h) throw new Error(`no handler for ${n}`);
    return h(i as JsonObject);
  }]));
  const machine = new StateMachine(resolveIntrinsics(definition) as unknown as StateMachineDefinition);
  const run = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      waitTimeOverrides: Object.fromEntries(states.filter(([, s]) => s['Type'] === 'Wait').map(([n]) => [n, 0])),
      retryIntervalOverrides: Object.fromEntries(TASKS.map((n) => [n, 0])),
    },
    context: { Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:drill:drill-payments-x' } },
  });
  const entered: string[] = [];
  let error: { Error: string; Cause: string } | undefined;
  const logs = (async () => {
    for await (const e of run.eventLogs) {
      if (e.type === 'StateEntered') entered.push(e.state.name);
      if (e.type === 'ExecutionFailed') error = { Error: e.Error, Cause: String(e.Cause) };
    }
  })();
  let output: unknown;
  try { output = await run.result; } catch { /* the ExecutionFailed event carries it */ }
  await logs;
  return { calls, names: calls.map(([n]) => n), entered, output, error };
}

const RUN = { action: 'run', drillId: 'drill-payments-x', group: 'payments', point: 'latest', trigger: 'on-demand', requestedBy: 'eve' };
const AFTER_FAILURE = ['Record Drill Failure', 'Clean Up Drill', 'Finish Drill'];

describe('drill state machine', () => {
  it('selects, launches through the failover machine, checks, records, cleans up and succeeds', async () => {
    const { calls, names, output, error } = await execute(RUN);

    expect(error).toBeUndefined();
    expect(names).toEqual(['Start Drill', 'Launch Group In Test Mode', 'Run Acceptance Checks', 'Record Drill Result', 'Clean Up Drill', 'Finish Drill']);
    expect(calls[0]![1]).toEqual({ drillId: 'drill-payments-x', group: 'payments', point: 'latest', trigger: 'on-demand', requestedBy: 'eve' });
    expect(calls[1]![1]).toMatchObject({
      StateMachineArn: expect.stringContaining('FailoverStateMachine'), Name: 'drill-payments-x',
      Input: { runId: 'drill-payments-x', kind: 'drill', mode: 'test', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: expect.stringContaining(':execution:') },
    });
    expect(calls[3]![1]).toEqual({ step: 'result', drillId: 'drill-payments-x', outcome: 'completed' });
    expect(calls[4]![1]).toEqual({ runId: 'drill-payments-x', kind: 'drill' });
    expect(calls[5]![1]).toEqual({ step: 'finish', drillId: 'drill-payments-x', cleanup: { terminated: ['i-1'], deregistered: ['ami-1'], remaining: [] } });
    expect(output).toEqual({ drillId: 'drill-payments-x', status: 'finished', result: 'pass', cleanup: 'clean', remaining: [] });
  });

  it.each([
    ['Start Drill', named('NoEligibleRecoveryPointError', 'no eligible point for db-1')],
    ['Launch Group In Test Mode', named('States.TaskFailed', '{"Error":"WaveFailed"}')],
    ['Run Acceptance Checks', named('MachineCheckFailedError', 'acceptance checks failed: api-health')],
  ])('records a failure in %s, still cleans up, and fails the execution', async (state, failure) => {
    const { calls, names, error } = await execute(RUN, {
      [state]: () => { throw failure; },
      'Finish Drill': (i) => ({ drillId: i['drillId']!, status: 'finished', result: 'fail', cleanup: 'clean', remaining: [] }),
    });

    expect(names.slice(-3)).toEqual(AFTER_FAILURE);
    expect(names.slice(0, names.indexOf(state) + 1).at(-1)).toBe(state);
    expect(calls.find(([n]) => n === 'Record Drill Failure')![1]).toMatchObject({ step: 'result', outcome: 'failed', error: { Error: failure.name, Cause: failure.message } });
    expect(error?.Error).toBe('DrillFailed');
  });

  it('cleans up even when recording the result fails', async () => {
    const { names } = await execute(RUN, { 'Record Drill Result': () => { throw named('TransientError', 'DynamoDB unavailable'); } });
    expect(names.slice(-2)).toEqual(['Clean Up Drill', 'Finish Drill']);
  });

  it('retries an incomplete cleanup, then records what is left (the alarm) and fails with the cleanup\'s error', async () => {
    let cleanups = 0;
    const { names, error } = await execute(RUN, { 'Clean Up Drill': () => { cleanups++; throw named('CleanupIncompleteError', 'cleanup of drill-payments-x left i-1'); } });

    expect(cleanups).toBe(4); // the first try and three retries
    expect(names.slice(-1)).toEqual(['Record Cleanup Failure']);
    expect(error).toEqual({ Error: 'CleanupIncompleteError', Cause: 'cleanup of drill-payments-x left i-1' });
  });

  it('after an abort, only waits for in-flight launches and runs the same cleanup states', async () => {
    const { names, entered, output, error } = await execute({ ...RUN, action: 'cleanup', requestedBy: 'cleanpoint' }, {
      'Finish Drill': (i) => ({ drillId: i['drillId']!, status: 'aborted', result: 'fail', cleanup: 'clean', remaining: [] }),
    });

    expect(error).toBeUndefined();
    expect(names).toEqual(['Clean Up Drill', 'Finish Drill']);
    expect(entered).toEqual(['Cleanup Only?', 'Wait For In Flight Launches', 'Clean Up Drill', 'Finish Drill', 'Drill Passed?', 'Aborted Drill Cleaned Up']);
    expect(output).toMatchObject({ status: 'aborted', cleanup: 'clean' });
  });

  it('is bounded: a drill execution times out (and the abort rule then cleans up)', () => {
    expect(definition['TimeoutSeconds']).toBe(6 * 3600);
  });
});
