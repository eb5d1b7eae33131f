/**
 * Every error the domain and the handlers throw on purpose. `name` is a string literal so
 * minifiers cannot rename it and Step Functions `ErrorEquals` can match it; a test checks
 * that every `ErrorEquals` in `statemachines/` is a `States.*`/`Lambda.*` error or a name
 * listed in ERROR_NAMES.
 */

export interface Issue {
  /** Dotted path to the offending value, e.g. `detail.service.eventFirstSeen` or `groups[1].machines[0].id`. */
  path: string;
  message: string;
}

export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
}

abstract class CleanpointError extends Error {
  abstract override readonly name: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Input from outside (event, file, HTTP body, CLI argument, task input) is not acceptable. */
export class ValidationError extends CleanpointError {
  override readonly name = 'ValidationError' as const;
  readonly issues: Issue[];
  constructor(what: string, issues: Issue[], options?: { cause?: unknown }) {
    super(`${what}: ${formatIssues(issues)}`, options);
    this.issues = issues;
  }
}

/** An EventBridge event that is well-formed but is not something Cleanpoint handles. */
export class UnsupportedEventError extends CleanpointError {
  override readonly name = 'UnsupportedEventError' as const;
}

/** Something looked up by id does not exist (incident, approval request, machine, group). */
export class NotFoundError extends CleanpointError {
  override readonly name = 'NotFoundError' as const;
}

/** A conditional write lost a race or an entity is not in the state the operation needs. */
export class ConflictError extends CleanpointError {
  override readonly name = 'ConflictError' as const;
}

/** No machine of a group has an eligible recovery point, so no failover can be planned. */
export class NoEligibleRecoveryPointError extends CleanpointError {
  override readonly name = 'NoEligibleRecoveryPointError' as const;
}

/** A decider rejected the failover: the waiting workflow fails with this error name. */
export class ApprovalRejectedError extends CleanpointError {
  override readonly name = 'ApprovalRejected' as const;
}

/** The approval request expired without a decision. */
export class ApprovalExpiredError extends CleanpointError {
  override readonly name = 'ApprovalExpired' as const;
}

/** The person is not allowed to do this (not a decider of every affected group, etc.). */
export class ForbiddenError extends CleanpointError {
  override readonly name = 'ForbiddenError' as const;
}

/** A machine could not be launched after every retry and fallback instance type. */
export class LaunchFailedError extends CleanpointError {
  override readonly name = 'LaunchFailedError' as const;
}

/** A launched machine did not pass status or acceptance checks in time. */
export class MachineCheckFailedError extends CleanpointError {
  override readonly name = 'MachineCheckFailedError' as const;
}

/** The machine is still starting: Step Functions retries the check with backoff. */
export class MachineNotReadyError extends CleanpointError {
  override readonly name = 'MachineNotReadyError' as const;
}

/** Cleanup could not remove everything it created; the message lists what is left. */
export class CleanupIncompleteError extends CleanpointError {
  override readonly name = 'CleanupIncompleteError' as const;
}

/** A safety rule was about to be broken (e.g. a sample finding asking for recovery mode). */
export class SafetyViolationError extends CleanpointError {
  override readonly name = 'SafetyViolationError' as const;
}

/** A downstream service throttled or failed transiently; safe to retry. */
export class TransientError extends CleanpointError {
  override readonly name = 'TransientError' as const;
}

/**
 * The proposal the workflow holds no longer stands (earlier evidence moved the cutoff, or a
 * chosen point turned infected, quarantined or deleted): the workflow selects again and asks
 * again. Also what a waiting approval task is failed with when its request is superseded.
 */
export class ProposalSupersededError extends CleanpointError {
  override readonly name = 'ProposalSuperseded' as const;
}

/**
 * The point a machine was approved to launch from no longer qualifies at the moment of its
 * launch: that machine is not launched and the deciders are asked again.
 */
export class PointNoLongerEligibleError extends CleanpointError {
  override readonly name = 'PointNoLongerEligible' as const;
}

/**
 * The workflow waiting for a decision is gone (it timed out, failed, or was stopped): the
 * decision cannot take effect. Workflow adapters translate their engine's own "no such task"
 * errors into it (functions/shared/adapters/sfn-workflow-engine.ts).
 */
export class WorkflowGoneError extends CleanpointError {
  override readonly name = 'WorkflowGoneError' as const;
}

export const ERROR_NAMES = [
  'ProposalSuperseded',
  'PointNoLongerEligible',
  'WorkflowGoneError',
  'ValidationError',
  'UnsupportedEventError',
  'NotFoundError',
  'ConflictError',
  'NoEligibleRecoveryPointError',
  'ApprovalRejected',
  'ApprovalExpired',
  'ForbiddenError',
  'LaunchFailedError',
  'MachineCheckFailedError',
  'MachineNotReadyError',
  'CleanupIncompleteError',
  'SafetyViolationError',
  'TransientError',
  'ThrottledError',
  'InsufficientCapacityError',
  'QuotaExceededError',
] as const;
export type ErrorName = (typeof ERROR_NAMES)[number];

/** EC2 (or another API) throttled the request: retry later with backoff. */
export class ThrottledError extends CleanpointError {
  override readonly name = 'ThrottledError' as const;
  /** How long the service asked us to wait before retrying (DRS's `Retry-After`), when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * A service quota refused the call (DRS: servers per job, concurrent jobs, servers in all active
 * jobs). Retrying helps only once running jobs finish; the message names the quota.
 */
export class QuotaExceededError extends CleanpointError {
  override readonly name = 'QuotaExceededError' as const;
}

/** No capacity for the requested instance type in the target zone: try a fallback type. */
export class InsufficientCapacityError extends CleanpointError {
  override readonly name = 'InsufficientCapacityError' as const;
}
