/**
 * Static checks on the packaged CloudFormation template: `npx serverless package` runs once
 * (offline, no credentials) and the assertions read `.serverless/cloudformation-template-update-stack.json`.
 *
 * What is checked: one IAM role per function and least privilege (no `*` or `service:*`
 * action, `Resource: "*"` only for EC2 Describe calls, EC2 mutations tied to Cleanpoint tags,
 * Step Functions permissions on our machines only); tables with point-in-time recovery and
 * customer-key encryption; every asynchronously invoked function with a dead-letter path; the
 * event rules' patterns, matched by the repository's own matcher against real AWS samples.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { compilePattern } from '../../local/event-pattern.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface Resource {
  Type: string;
  Condition?: string;
  Properties: JsonObject;
  DependsOn?: string | string[];
}
interface Template {
  Resources: Record<string, Resource>;
  Conditions?: Record<string, Json>;
}
interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: Json;
  Condition?: Record<string, Record<string, Json>>;
  Principal?: Json;
  NotAction?: Json;
  NotResource?: Json;
}

const ROOT = process.cwd();
const TEMPLATE = path.join(ROOT, '.serverless', 'cloudformation-template-update-stack.json');
const FIXTURES = path.resolve(ROOT, '../shared/fixtures');

/** Function key ▶ CloudFormation logical id (the framework's naming: `-` ▶ `Dash`, `_` ▶ `Underscore`). */
function lambdaLogicalId(functionKey: string): string {
  const normalized = functionKey[0]!.toUpperCase() + functionKey.slice(1);
  return `${normalized.replace(/-/g, 'Dash').replace(/_/g, 'Underscore')}LambdaFunction`;
}

const FUNCTIONS = [
  'assess-finding',
  'record-recovery-point',
  'record-scan-verdict',
  'select-recovery-points',
  'start-point-scans',
  'check-point-scans',
  'request-approval',
  'show-approval',
  'post-decision',
  'receive-slack-action',
  'decide-slack-action',
  'revise-proposal',
  'plan-failover',
  'review-run',
  'launch-machine',
  'check-machine',
  'cleanup-test-machines',
  'record-outcome',
  'notify',
  'prepare-failback',
  'check-failback-snapshots',
  'retire-run-machines',
  'record-failback',
  'manage-incident',
  'start-drill',
  'run-acceptance-checks',
  'record-drill',
  'check-drill-schedule',
  'finish-aborted-drill',
  'check-protection',
] as const;
/** The functions that take a decision (SendTaskSuccess/Failure): the approval page's form and the queued Slack click. */
const DECIDING_FUNCTIONS = ['post-decision', 'decide-slack-action'] as const;
/** Invoked asynchronously (by EventBridge rules): must end in a dead-letter queue on failure. */
const ASYNC_FUNCTIONS = ['assess-finding', 'record-recovery-point', 'record-scan-verdict', 'decide-slack-action', 'revise-proposal', 'check-drill-schedule', 'finish-aborted-drill', 'check-protection'] as const;
/**
 * Actions AWS authorises only on Resource "*" (no resource-level permissions). GuardDuty's
 * StartMalwareScan / GetMalwareScan: AWS's managed policy AWSBackupServiceRolePolicyForScans
 * grants them on "*" (scan before launch, docs/scanning.md). Step Functions' task-token calls
 * (SendTaskSuccess / SendTaskFailure): the service authorization reference lists no resource
 * type for them, so a statement naming a state machine never matches (the local runtime's IAM
 * enforcement refused exactly that).
 */
const STAR_ONLY_ACTIONS = /^(ec2:Describe[A-Za-z]+|ssm:GetCommandInvocation|ses:GetEmailIdentity|iam:SimulatePrincipalPolicy|servicequotas:GetServiceQuota|ssm:DescribeInstanceInformation|guardduty:StartMalwareScan|guardduty:GetMalwareScan|states:SendTaskSuccess|states:SendTaskFailure)$/;

let template: Template;

