import { randomBytes } from 'node:crypto';
import type { ApprovalRequest, Channel, DecisionKind } from './approval.ts';
import type { Clock } from './clock.ts';
import { ApprovalExpiredError, ConflictError, ForbiddenError, NotFoundError } from './errors.ts';
import { decidersOf, type InventoryIndex } from './inventory.ts';
import { changeIncident, moveTo } from './incident-updates.ts';
import { linkQuery } from './links.ts';
import type { ApprovalStore, AuditLog, IncidentStore, Notifier, RunStore, WorkflowEngine } from './ports.ts';
import { toIso } from './validation.ts';

/** 128 bits of randomness, URL-safe: the approval id is unguessable and carries no meaning. */
export function newApprovalId(): string {
  return randomBytes(16).toString('base64url');
}

export interface RequestApprovalDeps {
  index: InventoryIndex;
  incidents: IncidentStore;
  approvals: ApprovalStore;
  runs: RunStore;
  audit: AuditLog;
  notifier: Notifier;
  clock: Clock;
  /** Base URL of the approval pages, e.g. https://approvals.example.com */
  publicBaseUrl: string;
  /** Server secret that signs each decider's personal link. */
  linkSecret: string;
  newId?: () => string;
}

export interface RequestApprovalInput {
  incidentId: string;
  /** Held server side only: never logged, never sent. */
  taskToken: string;
  /** Seconds the workflow waits (the state's TimeoutSeconds): the request expires with it. */
  timeoutSeconds: number;
  escalation?: boolean;
  requestedBy?: string;
}

/**
 * Who may decide: people who are deciders of EVERY affected group (plus, on escalation, the
 * groups' escalation contacts). Quorum: the largest quorum among the groups.
 */
export function eligibility(index: InventoryIndex, groups: string[], escalation: boolean): { deciders: string[]; quorum: number } {
  const sets: Set<string>[] = [];
  let quorum = 1;
  for (const name of groups) {
    const g = index.groupByName.get(name);
    if (!g) continue;
    const extra: string[] = escalation ? g.approval?.escalateTo ?? [] : [];
    sets.push(new Set<string>([...decidersOf(g), ...extra]));
    quorum = Math.max(quorum, g.approval?.quorum ?? 1);
  }
  const [first, ...rest] = sets;
  const deciders = [...(first ?? [])].filter((d) => rest.every((s) => s.has(d)));
  return { deciders: deciders.sort(), quorum };
}

/**
 * requestApproval(deps)(input)
 *
 * 1. Load the incident and the stored proposal (selection and plan).
 * 2. Create an approval request with an opaque random id, the task token (server side
 *    only), an expiry equal to the workflow's wait, the eligible deciders and the quorum.
 * 3. Audit it and notify the deciders with a link to the page — the link carries the
 *    approval id, never the token.
 */
