import type { ApprovalRequest } from './approval.ts';
import type { ApprovalStore, AuditLog } from '../ports/index.ts';
import { ConflictError, toIso, type Clock } from '../shared/index.ts';

/**
 * expireApprovals(deps)(incidentId, why)
 *
 * Marks every pending request of an incident as expired (on escalation for the superseded
 * request; when the workflow ends as expired for the last one), audited. Idempotent.
 */
export function expireApprovals(deps: { approvals: ApprovalStore; audit: AuditLog; clock: Clock }) {
  return async (incidentId: string, why: string): Promise<string[]> => {
    const expired: string[] = [];
    for (const r of await deps.approvals.listApprovals({ incidentId, status: 'pending' })) {
      try {
        await deps.approvals.updateApproval(r.approvalId, r.version, { status: 'expired', closedReason: why });
      } catch (e) {
        if (e instanceof ConflictError) continue; // decided at this very moment: the decision wins
        throw e;
      }
      expired.push(r.approvalId);
      await deps.audit.append(incidentId, { type: 'approval.expired', actor: 'cleanpoint', at: toIso(deps.clock.now()), data: { approvalId: r.approvalId, outcome: why } });
    }
    return expired;
  };
}

/** The status a person should see: a pending request past its deadline is expired. */
export function effectiveStatus(r: Pick<ApprovalRequest, 'status' | 'expiresAt'>, nowMs: number): ApprovalRequest['status'] {
  return r.status === 'pending' && nowMs > Date.parse(r.expiresAt) ? 'expired' : r.status;
}
