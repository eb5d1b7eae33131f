import { withoutToken, type ApprovalRequest, type PublicApprovalRequest } from '../domain/approvals/index.ts';
import type { Incident, IncidentStatus } from '../domain/incidents/index.ts';
import { INCIDENT_STATE_BY_STATUS, INCIDENT_STATES, lifecycleOf, type DrillState, type GroupLifecycle, type LifecycleState, type MachineLifecycleLabel } from '../domain/drills/index.ts';
import type { ProtectionStore } from '../domain/ports/index.ts';
import type { AuditEntry } from '../domain/evidence/index.ts';
import type { Run, RunMachine, StoredProposal } from '../domain/failover/index.ts';
import { readinessBadgeOf, rpoBadgeOf, type Badge, type RpoState } from '../domain/protection/index.ts';
import { ineligibility, type RecoveryPoint } from '../domain/recovery-points/index.ts';
import type { RouteDeps } from './routes.ts';

/**
 * What the console and the local API show, read from the same stores the handlers write
 * (incidents, approvals, audit log, runs, catalogue) and from the EC2 simulator.
 */

export interface IncidentSummary {
  incidentId: string;
  status: IncidentStatus;
  action: Incident['action'];
  mode: Incident['mode'];
  groups: string[];
  machines: string[];
  findingType: string;
  severity: number;
  suspectedSince: string | null;
  createdAt: string;
  updatedAt: string;
  result: string | null;
  rtoMinutes: number | null;
  rpoMinutes: number | null;
}

export function summarise(i: Incident): IncidentSummary {
  return {
    incidentId: i.incidentId, status: i.status, action: i.action, mode: i.mode, groups: i.groups, machines: i.machines,
    findingType: i.assessment.finding.type, severity: i.assessment.finding.severity, suspectedSince: i.suspectedSince,
    createdAt: i.createdAt, updatedAt: i.updatedAt,
    result: i.outcome?.result ?? null, rtoMinutes: i.outcome?.rtoMinutes ?? null, rpoMinutes: i.outcome?.rpoMinutes ?? null,
  };
}

export interface ApprovalLink { approvalId: string; personId: string; personName: string; email: string; url: string }

/**
 * The personal link the first eligible decider was e-mailed (from the local outbox). Locally
 * the outbox is the mail server, so the link is as visible here as in that person's inbox.
 */
export function approvalLinkFor(deps: RouteDeps, approval: Pick<ApprovalRequest, 'approvalId' | 'eligibleDeciders'>): ApprovalLink | null {
  const personId = approval.eligibleDeciders[0];
  const person = personId ? deps.rt.index.personById.get(personId) : undefined;
  if (!personId || !person?.email) return null;
  const email = person.email;
  const needle = `/approvals/${approval.approvalId}?`;
  const message = [...deps.rt.outbox].reverse().find((m) => m.to.includes(email) && m.text.includes(needle));
  const url = message?.text.match(/https?:\/\/\S+/g)?.find((u) => u.includes(needle));
  return url ? { approvalId: approval.approvalId, personId, personName: person.name ?? personId, email, url } : null;
}

export type ApprovalView = PublicApprovalRequest & { link: ApprovalLink | null };

export function approvalView(deps: RouteDeps, a: ApprovalRequest): ApprovalView {
  return { ...withoutToken(a), link: a.status === 'pending' ? approvalLinkFor(deps, a) : null };
}

export interface IncidentDetail {
  incident: Incident;
  approvals: ApprovalView[];
  proposal: StoredProposal | null;
  run: Run | null;
  machines: RunMachine[];
  audit: AuditEntry[];
  execution: { status: string; error?: string; cause?: string } | null;
  /** Every workflow execution of the incident (its rounds, failovers, failbacks), with its event history. */
  executions: ExecutionHistory[];
  objectives: Record<string, { rpoMinutes: number | null; rtoMinutes: number | null }>;
}

