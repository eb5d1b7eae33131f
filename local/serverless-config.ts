import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, type ScalarTag, type CollectionTag } from 'yaml';

/**
 * Reads the deployable definition — serverless.yml and the ASL files it includes — so the
 * local runtime uses the same functions, event rules, schedules and state machines as AWS.
 * Nothing here is a copy: change serverless.yml and the local runtime follows.
 */
export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** CloudFormation short-form tags (!Ref, !GetAtt, …) become their long-form objects. */
function cfnTags(): (ScalarTag | CollectionTag)[] {
  const names = ['Ref', 'GetAtt', 'Sub', 'Join', 'Select', 'Split', 'If', 'Equals', 'Not', 'And', 'Or', 'FindInMap', 'ImportValue', 'Base64', 'Condition', 'GetAZs', 'Cidr'];
  const tags: (ScalarTag | CollectionTag)[] = [];
  for (const name of names) {
    const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
    tags.push({ tag: `!${name}`, resolve: (v: string) => ({ [key]: name === 'GetAtt' ? v.split('.') : v }) } as ScalarTag);
    tags.push({ tag: `!${name}`, collection: 'seq', resolve: (v: unknown) => ({ [key]: (v as { toJSON(): unknown }).toJSON() }) } as unknown as CollectionTag);
    tags.push({ tag: `!${name}`, collection: 'map', resolve: (v: unknown) => ({ [key]: (v as { toJSON(): unknown }).toJSON() }) } as unknown as CollectionTag);
  }
  return tags;
}

export interface FunctionSpec {
  /** Key in serverless.yml, e.g. `assess-finding`. */
  name: string;
  /** `functions/assess-finding/handler.handler` */
  handler: string;
  environment: Record<string, unknown>;
  events: Record<string, unknown>[];
  /**
   * Asynchronous invocations (EventBridge ▶ Lambda): how often Lambda retries a failed one
   * before it goes to the failure destination (`maximumRetryAttempts`; Lambda's default is 2).
   */
  asyncInvocation: { maximumRetryAttempts: number };
  /** The function's own role statements (serverless-iam-roles-per-function), unresolved. */
  iamRoleStatements: Record<string, unknown>[];
  /** Where Lambda sends an asynchronous invocation that failed every attempt (destinations.onFailure), unresolved. */
  onFailureDestination?: unknown;
}

/** Lambda retries a failed asynchronous invocation twice unless the function says otherwise. */
const LAMBDA_DEFAULT_ASYNC_RETRIES = 2;

export interface ServerlessDefinition {
  raw: Record<string, unknown>;
  functions: Map<string, FunctionSpec>;
  /** State machine key → parsed ASL definition. */
  stateMachines: Map<string, { name: string; definition: Record<string, unknown>; file: string }>;
}

let cached: ServerlessDefinition | undefined;

