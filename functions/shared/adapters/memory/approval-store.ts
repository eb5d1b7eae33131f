/** In-memory ApprovalStore with the DynamoDB adapter's semantics (see the contract suite). */
import type { ApprovalRequest } from '../../../../domain/approvals/index.ts';
import { ConflictError, NotFoundError } from '../../../../domain/shared/index.ts';
import { assertNoIdentityChange, listingKey, newestFirst, type ApprovalStore } from '../../../../domain/ports/index.ts';
import { applyChanges } from './incident-store.ts';

export class MemoryApprovalStore implements ApprovalStore {
  private readonly approvals = new Map<string, ApprovalRequest>();

  async createApproval(request: ApprovalRequest): Promise<void> {
    if (this.approvals.has(request.approvalId)) throw new ConflictError(`approval request ${request.approvalId} already exists`);
    this.approvals.set(request.approvalId, structuredClone(request));
  }

  async getApproval(approvalId: string): Promise<ApprovalRequest | null> {
    const found = this.approvals.get(approvalId);
    return found ? structuredClone(found) : null;
  }

  async updateApproval(
    approvalId: string, expectedVersion: number, changes: Partial<Omit<ApprovalRequest, 'approvalId' | 'version'>>,
  ): Promise<ApprovalRequest> {
    assertNoIdentityChange('approval request', changes, 'approvalId');
    const current = this.approvals.get(approvalId);
    if (!current) throw new NotFoundError(`approval request ${approvalId} does not exist`);
    if (current.version !== expectedVersion) {
      throw new ConflictError(`approval request ${approvalId} is at version ${current.version}, not ${expectedVersion}: somebody decided first`);
    }
    const next = applyChanges(current, changes, expectedVersion + 1);
    this.approvals.set(approvalId, next);
    return structuredClone(next);
  }

  async listApprovals(options: { incidentId?: string; status?: ApprovalRequest['status']; limit?: number } = {}): Promise<ApprovalRequest[]> {
    const { incidentId, status, limit } = options;
    if (limit !== undefined && limit <= 0) return [];
    const matching = [...this.approvals.values()]
      .filter((a) => (incidentId === undefined || a.incidentId === incidentId) && (status === undefined || a.status === status))
      .sort(newestFirst((a) => listingKey(a.createdAt, a.approvalId)));
    return structuredClone(limit === undefined ? matching : matching.slice(0, limit));
  }
}
