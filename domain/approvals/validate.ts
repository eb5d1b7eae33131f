import { purposeOf, type ApprovalPurpose, type ApprovalRequest, type DecisionKind } from './approval.ts';
import { mayApprove } from './deciders.ts';
import { machineScan } from './messages.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import { scanRequired } from '../recovery-points/index.ts';
import { ApprovalExpiredError, ConflictError, ForbiddenError, isIsoTimestamp, ValidationError } from '../shared/index.ts';

/**
 * The one decision validator. Every channel (the approval page's form, Slack buttons, the CLI)
 * hands its attempt to `validateDecision` through `decideApproval`, and gets the same verdict:
 * the rules of a decision live here and nowhere else. A refusal is typed; each edge maps it to
 * its own answer (an HTTP status and page, an ephemeral Slack message, a CLI exit code) from
 * the error `refusalError` makes of it.
 *
 * Order of the checks (the order the page's form has always been judged in):
 *   what was asked     1. a rejection needs a reason
 *                      2. each older cutoff: not on a failback, a group of the request, a
 *                         timestamp, never later than the proposed cutoff
 *                      3. a failback has no restore points to preview
 *                      (a preview of an approval stops here: it decides nothing)
 *   the request        4. closed: approved but its workflow was gone (undelivered); a repeat
 *                         of the same decision is a duplicate; superseded; expired; already final
 *                      5. the deadline has passed
 *   the person         6. a decider of every affected group
 *                      7. not the requester where the groups forbid self-approval (approve)
 *   the points         8. an unverified malware scan needs the explicit second confirmation (approve)
 *   earlier decisions  9. the same decision again is a duplicate; another one is refused
 */

export type DecisionRefusal =
  | { kind: 'reason-required' }
  /** An older cutoff was picked on a failback (it has no restore points). */
  | { kind: 'cutoff-on-failback'; group: string }
  | { kind: 'cutoff-unknown-group'; group: string }
  | { kind: 'cutoff-malformed'; group: string }
  /** The cutoff may only move earlier than the proposed one, never later. */
  | { kind: 'cutoff-later'; group: string; proposed: string }
  | { kind: 'preview-of-failback' }
  /** Approved, but the workflow that asked was gone: nothing was launched. */
  | { kind: 'undelivered'; why: string }
  | { kind: 'superseded'; closedReason?: string }
  /** The request was closed as expired (on escalation, at the workflow's end, never sent). */
  | { kind: 'closed'; closedReason?: string }
  | { kind: 'already-final'; status: 'approved' | 'rejected' }
  /** The deadline passed while the request was still pending. */
  | { kind: 'expired'; expiresAt: string }
  | { kind: 'not-eligible'; personId: string; groups: string[] }
  | { kind: 'self-approval'; personId: string; purpose: ApprovalPurpose }
  | { kind: 'unverified-scan'; machines: string[] }
  /** This person already decided the other way. */
  | { kind: 'already-decided'; personId: string; previous: DecisionKind };

export type RefusalKind = DecisionRefusal['kind'];

/**
 * `decide`: record the decision (`unverified`: the machines whose unverified scan the decider
 * confirmed); `duplicate`: already recorded, change nothing; `preview`: show the selection for
 * the picked cutoffs, decide nothing.
 */
export type DecisionVerdict =
  | { ok: true; action: 'decide'; unverified: string[] }
  | { ok: true; action: 'duplicate' }
  | { ok: true; action: 'preview' }
  | { ok: false; refusal: DecisionRefusal };

/** What a channel asks for (after parsing its own wire format). */
export interface DecisionAttempt {
  personId: string;
  decision: DecisionKind;
  reason?: string | undefined;
  /** Older per-group cutoffs, as given (checked here). */
  groupCutoffs?: Record<string, string> | undefined;
  confirmUnverified?: boolean | undefined;
  /** The page's two steps: `preview` shows the selection for the picked cutoffs (default `confirm`). */
  step?: 'preview' | 'confirm' | undefined;
}

/** What a reason is once read: trimmed, at most 1,000 characters, absent when empty. */
export function normalReason(reason: string | undefined): string | undefined {
  const r = reason?.trim().slice(0, 1000);
  return r ? r : undefined;
}