export function requestApproval(deps: RequestApprovalDeps) {
  return async (input: RequestApprovalInput): Promise<{ approvalId: string; expiresAt: string; deciders: string[] }> => {
    const incident = await deps.incidents.getIncident(input.incidentId);
    if (!incident) throw new NotFoundError(`incident ${input.incidentId} not found`);
    const proposal = await deps.runs.getProposal(input.incidentId);
    if (!proposal) throw new NotFoundError(`incident ${input.incidentId} has no proposal yet`);
    const now = deps.clock.now();
    const escalation = input.escalation === true;
    const { deciders, quorum } = eligibility(deps.index, incident.groups, escalation);
    const request: ApprovalRequest = {
      approvalId: (deps.newId ?? newApprovalId)(),
      incidentId: incident.incidentId,
      status: 'pending',
      taskToken: input.taskToken,
      createdAt: toIso(now),
      expiresAt: toIso(now + input.timeoutSeconds * 1000),
      groups: incident.groups,
      eligibleDeciders: deciders,
      quorum,
      ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
      decisions: [],
      proposal: { cutoff: proposal.cutoff, mode: proposal.plan.mode, selection: proposal.selection, plan: proposal.plan },
      ...(escalation ? { escalation: true } : {}),
      version: 1,
    };
    await deps.approvals.createApproval(request);
    await changeIncident(deps.incidents, incident.incidentId, moveTo('awaiting-approval', { updatedAt: request.createdAt }));
    await deps.audit.append(incident.incidentId, {
      type: escalation ? 'approval.escalated' : 'approval.requested', actor: 'cleanpoint', at: request.createdAt,
      data: { approvalId: request.approvalId, expiresAt: request.expiresAt, deciders, quorum, mode: request.proposal.mode },
    });
    const p = request.proposal;
    const subject = `${escalation ? '[ESCALATED] ' : ''}Approve ${p.mode}-mode failover of ${incident.groups.join(', ')}?`;
    const text = [
      `${incident.assessment.finding.type} (severity ${incident.assessment.finding.severity}) touched ${incident.machines.join(', ')}.`,
      `Data may be corrupted since ${incident.suspectedSince}. Proposed restore points are from before ${p.cutoff}.`,
      `${p.selection.machines.length} machine(s) restorable, ${p.selection.blockers.length} blocked; estimated RTO ${p.plan.estimatedRtoMinutes} min.`,
      `Decide before ${request.expiresAt} (${quorum} approval(s) needed). The link is personal: do not forward it.`,
    ].join('\n');
    // One message per decider, each with a personal signed link (attributable, expiring).
    const exp = Math.floor(Date.parse(request.expiresAt) / 1000);
    for (const personId of deciders) {
      const url = `${deps.publicBaseUrl.replace(/\/$/, '')}/approvals/${request.approvalId}?${linkQuery(deps.linkSecret, { approvalId: request.approvalId, personId, exp })}`;
      await deps.notifier.send({
        kind: escalation ? 'escalation' : 'approval-request', incidentId: incident.incidentId, recipients: [personId],
        subject, text, links: [{ label: 'Review and decide', url }],
      });
    }
    if (deciders.length === 0) {
      await deps.notifier.send({
        kind: 'alarm', incidentId: incident.incidentId, subject: `Nobody can approve the failover of ${incident.groups.join(', ')}`,
        text: `No person is a decider of every affected group (${incident.groups.join(', ')}). Fix the inventory's deciders; the request will escalate on timeout.`,
      });
    }
    return { approvalId: request.approvalId, expiresAt: request.expiresAt, deciders };
  };
}

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
  reason?: string;
  /** Older per-group cutoffs picked by the decider (approve only). */
  groupCutoffs?: Record<string, string>;
}

export interface DecideResult {
  status: ApprovalRequest['status'];
  /** This call changed nothing (double click, Slack retry, decision after the outcome). */
  duplicate: boolean;
  approvalsNeeded: number;
  request: ApprovalRequest;
}

/**
 * decideApproval(deps)(input)
 *
 * Every attempt, accepted or refused, is audited with who, when, channel and source.
 * 1. The request must exist and still be pending; a repeat of a decision already counted
 *    is a no-op (idempotent), any other late decision is refused.
 * 2. The request must not have expired.
 * 3. The person must be an eligible decider (of every affected group) and, when the group
 *    forbids it, not the person who asked for the failover.
 * 4. Reject ends the wait with SendTaskFailure(ApprovalRejected); approvals count until the
 *    quorum of distinct deciders is met, then SendTaskSuccess carries the final selection.
 * 5. State is written (conditionally) before the workflow is told, and the delivery is
 *    recorded after, so a crash in between is repaired by the next attempt, never doubled.
 */
