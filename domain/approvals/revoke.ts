import { withoutToken, type ApprovalRequest, type Channel } from './approval.ts';
import { linkGeneration, personalLink } from './links.ts';
import { approvalCard, approvalQuestion, approvalSummary, type ApprovalNotification } from './messages.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import type { ApprovalStore, AuditLog, IncidentStore, Notifier } from '../ports/index.ts';
import { ConflictError, NotFoundError, toIso, ValidationError, type Clock } from '../shared/index.ts';

export interface RevokeLinksDeps {
  approvals: ApprovalStore;
  audit: AuditLog;
  clock: Clock;
  /** Needed only to send a fresh link (`reissue`). */
  reissue?: { notifier: Notifier; publicBaseUrl: string; linkSecret: string; index: InventoryIndex; incidents: IncidentStore };
}

/**
 * revokeLinks(deps)(input)
 *
 * A personal link was forwarded or leaked: every link of that person for this request stops
 * working at once (their generation moves on), without touching anybody else's links or the
 * server secret. Revoking does not change who may decide.
 * 1. Bump the person's link generation (conditional write; re-read on a race).
 * 2. Audit who revoked, why, from where.
 * 3. Optionally send the person a fresh link (only while the request is pending, not expired,
 *    and the person is an eligible decider).
 */
export function revokeLinks(deps: RevokeLinksDeps) {
  return async (input: { approvalId: string; personId: string; by: string; channel: Channel; source: string; reason?: string; reissue?: boolean }): Promise<{ generation: number; reissued: boolean }> => {
    for (let round = 0; round < 5; round++) {
      const request = await deps.approvals.getApproval(input.approvalId);
      if (!request) throw new NotFoundError('approval request not found');
      const generation = linkGeneration(request, input.personId) + 1;
      let updated: ApprovalRequest;
      try {
        updated = await deps.approvals.updateApproval(request.approvalId, request.version, {
          linkGenerations: { ...request.linkGenerations, [input.personId]: generation },
        });
      } catch (e) {
        if (e instanceof ConflictError) continue;
        throw e;
      }
      const at = toIso(deps.clock.now());
      await deps.audit.append(request.incidentId, {
        type: 'approval.links-revoked', actor: input.by, at,
        data: { approvalId: request.approvalId, personId: input.personId, generation, channel: input.channel, source: input.source, ...(input.reason ? { reason: input.reason.slice(0, 500) } : {}) },
      });
      let reissued = false;
      const live = updated.status === 'pending' && Date.parse(at) <= Date.parse(updated.expiresAt) && updated.eligibleDeciders.includes(input.personId);
      if (input.reissue && live) {
        if (!deps.reissue) throw new ValidationError('revokeLinks', [{ path: 'reissue', message: 'no notifier configured to send a fresh link' }]);
        const r = deps.reissue;
        const incident = await r.incidents.getIncident(updated.incidentId);
        if (!incident) throw new NotFoundError('incident not found');
        const card = approvalCard(withoutToken(updated), incident, r.index);
        const fresh: ApprovalNotification = {
          kind: updated.escalation ? 'escalation' : 'approval-request', incidentId: updated.incidentId, recipients: [input.personId], audience: 'person', approval: card,
          subject: `New link: ${approvalQuestion(card).replace(/^Approve/, 'approve')}`,
          text: [...approvalSummary(card), 'Your earlier links for this request were revoked. This link is personal and acts as you: do not forward it.'].join('\n'),
          links: [{ label: 'Review and decide', url: personalLink(r.publicBaseUrl, r.linkSecret, updated, input.personId) }],
        };
        await r.notifier.send(fresh);
        reissued = true;
      }
      return { generation, reissued };
    }
    throw new ConflictError('the request kept changing; try again');
  };
}

