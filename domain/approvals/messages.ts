import { purposeOf, type ApprovalPurpose, type FailbackSummary, type ProposalChange, type PublicApprovalRequest } from './approval.ts';
import type { Mode } from '../findings/model.ts';
import type { Incident } from '../incidents/model.ts';
import type { InventoryIndex } from '../inventory/index.ts';
import type { PointScan, ScanThreat } from '../recovery-points/model.ts';
import { scanRequired } from '../recovery-points/index.ts';
import type { Notification } from '../shared/index.ts';

/**
 * What deciders are told, in every channel (e-mail, Slack, the page): the approval card built
 * from the request without its token, the question it asks, its plain-text summary and the
 * notification that carries it. Channel formats (Block Kit, HTML) are built from these by the
 * adapters and presenters; nothing here decides anything.
 */

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