export function decideApproval(deps: DecideDeps) {
  return async (input: DecideInput): Promise<DecideResult> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const request = await deps.approvals.getApproval(input.approvalId);
      if (!request) throw new NotFoundError('approval request not found');
      const at = toIso(deps.clock.now());
      const refuse = async (error: Error): Promise<never> => {
        await auditAttempt(deps, request, input, at, 'approval.refused', error.message);
        throw error;
      };

      const mine = request.decisions.find((d) => d.personId === input.personId);
      if (request.status !== 'pending') {
        if (mine && mine.decision === input.decision) {
          const repaired = await deliverIfNeeded(deps, request);
          return { status: repaired.status, duplicate: true, approvalsNeeded: 0, request: repaired };
        }
        await refuse(new ConflictError(`the request is already ${request.status}`));
      }
      if (Date.parse(at) > Date.parse(request.expiresAt)) await refuse(new ApprovalExpiredError(`the request expired at ${request.expiresAt}`));
      if (!request.eligibleDeciders.includes(input.personId)) {
        await refuse(new ForbiddenError(`${input.personId} is not a decider for every affected group (${request.groups.join(', ')})`));
      }
      const forbidSelf = request.groups.some((g) => deps.index.groupByName.get(g)?.approval?.forbidSelfApproval ?? true);
      if (forbidSelf && request.requestedBy === input.personId && input.decision === 'approve') {
        await refuse(new ForbiddenError(`${input.personId} asked for this failover and may not approve it`));
      }
      if (mine) {
        if (mine.decision === input.decision) {
          return { status: request.status, duplicate: true, approvalsNeeded: needed(request), request };
        }
        await refuse(new ConflictError(`${input.personId} already decided ${mine.decision}`));
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
      await auditAttempt(deps, updated, input, at, input.decision === 'reject' ? 'decision.rejected' : 'decision.approved',
        status === 'pending' ? `${needed(updated)} more approval(s) needed` : `request ${status}`);
      const delivered = status === 'pending' ? updated : await deliverIfNeeded(deps, updated);
      return { status, duplicate: false, approvalsNeeded: needed(delivered), request: delivered };
    }
    throw new ConflictError('the request kept changing; try again');
  };
}

function needed(r: ApprovalRequest): number {
  return Math.max(0, r.quorum - r.decisions.filter((d) => d.decision === 'approve').length);
}

/** Tell the waiting workflow about a final outcome exactly once (repairable after a crash). */
async function deliverIfNeeded(deps: DecideDeps, r: ApprovalRequest): Promise<ApprovalRequest> {
  if (r.deliveredAt || (r.status !== 'approved' && r.status !== 'rejected')) return r;
  const decidedAt = r.decisions[r.decisions.length - 1]?.at ?? toIso(deps.clock.now());
  try {
    if (r.status === 'approved') {
      await deps.workflows.sendTaskSuccess(r.taskToken, {
        approved: true, approvalId: r.approvalId, decidedAt,
        decidedBy: r.decisions.filter((d) => d.decision === 'approve').map((d) => d.personId),
        ...(r.groupCutoffs ? { groupCutoffs: r.groupCutoffs } : {}),
      });
    } else {
      const reject = r.decisions.find((d) => d.decision === 'reject');
      await deps.workflows.sendTaskFailure(r.taskToken, 'ApprovalRejected', `rejected by ${reject?.personId ?? 'a decider'}${reject?.reason ? `: ${reject.reason}` : ''}`);
    }
  } catch (e) {
    // The wait already ended (timed out, or delivered by a concurrent attempt): nothing to resume.
    const name = (e as Error).name;
    if (name !== 'TaskTimedOut' && name !== 'TaskDoesNotExist' && name !== 'InvalidToken') throw e;
  }
  try {
    return await deps.approvals.updateApproval(r.approvalId, r.version, { deliveredAt: toIso(deps.clock.now()) });
  } catch (e) {
    if (e instanceof ConflictError) return (await deps.approvals.getApproval(r.approvalId)) ?? r;
    throw e;
  }
}

async function auditAttempt(deps: DecideDeps, r: ApprovalRequest, input: DecideInput, at: string, type: string, outcome: string) {
  await deps.audit.append(r.incidentId, {
    type, actor: input.personId, at,
    data: {
      approvalId: r.approvalId, decision: input.decision, channel: input.channel, source: input.source, outcome,
      ...(input.reason ? { reason: input.reason } : {}), ...(input.groupCutoffs ? { groupCutoffs: input.groupCutoffs } : {}),
    },
  });
}

/** Mark a request expired when its wait timed out (called from the timeout path). */
export async function expireApproval(deps: { approvals: ApprovalStore; clock: Clock }, approvalId: string): Promise<void> {
  const r = await deps.approvals.getApproval(approvalId);
  if (!r || r.status !== 'pending') return;
  try {
    await deps.approvals.updateApproval(approvalId, r.version, { status: 'expired' });
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
  }
}