export function validateDecision(request: ApprovalRequest, attempt: DecisionAttempt, context: { index: InventoryIndex; nowMs: number }): DecisionVerdict {
  const refuse = (refusal: DecisionRefusal): DecisionVerdict => ({ ok: false, refusal });
  const { personId, decision } = attempt;

  if (decision === 'reject' && !normalReason(attempt.reason)) return refuse({ kind: 'reason-required' });
  for (const [group, value] of Object.entries(attempt.groupCutoffs ?? {})) {
    if (!request.proposal) return refuse({ kind: 'cutoff-on-failback', group });
    if (!request.groups.includes(group)) return refuse({ kind: 'cutoff-unknown-group', group });
    if (!isIsoTimestamp(value)) return refuse({ kind: 'cutoff-malformed', group });
    if (Date.parse(value) > Date.parse(request.proposal.cutoff)) return refuse({ kind: 'cutoff-later', group, proposed: request.proposal.cutoff });
  }
  if (attempt.step === 'preview' && !request.proposal) return refuse({ kind: 'preview-of-failback' });
  if (attempt.step === 'preview' && decision === 'approve') return { ok: true, action: 'preview' };

  const mine = request.decisions.find((d) => d.personId === personId);
  if (request.status !== 'pending') {
    if (request.undelivered && request.status === 'approved') return refuse({ kind: 'undelivered', why: request.undelivered });
    if (mine && mine.decision === decision) return { ok: true, action: 'duplicate' };
    const closedReason = request.closedReason ? { closedReason: request.closedReason } : {};
    if (request.status === 'superseded') return refuse({ kind: 'superseded', ...closedReason });
    if (request.status === 'expired') return refuse({ kind: 'closed', ...closedReason });
    return refuse({ kind: 'already-final', status: request.status });
  }
  if (context.nowMs > Date.parse(request.expiresAt)) return refuse({ kind: 'expired', expiresAt: request.expiresAt });
  if (!request.eligibleDeciders.includes(personId)) return refuse({ kind: 'not-eligible', personId, groups: [...request.groups] });
  if (decision === 'approve' && !mayApprove(context.index, request, personId)) return refuse({ kind: 'self-approval', personId, purpose: purposeOf(request) });
  const unverified = decision === 'approve' && !mine ? unverifiedPoints(context.index, request) : [];
  if (unverified.length > 0 && attempt.confirmUnverified !== true) return refuse({ kind: 'unverified-scan', machines: unverified });
  if (mine) return mine.decision === decision ? { ok: true, action: 'duplicate' } : refuse({ kind: 'already-decided', personId, previous: mine.decision });
  return { ok: true, action: 'decide', unverified };
}

/** Why a request can no longer be opened from its links (a superseded request's links stop working), or null. */
export function validateView(request: Pick<ApprovalRequest, 'status' | 'closedReason'>): Extract<DecisionRefusal, { kind: 'superseded' }> | null {
  return request.status === 'superseded' ? { kind: 'superseded', ...(request.closedReason ? { closedReason: request.closedReason } : {}) } : null;
}

/** "superseded by a newer proposal (why)": what a superseded request says about itself. */
export function supersededWhy(r: { closedReason?: string | undefined }): string {
  return `superseded by a newer proposal${r.closedReason ? ` (${r.closedReason})` : ''}`;
}

/** Machines of a failover request whose chosen point's scan is unverified (pending, skipped, failed, out of budget). */
function unverifiedPoints(index: InventoryIndex, r: ApprovalRequest): string[] {
  const p = r.proposal;
  if (!p || purposeOf(r) !== 'failover') return [];
  return p.selection.machines
    .filter((m) => machineScan(p.scans?.[m.machineId], m.pointId, scanRequired(index.groupByName.get(m.group), p.mode)).status === 'unverified')
    .map((m) => m.machineId);
}

/**
 * How a channel names what it was given, for the messages of refusals about it: the page's
 * form (`decision form`, fields `reason`, `cutoff:<group>`, `step`) or the CLI (`approvals
 * reject`, `--reason`).
 */
