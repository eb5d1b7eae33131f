import type { PointScan, Selection } from '../recovery-points/model.ts';
import type { FailoverPlan } from '../failover/model.ts';

/**
 * `superseded`: the evidence moved while the request was pending (an earlier cutoff, a chosen
 * point turned infected, quarantined or deleted) and a newer proposal replaced it.
 */
export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'superseded'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** The statuses approval listings can be filtered by (the local API, the CLI). */
export const LISTED_APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired'] as const satisfies readonly ApprovalStatus[];

/** What changed between a superseded proposal and the one that replaced it (shown to deciders). */
export interface ProposalChange {
  /** The request this one replaces. */
  approvalId: string;
  /** Why it was replaced, in one line (e.g. "a finding with earlier evidence moved the cutoff"). */
  reason: string;
  previousCutoff: string;
  cutoff: string;
  /** Machines whose point changed: from which to which, and why the old one no longer stands. */
  machines: { machineId: string; from: { pointId: string; capturedAt: string } | null; to: { pointId: string; capturedAt: string } | null; why: string }[];
}
export type DecisionKind = 'approve' | 'reject';
export type Channel = 'web' | 'slack' | 'email' | 'cli' | 'api';
/** What deciders are asked to approve: a failover (the default) or the failback after one. */
export type ApprovalPurpose = 'failover' | 'failback';

/**
 * What a failback request shows: each recovered machine, the recovery instance it runs as
 * now and the primary network it goes back to (from the incident's run and the inventory).
 */
export interface FailbackSummary {
  machines: { machineId: string; group: string; wave: number; recoveryInstanceId: string | null; primarySubnetId: string | null }[];
  waves: number;
}

export interface Decision {
  personId: string;
  decision: DecisionKind;
  at: string;
  channel: Channel;
  /** Source address (IP) or Slack team/user, for the audit trail. */
  source: string;
  reason?: string;
}

/**
 * What deciders are asked. The Step Functions task token lives only here, server side: it is
 * never put in a URL, a log line, a Slack message or an email.
 */
export interface ApprovalRequest {
  /** Opaque random id, at least 128 bits, URL-safe. */
  approvalId: string;
  incidentId: string;
  status: ApprovalStatus;
  taskToken: string;
  createdAt: string;
  expiresAt: string;
  groups: string[];
  eligibleDeciders: string[];
  quorum: number;
  /** Absent: a failover (requests stored before failback approvals existed are failovers). */
  purpose?: ApprovalPurpose;
  /** Person who started a manual failover (or a failback): may not approve it when the group forbids self-approval. */
  requestedBy?: string;
  decisions: Decision[];
  /** Summary shown to deciders of a failover (selection and plan at request time); absent for a failback. */
  proposal?: { cutoff: string; mode: FailoverPlan['mode']; selection: Selection; plan: FailoverPlan; scans?: Record<string, PointScan> };
  /** What a failback request shows (purpose failback only). */
  failback?: FailbackSummary;
  /** Per-group cutoff a decider picked (older points), applied when approved. */
  groupCutoffs?: Record<string, string>;
  /** This request re-asks after a timeout (escalation contacts may decide too). */
  escalation?: boolean;
  /** When the outcome was handed to the waiting workflow (SendTaskSuccess/Failure). */
  deliveredAt?: string;
  /** Who is handing the outcome over (a claim, so concurrent deciders deliver once). */
  deliveryClaimedAt?: string;
  /** Why the request stopped being decidable (superseded, never sent, its workflow gone). */
  closedReason?: string;
  /** The request this one replaced, and what changed since (a re-proposal). */
  supersedes?: ProposalChange;
  /** The request that replaced this one. */
  supersededBy?: string;
  /** The chosen points that no longer stood when this request was superseded, and why. */
  supersededPoints?: { machineId: string; group: string; pointId: string; why: string }[];
  /** An approval that could not take effect because its workflow was gone (nothing launched). */
  undelivered?: string;
  /**
   * Per-person link generation (absent: 0). A personal link carries the generation it was
   * issued with; `revokeLinks` bumps the person's generation, so every earlier link of that
   * person stops working without rotating the server secret for everybody.
   */
  linkGenerations?: Record<string, number>;
  version: number;
}

/** The approval request as anyone outside the server may see it: no task token. */
export type PublicApprovalRequest = Omit<ApprovalRequest, 'taskToken'>;

export function withoutToken(r: ApprovalRequest): PublicApprovalRequest {
  const { taskToken: _secret, ...rest } = r;
  return rest;
}

export function purposeOf(r: Pick<ApprovalRequest, 'purpose'>): ApprovalPurpose {
  return r.purpose ?? 'failover';
}

/** "approved" / "rejected", for people reading a decision. */
export function pastTense(decision: DecisionKind): 'approved' | 'rejected' {
  return decision === 'reject' ? 'rejected' : 'approved';
}