/** An execution's history as the Step Functions console lists it: id, type, state, time, elapsed since the start. */
export interface ExecutionHistory {
  executionArn: string; name: string; machine: string; status: string; startDate: string; redriveCount: number;
  error?: string; cause?: string;
  events: Array<{ id: number; type: string; state: string | null; at: string; elapsedMs: number; error?: string }>;
}

export function executionHistories(rt: RouteDeps['rt'], incidentId: string): ExecutionHistory[] {
  return [...rt.engine.executions.values()]
    .filter((x) => x.name === `incident-${incidentId}` || x.name.includes(incidentId))
    .sort((a, b) => Date.parse(a.startDate) - Date.parse(b.startDate))
    .map((x) => {
      const startAt = x.events[0]?.at ?? x.events[0]?.timestamp ?? 0;
      return {
        executionArn: x.executionArn, name: x.name, machine: x.machine, status: x.status, startDate: x.startDate, redriveCount: x.redriveCount,
        ...(x.error ? { error: x.error } : {}), ...(x.cause ? { cause: x.cause } : {}),
        events: x.events.map((ev, i) => {
          const at = ev.at ?? ev.timestamp;
          return { id: i + 1, type: ev.type, state: ev.state?.name ?? null, at: new Date(at).toISOString(), elapsedMs: at - startAt, ...(ev.Error ? { error: String(ev.Error) } : {}) };
        }),
      };
    });
}

export async function incidentDetail(deps: RouteDeps, incidentId: string): Promise<IncidentDetail | null> {
  const { stores, rt } = deps;
  const incident = await stores.incidents.getIncident(incidentId);
  if (!incident) return null;
  const [approvals, proposal, run, machines, audit] = await Promise.all([
    stores.approvals.listApprovals({ incidentId }), stores.runs.getProposal(incidentId), stores.runs.getRun(incidentId),
    stores.runs.listMachines(incidentId), stores.audit.list(incidentId),
  ]);
  const ex = rt.executionFor(incidentId);
  const objectives = Object.fromEntries(incident.groups.map((g) => {
    const o = rt.index.groupByName.get(g)?.objectives;
    return [g, { rpoMinutes: o?.rpoMinutes ?? null, rtoMinutes: o?.rtoMinutes ?? null }];
  }));
  return {
    incident, approvals: approvals.map((a) => approvalView(deps, a)), proposal, run,
    machines: machines.sort((a, b) => a.wave - b.wave || a.machineId.localeCompare(b.machineId)),
    audit: audit.sort((a, b) => a.seq - b.seq),
    execution: ex ? { status: ex.status, ...(ex.error ? { error: ex.error } : {}), ...(ex.cause ? { cause: ex.cause } : {}) } : null,
    executions: executionHistories(rt, incidentId),
    objectives,
  };
}

/** A machine's lifecycle label (domain/drills/lifecycle.ts): Protected / Not Protected, or the holding incident's state. */
export type Lifecycle = MachineLifecycleLabel;

export interface MachineView {
  machineId: string;
  group: string;
  wave: number;
  instanceId: string;
  instanceType: string | null;
  latestPoint: Pick<RecoveryPoint, 'pointId' | 'capturedAt' | 'status' | 'scan'> | null;
  /** The newest point a failover could restore from (available, not infected). */
  latestCleanPoint: Pick<RecoveryPoint, 'pointId' | 'capturedAt' | 'status' | 'scan'> | null;
  lifecycle: Lifecycle;
  /** The lifecycle comes from a test-mode run (isolated network), not a real failover. */
  testMode: boolean;
  incidentId: string | null;
  /** An incident still waiting for a decision about this machine. */
  pendingIncidentId: string | null;
  recovery: { instanceId: string | null; state: string | null; pointId: string; capturedAt: string } | null;
  /** The machine's drill state (lifecycleOf, domain/drills/lifecycle.ts): from its own outcome in the drills that reached it. */
  drill: DrillState;
  /**
   * The DR lifecycle as the console shows it: the incident state while an incident holds this
   * machine (`lifecycle` above, with `testMode`), else its drill state.
   */
  drLifecycle: LifecycleState;
  /** The last finished drill that reached this machine, and the machine's own outcome in it. */
  lastDrill: { drillId: string; testedAt: string; result: 'pass' | 'fail' | null } | null;
  /** A drill of the machine's group is running now (a test-mode failover into the isolated test network). */
  runningDrillId: string | null;
}

