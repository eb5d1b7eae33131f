import { randomBytes } from 'node:crypto';
import {
  purposeOf, withoutToken, type ApprovalPurpose, type ApprovalRequest, type Channel, type DecisionKind, type FailbackSummary, type ProposalChange, type PublicApprovalRequest,
} from './approval.ts';
import type { Mode } from '../findings/model.ts';
import type { Clock, Notification } from '../shared/index.ts';
import { ApprovalExpiredError, ConflictError, ForbiddenError, NotFoundError, ProposalSupersededError, ValidationError, WorkflowGoneError } from '../shared/index.ts';
import { currentCutoff, describeChange } from '../incidents/index.ts';
import { changeIncident, moveTo } from '../incidents/index.ts';
import type { Incident } from '../incidents/model.ts';
import { decidersOf, type InventoryIndex } from '../inventory/index.ts';
import { linkGeneration, linkQuery } from './links.ts';
import type { ApprovalStore, AuditLog, IncidentStore, Notifier, RunStore, WorkflowEngine } from '../ports/index.ts';
import type { PointScan, ScanThreat } from '../recovery-points/model.ts';
import { scanRequired } from '../recovery-points/index.ts';
import { toIso } from '../shared/index.ts';

/**
 * Approvals: who may decide a proposed failover (or the failback after one), how they are asked, and how a decision
 * (from the web page, Slack, the CLI) becomes SendTaskSuccess / SendTaskFailure exactly once.
 * The Step Functions task token stays in the stored request; everything shown to people is
 * built from `withoutToken(request)`.
 */

/** 128 bits of randomness, URL-safe: the approval id is unguessable and carries no meaning. */
export function newApprovalId(): string {
  return randomBytes(16).toString('base64url');
}

/** What a decider is shown, in every channel: built from the request without its token. */
export interface ApprovalCard {
  approvalId: string;
  incidentId: string;
  /** A failback card carries no restore points (machines, blockers, problems are empty): see `failback`. */
  purpose: ApprovalPurpose;
  failback?: FailbackSummary;
  escalation: boolean;
  mode: Mode;
  groups: string[];
  finding: { id: string; type: string; severity: number; severityLabel: string; sample: boolean; accountId: string; region: string; firstSeen: string };
  machinesHit: string[];
  /** Earliest suspected corruption (null when unknown). */
  suspectedSince: string | null;
  /** Every chosen point is at or before this instant. */
  cutoff: string;
  machines: {
    machineId: string; group: string; pointId: string; capturedAt: string;
    /** Clean data given up with this point (minutes). */
    lossMinutes: number;
    olderPoints: { capturedAt: string; lossMinutes: number }[];
    /** The malware scan of this point before launch (docs/scanning.md). */
    scan: MachineScan;
  }[];
  blockers: { machineId: string; group: string; reason: string }[];
  problems: string[];
  estimatedRtoMinutes: number;
  waves: number;
  expiresAt: string;
  quorum: number;
  deciders: { personId: string; name: string }[];
  requestedBy?: string;
  /** This proposal replaces an earlier one: why, and which points changed. */
  changes?: ProposalChange;
}

/** What a decider is told about a point's scan: `unverified` needs an explicit second confirmation to approve. */
export interface MachineScan {
  status: 'clean' | 'threats-found' | 'unverified' | 'not-required';
  threats: ScanThreat[];
  scanId?: string;
  /** Why it is unverified (still running at the budget's end, skipped, failed, …). */
  reason?: string;
  /** Newer points of this machine whose scan found threats (the proposal stepped back past them). */
  steppedBack: number;
}

export function machineScan(scan: PointScan | undefined, pointId: string, required: boolean): MachineScan {
  if (!scan || scan.pointId !== pointId) {
    return required ? { status: 'unverified', threats: [], reason: 'not scanned', steppedBack: 0 } : { status: 'not-required', threats: [], steppedBack: 0 };
  }
  const status = scan.verdict === 'clean' ? 'clean' : scan.verdict === 'infected' ? 'threats-found' : 'unverified';
  return {
    status, threats: structuredClone(scan.threats), ...(scan.scanId ? { scanId: scan.scanId } : {}),
    ...(status === 'unverified' ? { reason: scan.reason ?? 'the scan had not finished' } : {}),
    steppedBack: scan.steppedBack?.length ?? 0,
  };
}

