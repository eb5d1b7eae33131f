import { randomBytes } from 'node:crypto';
import { withoutToken, type ApprovalPurpose, type ApprovalRequest, type FailbackSummary, type ProposalChange } from './approval.ts';
import { eligibility, mayApprove } from './deciders.ts';
import { expireApprovals } from './expire.ts';
import { personalLink } from './links.ts';
import { approvalCard, approvalQuestion, approvalSummary, type ApprovalNotification } from './messages.ts';
import { changeIncident, currentCutoff, describeChange, moveTo } from '../incidents/index.ts';
import type { Incident } from '../incidents/model.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import type { ApprovalStore, AuditLog, IncidentStore, Notifier, RunStore } from '../ports/index.ts';
import { ConflictError, NotFoundError, ProposalSupersededError, toIso, type Clock, type Notification } from '../shared/index.ts';

/**
 * Asking for a decision: who may decide a proposed failover (or the failback after one) and how
 * they are asked. The Step Functions task token stays in the stored request; everything shown
 * to people is built from `withoutToken(request)`.
 */

/**
 * 128 bits of randomness, URL-safe: the approval id is unguessable and carries no meaning. It
 * never begins with '-' or '_': an id like `-Pq…` would be read as an option by a command line
 * (`cleanpoint approvals approve -Pq… --as dev` failed with "Unknown option '-P'").
 */
export function newApprovalId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
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
  /** Person who asked for a manual failover or the failback (may not approve it when a group forbids self-approval). */
  requestedBy?: string;
  /** Default failover. A failback has no proposal: the request shows the incident's recovered run. */
  purpose?: ApprovalPurpose;
}

/**
 * requestApproval(deps)(input)
 *
 * Input: the incident, the task token of the waiting workflow, the wait in seconds, the purpose.
 * Output: the new request's id, expiry and deciders.
 * 1. Load the incident and, for a failover, the stored proposal (selection and plan); for a
 *    failback, the recovered run (machines, recovery instances, each group's primary network).
 * 2. On escalation, expire the incident's earlier pending requests (their links stop working).
 * 3. Create an approval request with an opaque random id, the task token (server side
 *    only), an expiry equal to the workflow's wait, the eligible deciders and the quorum.
 * 4. Audit it, then notify: each decider gets a personal signed link (e-mail); the team
 *    channel (Slack) gets one shared message whose buttons carry only the approval id.
 * 5. Nobody eligible, or a quorum that cannot be met: raise an alarm (the wait escalates on timeout).
 * A failed notification is audited and does not fail the request unless every one failed.
 */