/** Every machine of the inventory with its newest recovery point and DR lifecycle status. */
export async function machineViews(deps: RouteDeps): Promise<MachineView[]> {
  const { rt, stores } = deps;
  const incidents = await stores.incidents.listIncidents();
  const coverage = new Map<string, { incident: Incident; machines: Map<string, RunMachine> }>();
  const coveredBy = async (incident: Incident) => {
    let c = coverage.get(incident.incidentId);
    if (!c) {
      const machines = await stores.runs.listMachines(incident.incidentId);
      c = { incident, machines: new Map(machines.map((m) => [m.machineId, m])) };
      coverage.set(incident.incidentId, c);
    }
    return c;
  };
  const nowMs = rt.clock.now();
  const now = new Date(nowMs).toISOString();
  const views: MachineView[] = [];
  for (const group of rt.index.inventory.groups) {
    const drillLife: GroupLifecycle = lifecycleOf(group, await stores.drills.listDrills(group.name, { limit: 50 }), incidents, nowMs);
    for (const m of group.machines) {
      const { latest, latestClean } = await newestPoints(deps, m.id, now);
      let view: MachineView = {
        machineId: m.id, group: group.name, wave: m.wave, instanceId: m.instanceId, instanceType: m.instanceType ?? null,
        latestPoint: latest, latestCleanPoint: latestClean, lifecycle: latestClean ? 'Protected' : 'Not Protected', testMode: false,
        incidentId: null, pendingIncidentId: null, recovery: null, ...machineLifecycle(drillLife, m.id, null),
      };
      // Newest incident first: the most recent failover of this machine decides its status.
      for (const incident of incidents) {
        const touches = incident.groups.includes(group.name) || incident.machines.includes(m.id);
        if (!touches) continue;
        if ((incident.status === 'proposed' || incident.status === 'awaiting-approval') && !view.pendingIncidentId) view = { ...view, pendingIncidentId: incident.incidentId };
        const lifecycle = INCIDENT_STATE_BY_STATUS[incident.status];
        if (!lifecycle) continue;
        const run = (await coveredBy(incident)).machines.get(m.id);
        if (!run && incident.status !== 'approved') continue;
        view = { ...view, lifecycle, testMode: incident.mode === 'test', incidentId: incident.incidentId, recovery: run ? recoveryOf(deps, run) : null };
        break;
      }
      views.push({ ...view, ...machineLifecycle(drillLife, m.id, view.lifecycle) });
    }
  }
  return views;
}

/**
 * A machine's DR lifecycle: its drill state from its group's lifecycle (lifecycleOf), with the
 * state of the incident holding it (`incidentLifecycle`, from its newest failover) laid over it.
 */
export function machineLifecycle(life: GroupLifecycle, machineId: string, incidentLifecycle: Lifecycle | null): Pick<MachineView, 'drill' | 'drLifecycle' | 'lastDrill' | 'runningDrillId'> {
  const m = life.machines.find((x) => x.machineId === machineId);
  const drill = m?.state ?? 'Never Tested';
  const held = incidentLifecycle !== null && (INCIDENT_STATES as readonly string[]).includes(incidentLifecycle);
  return {
    drill, drLifecycle: held ? (incidentLifecycle as LifecycleState) : drill,
    lastDrill: m?.lastDrillId && m.lastTestedAt ? { drillId: m.lastDrillId, testedAt: m.lastTestedAt, result: m.lastResult } : null,
    runningDrillId: life.runningDrillId,
  };
}

