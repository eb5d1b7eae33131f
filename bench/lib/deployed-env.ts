import type { ServerlessDefinition } from '../../local/serverless-config.ts';

/**
 * The environment a function gets when deployed, with made-up values for everything
 * CloudFormation would fill in (table names, ARNs, the HTTP API id), resolved from
 * serverless.yml itself: provider.environment plus the function's own, `${param:…}` from
 * params.default (a `null` fallback drops the variable, as the framework does), `${self:…}`,
 * `${sls:stage}`, Ref / Fn::GetAtt / Fn::Sub / Fn::If / Fn::Join of the template's resources.
 * Anything it cannot resolve is an error naming the variable: a silent placeholder would hide
 * a cold-start failure.
 */

export const DEPLOY = { stage: 'bench', region: 'eu-west-1', account: '123456789012' } as const;

type Json = unknown;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Marker for "the framework drops this variable". */
const DROP = Symbol('drop');

export function deployedEnvironment(def: ServerlessDefinition, functionName: string): Record<string, string> {
  const raw = def.raw as Obj;
  const fn = def.functions.get(functionName);
  if (!fn) throw new Error(`no function ${functionName} in serverless.yml`);
  const provider = (raw['provider'] ?? {}) as Obj;
  const merged: Obj = { ...((provider['environment'] ?? {}) as Obj), ...fn.environment };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(merged)) {
    let resolved: unknown;
    try {
      resolved = resolve(raw, value);
    } catch (e) {
      throw new Error(`${functionName}: cannot resolve ${name}: ${(e as Error).message}`);
    }
    if (resolved === DROP || resolved === null || resolved === undefined) continue;
    env[name] = String(resolved);
  }
  return env;
}

function resources(raw: Obj): Obj {
  return (((raw['resources'] ?? {}) as Obj)['Resources'] ?? {}) as Obj;
}

function stateMachineById(raw: Obj, id: string): Obj | undefined {
  const machines = (((raw['stepFunctions'] ?? {}) as Obj)['stateMachines'] ?? {}) as Record<string, Obj>;
  return Object.values(machines).find((m) => m['id'] === id);
}

function path(raw: Obj, dotted: string): unknown {
  let cur: unknown = raw;
  for (const part of dotted.split('.')) {
    if (!isObj(cur) || !(part in cur)) throw new Error(`\${self:${dotted}} is not defined`);
    cur = cur[part];
  }
  return cur;
}

/** The framework's `${source:…}` variables; `${AWS::Region}` and `${HttpApi}` are Fn::Sub's and stay. */
const FRAMEWORK_VARIABLE = /\$\{((?:param|self|sls|opt|aws|env):[^{}]+)\}/g;

/** Framework variables inside a string; a string that is exactly one variable keeps its type. */
function variables(raw: Obj, text: string): unknown {
  const whole = text.match(/^\$\{((?:param|self|sls|opt|aws|env):[^{}]+)\}$/);
  if (whole) return variable(raw, whole[1]!);
  return text.replace(FRAMEWORK_VARIABLE, (_m, inner: string) => {
    const v = variable(raw, inner);
    if (v === DROP) throw new Error(`\${${inner}} has no value inside a longer string`);
    return String(v);
  });
}