export function requestApproval(deps: RequestApprovalDeps) {
  return async (input: RequestApprovalInput): Promise<{ approvalId: string; expiresAt: string; deciders: string[] }> => {
    const incident = await deps.incidents.getIncident(input.incidentId);
    if (!incident) throw new NotFoundError(`incident ${input.incidentId} not found`);
    const purpose: ApprovalPurpose = input.purpose ?? 'failover';
    let shown: Pick<ApprovalRequest, 'proposal' | 'failback'>;
    let supersedes: ProposalChange | undefined;
    if (purpose === 'failback') {
      shown = { failback: await failbackSummary(deps, incident) };
    } else {
      const proposal = await deps.runs.getProposal(input.incidentId);
      if (!proposal) throw new NotFoundError(`incident ${input.incidentId} has no proposal yet`);
      // Evidence that arrived between the selection and now moved a cutoff earlier: never send a
      // proposal that is already out of date; the workflow selects again first.
      const moved = Object.entries(proposal.basis ?? {}).filter(([group, then]) => {
        const now = currentCutoff(incident, group);
        return now !== null && Date.parse(now) < Date.parse(then);
      }).map(([group]) => group);
      if (moved.length) throw new ProposalSupersededError(`the cutoff of ${moved.join(', ')} moved earlier since the points were selected`);
      shown = { proposal: { cutoff: proposal.cutoff, mode: proposal.plan.mode, selection: proposal.selection, plan: proposal.plan, ...(proposal.scans ? { scans: proposal.scans } : {}) } };
      const previous = (await deps.approvals.listApprovals({ incidentId: incident.incidentId, status: 'superseded' }))
        .filter((r) => !r.supersededBy).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      if (previous) supersedes = describeChange(previous, proposal.selection, proposal.cutoff);
    }
    const what = purpose === 'failback' ? 'failback' : 'failover';
    const now = deps.clock.now();
    const escalation = input.escalation === true;
    if (escalation) await expireApprovals(deps)(incident.incidentId, 'superseded by an escalated request');
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
      ...(purpose === 'failback' ? { purpose } : {}),
      ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
      decisions: [],
      ...shown,
      ...(escalation ? { escalation: true } : {}),
      ...(supersedes ? { supersedes } : {}),
      version: 1,
    };
    await deps.approvals.createApproval(request);
    if (supersedes) {
      const old = await deps.approvals.getApproval(supersedes.approvalId);
      if (old && !old.supersededBy) await deps.approvals.updateApproval(old.approvalId, old.version, { supersededBy: request.approvalId }).catch((e) => { if (!(e instanceof ConflictError)) throw e; });
    }
    if (purpose === 'failover') {
      // Findings keep arriving while the workflow runs: move the incident on whatever version it is at now.
      await changeIncident(deps.incidents, incident.incidentId, moveTo('awaiting-approval', { updatedAt: request.createdAt }));
    }
    await deps.audit.append(incident.incidentId, {
      type: escalation ? 'approval.escalated' : 'approval.requested', actor: 'cleanpoint', at: request.createdAt,
      data: {
        approvalId: request.approvalId, expiresAt: request.expiresAt, deciders, quorum,
        ...(request.proposal ? { mode: request.proposal.mode } : {}), ...(purpose === 'failback' ? { purpose } : {}),
        ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
        ...(supersedes ? { supersedes: supersedes.approvalId, previousCutoff: supersedes.previousCutoff, cutoff: supersedes.cutoff, changed: supersedes.machines } : {}),
      },
    });

    const card = approvalCard(withoutToken(request), incident, deps.index);
    const kind = escalation ? 'escalation' : 'approval-request';
    const subject = `${escalation ? '[ESCALATED] ' : ''}${approvalQuestion(card)}`;
    const summary = approvalSummary(card);
    const sends: { to: string; notification: Notification }[] = deciders.map((personId) => {
      const personal: ApprovalNotification = {
        kind, incidentId: incident.incidentId, recipients: [personId], subject, audience: 'person', approval: card,
        text: [...summary, 'The link is personal and acts as you: do not forward it.'].join('\n'),
        links: [{ label: 'Review and decide', url: personalLink(deps.publicBaseUrl, deps.linkSecret, request, personId) }],
      };
      return { to: personId, notification: personal };
    });
    const shared: ApprovalNotification = { kind, incidentId: incident.incidentId, recipients: [], subject, audience: 'channel', approval: card, text: summary.join('\n') };
    sends.push({ to: 'channel', notification: shared });

    const approvers = deciders.filter((d) => mayApprove(deps.index, request, d));
    if (approvers.length < quorum) {
      sends.push({
        to: 'operators',
        notification: {
          kind: 'alarm', incidentId: incident.incidentId,
          subject: deciders.length === 0 ? `Nobody can approve the ${what} of ${incident.groups.join(', ')}` : `The ${what} of ${incident.groups.join(', ')} cannot reach its quorum`,
          text: deciders.length === 0
            ? `No person is a decider of every affected group (${incident.groups.join(', ')}). Fix the inventory's deciders; the request will escalate on timeout.`
            : `${quorum} approval(s) are needed but only ${approvers.length} eligible decider(s) may approve${request.requestedBy ? ` (${request.requestedBy} asked for it)` : ''}. ${purpose === 'failback' ? 'The failback is not approved on timeout; the recovery machines keep running.' : 'The request will escalate on timeout.'}`,
        },
      });
    }
    const failed: string[] = [];
    for (const s of sends) {
      try {
        await deps.notifier.send(s.notification);
      } catch (e) {
        failed.push(s.to);
        await deps.audit.append(incident.incidentId, {
          type: 'approval.notify-failed', actor: 'cleanpoint', at: toIso(deps.clock.now()),
          data: { approvalId: request.approvalId, to: s.to, error: `${(e as Error).name}: ${(e as Error).message}`.slice(0, 300) },
        });
      }
    }
    if (failed.length === sends.length) {
      // Nobody was told: the request must not look pending to anyone (nobody could decide it).
      const why = 'no notification about it could be sent';
      const current = await deps.approvals.getApproval(request.approvalId);
      if (current?.status === 'pending') await deps.approvals.updateApproval(request.approvalId, current.version, { status: 'expired', closedReason: why }).catch(() => undefined);
      await deps.audit.append(incident.incidentId, { type: 'approval.expired', actor: 'cleanpoint', at: toIso(deps.clock.now()), data: { approvalId: request.approvalId, outcome: why } });
      throw new Error(`no notification about approval request ${request.approvalId} could be sent`);
    }
    return { approvalId: request.approvalId, expiresAt: request.expiresAt, deciders };
  };
}

/** A failback request's summary: the incident's recovered machines and where each goes back to. */
async function failbackSummary(deps: Pick<RequestApprovalDeps, 'runs' | 'index'>, incident: Incident): Promise<FailbackSummary> {
  const machines = (await deps.runs.listMachines(incident.incidentId)).filter((m) => m.instanceId && m.readyAt)
    .sort((a, b) => a.wave - b.wave || a.machineId.localeCompare(b.machineId));
  if (machines.length === 0) throw new ConflictError(`incident ${incident.incidentId} has no recovered machines to fail back`);
  return {
    machines: machines.map((m) => ({
      machineId: m.machineId, group: m.group, wave: m.wave, recoveryInstanceId: m.instanceId ?? null,
      primarySubnetId: deps.index.groupByName.get(m.group)?.networks?.primary?.subnetId ?? null,
    })),
    waves: new Set(machines.map((m) => m.wave)).size,
  };
}

