import type { ApprovalRequest } from '../approvals/model.ts';

/**
 * Approval requests. Implementations apply the rules of versioned-store.ts (identity and version
 * are the store's; listed newest first).
 */
export interface ApprovalStore {
  /** Conditional create. */
  createApproval(request: ApprovalRequest): Promise<void>;
  getApproval(approvalId: string): Promise<ApprovalRequest | null>;
  /** Optimistic update on `version`; ConflictError when it moved. */
  updateApproval(approvalId: string, expectedVersion: number, changes: Partial<Omit<ApprovalRequest, 'approvalId' | 'version'>>): Promise<ApprovalRequest>;
  listApprovals(options?: { incidentId?: string; status?: ApprovalRequest['status']; limit?: number }): Promise<ApprovalRequest[]>;
}
