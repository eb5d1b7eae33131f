/**
 * Per-function IAM in the local runtime: every AWS SDK call a function makes is authorized
 * against that function's own role (its statements in serverless.yml, resolved as the packaged
 * template holds them) before the emulator or the embedded database answers it. A call the
 * role does not allow fails as AWS fails it — `UnauthorizedOperation` from EC2,
 * `AccessDeniedException` from the JSON services — with AWS's message, and is logged with the
 * function, the action, the resource and the statement that would allow it.
 *
 * Every refusal is recorded (`denials`) and every allowed call counted against the statements
 * that allow it (`usage`), so a test can prove that no call was refused and that every
 * statement of every role was used by some call (least privilege).
 */
import { conditionKeysOf } from './service-reference.ts';
import { evaluate, type Statement } from './evaluate.ts';
import { accessDeniedMessage, authorize, type ContextValue, type RequestContext } from './request.ts';
import { requestsFor, type AccountView, type PermissionRequest, type ServiceName } from './sdk-requests.ts';

/** A function's role as the runtime enforces it. */
export interface FunctionRole {
  readonly functionName: string;
  /** The role session the function's calls are made with (its execution role, assumed by Lambda). */
  readonly principalArn: string;
  readonly statements: readonly Statement[];
}

/** One refusal the runtime made. */
export interface IamDecision {
  readonly functionName: string;
  readonly action: string;
  readonly resource: string;
  readonly decision: 'explicit-deny' | 'implicit-deny';
  readonly allowedBy: readonly number[];
  readonly reason: string;
  /** Made inside expectDenials(): a refusal the caller provoked on purpose. */
  readonly expected: boolean;
}

export interface IamEnforcementOptions {
  readonly view: AccountView;
  /** Called for every refusal (the runtime logs it). */
  readonly onDenied?: (denial: IamDenial) => void;
  /**
   * A RunInstances whose volumes' KMS key the caller may not use: the call goes on and the
   * launch must end as EC2 ends it (the runtime marks it in the simulator by client token).
   */
  readonly onLaunchKmsDenied?: (input: Record<string, unknown>, keyArn: string) => void;
}

/** What a refusal says, for the log: who, what, on what, and the statement that is missing. */
export interface IamDenial {
  readonly functionName: string;
  readonly action: string;
  readonly resource: string;
  readonly reason: string;
  /** A statement that would allow the call (the condition keys the request carried are listed beside it). */
  readonly missingStatement: { Effect: 'Allow'; Action: string; Resource: string };
  readonly requestContext: RequestContext;
}

/** The error AWS answers a refused call with: the service's code and message. */
export function accessDeniedError(service: ServiceName | 'sqs', message: string): Error {
  const ec2 = service === 'ec2';
  return Object.assign(new Error(ec2 ? `You are not authorized to perform this operation. ${message}` : message), {
    name: ec2 ? 'UnauthorizedOperation' : 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: ec2 ? 403 : 400 },
  });
}

type AnyClient = { middlewareStack: { add: (...a: never[]) => unknown; remove: (name: string) => unknown } };
const MIDDLEWARE = 'cleanpointLocalIam';

/** Keys IAM sets on every request, whatever the service. */
function globalContext(role: FunctionRole, view: AccountView): Record<string, ContextValue> {
  return {
    'aws:PrincipalArn': role.principalArn.replace(/^arn:aws:sts::(\d+):assumed-role\/([^/]+)\/.*$/, 'arn:aws:iam::$1:role/$2'),
    'aws:PrincipalAccount': view.account,
    'aws:PrincipalType': 'AssumedRole',
    'aws:RequestedRegion': view.region,
    'aws:SecureTransport': true,
  };
}

/** Every enforcer of this process that is still open (the test setup reads their decisions). */
const LIVE = new Set<IamEnforcer>();

export class IamEnforcer {
  /** Every refusal, in order (allowed calls are only counted, in usage()). */
  readonly denials: IamDecision[] = [];
  /** Calls authorized so far. */
  allowed = 0;
  private readonly used = new Map<string, Set<string>>();
  private readonly keyCache = new Map<string, Promise<readonly string[]>>();
  private expecting = 0;

  constructor(private readonly options: IamEnforcementOptions) {
    LIVE.add(this);
  }

  /** The enforcers of this process (each local runtime has one while IAM is on). */
  static all(): IamEnforcer[] {
    return [...LIVE];
  }

  /** Forget this enforcer (its decisions were read). */
  retire(): void {
    LIVE.delete(this);
  }

  /** Runs `call`, marking the refusals it provokes as expected (a test of the enforcement itself). */
  async expectDenials<T>(call: () => Promise<T>): Promise<T> {
    this.expecting += 1;
    try {
      return await call();
    } finally {
      this.expecting -= 1;
    }
  }

  /** Refusals nobody provoked on purpose: each is a role that lacks what its function calls. */
  unexpectedDenials(): IamDecision[] {
    return this.denials.filter((d) => !d.expected);
  }