function resources(type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function resource(logicalId: string): Resource {
  const r = template.Resources[logicalId];
  if (!r) throw new Error(`no resource ${logicalId} in the template`);
  return r;
}

function actionsOf(s: Statement): string[] {
  return Array.isArray(s.Action) ? s.Action : [s.Action];
}

function resourcesOf(s: Statement): Json[] {
  return Array.isArray(s.Resource) ? s.Resource : [s.Resource];
}

/** Every policy document in the template: role policies, queue/topic policies, key policies. */
function policyDocuments(): Array<{ owner: string; kind: 'identity' | 'resource'; statements: Statement[] }> {
  const docs: Array<{ owner: string; kind: 'identity' | 'resource'; statements: Statement[] }> = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of (r.Properties['Policies'] as JsonObject[] | undefined) ?? []) {
        docs.push({ owner: id, kind: 'identity', statements: (p['PolicyDocument'] as JsonObject)['Statement'] as unknown as Statement[] });
      }
    }
    const doc = (r.Properties['PolicyDocument'] ?? r.Properties['KeyPolicy']) as JsonObject | undefined;
    if (doc && r.Type !== 'AWS::IAM::Role') docs.push({ owner: id, kind: 'resource', statements: doc['Statement'] as unknown as Statement[] });
  }
  return docs;
}

/** The statements of the role a function runs with. */
function functionStatements(functionKey: string): Statement[] {
  const fn = resource(lambdaLogicalId(functionKey));
  const roleId = ((fn.Properties['Role'] as JsonObject)['Fn::GetAtt'] as string[])[0]!;
  const role = resource(roleId);
  return ((role.Properties['Policies'] as JsonObject[]) ?? []).flatMap((p) => (p['PolicyDocument'] as JsonObject)['Statement'] as unknown as Statement[]);
}

function allowed(statements: Statement[], action: string): Statement[] {
  return statements.filter((s) => s.Effect === 'Allow' && actionsOf(s).includes(action));
}

/** Logical ids of the resources a JSON value references (Ref, Fn::GetAtt, ${Name} in Fn::Sub). */
function references(value: Json): string[] {
  const found: string[] = [];
  const visit = (v: Json): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    if (typeof v['Ref'] === 'string') found.push(v['Ref']);
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt)) found.push(String(getAtt[0]));
    const sub = v['Fn::Sub'];
    const text = Array.isArray(sub) ? sub[0] : sub;
    if (typeof text === 'string') for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}/g)) found.push(m[1]!);
    Object.values(v).forEach(visit);
  };
  visit(value);
  return found;
}

/** One entry of a zip archive (the deployment artifacts), read with zlib alone. */
function readZipEntry(zip: Buffer, name: string): Buffer | undefined {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('not a zip archive');
  let p = zip.readUInt32LE(eocd + 16);
  for (let i = zip.readUInt16LE(eocd + 10); i > 0; i--) {
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const [nameLength, extraLength, commentLength] = [zip.readUInt16LE(p + 28), zip.readUInt16LE(p + 30), zip.readUInt16LE(p + 32)];
    const local = zip.readUInt32LE(p + 42);
    if (zip.toString('utf8', p + 46, p + 46 + nameLength) === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + size);
      return method === 0 ? Buffer.from(data) : inflateRawSync(data);
    }
    p += 46 + nameLength + extraLength + commentLength;
  }
  return undefined;
}

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';

/** What CloudFormation would put into a function's environment, with made-up ids. */
function resolveValue(value: Json): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const pseudo: Record<string, string> = { 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' };
  const ref = (id: string): string => {
    if (pseudo[id]) return pseudo[id]!;
    const r = resource(id);
    switch (r.Type) {
      case 'AWS::DynamoDB::Table': return String(r.Properties['TableName']);
      case 'AWS::Events::EventBus': return String(r.Properties['Name']);
      case 'AWS::StepFunctions::StateMachine': return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${id}`;
      case 'AWS::ApiGatewayV2::Api': return 'a1b2c3d4e5';
      default: throw new Error(`no placeholder for Ref ${id} (${r.Type})`);
    }
  };
  const getAtt = (id: string, attribute: string): string => {
    const r = resource(id);
    if (r.Type === 'AWS::KMS::Key' && attribute === 'Arn') return `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    if (r.Type === 'AWS::IAM::Role' && attribute === 'Arn') return `arn:aws:iam::${ACCOUNT}:role/${String(r.Properties['RoleName'] ?? id)}`;
    throw new Error(`no placeholder for Fn::GetAtt ${id}.${attribute}`);
  };
  const condition = (name: string): boolean => evaluate(template.Conditions![name]!);
  const evaluate = (c: Json): boolean => {
    const o = c as JsonObject;
    if (o['Fn::Not']) return !evaluate((o['Fn::Not'] as Json[])[0]!);
    if (o['Fn::Equals']) {
      const [a, b] = (o['Fn::Equals'] as Json[]).map(resolveValue);
      return a === b;
    }
    throw new Error(`cannot evaluate condition ${JSON.stringify(c)}`);
  };
  if (typeof value['Ref'] === 'string') return ref(value['Ref']);
  const att = value['Fn::GetAtt'];
  if (Array.isArray(att)) return getAtt(String(att[0]), String(att[1]));
  const sub = value['Fn::Sub'];
  if (typeof sub === 'string') return sub.replace(/\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z]+))?\}/g, (_m, id: string, attribute?: string) => (attribute ? getAtt(id, attribute) : ref(id)));
  const iff = value['Fn::If'];
  if (Array.isArray(iff)) return resolveValue(condition(String(iff[0])) ? iff[1]! : iff[2]!);
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

