import type { ApprovalRequest } from './approval.ts';
import type { ApprovalStore, AuditLog, WorkflowEngine } from '../ports/index.ts';
import { ConflictError, toIso, WorkflowGoneError, type Clock } from '../shared/index.ts';

/** What a delivery needs: the request store, the audit trail, the waiting workflow, the clock. */
export interface DeliverDeps { approvals: ApprovalStore; audit: AuditLog; workflows: WorkflowEngine; clock: Clock }

/** A delivery claim older than this is taken over (its holder died between claim and delivery). */
export const DELIVERY_CLAIM_MS = 30_000;

/**
 * Tell the waiting workflow about a final outcome exactly once (repairable after a crash).
 * Concurrent attempts (two deciders at once, a double click, a Slack retry) first claim the
 * delivery with a conditional write; only the claim's winner calls Step Functions, so a
 * second SendTaskSuccess can never be mistaken for "the workflow is gone". When the workflow
 * really is gone (timed out, failed, stopped), the approval cannot take effect: the request
 * records why, the attempt is audited, and the decider is told nothing will launch.
 */
export async function deliverIfNeeded(deps: DeliverDeps, r: ApprovalRequest): Promise<ApprovalRequest> {
  if (r.deliveredAt || r.undelivered || (r.status !== 'approved' && r.status !== 'rejected')) return r;
  const now = deps.clock.now();
  if (r.deliveryClaimedAt && now - Date.parse(r.deliveryClaimedAt) < DELIVERY_CLAIM_MS) return r; // somebody is delivering it now
  let claimed: ApprovalRequest;
  try {
    claimed = await deps.approvals.updateApproval(r.approvalId, r.version, { deliveryClaimedAt: toIso(now) });
  } catch (e) {
    if (e instanceof ConflictError) return (await deps.approvals.getApproval(r.approvalId)) ?? r;
    throw e;
  }
  const decidedAt = claimed.decisions[claimed.decisions.length - 1]?.at ?? toIso(now);
  try {
    if (claimed.status === 'approved') {
      await deps.workflows.sendTaskSuccess(claimed.taskToken, {
        approved: true, approvalId: claimed.approvalId, decidedAt,
        decidedBy: claimed.decisions.filter((d) => d.decision === 'approve').map((d) => d.personId),
        ...(claimed.groupCutoffs ? { groupCutoffs: claimed.groupCutoffs } : {}),
      });
    } else {
      const reject = claimed.decisions.find((d) => d.decision === 'reject');
      await deps.workflows.sendTaskFailure(claimed.taskToken, 'ApprovalRejected', `rejected by ${reject?.personId ?? 'a decider'}${reject?.reason ? `: ${reject.reason}` : ''}`);
    }
  } catch (e) {
    if (!(e instanceof WorkflowGoneError)) throw e;
    const why = claimed.status === 'approved'
      ? 'the workflow that asked for this decision is no longer waiting (it timed out, failed or was stopped): nothing was launched'
      : 'the workflow that asked for this decision is no longer waiting';
    const gone = await deps.approvals.updateApproval(claimed.approvalId, claimed.version, { undelivered: why, closedReason: why });
    await deps.audit.append(claimed.incidentId, { type: 'approval.undelivered', actor: 'cleanpoint', at: toIso(deps.clock.now()), data: { approvalId: claimed.approvalId, decision: claimed.status, outcome: why } });
    if (claimed.status === 'approved') throw new ConflictError(`${why}; start a new failover if it is still needed`);
    return gone;
  }
  try {
    return await deps.approvals.updateApproval(claimed.approvalId, claimed.version, { deliveredAt: toIso(deps.clock.now()) });
  } catch (e) {
    if (e instanceof ConflictError) return (await deps.approvals.getApproval(claimed.approvalId)) ?? claimed;
    throw e;
  }
}

