import { createHash } from 'node:crypto';
import type { Action, Assessment, Finding, Mode } from '../findings/model.ts';

/**
 * An incident gathers the findings about one compromise and carries it from proposal through
 * decision, failover and failback to closure.
 */
export const INCIDENT_STATUSES = [
  'notified',          // below the failover threshold: people were told, nothing else
  'ignored',
  'proposed',          // failover proposed, approval not yet requested
  'awaiting-approval',
  'approved',
  'rejected',
  'expired',           // nobody decided in time (after escalation)
  'failing-over',
  'recovered',         // every machine launched and checked
  'failover-failed',
  'reinfected',        // a recovered machine was found compromised again: a new proposal from an earlier point
  'failback-pending',
  'failing-back',
  'closed',
] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** States in which the incident still owns its groups (no second failover may start). */
export const OPEN_STATUSES: readonly IncidentStatus[] = [
  'proposed', 'awaiting-approval', 'approved', 'failing-over', 'recovered', 'failover-failed', 'reinfected', 'failback-pending', 'failing-back',
];

/** Statuses after which nothing more happens without a person (or a failback) starting it. */
export const FINAL_STATUSES: readonly IncidentStatus[] = ['recovered', 'failover-failed', 'rejected', 'expired', 'notified', 'ignored', 'closed'];

export const isFinal = (status: IncidentStatus): boolean => FINAL_STATUSES.includes(status);

/** The final statuses that are a good ending: recovered, or nothing to fail over. */
export const GOOD_ENDINGS: readonly IncidentStatus[] = ['recovered', 'notified', 'ignored', 'closed'];

export interface Incident {
  incidentId: string;
  status: IncidentStatus;
  action: Action;
  mode: Mode | null;
  groups: string[];
  machines: string[];
  findingIds: string[];
  /** Earliest suspected corruption over all findings (ISO). */
  suspectedSince: string | null;
  /**
   * Earlier cutoffs for single groups (ISO): a re-infection proves the point a group was
   * restored from was not clean, so that group's next proposal must come from before it.
   */
  groupCutoffs?: Record<string, string>;
  /** Which incident-response execution of this incident runs now (1, then 2 after a re-infection, …). */
  round?: number;
  /** The round whose execution `executionName`/`executionArn` name (absent: 1 when they are set). */
  executionRound?: number;
  /** Incidents opened by the same finding for groups this one does not cover (and the one that opened this). */
  correlated?: string[];
  evidenceAt: string;
  /** The assessment of the finding that opened the incident. */
  assessment: Assessment;
  createdAt: string;
  updatedAt: string;
  /** Step Functions execution name (derived from the incident id) once started. */
  executionName?: string;
  executionArn?: string;
  outcome?: IncidentOutcome;
  failback?: FailbackOutcome;
  /** Set when the incident was closed: by whom, when, and why (required without a failback). */
  closure?: { by: string; at: string; reason: string; withFailback: boolean };
  /** Optimistic concurrency: every update is conditional on the version it read. */
  version: number;
}

export interface IncidentOutcome {
  result: 'recovered' | 'partial' | 'failed' | 'rejected' | 'expired';
  /** Minutes from the decision to every machine passing its checks. */
  rtoMinutes: number | null;
  /** Largest clean data window given up over the machines (minutes). */
  rpoMinutes: number | null;
  machines: { machineId: string; instanceId: string | null; pointId: string; state: 'running' | 'failed'; error?: string }[];
  decidedAt?: string;
  finishedAt: string;
}

export interface FailbackOutcome {
  result: 'completed' | 'failed';
  runId: string;
  startedAt: string;
  finishedAt: string;
  /** Primary machines launched back, and the recovery machines retired after verification. */
  machines: { machineId: string; primaryInstanceId: string | null; retiredInstanceId: string | null }[];
  error?: string;
}

/**
 * Deterministic incident id for a finding: the same finding id (however often EventBridge
 * delivers it, and across GuardDuty's periodic updates) always maps to the same incident.
 */
export function incidentIdFor(finding: Pick<Finding, 'accountId' | 'region' | 'id'>): string {
  return `inc-${createHash('sha256').update(`${finding.accountId}/${finding.region}/${finding.id}`).digest('hex').slice(0, 20)}`;
}

/** Step Functions execution names: 1–80 chars of [A-Za-z0-9-_]; one per incident and machine kind. */
export function executionNameFor(kind: 'incident' | 'failback' | 'drill', id: string): string {
  return `${kind}-${id}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
}

export function newIncident(assessment: Assessment, finding: Finding, nowIso: string): Incident {
  const status: IncidentStatus =
    assessment.action === 'failover-proposal' ? 'proposed' : assessment.action === 'notify' ? 'notified' : 'ignored';
  return {
    incidentId: incidentIdFor(finding),
    status,
    action: assessment.action,
    mode: assessment.mode,
    groups: assessment.groups,
    machines: assessment.machines,
    findingIds: [finding.id],
    suspectedSince: assessment.suspectedSince,
    evidenceAt: assessment.evidenceAt,
    assessment,
    createdAt: nowIso,
    updatedAt: nowIso,
    version: 1,
  };
}

/** Allowed status transitions; anything else is a ConflictError. */
const TRANSITIONS: Record<IncidentStatus, readonly IncidentStatus[]> = {
  notified: ['proposed', 'closed'],
  ignored: ['proposed', 'notified', 'closed'],
  proposed: ['awaiting-approval', 'rejected', 'expired', 'failover-failed', 'closed'],
  'awaiting-approval': ['approved', 'failing-over', 'rejected', 'expired', 'failover-failed', 'closed'],
  approved: ['failing-over', 'failover-failed', 'closed'],
  rejected: ['closed', 'proposed'],
  expired: ['closed', 'proposed'],
  'failing-over': ['recovered', 'failover-failed', 'awaiting-approval', 'closed'],
  recovered: ['failback-pending', 'failing-back', 'closed', 'reinfected'],
  'failover-failed': ['closed', 'proposed', 'failback-pending', 'reinfected'],
  reinfected: ['awaiting-approval', 'failing-over', 'failover-failed', 'rejected', 'expired', 'closed'],
  'failback-pending': ['failing-back', 'closed'],
  'failing-back': ['closed', 'failback-pending'],
  closed: [],
};

export function canTransition(from: IncidentStatus, to: IncidentStatus): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/** The run id of an incident's failback attempt (1 = the first). */
export const failbackRunId = (incidentId: string, attempt = 1) =>
  attempt <= 1 ? executionNameFor('failback', incidentId) : executionNameFor('failback', `${incidentId}-${attempt}`);

/**
 * Which failback attempt of an incident is current: 1, plus one per failback that failed. Each
 * attempt has a run of its own (fresh snapshots of the recovery machines, fresh primaries): a
 * retry must never reuse the records of an attempt whose primaries were removed.
 */
export function failbackAttempt(entries: readonly { type: string }[]): number {
  return 1 + entries.filter((e) => e.type === 'failback.failed').length;
}

/** Every failback run an incident has had, oldest first. */
export function failbackRunIds(incidentId: string, entries: readonly { type: string }[]): string[] {
  return Array.from({ length: failbackAttempt(entries) }, (_, i) => failbackRunId(incidentId, i + 1));
}
