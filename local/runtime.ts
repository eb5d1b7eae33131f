/// <reference path="../types/dynalite.d.ts" />
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import dynalite from 'dynalite';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GuardDutyClient } from '@aws-sdk/client-guardduty';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { indexInventory, parseInventoryText, type InventoryIndex } from '../domain/inventory/index.ts';
import { ensureTables } from '../functions/shared/adapters/dynamodb/tables.ts';
import { SimulatedAccountChecks } from '../functions/shared/adapters/ec2-environment.ts';
import type { SlackTransport } from '../functions/shared/adapters/slack-notifier.ts';
import { documentClientOver } from '../functions/shared/clients.ts';
import { platform, type AwsClients, type Env, type HandlerModule, type Overrides, type Platform, type SlackJobDispatcher } from '../functions/shared/compose.ts';
import { lambda } from '../functions/shared/middleware.ts';
import { logger } from '../functions/shared/observability.ts';
import { HANDLER_MODULES } from './functions.ts';
import { compilePattern } from './event-pattern.ts';
import { attachEc2Simulator, Ec2Simulator, type Ec2SimState } from './ec2-sim/index.ts';
import { awsError, attachEmulator } from './sdk-emulator.ts';
import { putEventsRefusal } from './eventbridge-limits.ts';
import { toJsonText } from './json-text.ts';
import { isPayloadRefusal, requestRefusal, responseRefusal, type InvocationType } from './lambda-limits.ts';
import { sendEmailRefusal, type SendEmailInput } from './ses-limits.ts';
import { attachItemSizeLimit } from './dynamodb-limits.ts';
import { parameterSizeRefusal } from '../functions/shared/parameter-limits.ts';
import { eventRules, functionEnvironment, functionRoleStatements, loadServerlessDefinition, resolveForTarget, type DeployTarget, type ServerlessDefinition } from './serverless-config.ts';
import { VirtualClock } from './virtual-clock.ts';
import { IamEnforcer, type FunctionRole } from './iam/enforce.ts';
import type { Statement } from './iam/evaluate.ts';
import type { ServiceName } from './iam/sdk-requests.ts';
import { LocalAcceptanceRunner } from './acceptance-runner.ts';
import { GuardDutySimulator, hiddenThreatsFrom, type GuardDutySimState } from './guardduty-sim.ts';
import { LocalWorkflowEngine, TaskTokenError, redriveStatus, type LocalExecution } from './workflow-runner.ts';
import { ExecutionJournal } from './execution-journal.ts';
import { writeFileAtomic } from './atomic-file.ts';

/**
 * The whole system on one machine. Real SDK clients and the real handler code throughout;
 * only the services are local:
 *   DynamoDB    dynalite on 127.0.0.1 (persisted under dataDir, or in memory)
 *   Step Fns    the ASL in statemachines/ run by the local interpreter (workflow-runner)
 *   EventBridge rules read from serverless.yml, matched by the repo's pattern matcher
 *   EC2         the simulator, plugged into the EC2 client
 *   SES, SSM    an outbox and a parameter store answering the SES/SSM clients
 */
export interface LocalRuntimeOptions {
  /** Folder for persisted state; null keeps everything in memory. */
  dataDir: string | null;
  inventoryFile: string;
  policyFile?: string;
  /** Virtual time runs this many times faster than wall time (waits, boots, timeouts). */
  speed: number;
  /** Base URL of the local HTTP server (for approval links). */
  publicBaseUrl: string;
  /** Simulator settings (boot/status-check times etc.). */
  ec2?: { bootMs?: number; statusCheckMs?: number; faults?: unknown };
  /** Print notifications to stdout as they are sent. */
  echoOutbox?: boolean;
  logLevel?: string;
  /** Where Slack posts go (default: the outbox). */
  slackTransport?: SlackTransport;
  /** How verified Slack clicks reach the asynchronous leg (default: the bus, whose rule invokes decide-slack-action). */
  slackJobDispatcher?: SlackJobDispatcher;
  /**
   * Per-function IAM (default 'on'): every SDK call a function makes is authorized against its
   * own role from serverless.yml, and refused as AWS refuses it. 'off' exists only to debug.
   */
  iam?: 'on' | 'off';
  /**
   * The inventory and policy files stand for SSM parameters (default 'on'): one larger than a
   * parameter holds (8 KB) is refused. 'off' only for tests and benchmarks of estates larger than
   * a deployment can hold.
   */
  ssmParameterLimit?: 'on' | 'off';
  /**
   * Fault hook for the crash tests: `<machine>:<state>` (the machine's key, e.g. failover, or its
   * name) ends the process right after that state has started (its StateEntered is in the
   * journal): `onFault`, by default SIGKILL to this process, as `kill -9` would.
   */
  faultExitAt?: string;
  onFault?: (execution: LocalExecution, stateName: string, engine: LocalWorkflowEngine) => void;
}

