import { withoutToken, type ApprovalRequest, type Channel, type DecisionKind } from './approval.ts';
import { deliverIfNeeded } from './deliver.ts';
import { describeRefusal, normalReason, refusalError, validateDecision, type DecisionRefusal, type InputNames } from './validate.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import type { ApprovalStore, AuditLog, IncidentStore, WorkflowEngine } from '../ports/index.ts';
import { ConflictError, NotFoundError, toIso, type Clock } from '../shared/index.ts';

/**
 * Deciding: how a decision from any channel (the web page, Slack, the CLI) becomes
 * SendTaskSuccess / SendTaskFailure exactly once, through the one validator (validate.ts).
 */

export interface DecideDeps {
  approvals: ApprovalStore;
  incidents: IncidentStore;
  audit: AuditLog;
  workflows: WorkflowEngine;
  clock: Clock;
  index: InventoryIndex;
}

export interface DecideInput {
  approvalId: string;
  personId: string;
  decision: DecisionKind;
  channel: Channel;
  /** Source address or Slack identity, for the audit trail. */
  source: string;
  /** Required to reject (trimmed, at most 1,000 characters). */
  reason?: string;
  /** Older per-group cutoffs picked by the decider (approve only; each may only move the cutoff earlier). */
  groupCutoffs?: Record<string, string>;
  /** The decider confirmed approving although some point's scan is unverified (required then). */
  confirmUnverified?: boolean;
  /** How the channel names its inputs, for the messages of refusals about them (default: decision, reason, cutoff:<group>, step). */
  names?: Partial<InputNames>;
}

export interface DecideResult {
  status: ApprovalRequest['status'];
  /** This call changed nothing (double click, Slack retry, replayed form). */
  duplicate: boolean;
  approvalsNeeded: number;
  request: ApprovalRequest;
}

/** Who tried, how and from where: the audit trail of every attempt, accepted or not. */
export interface Attempt {
  personId: string;
  channel: Channel;
  source: string;
  decision?: DecisionKind;
}

/** Audit a refused attempt (one entry per attempt). The request itself is not touched. */
export async function recordRefusal(
  deps: { audit: AuditLog; clock: Clock }, request: Pick<ApprovalRequest, 'approvalId' | 'incidentId'>, attempt: Attempt, why: string,
): Promise<void> {
  await deps.audit.append(request.incidentId, {
    type: 'approval.refused', actor: attempt.personId || 'unknown', at: toIso(deps.clock.now()),
    data: {
      approvalId: request.approvalId, channel: attempt.channel, source: attempt.source, outcome: why.slice(0, 500),
      ...(attempt.decision ? { decision: attempt.decision } : {}),
    },
  });
}

/** Audit a refusal of the validator and throw it as its error (refusalError). */
async function refuse(deps: DecideDeps, request: ApprovalRequest, input: DecideInput, refusal: DecisionRefusal): Promise<never> {
  const attempt: Attempt = { personId: input.personId, channel: input.channel, source: input.source, decision: input.decision };
  await recordRefusal(deps, request, attempt, describeRefusal(refusal, input.names));
  throw refusalError(refusal, input.names);
}

/** The input as the rules read it: the reason trimmed and bounded, no empty cutoffs. */
function normalInput(raw: DecideInput): DecideInput {
  const { reason: _reason, groupCutoffs, ...rest } = raw;
  const reason = normalReason(raw.reason);
  return { ...rest, ...(reason ? { reason } : {}), ...(groupCutoffs && Object.keys(groupCutoffs).length ? { groupCutoffs } : {}) };
}

/**
 * decideApproval(deps)(input)
 *
 * Every attempt, accepted, repeated or refused, is audited with who, when, channel and source.
 * 1. The request must exist; validateDecision judges the attempt (what was asked, the
 *    request's state and deadline, the person, the points, earlier decisions: validate.ts).
 *    A refusal is audited and thrown as its error; a repeat of a decision already counted is
 *    a no-op (idempotent: double click, Slack retry, replayed form), audited as a duplicate.
 * 2. Reject ends the wait with SendTaskFailure(ApprovalRejected); approvals count until the
 *    quorum of distinct deciders is met, then SendTaskSuccess carries the final selection.
 * 3. State is written (conditionally) before the workflow is told, and the delivery is
 *    recorded after, so a crash in between is repaired by the next attempt, never doubled.
 */
