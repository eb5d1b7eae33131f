import type { ApprovalRequest } from '../approvals/model.ts';

export interface ApprovalStore {
  /** Conditional create. */
  createApproval(request: ApprovalRequest): Promise<void>;
  getApproval(approvalId: string): Promise<ApprovalRequest | null>;
  /** Optimistic update on `version`; ConflictError when it moved. */
  updateApproval(approvalId: string, expectedVersion: number, changes: Partial<Omit<ApprovalRequest, 'approvalId' | 'version'>>): Promise<ApprovalRequest>;
  listApprovals(options?: { incidentId?: string; status?: ApprovalRequest['status']; limit?: number }): Promise<ApprovalRequest[]>;
}