export function loadServerlessDefinition(root = ROOT): ServerlessDefinition {
  if (cached && root === ROOT) return cached;
  const raw = parse(readFileSync(path.join(root, 'serverless.yml'), 'utf8'), { customTags: cfnTags(), merge: true }) as Record<string, unknown>;
  const functions = new Map<string, FunctionSpec>();
  for (const [name, spec] of Object.entries((raw['functions'] ?? {}) as Record<string, Record<string, unknown>>)) {
    functions.set(name, {
      name,
      handler: String(spec['handler']),
      environment: (spec['environment'] ?? {}) as Record<string, unknown>,
      events: (spec['events'] ?? []) as Record<string, unknown>[],
      asyncInvocation: { maximumRetryAttempts: retryAttempts(name, spec['maximumRetryAttempts']) },
      iamRoleStatements: (spec['iamRoleStatements'] ?? []) as Record<string, unknown>[],
      ...(((spec['destinations'] as Obj | undefined)?.['onFailure'] as Obj | undefined)?.['arn'] !== undefined
        ? { onFailureDestination: ((spec['destinations'] as Obj)['onFailure'] as Obj)['arn'] }
        : {}),
    });
  }
  const stateMachines = new Map<string, { name: string; definition: Record<string, unknown>; file: string }>();
  const machines = ((raw['stepFunctions'] as Record<string, unknown> | undefined)?.['stateMachines'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const [key, spec] of Object.entries(machines)) {
    const ref = String(spec['definition'] ?? '');
    const m = ref.match(/^\$\{file\((.+)\)\}$/);
    if (!m) throw new Error(`state machine ${key}: definition must be \${file(...)} (got ${ref.slice(0, 40)})`);
    const file = path.join(root, m[1]!);
    stateMachines.set(key, { name: String(spec['name'] ?? key), definition: JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, file });
  }
  const def = { raw, functions, stateMachines };
  if (root === ROOT) cached = def;
  return def;
}

function retryAttempts(functionName: string, value: unknown): number {
  if (value === undefined) return LAMBDA_DEFAULT_ASYNC_RETRIES;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2) {
    throw new Error(`function ${functionName}: maximumRetryAttempts must be 0, 1 or 2 (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** EventBridge rules declared on functions: pattern → function. */
export function eventRules(def: ServerlessDefinition): { functionName: string; pattern: Record<string, unknown>; eventBus?: unknown }[] {
  const rules: { functionName: string; pattern: Record<string, unknown>; eventBus?: unknown }[] = [];
  for (const fn of def.functions.values()) {
    for (const ev of fn.events) {
      const eb = ev['eventBridge'] as Record<string, unknown> | undefined;
      if (eb?.['pattern']) rules.push({ functionName: fn.name, pattern: eb['pattern'] as Record<string, unknown>, ...(eb['eventBus'] !== undefined ? { eventBus: eb['eventBus'] } : {}) });
    }
  }
  return rules;
}

/** HTTP API routes declared on functions. */
export function httpRoutes(def: ServerlessDefinition): { functionName: string; method: string; path: string }[] {
  const routes: { functionName: string; method: string; path: string }[] = [];
  for (const fn of def.functions.values()) {
    for (const ev of fn.events) {
      const h = ev['httpApi'] as Record<string, unknown> | string | undefined;
      if (!h) continue;
      if (typeof h === 'string') { const [method, p] = h.split(' '); routes.push({ functionName: fn.name, method: method!.toUpperCase(), path: p! }); }
      else routes.push({ functionName: fn.name, method: String(h['method']).toUpperCase(), path: String(h['path']) });
    }
  }
  return routes;
}

/** Scheduled events declared on functions (rate/cron expressions). */
export function schedules(def: ServerlessDefinition): { functionName: string; rate: string; input?: unknown }[] {
  const out: { functionName: string; rate: string; input?: unknown }[] = [];
  for (const fn of def.functions.values()) {
    for (const ev of fn.events) {
      const s = ev['schedule'] as Record<string, unknown> | string | undefined;
      if (!s) continue;
      if (typeof s === 'string') out.push({ functionName: fn.name, rate: s });
      else for (const rate of [s['rate']].flat()) out.push({ functionName: fn.name, rate: String(rate), ...(s['input'] !== undefined ? { input: s['input'] } : {}) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A function's environment, resolved from serverless.yml
// ---------------------------------------------------------------------------------------------

/**
 * Where a resolution pretends to be deployed. CloudFormation fills in table names, ARNs and the
 * HTTP API id on AWS; here they are made from the target: the local runtime's (its stage, its
 * workflow engine's state machine ARNs) or the benchmarks' made-up deployment.
 */
export interface DeployTarget {
  stage: string;
  region: string;
  account: string;
  /** `--param` values, over params.default. */
  params?: Readonly<Record<string, string>>;
  /** The ARN a state machine's Ref resolves to, by its key in stepFunctions.stateMachines (default: built from the target and the machine's name). */
  stateMachineArn?: (key: string, name: string) => string;
}

type Json = unknown;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Marker for "the framework drops this variable". */
const DROP = Symbol('drop');

/**
 * The environment a function gets when deployed to `target`, resolved from serverless.yml
 * itself: provider.environment plus the function's own, `${param:…}` from the target's params
 * then params.default (a `null` fallback drops the variable, as the framework does),
 * `${self:…}`, `${sls:stage}`, Ref / Fn::GetAtt / Fn::Sub / Fn::If / Fn::Join of the template's
 * resources. Anything it cannot resolve is an error naming the variable: a silent placeholder
 * would hide a cold-start failure.
 */
export function functionEnvironment(def: ServerlessDefinition, functionName: string, target: DeployTarget): Record<string, string> {
  const raw = def.raw as Obj;
  const fn = def.functions.get(functionName);
  if (!fn) throw new Error(`no function ${functionName} in serverless.yml`);
  const provider = (raw['provider'] ?? {}) as Obj;
  const merged: Obj = { ...((provider['environment'] ?? {}) as Obj), ...fn.environment };
  const r = new Resolver(raw, target);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(merged)) {
    let resolved: unknown;
    try {
      resolved = r.resolve(value);
    } catch (e) {
      throw new Error(`${functionName}: cannot resolve ${name}: ${(e as Error).message}`);
    }
    if (resolved === DROP || resolved === null || resolved === undefined) continue;
    env[name] = String(resolved);
  }
  return env;
}

/**
 * A function's role statements as its role on `target` holds them: what
 * serverless-iam-roles-per-function writes into the function's role (the packaged template's
 * `<Function>IamRoleLambdaExecution` policy), intrinsics resolved the way CloudFormation resolves
 * them for that deployment. The plugin's own first statement — the function's log group, which
 * Lambda itself writes to — is included, so the list is the role's whole policy.
 */
export function functionRoleStatements(def: ServerlessDefinition, functionName: string, target: DeployTarget): Record<string, unknown>[] {
  const fn = def.functions.get(functionName);
  if (!fn) throw new Error(`no function ${functionName} in serverless.yml`);
  const r = new Resolver(def.raw as Obj, target);
  const logGroup = `arn:aws:logs:${target.region}:${target.account}:log-group:/aws/lambda/cleanpoint-${target.stage}-${functionName}:*:*`;
  const statements: Record<string, unknown>[] = [
    { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:PutLogEvents'], Resource: [logGroup] },
  ];
  fn.iamRoleStatements.forEach((statement, i) => {
    try {
      statements.push(r.resolveDeep(statement) as Record<string, unknown>);
    } catch (e) {
      throw new Error(`${functionName}: cannot resolve iamRoleStatements[${i}]: ${(e as Error).message}`);
    }
  });
  return statements;
}

/** Any value of serverless.yml resolved for `target` (e.g. a destination ARN). */
export function resolveForTarget(def: ServerlessDefinition, target: DeployTarget, value: unknown): unknown {
  return new Resolver(def.raw as Obj, target).resolveDeep(value);
}

class Resolver {
  constructor(private readonly raw: Obj, private readonly target: DeployTarget) {}

  private resources(): Obj {
    return (((this.raw['resources'] ?? {}) as Obj)['Resources'] ?? {}) as Obj;
  }

  private stateMachineById(id: string): { key: string; machine: Obj } | undefined {
    const machines = (((this.raw['stepFunctions'] ?? {}) as Obj)['stateMachines'] ?? {}) as Record<string, Obj>;
    const found = Object.entries(machines).find(([, m]) => m['id'] === id);
    return found && { key: found[0], machine: found[1] };
  }

  private selfPath(dotted: string): unknown {
    let cur: unknown = this.raw;
    for (const part of dotted.split('.')) {
      if (!isObj(cur) || !(part in cur)) throw new Error(`\${self:${dotted}} is not defined`);
      cur = cur[part];
    }
    return cur;
  }

  /** Framework variables inside a string; a string that is exactly one variable keeps its type. */
  private variables(text: string): unknown {
    const whole = text.match(/^\$\{((?:param|self|sls|opt|aws|env):[^{}]+)\}$/);
    if (whole) return this.variable(whole[1]!);
    // The framework's `${source:…}` variables; `${AWS::Region}` and `${HttpApi}` are Fn::Sub's and stay.
    return text.replace(/\$\{((?:param|self|sls|opt|aws|env):[^{}]+)\}/g, (_m, inner: string) => {
      const v = this.variable(inner);
      if (v === DROP) throw new Error(`\${${inner}} has no value inside a longer string`);
      return String(v);
    });
  }

  private variable(inner: string): unknown {
    const [ref, ...fallbackParts] = inner.split(',');
    const fallback = fallbackParts.join(',').trim();
    const [source, key] = [ref!.slice(0, ref!.indexOf(':')), ref!.slice(ref!.indexOf(':') + 1).trim()];
    const t = this.target;
    let value: unknown;
    switch (source) {
      case 'param': value = t.params?.[key] ?? ((((this.raw['params'] ?? {}) as Obj)['default'] ?? {}) as Obj)[key]; break;
      case 'self': value = this.resolve(this.selfPath(key)); break;
      case 'sls': if (key === 'stage') value = t.stage; break;
      case 'opt': value = key === 'stage' ? t.stage : key === 'region' ? t.region : undefined; break;
      case 'aws': if (key === 'region') value = t.region; else if (key === 'accountId') value = t.account; break;
      case 'env': value = undefined; break;
      default: throw new Error(`unsupported variable source \${${inner}}`);
    }
    if (value !== undefined && value !== '') return typeof value === 'string' ? this.variables(value) : value;
    if (fallback === 'null') return DROP;
    if (fallback !== '') return fallback.replace(/^['"]|['"]$/g, '');
    if (value === '') return '';
    throw new Error(`\${${inner}} has no value and no fallback`);
  }

  private pseudo(name: string): string | undefined {
    const t = this.target;
    return ({ 'AWS::Region': t.region, 'AWS::AccountId': t.account, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': `cleanpoint-${t.stage}` } as Record<string, string>)[name];
  }

  private ref(id: string): string {
    const t = this.target;
    const p = this.pseudo(id);
    if (p) return p;
    const sm = this.stateMachineById(id);
    if (sm) {
      const name = String(this.resolve(sm.machine['name'] ?? id));
      return t.stateMachineArn ? t.stateMachineArn(sm.key, name) : `arn:aws:states:${t.region}:${t.account}:stateMachine:${name}`;
    }
    if (id === 'HttpApi') return 'a1b2c3d4e5';
    const r = this.resources()[id] as Obj | undefined;
    if (!r) throw new Error(`Ref ${id}: no such resource`);
    const props = (r['Properties'] ?? {}) as Obj;
    switch (r['Type']) {
      case 'AWS::DynamoDB::Table': return String(this.resolve(props['TableName'] ?? id));
      case 'AWS::Events::EventBus': return String(this.resolve(props['Name'] ?? id));
      case 'AWS::SNS::Topic': return `arn:aws:sns:${t.region}:${t.account}:${id}`;
      case 'AWS::SQS::Queue': return `https://sqs.${t.region}.amazonaws.com/${t.account}/${id}`;
      case 'AWS::KMS::Key': return '1234abcd-12ab-34cd-56ef-1234567890ab';
      default: throw new Error(`Ref ${id}: no placeholder for ${String(r['Type'])}`);
    }
  }

  private getAtt(id: string, attribute: string): string {
    const t = this.target;
    const r = this.resources()[id] as Obj | undefined;
    if (!r) throw new Error(`Fn::GetAtt ${id}.${attribute}: no such resource`);
    if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${id}.${attribute}: only Arn is supported`);
    switch (r['Type']) {
      case 'AWS::KMS::Key': return `arn:aws:kms:${t.region}:${t.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
      case 'AWS::DynamoDB::Table': return `arn:aws:dynamodb:${t.region}:${t.account}:table/${this.ref(id)}`;
      case 'AWS::SQS::Queue': return `arn:aws:sqs:${t.region}:${t.account}:${id}`;
      case 'AWS::Events::EventBus': return `arn:aws:events:${t.region}:${t.account}:event-bus/${this.ref(id)}`;
      case 'AWS::IAM::Role': return `arn:aws:iam::${t.account}:role/${String(this.resolve((r['Properties'] as Obj | undefined)?.['RoleName'] ?? id))}`;
      default: throw new Error(`Fn::GetAtt ${id}.Arn: no placeholder for ${String(r['Type'])}`);
    }
  }

  private condition(name: string): boolean {
    const c = ((((this.raw['resources'] ?? {}) as Obj)['Conditions'] ?? {}) as Obj)[name];
    if (c === undefined) throw new Error(`condition ${name} is not defined`);
    return this.evaluate(c);
  }

  private evaluate(c: Json): boolean {
    if (!isObj(c)) throw new Error(`cannot evaluate condition ${JSON.stringify(c)}`);
    if (Array.isArray(c['Fn::Not'])) return !this.evaluate(c['Fn::Not'][0]);
    if (Array.isArray(c['Fn::Equals'])) {
      const [a, b] = c['Fn::Equals'].map((x) => this.resolve(x));
      return a === b;
    }
    if (typeof c['Condition'] === 'string') return this.condition(c['Condition']);
    throw new Error(`cannot evaluate condition ${JSON.stringify(c)}`);
  }

  /** resolve() through plain arrays and maps (a policy statement), keeping their shape. */
  resolveDeep(value: Json): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolveDeep(v));
    if (isObj(value) && !Object.keys(value).some((k) => k === 'Ref' || k.startsWith('Fn::'))) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.variables(k), this.resolveDeep(v)]));
    }
    return this.resolve(value);
  }

  resolve(value: Json): unknown {
    if (typeof value === 'string') return this.variables(value);
    if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
    if (!isObj(value)) throw new Error(`cannot resolve ${JSON.stringify(value)}`);
    if (typeof value['Ref'] === 'string') return this.ref(value['Ref']);
    const att = value['Fn::GetAtt'];
    if (Array.isArray(att)) return this.getAtt(String(att[0]), String(att[1]));
    if (typeof att === 'string') return this.getAtt(att.split('.')[0]!, att.split('.')[1] ?? '');
    const sub = value['Fn::Sub'];
    if (typeof sub === 'string') {
      const text = String(this.resolve(sub));
      return text.replace(/\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z]+))?\}/g, (_m, id: string, attribute?: string) => (attribute ? this.getAtt(id, attribute) : this.ref(id)));
    }
    const iff = value['Fn::If'];
    if (Array.isArray(iff)) return this.resolve(this.condition(String(iff[0])) ? iff[1] : iff[2]);
    const split = value['Fn::Split'];
    if (Array.isArray(split)) return String(this.resolve(split[1])).split(String(split[0]));
    const join = value['Fn::Join'];
    if (Array.isArray(join)) return (join[1] as Json[]).map((x) => String(this.resolve(x))).join(String(join[0]));
    throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  }
}