function fixture(relative: string): JsonObject {
  return JSON.parse(readFileSync(path.join(FIXTURES, relative), 'utf8')) as JsonObject;
}

/** The rules whose target is the given function, as compiled matchers. */
function rulesFor(functionKey: string): Array<{ id: string; matches: (event: unknown) => boolean; target: JsonObject }> {
  return resources('AWS::Events::Rule')
    .filter(([, r]) => ((r.Properties['Targets'] as JsonObject[]) ?? []).some((t) => references(t['Arn']!).includes(lambdaLogicalId(functionKey))))
    .map(([id, r]) => ({ id, matches: compilePattern(r.Properties['EventPattern']), target: (r.Properties['Targets'] as JsonObject[])[0]! }));
}

beforeAll(() => {
  const missing = FUNCTIONS.filter((f) => !existsSync(path.join(ROOT, 'functions', f, 'handler.ts')));
  if (missing.length) throw new Error(`cannot package: no handler file for ${missing.join(', ')}`);
  execFileSync('npx', ['serverless', 'package'], {
    cwd: ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' },
    stdio: 'pipe',
    timeout: 180_000,
  });
  template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as Template;
}, 200_000);

describe('packaged functions', () => {
  it('declares every function, bundled as an ESM handler for Node.js 20 on arm64', () => {
    for (const key of FUNCTIONS) {
      const fn = resource(lambdaLogicalId(key));
      expect(fn.Properties).toMatchObject({ Handler: `functions/${key}/handler.handler`, Runtime: 'nodejs20.x', Architectures: ['arm64'] });
      const bundle = readZipEntry(readFileSync(path.join(ROOT, '.serverless', `${key}.zip`)), `functions/${key}/handler.mjs`);
      expect(bundle, `${key}.zip holds functions/${key}/handler.mjs`).toBeDefined();
    }
    expect(resources('AWS::Lambda::Function').length).toBe(FUNCTIONS.length);
  });

  it('gives every function the environment its cold start validates: each bundle loads with exactly the deployed variables', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-bundles-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    for (const key of FUNCTIONS) {
      const fn = resource(lambdaLogicalId(key));
      const variables = ((fn.Properties['Environment'] as JsonObject)['Variables'] ?? {}) as JsonObject;
      const env = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(resolveValue(v))]));
      const file = path.join(dir, key, 'handler.mjs');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, readZipEntry(readFileSync(path.join(ROOT, '.serverless', `${key}.zip`)), `functions/${key}/handler.mjs`)!);
      // A fresh process with only what Lambda would give it (no AWS call happens at import).
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(file)}); if (typeof m.handler !== 'function') throw new Error('no handler export');`], {
        env: {
          ...env,
          PATH: process.env['PATH'] ?? '',
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status, `${key}: ${run.stderr.slice(0, 600)}`).toBe(0);
    }
  }, 120_000);

  it('keeps secret values out of the environment: only SSM parameter names', () => {
    for (const [id, fn] of resources('AWS::Lambda::Function')) {
      const variables = ((fn.Properties['Environment'] as JsonObject | undefined)?.['Variables'] ?? {}) as JsonObject;
      for (const [name, value] of Object.entries(variables)) {
        expect(name, `${id}.${name}`).not.toMatch(/(SECRET|TOKEN|PASSWORD|WEBHOOK_URL|SIGNING_KEY)$/);
        if (name.endsWith('_PARAMETER')) expect(value, `${id}.${name}`).toMatch(/^\/cleanpoint\/[a-z0-9-]+\/[a-z0-9-]+$/);
      }
    }
  });
});

describe('IAM', () => {
  it('gives every function a role of its own, and creates no shared Lambda role', () => {
    const roleOf = new Map<string, string>();
    for (const key of FUNCTIONS) {
      const role = (resource(lambdaLogicalId(key)).Properties['Role'] as JsonObject)['Fn::GetAtt'] as string[];
      roleOf.set(key, role[0]!);
      expect(resource(role[0]!).Type).toBe('AWS::IAM::Role');
      expect(resource(role[0]!).Condition).toBeUndefined();
    }
    expect(new Set(roleOf.values()).size).toBe(FUNCTIONS.length);

    // Any other role Lambda could assume is never created (its condition is constant false).
    const lambdaRoles = resources('AWS::IAM::Role').filter(([, r]) => JSON.stringify(r.Properties['AssumeRolePolicyDocument']).includes('lambda.amazonaws.com'));
    for (const [id, r] of lambdaRoles.filter(([id]) => ![...roleOf.values()].includes(id))) {
      expect(r.Condition, `${id} would be created unused`).toBeDefined();
      const condition = template.Conditions![r.Condition!] as JsonObject;
      const [a, b] = condition['Fn::Equals'] as string[];
      expect(typeof a === 'string' && typeof b === 'string' && a !== b, `${id} condition is constant false`).toBe(true);
    }
  });

  it('never allows "*" or a whole service ("service:*"), and uses no NotAction / NotResource', () => {
    let checked = 0;
    for (const { owner, statements } of policyDocuments()) {
      for (const s of statements) {
        expect(s.NotAction, owner).toBeUndefined();
        expect(s.NotResource, owner).toBeUndefined();
        // A broad Deny only takes away (e.g. the deployment bucket's "s3:* without TLS").
        if (s.Effect !== 'Allow') continue;
        checked += 1;
        for (const a of actionsOf(s)) expect(a, owner).not.toMatch(/^(\*|[a-z0-9-]+:\*)$/);
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('uses Resource "*" in role policies only for calls that support no resource-level permissions (EC2 Describe*, SSM command results)', () => {
    for (const { owner, kind, statements } of policyDocuments()) {
      if (kind !== 'identity') continue;
      for (const s of statements.filter((st) => resourcesOf(st).includes('*'))) {
        for (const a of actionsOf(s)) expect(a, `${owner}: ${a} on "*"`).toMatch(STAR_ONLY_ACTIONS);
      }
    }
  });

  it('ties every EC2 mutation on instances, volumes and images to a Cleanpoint tag', () => {
    const tagKey = /^(aws:RequestTag|aws:ResourceTag|ec2:ResourceTag)\/cleanpoint:/;
    let mutations = 0;
    for (const { owner, kind, statements } of policyDocuments()) {
      if (kind !== 'identity') continue;
      for (const s of statements) {
        const ec2Mutations = actionsOf(s).filter((a) => a.startsWith('ec2:') && !/^ec2:(Describe|Get|List)/.test(a));
        if (!ec2Mutations.length) continue;
        mutations += 1;
        const arns = JSON.stringify(resourcesOf(s));
        const onOwnedResources = /:(instance|volume|image)\/\*/.test(arns);
        const conditionKeys = Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c));
        if (onOwnedResources) expect(conditionKeys.some((k) => tagKey.test(k)), `${owner}: ${ec2Mutations.join(',')} on ${arns}`).toBe(true);
        // The malware scanner role shares snapshots with GuardDuty: only Cleanpoint's tagged ones.
        else if (ec2Mutations.every((a) => a === 'ec2:ModifySnapshotAttribute')) expect(conditionKeys.some((k) => tagKey.test(k)), `${owner}: ${ec2Mutations.join(',')} on ${arns}`).toBe(true);
        // Without a tag condition only the resources a launch or a failback snapshot *uses* (subnet,
        // security group, network interface, source snapshot, the volumes of a tagged instance) may
        // appear, and only for launching or snapshotting.
        else expect(ec2Mutations.every((a) => ['ec2:RunInstances', 'ec2:RegisterImage', 'ec2:CreateSnapshots', 'ec2:CreateTags'].includes(a)), `${owner}: ${ec2Mutations.join(',')} on ${arns}`).toBe(true);
      }
    }
    expect(mutations).toBeGreaterThan(0);
  });

  it('lets only cleanup (test machines) and failback (machines Cleanpoint launched) terminate instances or deregister images', () => {
    for (const key of FUNCTIONS) {
      const statements = functionStatements(key);
      for (const action of ['ec2:TerminateInstances', 'ec2:DeregisterImage']) {
        const grants = allowed(statements, action);
        if (key === 'cleanup-test-machines') {
          expect(grants.length).toBe(1);
          expect(grants[0]!.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/cleanpoint:mode': 'test' } });
        } else if (key === 'retire-run-machines') {
          expect(grants.length).toBe(1);
          expect(grants[0]!.Condition).toEqual({ Null: { 'aws:ResourceTag/cleanpoint:incident': 'false' } });
        } else {
          expect(grants, `${key} ${action}`).toEqual([]);
        }
      }
    }
  });

  it('launches only tagged instances from images Cleanpoint registered, and tags only while creating', () => {
    const statements = functionStatements('launch-machine');
    const run = allowed(statements, 'ec2:RunInstances');
    const onInstances = run.filter((s) => JSON.stringify(s.Resource).includes(':instance/*'));
    expect(onInstances.length).toBe(1);
    expect(onInstances[0]!.Condition).toEqual({ Null: { 'aws:RequestTag/cleanpoint:incident': 'false' } });
    const onImages = run.filter((s) => JSON.stringify(s.Resource).includes(':image/*'));
    expect(onImages.map((s) => s.Condition)).toEqual([{ Null: { 'aws:ResourceTag/cleanpoint:incident': 'false' } }]);
    const tagging = allowed(statements, 'ec2:CreateTags');
    expect(tagging.length).toBe(1);
    expect(tagging[0]!.Condition).toEqual({
      StringEquals: { 'ec2:CreateAction': ['RunInstances', 'RegisterImage'] },
      Null: { 'aws:RequestTag/cleanpoint:incident': 'false' },
    });
    for (const key of FUNCTIONS.filter((f) => f !== 'launch-machine')) {
      for (const action of ['ec2:RunInstances', 'ec2:RegisterImage']) expect(allowed(functionStatements(key), action), `${key} ${action}`).toEqual([]);
      // Besides launching, only the failback's snapshots may be tagged, and only as they are created.
      const tags = allowed(functionStatements(key), 'ec2:CreateTags');
      if (key !== 'prepare-failback') expect(tags, `${key} ec2:CreateTags`).toEqual([]);
      else expect(tags.map((t) => t.Condition)).toEqual([{ StringEquals: { 'ec2:CreateAction': 'CreateSnapshots' }, Null: { 'aws:RequestTag/cleanpoint:incident': 'false' } }]);
    }
  });

  it('starts each machine only from the function whose job it is, and lets only the deciding functions answer task tokens', () => {
    const start = FUNCTIONS.filter((k) => allowed(functionStatements(k), 'states:StartExecution').length);
    expect(start.sort(), JSON.stringify(start)).toEqual(['assess-finding', 'check-drill-schedule', 'finish-aborted-drill', 'manage-incident']);
    expect(allowed(functionStatements('assess-finding'), 'states:StartExecution').map((s) => s.Resource)).toEqual([{ Ref: 'IncidentResponseStateMachine' }]);
    expect(allowed(functionStatements('manage-incident'), 'states:StartExecution').map((s) => s.Resource)).toEqual([{ Ref: 'FailbackStateMachine' }]);
    // Closing a still-running incident stops its run: only the incident-response and failback executions, and only from manage-incident.
    expect(FUNCTIONS.filter((k) => allowed(functionStatements(k), 'states:StopExecution').length)).toEqual(['manage-incident']);
    expect(allowed(functionStatements('manage-incident'), 'states:StopExecution').flatMap((s) => s.Resource as unknown[])).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:cleanpoint-dev-incident-response:*' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:cleanpoint-dev-failback:*' },
    ]);
    for (const key of ['check-drill-schedule', 'finish-aborted-drill']) {
      expect(allowed(functionStatements(key), 'states:StartExecution').map((s) => s.Resource), key).toEqual([{ Ref: 'DrillStateMachine' }]);
    }
    // Task-token calls support no resource-level permissions: "*" is the only resource that matches.
    for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure']) {
      for (const key of DECIDING_FUNCTIONS) {
        expect(allowed(functionStatements(key), action).map((s) => s.Resource), key).toEqual(['*']);
      }
    }
    // Only the functions that decide (the page's form, the queued Slack click) resume a waiting
    // task with a decision; revise-proposal may only fail the incident-response machine's
    // approval task (ProposalSuperseded), never approve one.
    expect(FUNCTIONS.filter((k) => allowed(functionStatements(k), 'states:SendTaskSuccess').length)).toEqual([...DECIDING_FUNCTIONS]);
    expect(FUNCTIONS.filter((k) => allowed(functionStatements(k), 'states:SendTaskFailure').length)).toEqual([...DECIDING_FUNCTIONS, 'revise-proposal']);
    expect(allowed(functionStatements('revise-proposal'), 'states:SendTaskFailure').map((s) => s.Resource)).toEqual(['*']);
    expect(allowed(functionStatements('revise-proposal'), 'states:SendTaskSuccess')).toEqual([]);
  });

  it('lets each state machine invoke exactly the functions its definition calls, and nothing else of Lambda', () => {
    for (const [machineId, file] of [['IncidentResponseStateMachine', 'incident-response'], ['FailoverStateMachine', 'failover'], ['FailbackStateMachine', 'failback'], ['DrillStateMachine', 'drill']] as const) {
      const definition = readFileSync(path.join(ROOT, 'statemachines', `${file}.asl.json`), 'utf8');
      const called = [...new Set([...definition.matchAll(/"Fn::GetAtt":\s*\[\s*"([a-z-]+)"/g)].map((m) => lambdaLogicalId(m[1]!)))].sort();
      const machine = resource(machineId);
      const roleId = ((machine.Properties['RoleArn'] as JsonObject)['Fn::GetAtt'] as string[])[0]!;
      const statements = ((resource(roleId).Properties['Policies'] as JsonObject[])[0]!['PolicyDocument'] as JsonObject)['Statement'] as unknown as Statement[];
      const invoke = allowed(statements, 'lambda:InvokeFunction');
      expect(invoke.flatMap((s) => references(s.Resource)).sort()).toEqual(called);
      expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('lambda:'))).toEqual(['lambda:InvokeFunction']);
    }
  });

  it('lets incident response run only the failover machine, watch only its executions, and use only the .sync rule', () => {
    const machine = resource('IncidentResponseStateMachine');
    const roleId = ((machine.Properties['RoleArn'] as JsonObject)['Fn::GetAtt'] as string[])[0]!;
    const statements = ((resource(roleId).Properties['Policies'] as JsonObject[])[0]!['PolicyDocument'] as JsonObject)['Statement'] as unknown as Statement[];
    expect(allowed(statements, 'states:StartExecution').map((s) => s.Resource)).toEqual([{ Ref: 'FailoverStateMachine' }]);
    const describe = allowed(statements, 'states:DescribeExecution');
    expect(JSON.stringify(describe.map((s) => s.Resource))).toContain(':execution:${FailoverStateMachine.Name}:*');
    const events = allowed(statements, 'events:PutRule');
    expect(JSON.stringify(events.map((s) => s.Resource))).toMatch(/:rule\/StepFunctionsGetEventsForStepFunctionsExecutionRule"/);
    // The failover machine starts nothing.
    const failoverRole = ((resource('FailoverStateMachine').Properties['RoleArn'] as JsonObject)['Fn::GetAtt'] as string[])[0]!;
    expect(JSON.stringify(resource(failoverRole).Properties['Policies'])).not.toContain('states:');
  });
});

describe('data', () => {
  it('keeps both tables on demand, with point-in-time recovery and the Cleanpoint KMS key', () => {
    const tables = resources('AWS::DynamoDB::Table');
    expect(tables.map(([id]) => id).sort()).toEqual(['CatalogTable', 'StateTable']);
    for (const [id, t] of tables) {
      expect(t.Properties['BillingMode'], id).toBe('PAY_PER_REQUEST');
      expect(t.Properties['PointInTimeRecoverySpecification'], id).toEqual({ PointInTimeRecoveryEnabled: true });
      const sse = t.Properties['SSESpecification'] as JsonObject;
      expect(sse).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
      const [keyId] = references(sse['KMSMasterKeyId']!);
      expect(resource(keyId!).Type, id).toBe('AWS::KMS::Key');
    }
    expect(resource('CleanpointKey').Properties['EnableKeyRotation']).toBe(true);
  });

  it('declares the key schemas the DynamoDB adapters use', () => {
    expect(resource('CatalogTable').Properties['KeySchema']).toEqual([
      { AttributeName: 'machineId', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(resource('StateTable').Properties['KeySchema']).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(resource('StateTable').Properties['GlobalSecondaryIndexes']).toEqual([
      {
        IndexName: 'gsi1',
        KeySchema: [{ AttributeName: 'gsi1pk', KeyType: 'HASH' }, { AttributeName: 'gsi1sk', KeyType: 'RANGE' }],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });
});

describe('asynchronous delivery', () => {
  it('gives every EventBridge target a dead-letter queue and a retry policy', () => {
    const rules = resources('AWS::Events::Rule');
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const [id, rule] of rules) {
      for (const target of rule.Properties['Targets'] as JsonObject[]) {
        expect(references((target['DeadLetterConfig'] as JsonObject | undefined)?.['Arn'] ?? null), id).toEqual(['DeadLetterQueue']);
        expect(target['RetryPolicy'], id).toMatchObject({ MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) });
      }
    }
  });

  it('sends every asynchronously invoked function to the dead-letter queue when its retries are spent', () => {
    for (const key of ASYNC_FUNCTIONS) {
      const configs = resources('AWS::Lambda::EventInvokeConfig').filter(([, c]) => references(c.Properties['FunctionName']!).includes(lambdaLogicalId(key)));
      expect(configs.length, key).toBe(1);
      const destination = ((configs[0]![1].Properties['DestinationConfig'] as JsonObject)['OnFailure'] as JsonObject)['Destination'];
      expect(references(destination!), key).toEqual(['DeadLetterQueue']);
      expect(allowed(functionStatements(key), 'sqs:SendMessage').flatMap((s) => references(s.Resource)), key).toEqual(['DeadLetterQueue']);
    }
    // And every function some rule invokes is in that list.
    const ruleTargets = resources('AWS::Events::Rule').flatMap(([, r]) => (r.Properties['Targets'] as JsonObject[]).flatMap((t) => references(t['Arn']!)));
    const invokedByRules = FUNCTIONS.filter((k) => ruleTargets.includes(lambdaLogicalId(k)));
    expect(invokedByRules.sort()).toEqual([...ASYNC_FUNCTIONS].sort());
  });

  it('lets only our own rules write to the dead-letter queue, and alarms when anything lands there', () => {
    const policy = resource('DeadLetterQueuePolicy').Properties['PolicyDocument'] as JsonObject;
    const allow = (policy['Statement'] as unknown as Statement[]).filter((s) => s.Effect === 'Allow');
    expect(allow.map((s) => s.Principal)).toEqual([{ Service: 'events.amazonaws.com' }]);
    expect(JSON.stringify(allow[0]!.Condition)).toContain(':rule/cleanpoint-dev-*');
    for (const [id, rule] of resources('AWS::Events::Rule')) expect(rule.Properties['Name'], id).toMatch(/^cleanpoint-dev-/);
    const alarm = resource('DeadLetterAlarm').Properties;
    expect(references(alarm['AlarmActions']!)).toEqual(['AlertTopic']);
  });

  it('alerts on executions of every Cleanpoint machine that fail, time out or are aborted', () => {
    const rule = resource('ExecutionFailureRule').Properties;
    expect(rule['EventPattern']).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        stateMachineArn: [{ Ref: 'IncidentResponseStateMachine' }, { Ref: 'FailoverStateMachine' }, { Ref: 'FailbackStateMachine' }, { Ref: 'DrillStateMachine' }],
      },
    });
    expect((rule['Targets'] as JsonObject[]).flatMap((t) => references(t['Arn']!))).toEqual(['AlertTopic']);
    const matches = compilePattern({ ...(rule['EventPattern'] as JsonObject), detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'] } });
    const event = { source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change', detail: { status: 'FAILED' } };
    expect(matches(event)).toBe(true);
    expect(matches({ ...event, detail: { status: 'SUCCEEDED' } })).toBe(false);
  });
});

describe('event rules, matched against real AWS samples', () => {
  const guardDutyFinding = () => fixture('guardduty/findings/o7conseils_sns_message_Backdoor-EC2-Spambot_2021-03-07.json');
  const cloudTrailCall = () => fixture('guardduty/findings/sumologic_cloudwatchevents_guardduty_event.json');
  const securityHubImport = (productName: string): JsonObject => {
    // The published "Findings - Imported" sample is a placeholder envelope; build the real shape.
    const finding = guardDutyFinding();
    return {
      version: '0',
      id: 'cwe-event-id',
      'detail-type': 'Security Hub Findings - Imported',
      source: 'aws.securityhub',
      account: '111122223333',
      time: '2019-04-11T21:52:17Z',
      region: 'us-west-2',
      resources: [],
      detail: { findings: [{ ProductName: productName, Types: ['TTPs/Backdoor'], Id: (finding['detail'] as JsonObject)['arn']! }] },
    };
  };
  const ebs = (file: string) => fixture(`eventbridge/ebs/${file}`);
  const drs = (file: string) => fixture(`eventbridge/drs/${file}`);

  const matchesAny = (functionKey: string, event: JsonObject) => rulesFor(functionKey).some((r) => r.matches(event));

  it('sends GuardDuty findings to assess-finding', () => {
    expect(rulesFor('assess-finding').length).toBe(1);
    expect(matchesAny('assess-finding', guardDutyFinding())).toBe(true);
  });

  it('ignores a CloudTrail API call from aws.guardduty, Security Hub imports and recovery-point events', () => {
    // Security Hub's ASFF copies of GuardDuty findings are not read yet: the direct GuardDuty
    // rule is the one source, so a finding is never assessed from two different shapes.
    expect(matchesAny('assess-finding', cloudTrailCall())).toBe(false);
    expect(matchesAny('assess-finding', securityHubImport('GuardDuty'))).toBe(false);
    expect(matchesAny('assess-finding', ebs('awsdocs_ebs_createSnapshot_succeeded.json'))).toBe(false);
    expect(matchesAny('assess-finding', drs('awsdocs-drs_DRS-PIT-Snapshot-Taken_PIT-Snapshot-Taken.json'))).toBe(false);
  });

  it('sends successful EBS snapshots (single and multi-volume) and DRS point-in-time snapshots to record-recovery-point', () => {
    expect(matchesAny('record-recovery-point', ebs('awsdocs_ebs_createSnapshot_succeeded.json'))).toBe(true);
    expect(matchesAny('record-recovery-point', ebs('awsdocs_ebs_createSnapshots_succeeded.json'))).toBe(true);
    expect(matchesAny('record-recovery-point', drs('awsdocs-drs_DRS-PIT-Snapshot-Taken_PIT-Snapshot-Taken.json'))).toBe(true);
  });

  it('ignores failed snapshots, other EBS and DRS events, and findings', () => {
    expect(matchesAny('record-recovery-point', ebs('awsdocs_ebs_createSnapshots_failed.json'))).toBe(false);
    const failedSingle = ebs('awsdocs_ebs_createSnapshot_succeeded.json');
    (failedSingle['detail'] as JsonObject)['result'] = 'failed';
    expect(matchesAny('record-recovery-point', failedSingle)).toBe(false);
    for (const other of ['awsdocs_ebs_copySnapshot_succeeded.json', 'awsdocs_ebs_createVolume_available.json', 'awsdocs_ebs_deleteVolume_deleted.json']) {
      expect(matchesAny('record-recovery-point', ebs(other)), other).toBe(false);
    }
    for (const other of ['awsdocs-drs_DRS-Source-Server-Launch-Result_RECOVERY_LAUNCH_SUCCEEDED.json', 'awsdocs-drs_DRS-Source-Server-Data-Replication-Stalled-Change_STALLED.json']) {
      expect(matchesAny('record-recovery-point', drs(other)), other).toBe(false);
    }
    expect(matchesAny('record-recovery-point', guardDutyFinding())).toBe(false);
  });
});