/** One line about the malware scans, when any point was scanned or should have been. */
function scanSummary(c: ApprovalCard): string[] {
  const scanned = c.machines.filter((m) => m.scan.status !== 'not-required');
  if (scanned.length === 0) return [];
  const unverified = unverifiedMachines(c);
  const stepped = c.machines.filter((m) => m.scan.steppedBack > 0).map((m) => `${m.machineId} (${m.scan.steppedBack} newer point(s) had threats)`);
  return [`Malware scan before launch: ${scanned.length - unverified.length} clean, ${unverified.length} unverified${unverified.length ? ` (${unverified.join(', ')}: approving needs a second confirmation on the approval page)` : ''}${stepped.length ? `; stepped back: ${stepped.join(', ')}` : ''}.`];
}

/** Machines of a card whose point could not be verified by its scan. */
export function unverifiedMachines(c: Pick<ApprovalCard, 'machines'>): string[] {
  return c.machines.filter((m) => m.scan.status === 'unverified').map((m) => m.machineId);
}

export function approvalCard(request: PublicApprovalRequest, incident: Incident, index: InventoryIndex): ApprovalCard {
  const f = incident.assessment.finding;
  const p = request.proposal;
  const nameOf = (id: string) => index.personById.get(id)?.name ?? id;
  const purpose = purposeOf(request);
  return {
    approvalId: request.approvalId,
    incidentId: request.incidentId,
    purpose,
    ...(purpose === 'failback' && request.failback ? { failback: structuredClone(request.failback) } : {}),
    escalation: request.escalation === true,
    mode: p?.mode ?? 'recovery',
    groups: [...request.groups],
    finding: {
      id: f.id, type: f.type, severity: f.severity, severityLabel: f.severityLabel,
      sample: f.sample, accountId: f.accountId, region: f.region, firstSeen: f.firstSeen,
    },
    machinesHit: [...incident.machines],
    suspectedSince: incident.suspectedSince,
    cutoff: p?.cutoff ?? '',
    machines: (p?.selection.machines ?? []).map((m) => ({
      machineId: m.machineId, group: m.group, pointId: m.pointId, capturedAt: m.capturedAt, lossMinutes: m.lossMinutes,
      olderPoints: m.alternatives.map((a) => ({ capturedAt: a.capturedAt, lossMinutes: a.lossMinutes })),
      scan: machineScan(p?.scans?.[m.machineId], m.pointId, scanRequired(index.groupByName.get(m.group), p?.mode ?? 'recovery')),
    })),
    blockers: (p?.selection.blockers ?? []).map((b) => ({ machineId: b.machineId, group: b.group, reason: b.reason })),
    problems: [...(p?.plan.problems ?? [])],
    estimatedRtoMinutes: p?.plan.estimatedRtoMinutes ?? 0,
    waves: p?.plan.waves.length ?? request.failback?.waves ?? 0,
    expiresAt: request.expiresAt,
    quorum: request.quorum,
    deciders: request.eligibleDeciders.map((id) => ({ personId: id, name: nameOf(id) })),
    ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
    ...(request.supersedes ? { changes: structuredClone(request.supersedes) } : {}),
  };
}

/**
 * An approval request notification. `person`: one decider's copy, carrying that person's
 * signed link (e-mail only, never a shared channel). `channel`: the shared copy for the team
 * channel (Slack), with no link at all; its buttons carry only the approval id.
 */
export interface ApprovalNotification extends Notification {
  kind: 'approval-request' | 'escalation';
  audience: 'person' | 'channel';
  approval: ApprovalCard;
}

export function isApprovalNotification(n: Notification): n is ApprovalNotification {
  const a = n as Partial<ApprovalNotification>;
  return (a.audience === 'person' || a.audience === 'channel') && typeof a.approval === 'object' && a.approval !== null;
}

/** The question a card asks, e.g. "Approve recovery-mode failover of payments?" (subjects, titles). */
export function approvalQuestion(c: Pick<ApprovalCard, 'purpose' | 'mode' | 'groups'>): string {
  return c.purpose === 'failback'
    ? `Approve the failback of ${c.groups.join(', ')} to the primary environment?`
    : `Approve ${c.mode}-mode failover of ${c.groups.join(', ')}?`;
}

/** What the failback does, in order (cards and the approval page). */
export const FAILBACK_STEPS = 'snapshot each recovery machine ▶ launch the primaries from those snapshots in the primary network, wave by wave ▶ verify them ▶ only then retire the recovery machines';