export interface InputNames { form: string; reason: string; cutoffPrefix: string; step: string }

export const DEFAULT_INPUT_NAMES: InputNames = { form: 'decision', reason: 'reason', cutoffPrefix: 'cutoff:', step: 'step' };

const CUTOFF_PROBLEMS: Record<Extract<RefusalKind, `cutoff-${string}`>, (group: string) => string> = {
  'cutoff-on-failback': () => 'a failback has no restore points to pick',
  'cutoff-unknown-group': (group) => `group ${group} is not part of this request`,
  'cutoff-malformed': () => 'must be an ISO-8601 timestamp',
  'cutoff-later': () => 'may only move the cutoff earlier',
};

const REFUSAL = Symbol.for('cleanpoint.decision-refusal');

/**
 * The error a refusal is thrown as: ValidationError (what was asked), ConflictError (the
 * request's state), ApprovalExpiredError, ForbiddenError (the person). The typed refusal rides
 * along (`refusalOf`), so an edge can tell the kinds apart without reading messages.
 */
export function refusalError(refusal: DecisionRefusal, names: Partial<InputNames> = {}): Error {
  const n = { ...DEFAULT_INPUT_NAMES, ...names };
  const error = ((): Error => {
    switch (refusal.kind) {
      case 'reason-required': return new ValidationError(n.form, [{ path: n.reason, message: 'a rejection needs a reason' }]);
      case 'cutoff-on-failback': case 'cutoff-unknown-group': case 'cutoff-malformed': case 'cutoff-later':
        return new ValidationError(n.form, [{ path: `${n.cutoffPrefix}${refusal.group}`, message: CUTOFF_PROBLEMS[refusal.kind](refusal.group) }]);
      case 'preview-of-failback': return new ValidationError(n.form, [{ path: n.step, message: 'a failback has no restore points to preview' }]);
      case 'undelivered': return new ConflictError(`${refusal.why}; start a new failover if it is still needed`);
      case 'superseded': return new ConflictError(`${supersededWhy(refusal)}; use the newer request's link`);
      case 'closed': return new ApprovalExpiredError(refusal.closedReason ? `the request is closed: ${refusal.closedReason}` : 'the request expired without a decision');
      case 'already-final': return new ConflictError(`the request is already ${refusal.status}; nothing was changed`);
      case 'expired': return new ApprovalExpiredError(`the request expired at ${refusal.expiresAt}`);
      case 'not-eligible': return new ForbiddenError(`${refusal.personId} is not a decider for every affected group (${refusal.groups.join(', ')})`);
      case 'self-approval': return new ForbiddenError(`${refusal.personId} asked for this ${refusal.purpose} and may not approve it`);
      case 'unverified-scan': return new ValidationError('approve', [{
        path: 'confirmUnverified',
        message: `the malware scan of ${refusal.machines.join(', ')} is unverified: approving needs an explicit second confirmation (confirmUnverified)`,
      }]);
      case 'already-decided': return new ConflictError(`${refusal.personId} already decided ${refusal.previous}`);
    }
  })();
  Object.defineProperty(error, REFUSAL, { value: refusal, enumerable: false });
  return error;
}

/** The typed refusal an error stands for (thrown by decideApproval), or null for any other error. */
export function refusalOf(e: unknown): DecisionRefusal | null {
  return (typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[REFUSAL] as DecisionRefusal | undefined) || null;
}

/** What the audit trail records about a refusal (`outcome`). */
export function describeRefusal(refusal: DecisionRefusal, names: Partial<InputNames> = {}): string {
  const n = { ...DEFAULT_INPUT_NAMES, ...names };
  switch (refusal.kind) {
    case 'reason-required': return 'a rejection without a reason';
    case 'cutoff-on-failback': case 'cutoff-unknown-group': case 'cutoff-malformed': case 'cutoff-later':
      return `invalid cutoff ${n.cutoffPrefix}${refusal.group}: ${CUTOFF_PROBLEMS[refusal.kind](refusal.group)}`;
    case 'preview-of-failback': return 'a preview of a failback';
    default: return refusalError(refusal, names).message;
  }
}