/** The newest point, and the newest one a failover could use (looked for among the newest 200). */
async function newestPoints(deps: RouteDeps, machineId: string, now: string): Promise<{ latest: MachineView['latestPoint']; latestClean: MachineView['latestPoint'] }> {
  let latest: MachineView['latestPoint'] = null;
  let seen = 0;
  for await (const p of deps.stores.catalog.pointsAtOrBefore(machineId, now, { pageSize: 25 })) {
    const view = { pointId: p.pointId, capturedAt: p.capturedAt, status: p.status, scan: p.scan };
    latest ??= view;
    if (!ineligibility(p)) return { latest, latestClean: view };
    if (++seen >= 200) break;
  }
  return { latest, latestClean: null };
}

function recoveryOf(deps: RouteDeps, run: RunMachine): MachineView['recovery'] {
  const instance = run.instanceId
    ? deps.rt.sim.resources({ tag: { key: 'cleanpoint:machine', value: run.machineId } }).find((r) => r.type === 'instance' && r.id === run.instanceId)
    : undefined;
  return { instanceId: run.instanceId ?? null, state: run.instanceId ? instance?.state ?? 'terminated' : null, pointId: run.pointId, capturedAt: run.capturedAt };
}

// ---- protection badges (RPO per machine, readiness per group) ----

/** What the console reads of the protection records check-protection writes to the state table. */
export type ProtectionReader = Pick<ProtectionStore, 'listRpoStates' | 'getReadiness'>;

const readers = new WeakMap<RouteDeps['rt'], Promise<ProtectionReader>>();

/**
 * The state table's protection records, through the same adapter check-protection writes them
 * with, over the runtime's clients (as local/stores.ts).
 */
export function protectionReader(deps: RouteDeps): Promise<ProtectionReader> {
  let reader = readers.get(deps.rt);
  if (!reader) {
    reader = import('../functions/shared/wiring.ts').then(({ protectionStore }) => protectionStore({ STATE_TABLE: deps.rt.tables.state }, deps.rt.platform));
    reader.catch(() => readers.delete(deps.rt)); // a failed load is retried by the next page, not remembered
    readers.set(deps.rt, reader);
  }
  return reader;
}

const unreadable = (what: string, error: unknown): Badge => ({
  text: `${what} unknown`, tone: 'muted', title: `the stored ${what} state could not be read: ${(error as Error)?.message ?? String(error)}`,
});

/**
 * Each machine's RPO badge (rpoBadgeOf) from the stored RPO states: "RPO not checked" for a
 * machine the monitor has not looked at yet, "RPO unknown" for all when the states cannot be read.
 */
export async function rpoBadges(reader: ProtectionReader, machineIds: readonly string[]): Promise<Record<string, Badge>> {
  let states: RpoState[];
  try {
    states = await reader.listRpoStates();
  } catch (error) {
    return Object.fromEntries(machineIds.map((id) => [id, unreadable('RPO', error)]));
  }
  const byMachine = new Map(states.map((s) => [s.machineId, s]));
  return Object.fromEntries(machineIds.map((id) => [id, rpoBadgeOf(byMachine.get(id))]));
}

export interface GroupReadinessBadge {
  group: string;
  badge: Badge;
  /** When the shown report was made (null: no report, or it could not be read). */
  checkedAt: string | null;
  /** What the report says to fix, failed checks first. */
  problems: string[];
}

/** Each group's readiness badge (readinessBadgeOf) from its latest stored report; "readiness not checked" without one. */
export async function readinessBadges(reader: ProtectionReader, groups: readonly string[]): Promise<GroupReadinessBadge[]> {
  return Promise.all(groups.map(async (group): Promise<GroupReadinessBadge> => {
    try {
      const report = await reader.getReadiness(group);
      return { group, badge: readinessBadgeOf(report), checkedAt: report?.checkedAt ?? null, problems: report?.problems ?? [] };
    } catch (error) {
      return { group, badge: unreadable('readiness', error), checkedAt: null, problems: [] };
    }
  }));
}
