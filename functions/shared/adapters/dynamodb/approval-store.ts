/**
 * Approval requests in the state table: `APPROVAL#<approvalId>` / META, listed newest first
 * through gsi1 (`APPROVALS`, `${createdAt}#${approvalId}`). The item holds the Step Functions
 * task token: this store is server-side only; anything shown to people goes through
 * `withoutToken`.
 */
import type { ApprovalRequest } from '../../../../domain/approvals/index.ts';
import { ConflictError, NotFoundError } from '../../../../domain/shared/index.ts';
import { assertNoIdentityChange, listingKey, type ApprovalStore } from '../../../../domain/ports/index.ts';
import {
  DynamoTable, isConditionFailed, omitAttributes, versionedUpdate, type DynamoAdapterOptions, type Item,
} from './client.ts';
import { STATE_ITEM_ATTRIBUTES } from './incident-store.ts';
import { STATE_GSI1 } from './tables.ts';

export const APPROVALS_PARTITION = 'APPROVALS';
const MAX_PAGE = 100;

const approvalKey = (approvalId: string) => ({ pk: `APPROVAL#${approvalId}`, sk: 'META' });

export class DynamoApprovalStore implements ApprovalStore {
  private readonly table: DynamoTable;

  constructor(options: DynamoAdapterOptions) {
    this.table = new DynamoTable(options);
  }

  async createApproval(request: ApprovalRequest): Promise<void> {
    try {
      await this.table.put({
        Item: {
          ...request,
          ...approvalKey(request.approvalId),
          gsi1pk: APPROVALS_PARTITION,
          gsi1sk: listingKey(request.createdAt, request.approvalId),
          entity: 'approval',
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    } catch (error) {
      if (isConditionFailed(error)) throw new ConflictError(`approval request ${request.approvalId} already exists`);
      throw error;
    }
  }

  async getApproval(approvalId: string): Promise<ApprovalRequest | null> {
    const out = await this.table.get({ Key: approvalKey(approvalId), ConsistentRead: true });
    return out.Item ? toApproval(out.Item) : null;
  }

  async updateApproval(
    approvalId: string, expectedVersion: number, changes: Partial<Omit<ApprovalRequest, 'approvalId' | 'version'>>,
  ): Promise<ApprovalRequest> {
    assertNoIdentityChange('approval request', changes, 'approvalId');
    const index = changes.createdAt !== undefined ? { gsi1sk: listingKey(changes.createdAt, approvalId) } : {};
    try {
      const out = await this.table.update({
        Key: approvalKey(approvalId),
        ...versionedUpdate(changes, expectedVersion, index),
        ReturnValues: 'ALL_NEW',
      });
      return toApproval(out.Attributes ?? {});
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    const current = await this.getApproval(approvalId);
    if (!current) throw new NotFoundError(`approval request ${approvalId} does not exist`);
    throw new ConflictError(`approval request ${approvalId} is at version ${current.version}, not ${expectedVersion}: somebody decided first`);
  }

  /**
   * Newest first. Filters run server-side after the key condition (DynamoDB applies `Limit`
   * before the filter), so this pages until it has `limit` matches or the index is exhausted.
   */
  async listApprovals(options: { incidentId?: string; status?: ApprovalRequest['status']; limit?: number } = {}): Promise<ApprovalRequest[]> {
    const { incidentId, status, limit } = options;
    if (limit !== undefined && limit <= 0) return [];
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':p': APPROVALS_PARTITION };
    if (incidentId !== undefined) { filters.push('#incidentId = :incidentId'); names['#incidentId'] = 'incidentId'; values[':incidentId'] = incidentId; }
    if (status !== undefined) { filters.push('#status = :status'); names['#status'] = 'status'; values[':status'] = status; }
    const found: ApprovalRequest[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.query({
        IndexName: STATE_GSI1,
        KeyConditionExpression: 'gsi1pk = :p',
        FilterExpression: filters.length ? filters.join(' AND ') : undefined,
        ExpressionAttributeNames: filters.length ? names : undefined,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: limit !== undefined && !filters.length ? Math.min(limit, MAX_PAGE) : MAX_PAGE,
        ExclusiveStartKey: start,
      });
      for (const item of (page.Items ?? []) as Item[]) found.push(toApproval(item));
      start = page.LastEvaluatedKey;
    } while (start && (limit === undefined || found.length < limit));
    return limit === undefined ? found : found.slice(0, limit);
  }
}

function toApproval(item: Item): ApprovalRequest {
  return omitAttributes<ApprovalRequest>(item, STATE_ITEM_ATTRIBUTES);
}
