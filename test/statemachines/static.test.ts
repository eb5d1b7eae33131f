/**
 * Static checks on the Amazon States Language definitions in statemachines/, plus executions of
 * the failover machine (and the incident-response paths) in the local ASL interpreter.
 *
 * Rules checked here (STYLE.md, "State machines"):
 * - asl-validator accepts the definition; JSONPath only (no JSONata);
 * - every Next/Default/Catch target exists in its scope and every state is reachable;
 * - every state has a Comment; names are Title Case; Choice states, and only they, end in `?`;
 * - every Task has its own Retry and Catch; every Lambda task retries the four Lambda service
 *   errors (2 s, 6 attempts, backoff 2, full jitter);
 * - every `.waitForTaskToken` Task has a timeout, catches States.Timeout and passes the token
 *   in its payload (never anywhere else);
 * - every ErrorEquals name is a States.* / Lambda.* error, an ERROR_NAMES entry, or one of the
 *   few service-integration errors listed below;
 * - every `Fn::GetAtt` names a function declared in serverless.yml and every `Ref` a state
 *   machine declared there.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, type Tags } from 'yaml';
import { ERROR_NAMES } from '../../domain/shared/index.ts';

// asl-validator ships no type declarations; it also mutates its input, hence structuredClone.
type AslValidator = (definition: unknown) => { isValid: boolean; errors: unknown[]; errorsText: (separator?: string) => string };
const validateAsl = createRequire(import.meta.url)('asl-validator') as AslValidator;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type State = JsonObject & { Type: string };
interface Scope {
  readonly path: string;
  readonly startAt: string;
  readonly states: Record<string, State>;
}

const ROOT = process.cwd();
const MACHINES = ['incident-response', 'failover', 'failback', 'drill'] as const;
type MachineName = (typeof MACHINES)[number];

/** Error names of AWS service integrations (not Lambda) that a retrier may name. */
const SERVICE_INTEGRATION_ERRORS = [
  // StartExecution quota: AWS recommends retrying it on nested-workflow tasks.
  'StepFunctions.ExecutionLimitExceeded',
];
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

function loadDefinition(name: MachineName): JsonObject {
  return JSON.parse(readFileSync(path.join(ROOT, 'statemachines', `${name}.asl.json`), 'utf8')) as JsonObject;
}

/** CloudFormation short-form tags, so serverless.yml parses into the long form the plugin sees. */
const cfnTags: Tags = [
  ['Ref', 'scalar'],
  ['Sub', 'scalar'],
  ['Sub', 'seq'],
  ['GetAtt', 'scalar'],
  ['GetAtt', 'seq'],
  ['Join', 'seq'],
  ['If', 'seq'],
  ['Not', 'seq'],
  ['Equals', 'seq'],
].map(([name, kind]) => ({
  tag: `!${name}`,
  collection: kind === 'seq' ? ('seq' as const) : undefined,
  resolve: (value: unknown) => {
    const v = value && typeof value === 'object' && 'toJSON' in value ? (value as { toJSON: () => unknown }).toJSON() : value;
    if (name === 'Ref') return { Ref: v };
    if (name === 'GetAtt' && typeof v === 'string') return { 'Fn::GetAtt': v.split('.') };
    return { [`Fn::${name}`]: v };
  },
})) as Tags;

interface ServerlessConfig {
  functions: Record<string, { handler: string }>;
  stepFunctions: { stateMachines: Record<string, { id: string; definition: string }> };
}

function loadServerlessConfig(): ServerlessConfig {
  return parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { merge: true, customTags: cfnTags }) as ServerlessConfig;
}

function scopesOf(definition: JsonObject, at = '$'): Scope[] {
  const states = definition['States'] as Record<string, State>;
  const scopes: Scope[] = [{ path: at, startAt: definition['StartAt'] as string, states }];
  for (const [name, state] of Object.entries(states)) {
    const processor = (state['ItemProcessor'] ?? state['Iterator']) as JsonObject | undefined;
    if (processor) scopes.push(...scopesOf(processor, `${at} > ${name}`));
    const branches = state['Branches'] as JsonObject[] | undefined;
    branches?.forEach((b, i) => scopes.push(...scopesOf(b, `${at} > ${name}[${i}]`)));
  }
  return scopes;
}

function allStates(definition: JsonObject): Array<[string, State]> {
  return scopesOf(definition).flatMap((s) => Object.entries(s.states));
}

