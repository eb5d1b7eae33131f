/**
 * An authorization request as the local runtime will put it to the IAM evaluator, and
 * `authorize`, which decides it the way AWS does for a request that names several resources.
 *
 * AWS authorizes every resource of a request separately: "The entire statement is evaluated
 * against every resource that is required to launch the instance" (IAM User Guide, condition
 * operators, "...IfExists"). ec2:RunInstances, for example, names the image, the instance, the
 * subnet, the security groups, the network interface and the volumes; every one of them must be
 * allowed, and one denial refuses the whole call.
 */
import { evaluate, type EvaluationResult, type Statement } from './evaluate.ts';

/**
 * A value in the request context. A string for single-valued keys, an array for multivalued
 * keys (the service authorization reference types them `ArrayOf...`, e.g. aws:TagKeys), a
 * boolean for Bool keys (aws:SecureTransport). An empty array counts as a missing key.
 */
export type ContextValue = string | readonly string[] | boolean;

/** Condition keys and their values. Key names are looked up case-insensitively, as IAM does. */
export type RequestContext = Readonly<Record<string, ContextValue>>;

export interface AuthorizationRequest {
  /** `service:Operation`, e.g. `ec2:RunInstances` (case-insensitive, as in policies). */
  readonly action: string;
  /**
   * Every ARN the call names. For an action that supports no resource-level permissions
   * (the reference lists no resource type for it, e.g. ec2:DescribeInstanceStatus) pass `['*']`
   * or nothing: an empty list is authorized against the resource `*`, which only a statement
   * with `Resource: "*"` (or a NotResource that excludes nothing it matches) covers.
   */
  readonly resources: readonly string[];
  /** Keys true of the whole request (aws:RequestTag/..., aws:TagKeys, iam:PassedToService, ...). */
  readonly context: RequestContext;
  /**
   * Keys true of one resource only, by ARN (aws:ResourceTag/... of the image being launched,
   * ec2:InstanceType of the instance). AWS builds the context per resource; these entries are
   * laid over `context` when that resource is evaluated.
   */
  readonly resourceContext?: Readonly<Record<string, RequestContext>>;
}

export type AuthorizationResult =
  | {
      readonly decision: 'allow';
      readonly action: string;
      /** The resources authorized, each with the statement that allowed it. */
      readonly allowed: ReadonlyArray<{ readonly resource: string; readonly matchedStatement: number | string }>;
      readonly reason: string;
    }
  | {
      readonly decision: 'explicit-deny' | 'implicit-deny';
      readonly action: string;
      /** The first resource refused. */
      readonly resource: string;
      /** For an explicit deny, the Deny statement (Sid, or index in the list). */
      readonly matchedStatement?: number | string;
      readonly reason: string;
    };

/**
 * Authorizes `request` against the identity policy `statements`: each resource in turn, the
 * first denial wins (and is returned with its resource and reason), otherwise allow.
 */
export function authorize(statements: readonly Statement[], request: AuthorizationRequest): AuthorizationResult {
  const resources = request.resources.length > 0 ? request.resources : ['*'];
  const allowed: Array<{ resource: string; matchedStatement: number | string }> = [];
  for (const resource of resources) {
    const context = { ...request.context, ...(request.resourceContext?.[resource] ?? {}) };
    const result: EvaluationResult = evaluate(statements, { action: request.action, resource, context });
    if (result.decision !== 'allow') {
      return {
        decision: result.decision,
        action: request.action,
        resource,
        ...(result.matchedStatement === undefined ? {} : { matchedStatement: result.matchedStatement }),
        reason: result.reason,
      };
    }
    allowed.push({ resource, matchedStatement: result.matchedStatement ?? '?' });
  }
  return {
    decision: 'allow',
    action: request.action,
    allowed,
    reason: `${request.action} allowed on ${allowed.length === 1 ? 'its resource' : `all ${allowed.length} resources`}`,
  };
}

/**
 * The message AWS puts in an AccessDenied / UnauthorizedOperation error for a refused request,
 * so a local denial reads like the real one:
 *   User: <principal> is not authorized to perform: <action> on resource: <arn>
 *   because no identity-based policy allows the <action> action
 * (or "with an explicit deny in an identity-based policy").
 */
export function accessDeniedMessage(
  result: Extract<AuthorizationResult, { decision: 'explicit-deny' | 'implicit-deny' }>,
  principalArn = 'the Lambda role',
): string {
  const because =
    result.decision === 'explicit-deny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${result.action} action`;
  return `User: ${principalArn} is not authorized to perform: ${result.action} on resource: ${result.resource} ${because}`;
}