  /** What each function's calls used of its role: `function ▶ ["<statement index>|<action>", ...]`. */
  usage(): Record<string, string[]> {
    return Object.fromEntries([...this.used].map(([fn, set]) => [fn, [...set].sort()]));
  }

  /** Authorizes each call `client` makes as `role` before it reaches the service. */
  attach(client: AnyClient, service: ServiceName, role: FunctionRole): void {
    const stack = client.middlewareStack as unknown as {
      add: (mw: unknown, opts: { step: string; priority?: string; name: string }) => void;
      remove: (name: string) => void;
    };
    stack.remove(MIDDLEWARE);
    stack.add((next: (a: unknown) => Promise<unknown>, context: Record<string, unknown>) => async (args: { input: unknown }) => {
      await this.check(service, String(context['commandName'] ?? 'Unknown'), (args.input ?? {}) as Record<string, unknown>, role);
      return next(args);
    }, { step: 'initialize', priority: 'high', name: MIDDLEWARE });
  }

  /** Throws AWS's refusal when `role` may not make the call. */
  async check(service: ServiceName, command: string, input: Record<string, unknown>, role: FunctionRole): Promise<void> {
    for (const request of requestsFor(service, command, input, this.options.view)) {
      if (request.deferred !== 'launch-fails') { await this.authorizeOne(service, request, role); continue; }
      // Recorded as a refusal (unexpected unless provoked), but the call itself is not refused.
      try {
        await this.authorizeOne(service, request, role);
      } catch (e) {
        if ((e as Error).name !== 'UnauthorizedOperation' && (e as Error).name !== 'AccessDeniedException') throw e;
        for (const r of request.resources) this.options.onLaunchKmsDenied?.(input, r.arn);
      }
    }
  }

  /** Authorizes a permission the runtime itself exercises for a function (Lambda's failure destination). */
  async authorizeAs(service: ServiceName | 'sqs', request: PermissionRequest, role: FunctionRole): Promise<void> {
    await this.authorizeOne(service, request, role);
  }

  private async authorizeOne(service: ServiceName | 'sqs', request: PermissionRequest, role: FunctionRole): Promise<void> {
    const base = { ...globalContext(role, this.options.view), ...request.context };
    const resourceContext: Record<string, RequestContext> = {};
    for (const resource of request.resources) {
      resourceContext[resource.arn] = await this.applicable(request.action, resource.type, { ...base, ...resource.context });
    }
    const arns = request.resources.map((r) => r.arn);
    const result = authorize(role.statements, { action: request.action, resources: arns, context: {}, resourceContext });
    if (result.decision === 'allow') {
      this.allowed += 1;
      const used = this.used.get(role.functionName) ?? new Set<string>();
      for (const arn of arns) {
        for (const index of this.allowingStatements(role, request.action, arn, resourceContext[arn] ?? {})) used.add(`${index}|${request.action}`);
      }
      this.used.set(role.functionName, used);
      return;
    }
    this.denials.push({
      functionName: role.functionName, action: request.action, resource: result.resource, decision: result.decision,
      allowedBy: [], reason: result.reason, expected: this.expecting > 0,
    });
    const denial: IamDenial = {
      functionName: role.functionName, action: request.action, resource: result.resource, reason: result.reason,
      missingStatement: { Effect: 'Allow', Action: request.action, Resource: result.resource },
      requestContext: resourceContext[result.resource] ?? {},
    };
    this.options.onDenied?.(denial);
    throw accessDeniedError(service, accessDeniedMessage(result, role.principalArn));
  }

  /** Every Allow statement of the role that alone allows the request (for the least-privilege check). */
  private allowingStatements(role: FunctionRole, action: string, resource: string, context: RequestContext): number[] {
    return role.statements.flatMap((statement, index) =>
      statement.Effect === 'Allow' && evaluate([statement], { action, resource, context }).decision === 'allow' ? [index] : []);
  }

  /**
   * Only the keys AWS evaluates for this action and resource type reach the policy: the
   * action's and the type's keys in the service authorization reference, and the global keys.
   * A policy that tests a key the action does not have sees it missing, as on AWS.
   */
  private async applicable(action: string, type: string, context: Record<string, ContextValue>): Promise<RequestContext> {
    const cacheKey = `${action}|${type}`;
    let keys = this.keyCache.get(cacheKey);
    if (!keys) {
      keys = conditionKeysOf(action, type === '*' ? undefined : type).then((k) => (type === '*' ? k.filter((x) => !/^aws:(RequestTag|ResourceTag|TagKeys)/.test(x)) : k));
      this.keyCache.set(cacheKey, keys);
    }
    const allowed = (await keys).map((k) => k.toLowerCase());
    const fits = (key: string): boolean => {
      const lower = key.toLowerCase();
      if (lower.startsWith('aws:') && !/^aws:(requesttag|resourcetag|tagkeys)/.test(lower)) return true;
      return allowed.some((k) => (k.includes('${') ? lower.startsWith(k.slice(0, k.indexOf('${'))) : k === lower));
    };
    return Object.fromEntries(Object.entries(context).filter(([key]) => fits(key)));
  }
}