/** Plain-text summary of a card (e-mail text part, Slack fallback text). */
export function approvalSummary(c: ApprovalCard): string[] {
  if (c.purpose === 'failback') {
    const machines = c.failback?.machines ?? [];
    return [
      `The incident's ${machines.length} recovered machine(s) (${machines.map((m) => `${m.machineId} now ${m.recoveryInstanceId ?? 'not running'}`).join(', ')}) go back to their primary network${c.requestedBy ? `; ${c.requestedBy} asked for it` : ''}.`,
      `What happens: ${FAILBACK_STEPS}. On any failure the recovery machines keep running.`,
      `Decide before ${c.expiresAt} (${c.quorum} approval(s) needed).`,
    ];
  }
  return [
    ...(c.changes ? changeLines(c.changes) : []),
    `${c.finding.type} (severity ${c.finding.severity}, ${c.finding.severityLabel})${c.finding.sample ? ' — a GuardDuty SAMPLE finding' : ''} touched ${c.machinesHit.join(', ')}.`,
    `Data may be corrupted since ${c.suspectedSince ?? 'an unknown time'}. Proposed restore points are from before ${c.cutoff}.`,
    `${c.machines.length} machine(s) restorable, ${c.blockers.length} blocked; ${c.mode} mode; estimated RTO ${c.estimatedRtoMinutes} min.`,
    ...scanSummary(c),
    `Decide before ${c.expiresAt} (${c.quorum} approval(s) needed).`,
  ];
}

/** "Why you are asked again", for the text of a re-proposal. */
export function changeLines(c: ProposalChange): string[] {
  const at = (p: { pointId: string; capturedAt: string } | null) => (p ? `${p.capturedAt} (${p.pointId})` : 'none');
  return [
    `NEW PROPOSAL — it replaces an earlier request, whose links no longer work. Why: ${c.reason}.`,
    `Cutoff ${c.previousCutoff} ▶ ${c.cutoff}.`,
    ...c.machines.map((m) => `  ${m.machineId}: ${at(m.from)} ▶ ${at(m.to)} — ${m.why}`),
  ];
}