export function decideApproval(deps: DecideDeps) {
  return async (raw: DecideInput): Promise<DecideResult> => {
    const input = normalInput(raw);
    for (let round = 0; round < 5; round++) {
      const request = await deps.approvals.getApproval(input.approvalId);
      if (!request) throw new NotFoundError('approval request not found');
      const at = toIso(deps.clock.now());
      const verdict = validateDecision(request, input, { index: deps.index, nowMs: Date.parse(at) });
      if (!verdict.ok) return refuse(deps, request, input, verdict.refusal);
      if (verdict.action === 'preview') throw new Error('decideApproval: a preview decides nothing (decideOnPage shows it)');
      if (verdict.action === 'duplicate') {
        const r = await deliverIfNeeded(deps, request);
        await auditDecision(deps, r, input, at, 'decision.duplicate', 'already recorded; nothing changed');
        return { status: r.status, duplicate: true, approvalsNeeded: needed(r), request: r };
      }

      const decision = {
        personId: input.personId, decision: input.decision, at, channel: input.channel, source: input.source,
        ...(input.reason ? { reason: input.reason } : {}),
      };
      const decisions = [...request.decisions, decision];
      const approvals = decisions.filter((d) => d.decision === 'approve').length;
      const status: ApprovalRequest['status'] =
        input.decision === 'reject' ? 'rejected' : approvals >= request.quorum ? 'approved' : 'pending';
      let updated: ApprovalRequest;
      try {
        updated = await deps.approvals.updateApproval(request.approvalId, request.version, {
          decisions, status,
          ...(input.groupCutoffs && input.decision === 'approve' ? { groupCutoffs: { ...request.groupCutoffs, ...input.groupCutoffs } } : {}),
        });
      } catch (e) {
        if (e instanceof ConflictError) continue; // somebody decided at the same moment: re-read and re-judge
        throw e;
      }
      if (verdict.unverified.length > 0) {
        await deps.audit.append(updated.incidentId, {
          type: 'decision.unverified-confirmed', actor: input.personId, at,
          data: { approvalId: updated.approvalId, channel: input.channel, source: input.source, machines: verdict.unverified },
        });
      }
      await auditDecision(deps, updated, input, at, input.decision === 'reject' ? 'decision.rejected' : 'decision.approved',
        status === 'pending' ? `${needed(updated)} more approval(s) needed` : `request ${status}`);
      const delivered = status === 'pending' ? updated : await deliverIfNeeded(deps, updated);
      return { status, duplicate: false, approvalsNeeded: needed(delivered), request: delivered };
    }
    throw new ConflictError('the request kept changing; try again');
  };
}

/** What the approval page's form asked: `preview` shows the selection for older cutoffs, decides nothing. */
export type PageOutcome = { kind: 'preview'; request: ApprovalRequest; cutoffs: Record<string, string> } | { kind: 'decided'; result: DecideResult };

/**
 * decideOnPage(deps)(input) — the approval page's two steps.
 *
 * 1. The request must exist; validateDecision judges what was asked (reason, cutoffs, a preview).
 * 2. A preview of an approval decides nothing: the caller shows the selection for the picked
 *    cutoffs (and the form to confirm them).
 * 3. Anything else is decideApproval (a refusal of step 1 is audited and thrown there, once).
 */
export function decideOnPage(deps: DecideDeps) {
  return async (raw: DecideInput & { step: 'preview' | 'confirm' }): Promise<PageOutcome> => {
    const { step, ...input } = raw;
    const request = await deps.approvals.getApproval(input.approvalId);
    if (!request) throw new NotFoundError('approval request not found');
    const verdict = validateDecision(request, { ...normalInput(input), step }, { index: deps.index, nowMs: deps.clock.now() });
    if (verdict.ok && verdict.action === 'preview') return { kind: 'preview', request, cutoffs: { ...input.groupCutoffs } };
    // A refused preview is refused as such (decideApproval, which takes no step, would not see it).
    if (!verdict.ok && verdict.refusal.kind === 'preview-of-failback') return refuse(deps, request, input, verdict.refusal);
    return { kind: 'decided', result: await decideApproval(deps)(input) };
  };
}

function needed(r: ApprovalRequest): number {
  return Math.max(0, r.quorum - r.decisions.filter((d) => d.decision === 'approve').length);
}

async function auditDecision(deps: DecideDeps, r: ApprovalRequest, input: DecideInput, at: string, type: string, outcome: string) {
  await deps.audit.append(r.incidentId, {
    type, actor: input.personId, at,
    data: {
      approvalId: r.approvalId, decision: input.decision, channel: input.channel, source: input.source, outcome,
      ...(input.reason ? { reason: input.reason } : {}), ...(input.groupCutoffs ? { groupCutoffs: input.groupCutoffs } : {}),
    },
  });
}

/** A decision as the CLI reports it: the request's public view, never the task token. */
export interface CliDecisionResult {
  approvalId: string;
  incidentId: string;
  status: ApprovalRequest['status'];
  duplicate: boolean;
  approvalsNeeded: number;
  expiresAt: string;
  decisions: ApprovalRequest['decisions'];
}

/**
 * decideFromCli(deps)(input) — `cleanpoint approvals approve|reject ID --as PERSON [--reason TEXT]`
 *
 * The CLI runs with the operator's own credentials for the state table and Step Functions, so
 * `--as` is an attribution the audit trail records (with the OS user and host as source), not
 * an authentication. The same rules as every channel apply (validateDecision: a rejection
 * needs a reason, eligibility, quorum, expiry, single use).
 * 1. decideApproval with channel `cli` (a refusal names the CLI's `--reason`).
 * 2. Return the public result.
 */
export function decideFromCli(deps: DecideDeps) {
  return async (input: { approvalId: string; as: string; decision: DecisionKind; reason?: string; source: string; confirmUnverified?: boolean }): Promise<CliDecisionResult> => {
    const result = await decideApproval(deps)({
      approvalId: input.approvalId, personId: input.as, decision: input.decision, channel: 'cli', source: input.source,
      ...(input.reason !== undefined ? { reason: input.reason } : {}), ...(input.confirmUnverified ? { confirmUnverified: true } : {}),
      names: { form: 'approvals reject', reason: '--reason' },
    });
    const r = withoutToken(result.request);
    return {
      approvalId: r.approvalId, incidentId: r.incidentId, status: result.status, duplicate: result.duplicate,
      approvalsNeeded: result.approvalsNeeded, expiresAt: r.expiresAt, decisions: r.decisions,
    };
  };
}