function variable(raw: Obj, inner: string): unknown {
  const [ref, ...fallbackParts] = inner.split(',');
  const fallback = fallbackParts.join(',').trim();
  const [source, key] = [ref!.slice(0, ref!.indexOf(':')), ref!.slice(ref!.indexOf(':') + 1).trim()];
  let value: unknown;
  switch (source) {
    case 'param': value = ((((raw['params'] ?? {}) as Obj)['default'] ?? {}) as Obj)[key]; break;
    case 'self': value = resolve(raw, path(raw, key)); break;
    case 'sls': if (key === 'stage') value = DEPLOY.stage; break;
    case 'opt': value = key === 'stage' ? DEPLOY.stage : key === 'region' ? DEPLOY.region : undefined; break;
    case 'aws': if (key === 'region') value = DEPLOY.region; else if (key === 'accountId') value = DEPLOY.account; break;
    case 'env': value = undefined; break;
    default: throw new Error(`unsupported variable source \${${inner}}`);
  }
  if (value !== undefined && value !== '') return typeof value === 'string' ? variables(raw, value) : value;
  if (fallback === 'null') return DROP;
  if (fallback !== '') return fallback.replace(/^['"]|['"]$/g, '');
  if (value === '') return '';
  throw new Error(`\${${inner}} has no value and no fallback`);
}

function pseudo(name: string): string | undefined {
  return ({ 'AWS::Region': DEPLOY.region, 'AWS::AccountId': DEPLOY.account, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': `cleanpoint-${DEPLOY.stage}` } as Record<string, string>)[name];
}

function ref(raw: Obj, id: string): string {
  const p = pseudo(id);
  if (p) return p;
  const machine = stateMachineById(raw, id);
  if (machine) return `arn:aws:states:${DEPLOY.region}:${DEPLOY.account}:stateMachine:${String(resolve(raw, machine['name'] ?? id))}`;
  if (id === 'HttpApi') return 'a1b2c3d4e5';
  const r = resources(raw)[id] as Obj | undefined;
  if (!r) throw new Error(`Ref ${id}: no such resource`);
  const props = (r['Properties'] ?? {}) as Obj;
  switch (r['Type']) {
    case 'AWS::DynamoDB::Table': return String(resolve(raw, props['TableName'] ?? id));
    case 'AWS::Events::EventBus': return String(resolve(raw, props['Name'] ?? id));
    case 'AWS::SNS::Topic': return `arn:aws:sns:${DEPLOY.region}:${DEPLOY.account}:${id}`;
    case 'AWS::SQS::Queue': return `https://sqs.${DEPLOY.region}.amazonaws.com/${DEPLOY.account}/${id}`;
    case 'AWS::KMS::Key': return '1234abcd-12ab-34cd-56ef-1234567890ab';
    default: throw new Error(`Ref ${id}: no placeholder for ${String(r['Type'])}`);
  }
}

function getAtt(raw: Obj, id: string, attribute: string): string {
  const r = resources(raw)[id] as Obj | undefined;
  if (!r) throw new Error(`Fn::GetAtt ${id}.${attribute}: no such resource`);
  if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${id}.${attribute}: only Arn is supported`);
  switch (r['Type']) {
    case 'AWS::KMS::Key': return `arn:aws:kms:${DEPLOY.region}:${DEPLOY.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    case 'AWS::DynamoDB::Table': return `arn:aws:dynamodb:${DEPLOY.region}:${DEPLOY.account}:table/${ref(raw, id)}`;
    case 'AWS::SQS::Queue': return `arn:aws:sqs:${DEPLOY.region}:${DEPLOY.account}:${id}`;
    case 'AWS::Events::EventBus': return `arn:aws:events:${DEPLOY.region}:${DEPLOY.account}:event-bus/${ref(raw, id)}`;
    case 'AWS::IAM::Role': return `arn:aws:iam::${DEPLOY.account}:role/${String(resolve(raw, (r['Properties'] as Record<string, unknown> | undefined)?.['RoleName'] ?? id))}`;
    default: throw new Error(`Fn::GetAtt ${id}.Arn: no placeholder for ${String(r['Type'])}`);
  }
}

function condition(raw: Obj, name: string): boolean {
  const c = ((((raw['resources'] ?? {}) as Obj)['Conditions'] ?? {}) as Obj)[name];
  if (c === undefined) throw new Error(`condition ${name} is not defined`);
  return evaluate(raw, c);
}

function evaluate(raw: Obj, c: Json): boolean {
  if (!isObj(c)) throw new Error(`cannot evaluate condition ${JSON.stringify(c)}`);
  if (Array.isArray(c['Fn::Not'])) return !evaluate(raw, c['Fn::Not'][0]);
  if (Array.isArray(c['Fn::Equals'])) {
    const [a, b] = c['Fn::Equals'].map((x) => resolve(raw, x));
    return a === b;
  }
  if (typeof c['Condition'] === 'string') return condition(raw, c['Condition']);
  throw new Error(`cannot evaluate condition ${JSON.stringify(c)}`);
}

function resolve(raw: Obj, value: Json): unknown {
  if (typeof value === 'string') return variables(raw, value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (!isObj(value)) throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  if (typeof value['Ref'] === 'string') return ref(raw, value['Ref']);
  const att = value['Fn::GetAtt'];
  if (Array.isArray(att)) return getAtt(raw, String(att[0]), String(att[1]));
  if (typeof att === 'string') return getAtt(raw, att.split('.')[0]!, att.split('.')[1] ?? '');
  const sub = value['Fn::Sub'];
  if (typeof sub === 'string') {
    const text = String(resolve(raw, sub));
    return text.replace(/\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z]+))?\}/g, (_m, id: string, attribute?: string) => (attribute ? getAtt(raw, id, attribute) : ref(raw, id)));
  }
  const iff = value['Fn::If'];
  if (Array.isArray(iff)) return resolve(raw, condition(raw, String(iff[0])) ? iff[1] : iff[2]);
  const join = value['Fn::Join'];
  if (Array.isArray(join)) return (join[1] as Json[]).map((x) => String(resolve(raw, x))).join(String(join[0]));
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}