export interface OutboxMessage { id: string; at: string; to: string[]; subject: string; text: string; html: string }
export interface BusDelivery {
  id: string; at: string; event: Record<string, unknown>; functionName: string; status: 'delivered' | 'failed'; error?: string; result?: unknown;
  /** A failed delivery's fate: sent to the function's failure destination, or why Lambda could not send it there. */
  failureDestination?: { arn: string; sent: boolean; error?: string };
}

export interface LocalRuntime {
  options: LocalRuntimeOptions;
  def: ServerlessDefinition;
  index: InventoryIndex;
  clock: VirtualClock;
  sim: Ec2Simulator;
  /** Answers the drills' acceptance checks (SSM Run Command), simulated from the simulator's state; faults via setFaults. */
  acceptance: LocalAcceptanceRunner;
  /** GuardDuty malware scans of snapshots (scan before launch): hidden threats, outcomes and durations per snapshot. */
  guardDuty: GuardDutySimulator;
  engine: LocalWorkflowEngine;
  outbox: OutboxMessage[];
  deliveries: BusDelivery[];
  dynamoEndpoint: string;
  tables: { catalog: string; state: string };
  secrets: Record<string, string>;
  /**
   * SDK clients pointed at the emulators with no role: the operator's (tests, the console's read
   * model). Each function gets its own set, authorized against its own role (`iam`).
   */
  clients: AwsClients;
  /** The IAM enforcement: every decision made for a function's call (`iam.decisions`); null with `iam: 'off'`. */
  iam: IamEnforcer | null;
  /** A function's role statements, resolved as the packaged template holds them for this deployment. */
  roleOf(functionName: string): FunctionRole;
  /** A function's own SDK clients (its calls authorized against its role). */
  clientsOf(functionName: string): AwsClients;
  /** What every function is composed over: the virtual clock, these clients, the outbox, the simulated account checks. */
  platform: Platform;
  /** KMS and SES are not emulated: readiness asks this stand-in (disableKey, emailSenderVerified). */
  accountChecks: SimulatedAccountChecks;
  /** A function's environment, resolved from serverless.yml for this runtime (provider + function, Refs resolved locally). */
  environmentOf(functionName: string): Env;
  /** The dependencies a function is composed with here (its compose(environmentOf(name), platform)). */
  dependenciesOf(functionName: string): Promise<() => Promise<unknown>>;
  /** Call a function's handler as Lambda would (JSON in, JSON out; synchronous unless `type` is 'Event'), within Lambda's payload quotas (lambda-limits.ts). */
  invoke(functionName: string, event: unknown, type?: InvocationType): Promise<unknown>;
  /** Put an event on the local bus: every matching rule's function gets it (at least once semantics). */
  putEvent(event: Record<string, unknown>): Promise<BusDelivery[]>;
  /** One tick of every schedule in serverless.yml: invokes each scheduled function with its rule's input (the functions decide what is due). */
  runSchedules(): Promise<{ functionName: string; input: unknown; result?: unknown; error?: string; failureDestination?: BusDelivery['failureDestination'] }[]>;
  /** Resolves once no function invocation is running (the asynchronous deliveries they caused included). */
  idle(): Promise<void>;
  /** Invoke a function asynchronously as Lambda does (InvocationType Event): its retries, then its failure destination. */
  invokeAsync(functionName: string, event: Record<string, unknown>): Promise<BusDelivery>;
  executionFor(incidentId: string): LocalExecution | undefined;
  save(): void;
  close(): Promise<void>;
}

/** The local deployment: serverless.yml's variables resolve for this stage, Region and account. */
export const LOCAL_STAGE = 'local';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
/**
 * The deploy-time lists of the local stage (serverless.yml params launchKmsKeyArns and
 * instanceRoleArns): a customer-managed key and a workload role of the local account, so the
 * launch role's statements for them exist locally as on a deployment that lists them.
 */
export const LOCAL_CUSTOMER_KMS_KEY = `arn:aws:kms:us-east-1:000000000000:key/c0ffee00-0000-4000-8000-00000000c0de`;
export const LOCAL_INSTANCE_ROLE = 'arn:aws:iam::000000000000:role/cleanpoint-demo-workload';
/**
 * The example inventory's `kmsKeyId: alias/cleanpoint-recovery`: the local IAM takes an alias as
 * naming a key of the same id (sdk-requests.ts kmsKey), so the key behind it is listed as on AWS
 * one lists the ARN of the key an alias points to.
 */
export const LOCAL_EXAMPLE_INVENTORY_KEY = `arn:aws:kms:us-east-1:000000000000:key/cleanpoint-recovery`;
export const LOCAL_DEPLOY_PARAMS: Readonly<Record<string, string>> = {
  launchKmsKeyArns: `${LOCAL_CUSTOMER_KMS_KEY},${LOCAL_EXAMPLE_INVENTORY_KEY}`, instanceRoleArns: LOCAL_INSTANCE_ROLE,
};

/**
 * What serverless.yml resolves to for the local stage (the secrets' parameter names, which the
 * local parameter store answers) and the e-mail sender the local run passes as its param.
 */