function transitionsOf(state: State): string[] {
  const targets: string[] = [];
  if (typeof state['Next'] === 'string') targets.push(state['Next']);
  if (typeof state['Default'] === 'string') targets.push(state['Default']);
  for (const c of (state['Choices'] as JsonObject[] | undefined) ?? []) targets.push(c['Next'] as string);
  for (const c of (state['Catch'] as JsonObject[] | undefined) ?? []) targets.push(c['Next'] as string);
  return targets;
}

function isTerminal(state: State): boolean {
  return state.Type === 'Succeed' || state.Type === 'Fail' || state['End'] === true;
}

function walk(value: Json, visit: (node: JsonObject) => void): void {
  if (Array.isArray(value)) value.forEach((v) => walk(v, visit));
  else if (value && typeof value === 'object') {
    visit(value);
    Object.values(value).forEach((v) => walk(v, visit));
  }
}

function isLambdaTask(state: State): boolean {
  const r = state['Resource'];
  return (typeof r === 'object' && r !== null && 'Fn::GetAtt' in r) || (typeof r === 'string' && r.startsWith('arn:aws:states:::lambda:invoke'));
}

describe.each(MACHINES)('statemachines/%s.asl.json', (name) => {
  const definition = loadDefinition(name);
  const states = allStates(definition);
  const tasks = states.filter(([, s]) => s.Type === 'Task');

  it('is valid ASL according to asl-validator', () => {
    const result = validateAsl(structuredClone(definition));
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('uses JSONPath only, never JSONata', () => {
    expect([undefined, 'JSONPath']).toContain(definition['QueryLanguage']);
    for (const [stateName, state] of states) {
      expect([undefined, 'JSONPath'], stateName).toContain(state['QueryLanguage']);
      expect(state['Arguments'], stateName).toBeUndefined();
      expect(state['Output'], stateName).toBeUndefined();
    }
    expect(JSON.stringify(definition)).not.toContain('{%');
  });

  it('has unique state names across all scopes (local overrides are keyed by name)', () => {
    const names = states.map(([n]) => n);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(scopesOf(definition).map((s) => [s.path, s] as const))('scope %s: every transition target exists and every state is reachable', (_path, scope) => {
    expect(scope.states[scope.startAt], `StartAt ${scope.startAt}`).toBeDefined();
    for (const [stateName, state] of Object.entries(scope.states)) {
      for (const target of transitionsOf(state)) expect(scope.states[target], `${stateName} -> ${target}`).toBeDefined();
      expect(isTerminal(state) || transitionsOf(state).length > 0, `${stateName} goes nowhere`).toBe(true);
    }
    const reached = new Set<string>([scope.startAt]);
    const queue = [scope.startAt];
    while (queue.length) {
      const current = scope.states[queue.shift()!]!;
      for (const t of transitionsOf(current)) if (!reached.has(t)) (reached.add(t), queue.push(t));
    }
    expect(Object.keys(scope.states).filter((n) => !reached.has(n))).toEqual([]);
  });

  it('gives every state a Comment and a Title Case name; only Choice states are questions', () => {
    expect(typeof definition['Comment']).toBe('string');
    for (const [stateName, state] of states) {
      expect(typeof state['Comment'] === 'string' && state['Comment'].length > 10, `${stateName} has no Comment`).toBe(true);
      expect(stateName, 'Title Case').toMatch(/^[A-Z][A-Za-z]*( [A-Z][A-Za-z]*)*\??$/);
      expect(stateName.endsWith('?'), `${stateName}: ${state.Type}`).toBe(state.Type === 'Choice');
    }
  });

  it('gives every Task its own Retry and Catch, and a Catch on States.ALL', () => {
    expect(tasks.length).toBeGreaterThan(0);
    for (const [stateName, task] of tasks) {
      expect((task['Retry'] as Json[] | undefined)?.length, `${stateName} Retry`).toBeGreaterThan(0);
      const catchers = (task['Catch'] as JsonObject[] | undefined) ?? [];
      const last = catchers.at(-1);
      expect(last?.['ErrorEquals'], `${stateName} ends its Catch with States.ALL`).toEqual(['States.ALL']);
    }
  });

  it('retries the Lambda service errors in every Lambda task (2 s, 6 attempts, backoff 2, full jitter)', () => {
    for (const [stateName, task] of tasks.filter(([, t]) => isLambdaTask(t))) {
      const retry = (task['Retry'] as JsonObject[]).find((r) => LAMBDA_SERVICE_ERRORS.every((e) => (r['ErrorEquals'] as string[]).includes(e)));
      expect(retry, stateName).toMatchObject({ IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, JitterStrategy: 'FULL' });
    }
  });

  it('bounds every .waitForTaskToken wait, catches its timeout and hands the token only to the function payload', () => {
    for (const [stateName, task] of tasks.filter(([, t]) => String(t['Resource']).endsWith('.waitForTaskToken'))) {
      expect(task['TimeoutSeconds'] !== undefined || task['TimeoutSecondsPath'] !== undefined, `${stateName} timeout`).toBe(true);
      const catchers = task['Catch'] as JsonObject[];
      expect(catchers.some((c) => (c['ErrorEquals'] as string[]).includes('States.Timeout')), `${stateName} catches States.Timeout`).toBe(true);
      const parameters = task['Parameters'] as JsonObject;
      expect((parameters['Payload'] as JsonObject)['taskToken.$']).toBe('$$.Task.Token');
    }
    // The token appears nowhere but in those payloads (not in a ResultPath, an Input, a URL).
    const tokenUses = JSON.stringify(definition).match(/\$\$\.Task\.Token/g) ?? [];
    expect(tokenUses.length).toBe(tasks.filter(([, t]) => String(t['Resource']).endsWith('.waitForTaskToken')).length);
  });

  it('names only known errors in ErrorEquals', () => {
    const known = new Set<string>([...ERROR_NAMES, ...SERVICE_INTEGRATION_ERRORS]);
    const unknown: string[] = [];
    walk(definition, (node) => {
      const names = node['ErrorEquals'];
      if (!Array.isArray(names)) return;
      for (const n of names as string[]) if (!/^(States|Lambda)\.[A-Za-z]+$/.test(n) && !known.has(n)) unknown.push(n);
    });
    expect(unknown).toEqual([]);
  });

  it('references only functions and state machines declared in serverless.yml', () => {
    const config = loadServerlessConfig();
    const functionKeys = Object.keys(config.functions);
    const machineIds = Object.values(config.stepFunctions.stateMachines).map((m) => m.id);
    const refs: string[] = [];
    walk(definition, (node) => {
      const getAtt = node['Fn::GetAtt'];
      if (Array.isArray(getAtt)) {
        expect(functionKeys, `Fn::GetAtt ${String(getAtt[0])}`).toContain(getAtt[0]);
        expect(getAtt[1]).toBe('Arn');
        refs.push(String(getAtt[0]));
      }
      if (typeof node['Ref'] === 'string') expect(machineIds, `Ref ${node['Ref']}`).toContain(node['Ref']);
    });
    expect(refs.length).toBeGreaterThan(0);
    expect(Object.values(config.stepFunctions.stateMachines).map((m) => m.definition)).toContain(`\${file(./statemachines/${name}.asl.json)}`);
  });
});

describe('statemachines/incident-response.asl.json contract', () => {
  const states = Object.fromEntries(allStates(loadDefinition('incident-response')));

  it('waits for approval with a timeout taken from the selection, escalates once, then expires', () => {
    const request = states['Request Failover Approval']!;
    const escalate = states['Escalate To Next Deciders']!;
    for (const s of [request, escalate]) {
      expect(s['Resource']).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(s['TimeoutSecondsPath']).toBe('$.selection.approvalTimeoutSeconds');
      expect(s['HeartbeatSeconds']).toBeUndefined();
    }
    for (const s of [request, escalate]) {
      // The function learns the wait's length, so the approval request expires with it.
      expect(((s['Parameters'] as JsonObject)['Payload'] as JsonObject)['timeoutSeconds.$']).toBe(s['TimeoutSecondsPath']);
    }
    expect(((request['Parameters'] as JsonObject)['Payload'] as JsonObject)['escalation']).toBe(false);
    expect(((escalate['Parameters'] as JsonObject)['Payload'] as JsonObject)['escalation']).toBe(true);
    const timeoutTarget = (s: State) => (s['Catch'] as JsonObject[]).find((c) => (c['ErrorEquals'] as string[]).includes('States.Timeout'))?.['Next'];
    expect(timeoutTarget(request)).toBe('Escalate To Next Deciders');
    expect(timeoutTarget(escalate)).toBe('Record Expiry');
    expect(states['Approval Expired']).toMatchObject({ Type: 'Fail', Error: 'ApprovalExpired' });
  });

  it('starts the failover machine synchronously, named per approval (plan-failover runName), with the parent execution id', () => {
    const run = states['Run Failover']!;
    expect(run['Resource']).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(run['Parameters']).toMatchObject({
      StateMachineArn: { Ref: 'FailoverStateMachine' },
      'Name.$': '$.plan.runName',
      Input: { 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Executions in the local interpreter (aws-local-stepfunctions)

const ACCOUNT = '123456789012';

/**
 * aws-local-stepfunctions 3.0.0 resolves TimeoutSecondsPath against the task's effective
 * parameters; Step Functions resolves it against the state input (the Developer Guide's Glue
 * example reads `$.params.maxTime` next to `Parameters: {JobName}`). Our definitions hand the
 * same value to the function payload, so for local execution the path is rewritten to point
 * at that payload field. The rewrite refuses to guess: the payload must carry the very path.
 */
function withLocalTimeoutPaths(definition: JsonObject): JsonObject {
  const copy = structuredClone(definition);
  walk(copy, (node) => {
    const timeoutPath = node['TimeoutSecondsPath'];
    if (typeof timeoutPath !== 'string') return;
    const payload = ((node['Parameters'] as JsonObject | undefined)?.['Payload'] ?? {}) as JsonObject;
    const key = Object.keys(payload).find((k) => k.endsWith('.$') && payload[k] === timeoutPath);
    if (!key) throw new Error(`TimeoutSecondsPath ${timeoutPath} is not also passed in the payload`);
    node['TimeoutSecondsPath'] = `$.Payload.${key.slice(0, -2)}`;
  });
  return copy;
}

/** Replace Fn::GetAtt / Ref objects with placeholder ARNs, as CloudFormation would. */
function resolveIntrinsics(value: Json): Json {
  if (Array.isArray(value)) return value.map(resolveIntrinsics);
  if (value && typeof value === 'object') {
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `arn:aws:lambda:us-east-1:${ACCOUNT}:function:cleanpoint-test-${String(getAtt[0])}`;
    if (typeof value['Ref'] === 'string') return `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:cleanpoint-test-${value['Ref']}`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveIntrinsics(v)]));
  }
  return value;
}

function namedError(name: string, message = name): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

type Handler = (input: JsonObject) => Json | Promise<Json>;

interface Entered {
  readonly name: string;
  readonly input: JsonObject;
}

async function execute(
  name: MachineName,
  input: JsonObject,
  handlers: Record<string, Handler>,
): Promise<{ entered: Entered[]; output?: Json; error?: { Error: string; Cause: string } }> {
  const machine = new StateMachine(resolveIntrinsics(withLocalTimeoutPaths(loadDefinition(name))) as unknown as StateMachineDefinition);
  // Every Task must be overridden, or the interpreter would call real AWS.
  const taskNames = allStates(loadDefinition(name)).filter(([, s]) => s.Type === 'Task').map(([n]) => n);
  const overrides = Object.fromEntries(
    taskNames.map((n) => [n, (i: unknown) => {
      const h = handlers[n];
      if (!h) throw new Error(`test did not expect task ${n} to run`);
      return h(i as JsonObject);
    }]),
  );
  const waits = allStates(loadDefinition(name)).filter(([, s]) => s.Type === 'Wait').map(([n]) => [n, 0]);
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: overrides as never,
      waitTimeOverrides: Object.fromEntries(waits),
      retryIntervalOverrides: Object.fromEntries(taskNames.map((n) => [n, 0])),
    },
    context: { Execution: { Id: `arn:aws:states:us-east-1:${ACCOUNT}:execution:test:1` }, Task: { Token: 'task-token-1' } },
  });
  const entered: Entered[] = [];
  let error: { Error: string; Cause: string } | undefined;
  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') entered.push({ name: event.state.name, input: event.state.input as JsonObject });
      if (event.type === 'ExecutionFailed') error = { Error: event.Error, Cause: String(event.Cause) };
    }
  })();
  let output: Json | undefined;
  try {
    output = (await execution.result) as Json;
  } catch {
    // the ExecutionFailed event carries the error
  }
  await logs;
  return error ? { entered, error } : { entered, output: output ?? null };
}

function failoverInput(mode: 'test' | 'recovery', wavesOf: number[]): JsonObject {
  const runId = 'run-1';
  return {
    runId,
    kind: 'drill',
    mode,
    waves: wavesOf.map((count, w) => ({
      wave: w + 1,
      machines: Array.from({ length: count }, (_, i) => ({ runId, kind: 'drill', mode, machineId: `w${w + 1}-m${String(i + 1).padStart(2, '0')}` })),
    })),
  };
}

const MACHINE_STATES = new Set(['Launch Machine', 'Wait For Boot', 'Check Machine', 'Record Machine Failure']);

function failoverHandlers(calls: string[], failLaunchOf?: string): Record<string, Handler> {
  return {
    'Launch Machine': (i) => {
      calls.push(`launch ${i['machineId']}`);
      if (i['machineId'] === failLaunchOf) throw namedError('LaunchFailedError', 'no capacity in any fallback instance type');
      return { ...i, instanceId: `i-${String(i['machineId'])}`, waitSeconds: 45 };
    },
    'Check Machine': (i) => {
      calls.push(`check ${i['machineId']}`);
      return { runId: i['runId']!, machineId: i['machineId']!, instanceId: i['instanceId']!, ready: true };
    },
    'Clean Up Test Machines': (i) => {
      calls.push(`cleanup ${JSON.stringify(i)}`);
      return { terminated: ['i-w1-m01'], deregistered: ['ami-1'], remaining: [] };
    },
  };
}

describe('failover machine, executed locally', () => {
  it('launches 20 machines in 2 waves, wave 2 only after wave 1, in at most 10 state transitions per machine', async () => {
    const calls: string[] = [];
    const { entered, output, error } = await execute('failover', failoverInput('recovery', [10, 10]), failoverHandlers(calls));

    expect(error).toBeUndefined();
    expect(output).toEqual({ runId: 'run-1', kind: 'drill', mode: 'recovery', waveCount: 2 });
    expect(calls.filter((c) => c.startsWith('launch')).length).toBe(20);
    expect(calls.filter((c) => c.startsWith('check')).length).toBe(20);
    const lastWave1Check = calls.findLastIndex((c) => c.startsWith('check w1-'));
    const firstWave2Launch = calls.findIndex((c) => c.startsWith('launch w2-'));
    expect(lastWave1Check).toBeLessThan(firstWave2Launch);

    const perMachine = new Map<string, number>();
    let shared = 0;
    for (const e of entered) {
      if (MACHINE_STATES.has(e.name)) perMachine.set(String(e.input['machineId']), (perMachine.get(String(e.input['machineId'])) ?? 0) + 1);
      else shared += 1;
    }
    expect(perMachine.size).toBe(20);
    for (const [machineId, count] of perMachine) expect(count, machineId).toBe(3); // Launch ▶ Wait ▶ Check
    const worst = Math.max(...perMachine.values()) + shared / perMachine.size;
    expect(worst).toBeLessThanOrEqual(10);
  });

  it('records a machine that fails to launch, finishes its wave, never starts the next wave and cleans up a test run', async () => {
    const calls: string[] = [];
    const { entered, error } = await execute('failover', failoverInput('test', [10, 10]), failoverHandlers(calls, 'w1-m04'));

    expect(error?.Error).toBe('WaveFailed');
    const machines = JSON.parse(error!.Cause) as Array<{ machineId: string; failed: boolean; error?: string }>;
    expect(machines.filter((m) => m.failed)).toEqual([expect.objectContaining({ machineId: 'w1-m04', failed: true, error: 'LaunchFailedError' })]);
    expect(machines.length).toBe(10);
    // The rest of wave 1 was launched and checked: a machine failure does not abort its wave.
    expect(calls.filter((c) => c.startsWith('check w1-')).length).toBe(9);
    expect(calls.some((c) => c.includes('w2-'))).toBe(false);
    expect(calls.filter((c) => c.startsWith('cleanup'))).toEqual([`cleanup ${JSON.stringify({ runId: 'run-1', kind: 'drill' })}`]);
    expect(entered.map((e) => e.name)).toContain('Record Machine Failure');
  });

  it('does not clean up a failed recovery run (its machines are left for the operators)', async () => {
    const calls: string[] = [];
    const { error } = await execute('failover', failoverInput('recovery', [3, 3]), failoverHandlers(calls, 'w1-m02'));

    expect(error?.Error).toBe('WaveFailed');
    expect(calls.some((c) => c.startsWith('cleanup'))).toBe(false);
    expect(calls.some((c) => c.includes('w2-'))).toBe(false);
  });

  it('retries a machine that is still booting and treats a failed check as a machine failure', async () => {
    const calls: string[] = [];
    let notReady = 2;
    const handlers = failoverHandlers(calls);
    handlers['Check Machine'] = (i) => {
      calls.push(`check ${i['machineId']}`);
      if (i['machineId'] === 'w1-m01' && notReady-- > 0) throw namedError('MachineNotReadyError');
      if (i['machineId'] === 'w1-m02') throw namedError('MachineCheckFailedError', 'status check failed');
      return { runId: i['runId']!, machineId: i['machineId']!, instanceId: i['instanceId']!, ready: true };
    };
    const { error } = await execute('failover', failoverInput('test', [2, 1]), handlers);

    expect(calls.filter((c) => c === 'check w1-m01').length).toBe(3);
    expect(error?.Error).toBe('WaveFailed');
    const machines = JSON.parse(error!.Cause) as Array<{ machineId: string; failed: boolean; error?: string }>;
    expect(machines).toEqual([
      { machineId: 'w1-m01', instanceId: 'i-w1-m01', failed: false },
      expect.objectContaining({ machineId: 'w1-m02', failed: true, error: 'MachineCheckFailedError' }),
    ]);
  });

  it('alerts when test machines cannot be cleaned up, and still fails the run', async () => {
    const calls: string[] = [];
    const handlers = failoverHandlers(calls, 'w1-m01');
    handlers['Clean Up Test Machines'] = () => {
      calls.push('cleanup');
      throw namedError('CleanupIncompleteError', 'i-w1-m02 still running');
    };
    handlers['Notify Cleanup Failure'] = (i) => {
      calls.push(`notify ${String(i['event'])} ${String((i['detail'] as JsonObject)['Error'])}`);
      return {};
    };
    const { error } = await execute('failover', failoverInput('test', [2]), handlers);

    expect(calls.filter((c) => c === 'cleanup').length).toBe(4); // first try + 3 retries
    expect(calls).toContain('notify cleanup-failed CleanupIncompleteError');
    expect(error?.Error).toBe('WaveFailed');
  });
});

describe('incident-response machine, executed locally', () => {
  const selection = { incidentId: 'inc-1', mode: 'recovery', ready: true, machineCount: 2, blockerCount: 0, approvalTimeoutSeconds: 1 };
  const plan = {
    runId: 'inc-1',
    kind: 'incident',
    mode: 'recovery',
    waves: [{ wave: 1, machines: [{ runId: 'inc-1', kind: 'incident', mode: 'recovery', machineId: 'db-1' }] }],
    runName: 'inc-1-0a1b2c3d',
  };
  const outcome = (result: string) => ({ incidentId: 'inc-1', result, rtoMinutes: 12, rpoMinutes: 30 });

  function handlers(calls: Array<[string, JsonObject]>, overrides: Record<string, Handler> = {}): Record<string, Handler> {
    const record = (name: string, h: Handler): Handler => (i) => (calls.push([name, i]), h(i));
    const base: Record<string, Handler> = {
      'Select Recovery Points': () => selection,
      'Request Failover Approval': () => ({ approved: true, approvalId: 'apr-1', decidedAt: '2025-01-01T00:00:00Z' }),
      'Plan Failover': () => plan,
      'Run Failover': () => ({ ExecutionArn: 'arn:aws:states:us-east-1:123456789012:execution:failover:inc-1', Status: 'SUCCEEDED', Output: {} }),
      'Record Outcome': (i) => outcome(String(i['result'])),
      'Record Rejection': (i) => outcome(String(i['result'])),
      'Record Expiry': (i) => outcome(String(i['result'])),
      'Record No Eligible Point': (i) => outcome(String(i['result'])),
      'Record Failure': (i) => outcome(String(i['result'])),
      'Notify Outcome': () => ({}),
      'Notify Rejection': () => ({}),
      'Notify Expiry': () => ({}),
      'Notify No Eligible Point': () => ({}),
      'Notify Failure': () => ({}),
      'Review Failed Run': () => ({ askAgain: false, stopped: [] }),
      ...overrides,
    };
    // Scan before launch: nothing to scan unless a test says otherwise (and then its calls are recorded).
    const scans = { incidentId: 'inc-1', done: true, waitSeconds: 1, ready: true, machineCount: 1, blockerCount: 0 };
    const quiet: Record<string, Handler> = { 'Scan Chosen Points': () => scans, 'Check Point Scans': () => scans };
    return { ...quiet, ...Object.fromEntries(Object.entries(base).map(([n, h]) => [n, record(n, h)])) };
  }

  beforeAll(() => {
    // Sanity: the handlers above cover every Task of the machine.
    const taskNames = allStates(loadDefinition('incident-response')).filter(([, s]) => s.Type === 'Task').map(([n]) => n);
    expect(taskNames.filter((n) => !(n in handlers([])) && n !== 'Escalate To Next Deciders')).toEqual([]);
  });

  it('fails over after approval and records the outcome of the run', async () => {
    const calls: Array<[string, JsonObject]> = [];
    const { output, error } = await execute('incident-response', { incidentId: 'inc-1' }, handlers(calls));

    expect(error).toBeUndefined();
    expect(output).toEqual(outcome('recovered'));
    expect(calls.map(([n]) => n)).toEqual(['Select Recovery Points', 'Request Failover Approval', 'Plan Failover', 'Run Failover', 'Record Outcome', 'Notify Outcome']);
    expect(calls[0]![1]).toEqual({ incidentId: 'inc-1' });
    expect(calls[1]![1]).toEqual({ FunctionName: expect.stringContaining('request-approval'), Payload: { incidentId: 'inc-1', escalation: false, timeoutSeconds: 1, taskToken: 'task-token-1' } });
    expect(calls[2]![1]).toEqual({ incidentId: 'inc-1', approvalId: 'apr-1' });
    expect(calls[3]![1]).toMatchObject({ Name: 'inc-1-0a1b2c3d', Input: { runId: 'inc-1', kind: 'incident', mode: 'recovery', waves: plan.waves } });
    expect(calls[4]![1]).toEqual({ runId: 'inc-1', kind: 'incident', result: 'recovered' });
  });

  it('records and notifies a rejection, ends successfully with result rejected, and never plans', async () => {
    const calls: Array<[string, JsonObject]> = [];
    const reject = () => Promise.reject(namedError('ApprovalRejected', 'rejected by dana: not this point'));
    const { output, error } = await execute('incident-response', { incidentId: 'inc-1' }, handlers(calls, { 'Request Failover Approval': reject }));

    expect(error).toBeUndefined();
    expect(output).toEqual(outcome('rejected'));
    expect(calls.map(([n]) => n)).toEqual(['Select Recovery Points', 'Request Failover Approval', 'Record Rejection', 'Notify Rejection']);
  });

  it('escalates once when nobody decides in time, then expires with ApprovalExpired', async () => {
    const calls: Array<[string, JsonObject]> = [];
    const never: Handler = () => new Promise<Json>(() => undefined);
    const { error } = await execute('incident-response', { incidentId: 'inc-1' }, handlers(calls, {
      'Request Failover Approval': never,
      'Escalate To Next Deciders': never,
    }));

    expect(error?.Error).toBe('ApprovalExpired');
    expect(calls.map(([n]) => n)).toEqual(['Select Recovery Points', 'Request Failover Approval', 'Escalate To Next Deciders', 'Record Expiry', 'Notify Expiry']);
    expect(calls[2]![1]).toMatchObject({ Payload: { incidentId: 'inc-1', escalation: true } });
    expect(calls[3]![1]).toEqual({ runId: 'inc-1', kind: 'incident', result: 'expired' });
  }, 10_000);

  it('stops before asking anyone when no machine has an eligible recovery point', async () => {
    const calls: Array<[string, JsonObject]> = [];
    const { error } = await execute('incident-response', { incidentId: 'inc-1' }, handlers(calls, {
      'Select Recovery Points': () => ({ ...selection, ready: false, blockerCount: 2 }),
    }));

    expect(error?.Error).toBe('NoEligibleRecoveryPointError');
    expect(calls.map(([n]) => n)).toEqual(['Select Recovery Points', 'Record No Eligible Point', 'Notify No Eligible Point']);
  });

  it('scans the chosen points before asking, waits while scans run and asks once they are done', async () => {
    const calls: Array<[string, JsonObject]> = [];
    let checks = 0;
    const progress = (done: boolean) => ({ incidentId: 'inc-1', done, waitSeconds: 1, ready: true, machineCount: 1, blockerCount: 0 });
    const { error } = await execute('incident-response', { incidentId: 'inc-1' }, handlers(calls, {
      'Scan Chosen Points': () => progress(false),
      'Check Point Scans': () => progress(++checks >= 2),
    }));

    expect(error).toBeUndefined();
    expect(calls.map(([n]) => n).slice(0, 5)).toEqual(['Select Recovery Points', 'Scan Chosen Points', 'Check Point Scans', 'Check Point Scans', 'Request Failover Approval']);
    expect(calls[1]![1]).toEqual({ incidentId: 'inc-1' });
    expect(calls[4]![1]).toMatchObject({ Payload: { incidentId: 'inc-1', timeoutSeconds: 1 } });
  });

  it('stops before asking anyone when the scans left no machine restorable', async () => {
    const calls: Array<[string, JsonObject]> = [];
    const { error } = await execute('incident-response', { incidentId: 'inc-1' }, handlers(calls, {
      'Scan Chosen Points': () => ({ incidentId: 'inc-1', done: true, waitSeconds: 1, ready: false, machineCount: 0, blockerCount: 1 }),
    }));

    expect(error?.Error).toBe('NoEligibleRecoveryPointError');
    expect(calls.map(([n]) => n)).toEqual(['Select Recovery Points', 'Scan Chosen Points', 'Record No Eligible Point', 'Notify No Eligible Point']);
  });

  it('notifies, then records, a failed failover and fails with its error', async () => {
    const calls: Array<[string, JsonObject]> = [];
    const { error } = await execute('incident-response', { incidentId: 'inc-1' }, handlers(calls, {
      'Run Failover': () => Promise.reject(namedError('States.TaskFailed', '{"Status":"FAILED","Error":"WaveFailed"}')),
    }));

    expect(error?.Error).toBe('States.TaskFailed');
    expect(calls.map(([n]) => n).slice(-3)).toEqual(['Review Failed Run', 'Notify Failure', 'Record Failure']);
    expect(calls.at(-1)![1]).toMatchObject({ runId: 'inc-1', kind: 'incident', result: 'failed', error: { Error: 'States.TaskFailed' } });
  });
  it('selects again and asks again when a pending request is superseded by new evidence', async () => {
    const calls: Array<[string, JsonObject]> = [];
    let asked = 0;
    const { output, error } = await execute('incident-response', { incidentId: 'inc-1' }, handlers(calls, {
      'Request Failover Approval': () => (++asked === 1
        ? Promise.reject(namedError('ProposalSuperseded', 'new evidence moved the cutoff earlier: db-1 point p-9 is after the current cutoff'))
        : { approved: true, approvalId: 'apr-2', decidedAt: '2025-01-01T00:10:00Z' }),
    }));

    expect(error).toBeUndefined();
    expect(output).toEqual(outcome('recovered'));
    expect(calls.map(([n]) => n)).toEqual(['Select Recovery Points', 'Request Failover Approval', 'Select Recovery Points', 'Request Failover Approval', 'Plan Failover', 'Run Failover', 'Record Outcome', 'Notify Outcome']);
    expect(calls[2]![1]).toEqual({ incidentId: 'inc-1' });
    expect(calls[4]![1]).toEqual({ incidentId: 'inc-1', approvalId: 'apr-2' });
  });

  it('selects again when an approved point no longer stands at planning time', async () => {
    const calls: Array<[string, JsonObject]> = [];
    let planned = 0;
    const { error } = await execute('incident-response', { incidentId: 'inc-1' }, handlers(calls, {
      'Plan Failover': () => (++planned === 1 ? Promise.reject(namedError('ProposalSuperseded', 'approved, then superseded before launch')) : plan),
    }));

    expect(error).toBeUndefined();
    expect(calls.map(([n]) => n).slice(0, 6)).toEqual(['Select Recovery Points', 'Request Failover Approval', 'Plan Failover', 'Select Recovery Points', 'Request Failover Approval', 'Plan Failover']);
  });

  it('asks again after a run whose launches were stopped, and fails when the review says not to', async () => {
    const calls: Array<[string, JsonObject]> = [];
    let runs = 0;
    const { output, error } = await execute('incident-response', { incidentId: 'inc-1' }, handlers(calls, {
      'Run Failover': () => (++runs === 1
        ? Promise.reject(namedError('States.TaskFailed', '{"Status":"FAILED","Error":"WaveFailed"}'))
        : { ExecutionArn: 'arn:aws:states:us-east-1:123456789012:execution:failover:inc-1-2', Status: 'SUCCEEDED', Output: {} }),
      'Review Failed Run': () => ({ askAgain: true, stopped: ['db-1'] }),
    }));

    expect(error).toBeUndefined();
    expect(output).toEqual(outcome('recovered'));
    expect(calls.map(([n]) => n)).toEqual([
      'Select Recovery Points', 'Request Failover Approval', 'Plan Failover', 'Run Failover', 'Review Failed Run',
      'Select Recovery Points', 'Request Failover Approval', 'Plan Failover', 'Run Failover', 'Record Outcome', 'Notify Outcome',
    ]);
    expect(calls[4]![1]).toMatchObject({ incidentId: 'inc-1', error: { Error: 'States.TaskFailed' } });
  });
});