/** A decider's personal link to the approval page (signed, expiring with the request, revocable). */
export function personalLink(
  publicBaseUrl: string, linkSecret: string,
  request: Pick<ApprovalRequest, 'approvalId' | 'expiresAt' | 'linkGenerations'>, personId: string,
): string {
  const exp = Math.floor(Date.parse(request.expiresAt) / 1000);
  const query = linkQuery(linkSecret, { approvalId: request.approvalId, personId, exp, gen: linkGeneration(request, personId) });
  return `${publicBaseUrl.replace(/\/+$/, '')}/approvals/${request.approvalId}?${query}`;
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

/** Self-approval is forbidden unless every affected group explicitly allows it (the default is to forbid). */
export function forbidsSelfApproval(index: InventoryIndex, groups: string[]): boolean {
  return groups.some((g) => index.groupByName.get(g)?.approval?.forbidSelfApproval ?? true);
}

/** May this person approve (not only reject)? Eligible, and not the requester where that is forbidden. */
export function mayApprove(index: InventoryIndex, r: Pick<ApprovalRequest, 'eligibleDeciders' | 'groups' | 'requestedBy'>, personId: string): boolean {
  if (!r.eligibleDeciders.includes(personId)) return false;
  return !(r.requestedBy === personId && forbidsSelfApproval(index, r.groups));
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
  /** The decider confirmed approving although some point's scan is unverified (required then). */
  confirmUnverified?: boolean;
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

/**
 * decideApproval(deps)(input)
 *
 * Every attempt, accepted, repeated or refused, is audited with who, when, channel and source.
 * 1. The request must exist and still be pending; a repeat of a decision already counted
 *    is a no-op (idempotent: double click, Slack retry, replayed form), any other late
 *    decision is refused (expired requests with ApprovalExpired).
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
    const attempt: Attempt = { personId: input.personId, channel: input.channel, source: input.source, decision: input.decision };
    for (let round = 0; round < 5; round++) {
      const request = await deps.approvals.getApproval(input.approvalId);
      if (!request) throw new NotFoundError('approval request not found');
      const at = toIso(deps.clock.now());
      const refuse = async (error: Error): Promise<never> => {
        await recordRefusal(deps, request, attempt, error.message);
        throw error;
      };
      const duplicate = async (r: ApprovalRequest): Promise<DecideResult> => {
        await auditDecision(deps, r, input, at, 'decision.duplicate', 'already recorded; nothing changed');
        return { status: r.status, duplicate: true, approvalsNeeded: needed(r), request: r };
      };

      const mine = request.decisions.find((d) => d.personId === input.personId);
      if (request.status !== 'pending') {
        if (request.undelivered && request.status === 'approved') await refuse(new ConflictError(`${request.undelivered}; start a new failover if it is still needed`));
        if (mine && mine.decision === input.decision) return duplicate(await deliverIfNeeded(deps, request));
        if (request.status === 'superseded') await refuse(new ConflictError(`superseded by a newer proposal${request.closedReason ? ` (${request.closedReason})` : ''}; use the newer request's link`));
        if (request.status === 'expired') await refuse(new ApprovalExpiredError(request.closedReason ? `the request is closed: ${request.closedReason}` : 'the request expired without a decision'));
        await refuse(new ConflictError(`the request is already ${request.status}; nothing was changed`));
      }
      if (Date.parse(at) > Date.parse(request.expiresAt)) await refuse(new ApprovalExpiredError(`the request expired at ${request.expiresAt}`));
      if (!request.eligibleDeciders.includes(input.personId)) {
        await refuse(new ForbiddenError(`${input.personId} is not a decider for every affected group (${request.groups.join(', ')})`));
      }
      if (input.decision === 'approve' && !mayApprove(deps.index, request, input.personId)) {
        await refuse(new ForbiddenError(`${input.personId} asked for this ${purposeOf(request)} and may not approve it`));
      }
      const unverified = input.decision === 'approve' && !mine ? unverifiedPoints(deps.index, request) : [];
      if (unverified.length > 0 && input.confirmUnverified !== true) {
        await refuse(new ValidationError('approve', [{
          path: 'confirmUnverified',
          message: `the malware scan of ${unverified.join(', ')} is unverified: approving needs an explicit second confirmation (confirmUnverified)`,
        }]));
      }
      if (mine) {
        if (mine.decision === input.decision) return duplicate(request);
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
      if (unverified.length > 0) {
        await deps.audit.append(updated.incidentId, {
          type: 'decision.unverified-confirmed', actor: input.personId, at,
          data: { approvalId: updated.approvalId, channel: input.channel, source: input.source, machines: unverified },
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

/** Machines of a failover request whose chosen point's scan is unverified (pending, skipped, failed, out of budget). */
function unverifiedPoints(index: InventoryIndex, r: ApprovalRequest): string[] {
  const p = r.proposal;
  if (!p || purposeOf(r) !== 'failover') return [];
  return p.selection.machines
    .filter((m) => machineScan(p.scans?.[m.machineId], m.pointId, scanRequired(index.groupByName.get(m.group), p.mode)).status === 'unverified')
    .map((m) => m.machineId);
}

function needed(r: ApprovalRequest): number {
  return Math.max(0, r.quorum - r.decisions.filter((d) => d.decision === 'approve').length);
}

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
async function deliverIfNeeded(deps: DecideDeps, r: ApprovalRequest): Promise<ApprovalRequest> {
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
 * an authentication. The same rules as every channel apply (eligibility, quorum, expiry,
 * single use). A rejection needs a reason.
 * 1. Validate the input (a refused attempt on an existing request is audited).
 * 2. decideApproval with channel `cli`.
 * 3. Return the public result.
 */
export function decideFromCli(deps: DecideDeps) {
  return async (input: { approvalId: string; as: string; decision: DecisionKind; reason?: string; source: string; confirmUnverified?: boolean }): Promise<CliDecisionResult> => {
    const reason = input.reason?.trim().slice(0, 1000);
    if (input.decision === 'reject' && !reason) {
      const request = await deps.approvals.getApproval(input.approvalId);
      if (!request) throw new NotFoundError('approval request not found');
      const error = new ValidationError('approvals reject', [{ path: '--reason', message: 'a rejection needs a reason' }]);
      await recordRefusal(deps, request, { personId: input.as, channel: 'cli', source: input.source, decision: 'reject' }, error.message);
      throw error;
    }
    const result = await decideApproval(deps)({
      approvalId: input.approvalId, personId: input.as, decision: input.decision, channel: 'cli', source: input.source, ...(reason ? { reason } : {}),
      ...(input.confirmUnverified ? { confirmUnverified: true } : {}),
    });
    const r = withoutToken(result.request);
    return {
      approvalId: r.approvalId, incidentId: r.incidentId, status: result.status, duplicate: result.duplicate,
      approvalsNeeded: result.approvalsNeeded, expiresAt: r.expiresAt, decisions: r.decisions,
    };
  };
}

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