export const LOCAL_ENV = {
  LINK_SECRET_PARAMETER: '/cleanpoint/local/link-secret',
  SLACK_SIGNING_SECRET_PARAMETER: '/cleanpoint/local/slack-signing-secret',
  SLACK_WEBHOOK_URL_PARAMETER: '/cleanpoint/local/slack-webhook-url',
  NOTIFY_EMAIL_FROM: 'cleanpoint@localhost.localdomain',
} as const;

function loadSecrets(dataDir: string | null): Record<string, string> {
  const file = dataDir ? path.join(dataDir, 'secrets.json') : null;
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  // Generated on first run; never printed. Locally they stand in for SSM SecureString parameters.
  const secrets = {
    [LOCAL_ENV.LINK_SECRET_PARAMETER]: randomBytes(32).toString('base64url'),
    [LOCAL_ENV.SLACK_SIGNING_SECRET_PARAMETER]: randomBytes(32).toString('hex'),
    // Never called: the local Slack transport puts messages in the outbox instead of posting them.
    [LOCAL_ENV.SLACK_WEBHOOK_URL_PARAMETER]: `https://hooks.slack.com/services/LOCAL/${randomBytes(6).toString('hex')}/${randomBytes(12).toString('hex')}`,
  };
  if (file) writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const def = loadServerlessDefinition();
  const inventoryText = readFileSync(options.inventoryFile, 'utf8');
  if ((options.ssmParameterLimit ?? 'on') === 'on') assertFitsParameters(options, inventoryText);
  const index = indexInventory(parseInventoryText(inventoryText, options.inventoryFile));
  const secrets = loadSecrets(options.dataDir);

  // DynamoDB: dynalite on loopback, persisted unless in memory.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.dataDir ? { path: path.join(options.dataDir, 'dynamodb') } : {}) });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
  const dynamoEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const simFile = options.dataDir ? path.join(options.dataDir, 'ec2-simulator.json') : null;
  const saved = simFile && existsSync(simFile) ? JSON.parse(readFileSync(simFile, 'utf8')) as { state: Ec2SimState; virtualNow: number } : null;
  const clock = new VirtualClock({ startMs: Math.max(Date.now(), saved?.virtualNow ?? 0), speed: options.speed, ...(options.dataDir ? { persistTo: path.join(options.dataDir, 'virtual-clock.json') } : {}) });
  // Each function's own environment, resolved from serverless.yml as CloudFormation would for
  // this stage: the state machines' Refs are the local engine's ARNs, the params are the
  // local ones. The inventory and the policy are SSM parameters, as on AWS (the local SSM
  // serves the files' text under the parameter names serverless.yml gives them).
  const target: DeployTarget = {
    stage: LOCAL_STAGE, region: LOCAL_REGION, account: LOCAL_ACCOUNT,
    params: {
      ...LOCAL_DEPLOY_PARAMS,
      notifyEmailFrom: LOCAL_ENV.NOTIFY_EMAIL_FROM, publicBaseUrl: options.publicBaseUrl,
      ...(options.policyFile ? { policySource: `ssm:/cleanpoint/${LOCAL_STAGE}/policy` } : {}),
    },
    stateMachineArn: (key) => engine.machineArn(key),
  };
  // The state machines as deployed to this stage (their names resolved, e.g. cleanpoint-local-drill):
  // the ARNs the functions' environments and roles name are these.
  const deployed: ServerlessDefinition = {
    ...def,
    stateMachines: new Map([...def.stateMachines].map(([key, m]) => [key, { ...m, name: String(resolveForTarget(def, { ...target, stateMachineArn: undefined }, m.name)) }])),
  };
  // Executions are journalled in the data folder as they go and resumed on the next start (restore below).
  const journal = options.dataDir ? new ExecutionJournal(path.join(options.dataDir, 'executions')) : undefined;
  const fault = options.faultExitAt;
  const engine = new LocalWorkflowEngine(deployed, (fn, event) => invoke(fn, event), {
    timeScale: options.speed, clock, onStatusChange: (ex) => void statusChanged(ex), ...(journal ? { journal } : {}),
    ...(fault ? {
      onStateEntered: (ex: LocalExecution, stateName: string) => {
        const m = deployed.stateMachines.get(ex.machine);
        if (fault !== `${ex.machine}:${stateName}` && fault !== `${m?.name}:${stateName}`) return;
        (options.onFault ?? (() => process.kill(process.pid, 'SIGKILL')))(ex, stateName, engine);
      },
    } : {}),
  });
  // The handlers share this process's logger (one per container on AWS): the runtime sets its level.
  logger.setLogLevel((options.logLevel ?? process.env['POWERTOOLS_LOG_LEVEL'] ?? 'WARN') as Parameters<typeof logger.setLogLevel>[0]);

  const environments = new Map<string, Env>();
  const environmentOf = (functionName: string): Env => {
    let env = environments.get(functionName);
    if (!env) {
      env = Object.freeze({
        ...functionEnvironment(def, functionName, target),
        // What Lambda itself sets in every function's environment.
        AWS_REGION: LOCAL_REGION, AWS_LAMBDA_FUNCTION_NAME: `cleanpoint-${LOCAL_STAGE}-${functionName}`,
      });
      environments.set(functionName, env);
    }
    return env;
  };
  const provided = environmentOf(def.functions.keys().next().value!);
  const tables = { catalog: String(provided['CATALOG_TABLE']), state: String(provided['STATE_TABLE']) };

  // The SDK clients: real clients, answered by the emulators below. `clients` is the operator's
  // set; each function gets its own (clientsOf), whose calls its role must allow.
  const sdk = { region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const newClients = (): AwsClients => {
    const dynamo = new DynamoDBClient({ ...sdk, endpoint: dynamoEndpoint });
    attachItemSizeLimit(dynamo); // 400 KB counted in UTF-8 bytes, as DynamoDB counts (dynalite counts UTF-16 units)
    return {
      dynamo, document: documentClientOver(dynamo),
      // As on AWS, the EC2 adapter owns its retry policy (clients.ts).
      ec2: new EC2Client({ ...sdk, maxAttempts: 1 }),
      sfn: new SFNClient(sdk), eventBridge: new EventBridgeClient(sdk), ses: new SESv2Client(sdk), ssm: new SSMClient(sdk),
      kms: new KMSClient(sdk), guardDuty: new GuardDutyClient(sdk),
    };
  };
  const clients = newClients();
  // Each emulator is registered once (serve) and attached to every client set.
  type Emulated = Exclude<keyof AwsClients, 'dynamo' | 'document' | 'ec2'>;
  const emulators: { key: Emulated; name: string; handle: Parameters<typeof attachEmulator>[2] }[] = [];
  const serve = (key: Emulated, name: string, handle: Parameters<typeof attachEmulator>[2]) => {
    emulators.push({ key, name, handle });
    attachEmulator(clients[key], name, handle);
  };
  await ensureTables(clients.dynamo, tables);
  // KMS and SES are not emulated: readiness asks a stand-in that answers "usable/verified" and says so.
  const accountChecks = new SimulatedAccountChecks();

  // EC2: the simulator behind the real client.
  const sim = new Ec2Simulator({ clock, ...(options.ec2?.bootMs !== undefined ? { bootMs: options.ec2.bootMs } : {}), ...(options.ec2?.statusCheckMs !== undefined ? { statusCheckMs: options.ec2.statusCheckMs } : {}), ...(saved ? { state: saved.state } : {}) });
  if (options.ec2?.faults) sim.setFaults(options.ec2.faults as never);
  // Saved after every command that may change it (atomically), not only on a clean stop, so that
  // after kill -9 the next start knows every instance already launched.
  const simExecute = sim.execute.bind(sim);
  sim.execute = async (command, input) => {
    try { return await simExecute(command, input); } finally { if (!/^(Describe|Get)/.test(command)) saveSim(); }
  };
  attachEc2Simulator(clients.ec2, sim);
  const iamEnabled = (options.iam ?? 'on') === 'on';
  const iam = iamEnabled ? new IamEnforcer({
    view: { region: LOCAL_REGION, account: LOCAL_ACCOUNT, ec2: (id) => sim.iamFacts(id), instanceProfileRole: (arn) => sim.instanceProfileRole(arn) },
    // EC2 accepts a launch whose volumes' key the caller may not use, then ends it (pending ▶ terminated).
    onLaunchKmsDenied: (input, keyArn) => { if (typeof input['ClientToken'] === 'string') sim.denyKmsForLaunch(input['ClientToken'], [keyArn]); },
    onDenied: (d) => logger.error('IAM denied a call the function\'s role does not allow (serverless.yml iamRoleStatements)', {
      function: d.functionName, action: d.action, resource: d.resource, reason: d.reason,
      missingStatement: d.missingStatement, requestContext: d.requestContext,
    }),
  }) : null;

  // Step Functions: the local engine behind the real SFN client.
  serve('sfn', 'cleanpointLocalSfn', (command, input) => {
    try {
      switch (command) {
        case 'StartExecutionCommand': {
          const started = engine.start(String(input['stateMachineArn']), input['name'] as string | undefined, JSON.parse(String(input['input'] ?? '{}')));
          return { executionArn: started.executionArn, startDate: new Date(started.execution.startDate) };
        }
        case 'SendTaskSuccessCommand': engine.sendTaskSuccess(String(input['taskToken']), JSON.parse(String(input['output'] ?? '{}'))); return {};
        case 'SendTaskHeartbeatCommand': engine.sendTaskHeartbeat(String(input['taskToken'])); return {};
        case 'RedriveExecutionCommand': return { redriveDate: new Date(engine.redrive(String(input['executionArn'])).redriveDate) };
        case 'StopExecutionCommand': return { stopDate: new Date(engine.abort(String(input['executionArn'])).stopDate ?? Date.now()) };
        case 'SendTaskFailureCommand': engine.sendTaskFailure(String(input['taskToken']), String(input['error'] ?? ''), String(input['cause'] ?? '')); return {};
        case 'DescribeExecutionCommand': {
          const ex = engine.executions.get(String(input['executionArn']));
          if (!ex) throw awsError('ExecutionDoesNotExist', 'Execution does not exist');
          return { executionArn: ex.executionArn, name: ex.name, status: ex.status, input: JSON.stringify(ex.input), ...(ex.output !== undefined ? { output: JSON.stringify(ex.output) } : {}), ...(ex.error ? { error: ex.error, cause: ex.cause } : {}), redriveCount: ex.redriveCount, ...(ex.redriveDate ? { redriveDate: new Date(ex.redriveDate) } : {}), redriveStatus: redriveStatus(ex) };
        }
        default: throw awsError('UnsupportedOperation', `${command} is not emulated locally`);
      }
    } catch (e) {
      if (e instanceof TaskTokenError) throw awsError(e.name, e.message);
      // The engine's refusals carry AWS's error codes (ExecutionNotRedrivable, ExecutionAlreadyExists, …).
      if (e instanceof Error && /^(Execution[A-Za-z]+|Invalid[A-Za-z]+)$/.test(e.name)) throw awsError(e.name, e.message);
      throw e;
    }
  });

  // SES: an outbox (console page and stdout).
  // Kept across restarts with the data folder, so approval links sent before a restart still show.
  const outboxFile = options.dataDir ? path.join(options.dataDir, 'outbox.json') : null;
  const outbox: OutboxMessage[] = outboxFile && existsSync(outboxFile) ? JSON.parse(readFileSync(outboxFile, 'utf8')) as OutboxMessage[] : [];
  serve('ses', 'cleanpointLocalSes', (command, input) => {
    if (command !== 'SendEmailCommand') throw awsError('UnsupportedOperation', `${command} is not emulated locally`);
    const tooLarge = sendEmailRefusal(input as SendEmailInput); // SES v2's 40 MB per message (ses-limits.ts)
    if (tooLarge) throw awsError('MessageRejected', tooLarge);
    const content = (input['Content'] as { Simple?: { Subject?: { Data?: string }; Body?: { Text?: { Data?: string }; Html?: { Data?: string } } } }).Simple;
    const msg: OutboxMessage = {
      id: randomUUID(), at: new Date(clock.now()).toISOString(), to: ((input['Destination'] as { ToAddresses?: string[] })?.ToAddresses ?? []),
      subject: content?.Subject?.Data ?? '', text: content?.Body?.Text?.Data ?? '', html: content?.Body?.Html?.Data ?? '',
    };
    outbox.push(msg);
    saveOutbox();
    if (options.echoOutbox) process.stdout.write(`\n[outbox] to ${msg.to.join(', ')}: ${msg.subject}\n${msg.text.split('\n').map((l) => `  ${l}`).join('\n')}\n`);
    return { MessageId: msg.id };
  });

  // Slack: messages land in the outbox as well (never posted anywhere from a local run).
  const outboxTransport: SlackTransport = async (request) => {
    const body = JSON.parse(request.body) as { text?: string; blocks?: unknown[]; channel?: string };
    const msg: OutboxMessage = {
      id: randomUUID(), at: new Date(clock.now()).toISOString(), to: [`slack:${body.channel ?? 'webhook'}`],
      subject: (body.text ?? '').split('\n')[0] ?? '', text: body.text ?? '', html: JSON.stringify(body.blocks ?? []),
    };
    outbox.push(msg);
    saveOutbox();
    if (options.echoOutbox) process.stdout.write(`\n[outbox] Slack: ${msg.subject}\n`);
    return { status: 200, body: request.url.includes('hooks.slack.com') ? 'ok' : JSON.stringify({ ok: true, ts: String(Date.now() / 1000) }) };
  };

  // SSM: parameters (the generated secrets) answering GetParameter.
  const acceptance = new LocalAcceptanceRunner(sim, clock);
  // The inventory and the policy as deployed: parameters holding the files' text at start.
  const documents: Record<string, string> = {
    [String(functionEnvironment(def, def.functions.keys().next().value!, target)['INVENTORY_SOURCE']).replace(/^ssm:/, '')]: inventoryText,
    ...(options.policyFile ? { [`/cleanpoint/${LOCAL_STAGE}/policy`]: readFileSync(options.policyFile, 'utf8') } : {}),
  };
  serve('ssm', 'cleanpointLocalSsm', (command, input) => {
    if (command === 'SendCommandCommand' || command === 'GetCommandInvocationCommand') return acceptance.handle(command, input);
    if (command !== 'GetParameterCommand') throw awsError('UnsupportedOperation', `${command} is not emulated locally`);
    const name = String(input['Name']);
    const value = secrets[name] ?? documents[name];
    if (value === undefined) throw awsError('ParameterNotFound', `parameter ${name} not found`);
    return { Parameter: { Name: name, Type: 'SecureString', Value: value, Version: 1 } };
  });

  // GuardDuty: malware scans of snapshots on the virtual clock, behind the real GuardDuty client.
  const guardDutyFile = options.dataDir ? path.join(options.dataDir, 'guardduty-simulator.json') : null;
  const guardDuty = new GuardDutySimulator(clock, {
    hiddenThreats: hiddenThreatsFrom(sim), // what the demo estate hid in its snapshots
    snapshotExists: (id) => sim.hasSnapshot(id),
    ...(guardDutyFile && existsSync(guardDutyFile) ? { state: JSON.parse(readFileSync(guardDutyFile, 'utf8')) as GuardDutySimState } : {}),
  });
  serve('guardDuty', 'cleanpointLocalGuardDuty', async (command, input) => {
    try { return await guardDuty.handle(command, input); } finally { if (!/^(Describe|Get|List)/.test(command)) saveGuardDuty(); }
  });

  // What every function is composed over here.
  const overrides: Overrides = {
    clock, clients, accountChecks, slackTransport: options.slackTransport ?? outboxTransport,
    ...(options.slackJobDispatcher ? { slackJobDispatcher: options.slackJobDispatcher } : {}),
  };

  // EventBridge: rules from serverless.yml; PutEvents from the app lands on the same bus.
  // The rules' patterns as deployed to this stage (`${sls:stage}` in a pattern resolved).
  const rules = eventRules(def).map((r) => ({ ...r, match: compilePattern(resolveForTarget(def, target, r.pattern) as Record<string, unknown>) }));
  const deliveries: BusDelivery[] = [];
  const putEvent = async (event: Record<string, unknown>): Promise<BusDelivery[]> => {
    const envelope = { version: '0', id: randomUUID(), account: LOCAL_ACCOUNT, time: new Date(clock.now()).toISOString(), region: LOCAL_REGION, resources: [], ...event };
    const out: BusDelivery[] = [];
    for (const rule of rules.filter((r) => r.match(envelope))) {
      const d = await invokeAsync(rule.functionName, envelope, envelope.id, envelope.time);
      deliveries.push(d);
      out.push(d);
    }
    return out;
  };
  // Asynchronous invocation (a rule's target, a schedule, Invoke with InvocationType Event):
  // Lambda retries as often as the function's maximumRetryAttempts (serverless.yml) says, then
  // the event goes to the function's failure destination (the dead-letter queue), which its role
  // must allow it to send to.
  async function invokeAsync(functionName: string, event: Record<string, unknown>, id: string = randomUUID(), at = new Date(clock.now()).toISOString()): Promise<BusDelivery> {
    const d: BusDelivery = { id, at, event, functionName, status: 'delivered' };
    const attempts = 1 + def.functions.get(functionName)!.asyncInvocation.maximumRetryAttempts;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try { d.result = await invoke(functionName, event, 'Event'); d.status = 'delivered'; delete d.error; break; } catch (e) {
        d.status = 'failed'; d.error = `${(e as Error).name}: ${(e as Error).message}`;
        if (/ValidationError|UnsupportedEventError/.test((e as Error).name) || isPayloadRefusal(e)) break; // retrying cannot fix a bad event
      }
    }
    if (d.status === 'failed') d.failureDestination = await toFailureDestination(functionName);
    return d;
  }
  serve('eventBridge', 'cleanpointLocalEvents', (command, input) => {
    if (command !== 'PutEventsCommand') throw awsError('UnsupportedOperation', `${command} is not emulated locally`);
    const entries = (input['Entries'] ?? []) as { Source?: string; DetailType?: string; Detail?: string; EventBusName?: string }[];
    const refusal = putEventsRefusal(entries);
    if (refusal) throw awsError('ValidationException', refusal);
    const results = entries.map((e) => {
      const id = randomUUID();
      void putEvent({ id, source: e.Source, 'detail-type': e.DetailType, detail: JSON.parse(e.Detail ?? '{}') });
      return { EventId: id };
    });
    return { FailedEntryCount: 0, Entries: results };
  });

  // Each function's own role and SDK clients: its calls are authorized against its role (iam).
  const roles = new Map<string, FunctionRole>();
  const roleOf = (functionName: string): FunctionRole => {
    let role = roles.get(functionName);
    if (!role) {
      const roleName = `cleanpoint-${LOCAL_STAGE}-${functionName}-${LOCAL_REGION}-lambdaRole`.slice(0, 64);
      role = {
        functionName,
        principalArn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${roleName}/cleanpoint-${LOCAL_STAGE}-${functionName}`,
        statements: functionRoleStatements(def, functionName, target) as unknown as Statement[],
      };
      roles.set(functionName, role);
    }
    return role;
  };
  const SERVICE_OF: Record<Exclude<keyof AwsClients, 'document'>, ServiceName> = {
    dynamo: 'dynamodb', ec2: 'ec2', sfn: 'states', eventBridge: 'events', ses: 'ses', ssm: 'ssm', kms: 'kms', guardDuty: 'guardduty',
  };
  const functionClients = new Map<string, AwsClients>();
  const clientsOf = (functionName: string): AwsClients => {
    let set = functionClients.get(functionName);
    if (!set) {
      set = newClients();
      attachEc2Simulator(set.ec2, sim);
      for (const e of emulators) attachEmulator(set[e.key], e.name, e.handle);
      if (iam) {
        const role = roleOf(functionName);
        // The document client sends through `dynamo`'s middleware stack: one attachment covers both.
        for (const [key, service] of Object.entries(SERVICE_OF)) iam.attach(set[key as keyof typeof SERVICE_OF], service, role);
      }
      functionClients.set(functionName, set);
    }
    return set;
  };

  // Lambda sends an asynchronous invocation that failed every attempt to the function's failure
  // destination with the function's own role: its role must allow sqs:SendMessage on the queue.
  async function toFailureDestination(functionName: string): Promise<BusDelivery['failureDestination']> {
    const spec = def.functions.get(functionName)!;
    if (spec.onFailureDestination === undefined) return undefined;
    const arn = String(resolveForTarget(def, target, spec.onFailureDestination));
    try {
      await iam?.authorizeAs('sqs', { action: 'sqs:SendMessage', resources: [{ arn, type: 'queue' }] }, roleOf(functionName));
      return { arn, sent: true };
    } catch (e) {
      return { arn, sent: false, error: `${(e as Error).name}: ${(e as Error).message}` };
    }
  }

  // One composition per function, on its first invocation (a cold start), over its own environment.
  type Composed = { deps: () => Promise<unknown>; handler: (event: unknown, context: unknown) => Promise<unknown> };
  const composed = new Map<string, Promise<Composed>>();
  function composition(functionName: string): Promise<Composed> {
    let c = composed.get(functionName);
    if (!c) {
      c = (async () => {
        const mod = handlerModuleOf(def, functionName);
        const deps = mod.compose(environmentOf(functionName), { ...overrides, clients: clientsOf(functionName) });
        const wrapped = lambda(mod.makeHandler(deps as never) as (event: unknown, context: unknown) => Promise<unknown>, { publishMetrics: false });
        return { deps, handler: wrapped as unknown as Composed['handler'] };
      })();
      composed.set(functionName, c);
      c.catch(() => composed.delete(functionName)); // a failed cold start is tried again on the next invocation
    }
    return c;
  }
  // Every invocation still running, so close() can let them finish before the database goes.
  const inFlight = new Set<Promise<unknown>>();
  let closing = false;
  function invoke(functionName: string, event: unknown, type: InvocationType = 'RequestResponse'): Promise<unknown> {
    if (closing) return Promise.reject(new Error(`${functionName} not invoked: the local runtime is shutting down`));
    const run = invokeNow(functionName, event, type);
    const tracked = run.then(() => undefined, () => undefined);
    inFlight.add(tracked);
    void tracked.then(() => inFlight.delete(tracked));
    return run;
  }
  async function invokeNow(functionName: string, event: unknown, type: InvocationType): Promise<unknown> {
    // JSON in, JSON out: what crosses a Lambda boundary is data, never shared objects, and
    // within Lambda's payload quotas (an oversized event never reaches the function).
    // (toJsonText: a deeply nested event reaches the handler, whose intake bounds refuse it, as on AWS.)
    const request = toJsonText(event ?? null);
    const refused = requestRefusal(request, type);
    if (refused) throw refused;
    const fn = (await composition(functionName)).handler;
    const context = lambdaContext(functionName);
    const result = await fn(JSON.parse(request), context);
    if (result === undefined) return null;
    const response = toJsonText(result);
    const tooLarge = responseRefusal(response, type);
    if (tooLarge) throw tooLarge;
    return JSON.parse(response);
  }

  // Step Functions publishes every execution's end on the default bus; rules (e.g. the drill abort rule) match it.
  async function statusChanged(ex: LocalExecution): Promise<void> {
    await putEvent({
      source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change', resources: [ex.executionArn],
      detail: {
        executionArn: ex.executionArn, stateMachineArn: engine.machineArn(ex.machine), name: ex.name, status: ex.status,
        startDate: Date.parse(ex.startDate), stopDate: ex.stopDate ? Date.parse(ex.stopDate) : null, input: JSON.stringify(ex.input),
        output: ex.output === undefined ? null : JSON.stringify(ex.output), error: ex.error ?? null, cause: ex.cause ?? null,
      },
    }).catch(() => undefined);
  }
  async function runSchedules() {
    const out: Awaited<ReturnType<LocalRuntime['runSchedules']>> = [];
    for (const fn of def.functions.values()) {
      for (const ev of fn.events) {
        const rule = (ev['eventBridge'] ?? ev['schedule']) as Record<string, unknown> | undefined;
        if (!rule || (!('schedule' in ev) && rule['schedule'] === undefined)) continue;
        const input = rule['input'] ?? { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };
        const d = await invokeAsync(fn.name, input as Record<string, unknown>);
        out.push({ functionName: fn.name, input, ...(d.status === 'delivered' ? { result: d.result } : { error: d.error!, failureDestination: d.failureDestination }) });
      }
    }
    return out;
  }

  function saveSim(): void {
    if (simFile) writeFileAtomic(simFile, JSON.stringify({ state: sim.snapshotState(), virtualNow: clock.now() }));
  }
  function saveOutbox(): void {
    if (outboxFile) writeFileAtomic(outboxFile, JSON.stringify(outbox), 0o600);
  }
  function saveGuardDuty(): void {
    if (guardDutyFile) writeFileAtomic(guardDutyFile, JSON.stringify(guardDuty.state));
  }
  const save = () => { saveSim(); saveOutbox(); saveGuardDuty(); };
  // Every execution that was running when the last process stopped (Ctrl-C or kill -9) goes on.
  const resumed = engine.restore();
  if (resumed.length) logger.info('resumed running executions from the journal', { executions: resumed.map((e) => e.executionArn) });
  return {
    options, def, index, clock, sim, engine, outbox, deliveries, dynamoEndpoint, tables, secrets,
    clients, iam, roleOf, clientsOf, platform: platform(overrides), accountChecks, environmentOf,
    dependenciesOf: async (functionName) => (await composition(functionName)).deps,
    acceptance, guardDuty, invoke,
    idle: async () => { while (inFlight.size > 0) await Promise.all([...inFlight]); },
    invokeAsync: (fn, event) => invokeAsync(fn, event), putEvent, runSchedules,
    // The incident's latest round: `incident-<id>`, then `incident-<id>-r2`, … after a re-infection.
    executionFor: (incidentId) => [...engine.executions.values()]
      .filter((e) => e.machine === machineKeyFor(def, /incident/i) && (e.name.endsWith(incidentId) || e.name.includes(`${incidentId}-r`)))
      .sort((a, b) => Date.parse(a.startDate) - Date.parse(b.startDate)).at(-1),
    save,
    async close() {
      save();
      closing = true;
      // Stop workflows still running (waiting for a decision, booting machines) before the
      // database goes away, so none of their tasks runs against a closed table.
      const running = [...engine.executions.values()].filter((e) => e.status === 'RUNNING');
      if (journal) {
        // With a data folder they are let go as they are, to be resumed by the next start.
        engine.suspend();
      } else {
        for (const e of running) { try { engine.abort(e.executionArn); } catch { /* already finished */ } }
      }
      await Promise.race([Promise.allSettled(running.map((e) => e.done)), new Promise((r) => setTimeout(r, 2_000))]);
      // Invocations the bus or an aborted task started are let finish (bounded), so none of them
      // writes to a database that is already closed.
      const deadline = Date.now() + 5_000;
      while (inFlight.size > 0 && Date.now() < deadline) await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 100))]);
      clock.dispose?.();
      for (const set of [clients, ...functionClients.values()]) for (const client of Object.values(set)) client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The inventory and policy are SSM parameters on AWS: refuse files no parameter could hold (functions/shared/parameter-limits.ts). */
function assertFitsParameters(options: LocalRuntimeOptions, inventoryText: string): void {
  const refusal = parameterSizeRefusal('inventory', options.inventoryFile, inventoryText)
    ?? (options.policyFile ? parameterSizeRefusal('policy', options.policyFile, readFileSync(options.policyFile, 'utf8')) : undefined);
  if (refusal) throw new Error(refusal);
}

/** The handler module serverless.yml names for the function (local/functions.ts). */
function handlerModuleOf(def: ServerlessDefinition, functionName: string): HandlerModule {
  const spec = def.functions.get(functionName);
  if (!spec) throw new Error(`no function ${functionName} in serverless.yml`);
  const [file, exportName] = [spec.handler.slice(0, spec.handler.lastIndexOf('.')), spec.handler.slice(spec.handler.lastIndexOf('.') + 1)];
  if (exportName !== 'handler') throw new Error(`${functionName}: the local runtime runs handler modules' \`handler\` export, not ${exportName}`);
  const mod = HANDLER_MODULES[file];
  if (mod) return mod;
  throw new Error(`${functionName}: ${file} is not in local/functions.ts`);
}

function machineKeyFor(def: ServerlessDefinition, pattern: RegExp): string {
  const key = [...def.stateMachines.keys()].find((k) => pattern.test(k));
  if (!key) throw new Error(`serverless.yml declares no state machine matching ${pattern}`);
  return key;
}

function lambdaContext(functionName: string) {
  const started = Date.now();
  return {
    functionName, functionVersion: '$LATEST', invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:cleanpoint-local-${functionName}`,
    memoryLimitInMB: '512', awsRequestId: randomUUID(), logGroupName: `/aws/lambda/cleanpoint-local-${functionName}`, logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => Math.max(0, 30_000 - (Date.now() - started)),
    done() {}, fail() {}, succeed() {},
  };
}
