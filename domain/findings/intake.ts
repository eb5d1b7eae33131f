import { assessFinding, combineSuspectedSince, type Assessment } from './assess.ts';
import { ConflictError, INCIDENT_ID, isId, NotFoundError, toIso, type Clock } from '../shared/index.ts';
import { parseFinding, type Finding } from './finding.ts';
import { decidersOf, peopleInRole, TAG, type InventoryIndex } from '../inventory/index.ts';
import { changeIncident } from '../incidents/index.ts';
import { executionNameFor, incidentIdFor, newIncident, OPEN_STATUSES, type Incident } from '../incidents/model.ts';
import type { Policy } from './policy.ts';
import type {
  AuditLog, EventPublisher, FindingDelivery, IncidentStore, Notifier, RecoveryPointWriter, RunStore, WorkflowEngine,
} from '../ports/index.ts';
import type { RunMachine } from '../failover/model.ts';

export interface IntakeDeps {
  policy: Policy;
  index: InventoryIndex;
  store: IncidentStore;
  audit: AuditLog;
  workflows: WorkflowEngine;
  events: EventPublisher;
  notifier: Notifier;
  clock: Clock;
  /** Run records: to recognise an instance Cleanpoint launched (a re-infection). */
  runs: Pick<RunStore, 'getMachine'>;
  /** To mark the point a re-infected machine was restored from as infected. */
  catalog: Pick<RecoveryPointWriter, 'markPoint'>;
}

export interface IntakeResult {
  incidentId: string;
  delivery: FindingDelivery;
  assessment: Assessment;
  /** True when this delivery created the incident. */
  created: boolean;
  /** The finding joined an incident opened by another finding for the same group. */
  correlated: boolean;
  executionName: string | null;
  incident: Incident;
  /** Other open incidents this finding was folded into too (it touched their groups as well). */
  alsoFolded: string[];
  /** The finding showed that a machine Cleanpoint recovered is compromised again. */
  reinfected: boolean;
}

/** A compromise finding on an instance Cleanpoint launched for an incident. */
interface Reinfection {
  incidentId: string;
  machine: RunMachine;
  instanceId: string;
  /** Strictly before the point the machine was restored from: the group's new cutoff. */
  cutoff: string;
}

/**
 * intakeFinding(deps)(event)
 *
 * Input: an EventBridge GuardDuty event (or bare finding). Output: the incident it belongs to.
 * EventBridge delivers at least once, concurrently, and GuardDuty reports several finding types
 * for one compromise within a second; every step below is idempotent or retried on a version
 * conflict, so any burst of deliveries makes one incident, one workflow execution and one
 * `workflow.started` entry per execution.
 * 1. Parse and assess the finding.
 * 2. A failover proposal claims its application groups. Groups already claimed by other open
 *    incidents fold the finding into those incidents (their cutoff can only move earlier);
 *    groups nobody covers get an incident of their own, correlated with the others — a finding
 *    is never dropped for a group.
 * 3. Record the delivery (new / update / duplicate) under the incident it belongs to.
 * 4. Create the incident with a conditional write, or fold the finding into the existing one.
 *    A cutoff that moved earlier is announced (`Incident Evidence Changed`): a pending proposal
 *    that no longer stands is superseded and asked again.
 * 5. A compromise of an instance Cleanpoint launched (tags `cleanpoint:incident` and
 *    `cleanpoint:machine`, and the incident's run records that very instance) is a
 *    re-infection: the point it was restored from was not clean. It is marked infected, the
 *    group's cutoff moves before it, the incident re-opens as `reinfected` and a new round of
 *    the incident-response workflow proposes an earlier point; deciders and analysts are told.
 * 6. For a proposal, start the incident-response workflow of the incident's current round with
 *    a name derived from the incident id (Step Functions refuses a second execution of a name).
 * 7. Audit, publish a `cleanpoint` event, and notify on first sight of notify-level findings.
 */
export function intakeFinding(deps: IntakeDeps) {
  const assess = assessFinding(deps.policy, deps.index);
  return async (event: unknown): Promise<IntakeResult> => {
    const finding = parseFinding(event);
    const assessment = assess(finding);
    const ownId = incidentIdFor(finding);
    const now = toIso(deps.clock.now());

    // Fast path for redeliveries (most deliveries under at-least-once): a finding already recorded
    // at this version, whose incident exists and needs no start, changes nothing.
    const prior = await deps.store.getFindingRecord(finding.id);
    if (prior && Date.parse(prior.updatedAt) >= Date.parse(finding.updatedAt)) {
      const existing = await deps.store.getIncident(prior.incidentId);
      if (existing && !needsStart(existing)) {
        return {
          incidentId: existing.incidentId, delivery: 'duplicate', assessment, created: false, correlated: existing.incidentId !== ownId,
          executionName: existing.executionName ?? null, incident: existing, alsoFolded: [], reinfected: false,
        };
      }
    }

    // Which incident owns each touched group, after trying to claim them for this finding's own incident.
    let ownGroups = assessment.groups;
    let foreign = new Map<string, string[]>(); // owner incident → its groups this finding touches
    if (assessment.action === 'failover-proposal') ({ ownGroups, foreign } = await claimGroups(deps, assessment.groups, ownId));
    const restricted = ownGroups.length === assessment.groups.length ? assessment : restrictTo(assessment, ownGroups, deps.index);
    let targetId = ownGroups.length > 0 || foreign.size === 0 ? ownId : [...foreign.keys()][0]!;

    const delivery = await deps.store.recordFinding(targetId, finding);
    if (delivery !== 'new') {
      // A redelivery or update belongs to the incident its first delivery chose (first writer wins,
      // and never changes), even if group ownership has moved since.
      const record = prior ?? await deps.store.getFindingRecord(finding.id);
      if (record && record.incidentId !== targetId) {
        if (targetId === ownId && ownGroups.length) await Promise.all(ownGroups.map((g) => deps.store.releaseGroup(g, ownId)));
        targetId = record.incidentId;
        foreign = new Map([...foreign].filter(([id]) => id !== targetId));
      }
    }

    const reinfection = assessment.action === 'failover-proposal' && delivery !== 'duplicate' ? await findReinfection(deps, finding) : null;
    let created = false;
    let incident: Incident;
    let movedEarlier = false;
    if (targetId === ownId) {
      const fresh = newIncident(restricted, finding, now);
      if (foreign.size) fresh.correlated = [...foreign.keys()];
      const result = await deps.store.createIncident(fresh);
      created = result.created;
      if (created) incident = result.incident;
      else ({ incident, movedEarlier } = await fold(deps, result.incident, restricted, finding, delivery, now, reinfection));
    } else {
      const existing = await ownerRecord(deps, targetId);
      ({ incident, movedEarlier } = await fold(deps, existing, assessment, finding, delivery, now, reinfection));
    }

    if (created || delivery !== 'duplicate') {
      await deps.audit.append(incident.incidentId, {
        type: created ? 'incident.created' : 'finding.received', actor: 'guardduty', at: now,
        data: {
          findingId: finding.id, findingType: finding.type, severity: finding.severity, delivery, action: assessment.action, reasons: assessment.reasons,
          ...(foreign.size && targetId === ownId ? { correlated: [...foreign.keys()], groups: ownGroups } : {}),
        },
      });
    }

    // The same finding touches groups other open incidents cover: it is evidence for them too.
    const alsoFolded: string[] = [];
    if (delivery === 'new') {
      for (const [otherId, groups] of foreign) {
        if (otherId === incident.incidentId) continue;
        const other = await deps.store.getIncident(otherId);
        if (!other) continue;
        const folded = await fold(deps, other, restrictTo(assessment, groups, deps.index), finding, 'new', now, reinfection?.incidentId === otherId ? reinfection : null,
          targetId === ownId ? incident.incidentId : undefined);
        alsoFolded.push(otherId);
        await deps.audit.append(otherId, {
          type: 'finding.received', actor: 'guardduty', at: now,
          data: { findingId: finding.id, findingType: finding.type, severity: finding.severity, delivery: 'new', action: assessment.action, groups, ...(targetId === ownId ? { correlated: [incident.incidentId] } : {}) },
        });
        await afterFold(deps, folded.incident, folded.movedEarlier, reinfection?.incidentId === otherId ? reinfection : null, finding, now);
      }
    }
    const reinfectedHere = await afterFold(deps, incident, movedEarlier, reinfection?.incidentId === incident.incidentId ? reinfection : null, finding, now);
    incident = (await deps.store.getIncident(incident.incidentId)) ?? incident;

    const executionName = await startIfNeeded(deps, incident, now);
    incident = (await deps.store.getIncident(incident.incidentId)) ?? incident;

    if (created || delivery === 'new') {
      await deps.events.publish([{
        detailType: created ? 'Incident Created' : 'Finding Correlated',
        detail: { incidentId: incident.incidentId, findingId: finding.id, action: incident.action, mode: incident.mode, groups: incident.groups, machines: incident.machines },
      }]);
      if (created && assessment.action === 'notify') {
        // Analysts of the groups it touches hear about it (the configured fallback address otherwise).
        const analysts = peopleOf(deps.index, assessment.groups, (g) => peopleInRole(g, 'analyst'));
        await deps.notifier.send({
          kind: 'finding', incidentId: incident.incidentId, ...(analysts.length ? { recipients: analysts } : {}),
          subject: `[cleanpoint] ${finding.severityLabel} GuardDuty finding ${finding.type}`,
          text: [`${finding.type} (severity ${finding.severity}) in ${finding.accountId}/${finding.region}.`, ...assessment.reasons].join('\n'),
        });
      }
    }
    return {
      incidentId: incident.incidentId, delivery, assessment, created, correlated: targetId !== ownId, executionName, incident,
      alsoFolded, reinfected: reinfectedHere,
    };
  };
}

/**
 * The incident that owns a group. Its first delivery claims the group a moment before it writes
 * the incident, so a concurrent delivery may look in between: wait a little (bounded) before
 * failing the delivery (EventBridge then retries it).
 */
async function ownerRecord(deps: IntakeDeps, incidentId: string): Promise<Incident> {
  for (let attempt = 0; attempt < 12; attempt++) {
    const found = await deps.store.getIncident(incidentId);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.floor(Math.random() * 10 * (attempt + 1))));
  }
  throw new ConflictError(`group owner ${incidentId} has no incident record yet; the delivery is retried`);
}

/** An incident whose current round has no execution yet. */
function needsStart(i: Incident): boolean {
  if (i.action !== 'failover-proposal' || (i.status !== 'proposed' && i.status !== 'reinfected')) return false;
  return startedRound(i) < (i.round ?? 1);
}

/** The last round whose execution is recorded on the incident (0: none). */
function startedRound(i: Incident): number {
  return i.executionRound ?? (i.executionArn ? 1 : 0);
}

/** The execution name of an incident's round: round 1 keeps the original name. */
export function incidentExecutionName(incidentId: string, round: number): string {
  return executionNameFor('incident', round <= 1 ? incidentId : `${incidentId}-r${round}`);
}

/**
 * Start the incident-response workflow for the incident's current round. Step Functions answers
 * a repeated start of the same name and input with the same execution, so `alreadyStarted`
 * cannot tell concurrent deliveries apart: the one delivery whose write records the execution
 * on the incident is the one that audits it.
 */
async function startIfNeeded(deps: IntakeDeps, incident: Incident, now: string): Promise<string | null> {
  if (!needsStart(incident)) return incident.action === 'failover-proposal' && incident.executionName ? incident.executionName : null;
  const round = incident.round ?? 1;
  const name = incidentExecutionName(incident.incidentId, round);
  const started = await deps.workflows.startExecution({ machine: 'incident-response', name, input: { incidentId: incident.incidentId } });
  let recordedHere = false;
  await changeIncident(deps.store, incident.incidentId, (c) => {
    recordedHere = startedRound(c) < round;
    return recordedHere ? { executionName: name, executionArn: started.executionArn, executionRound: round } : null;
  });
  if (recordedHere) {
    await deps.audit.append(incident.incidentId, { type: 'workflow.started', actor: 'cleanpoint', at: now, data: { executionName: name, round } });
  }
  return name;
}

/**
 * Claim each group for this finding's own incident. Returns the groups it now owns and, per other
 * open incident, the groups that incident already covers. An owner that closed without releasing
 * (a crash between close and release) is taken over.
 */
async function claimGroups(deps: IntakeDeps, groups: string[], ownId: string): Promise<{ ownGroups: string[]; foreign: Map<string, string[]> }> {
  const ownGroups: string[] = [];
  const foreign = new Map<string, string[]>();
  for (const group of groups) {
    for (let attempt = 0; ; attempt++) {
      const owner = await deps.store.claimGroup(group, ownId);
      if (owner === ownId) { ownGroups.push(group); break; }
      const other = await deps.store.getIncident(owner);
      // No record yet: the owner's first delivery claimed the group and is creating it this instant.
      if (!other || OPEN_STATUSES.includes(other.status)) { foreign.set(owner, [...(foreign.get(owner) ?? []), group]); break; }
      if (attempt >= 3) throw new ConflictError(`group ${group} keeps changing owner; try again`);
      await deps.store.releaseGroup(group, owner);
    }
  }
  return { ownGroups, foreign };
}

/** The assessment as it concerns only some of its groups (and their machines). */
function restrictTo(assessment: Assessment, groups: string[], index: InventoryIndex): Assessment {
  const keep = new Set(groups);
  return {
    ...assessment,
    groups: assessment.groups.filter((g) => keep.has(g)),
    machines: assessment.machines.filter((m) => keep.has(index.machineById.get(m)?.group.name ?? '')),
  };
}

/**
 * Is the finding about an instance Cleanpoint launched for an incident? The tags alone prove
 * nothing (anyone who can tag an instance could set them): the incident's run must record this
 * very instance as the machine's recovery instance.
 */
async function findReinfection(deps: IntakeDeps, finding: Finding): Promise<Reinfection | null> {
  const incidentId = finding.tags[TAG.incident];
  const machineId = finding.tags[TAG.machine];
  if (!incidentId || !machineId || !isId(INCIDENT_ID, incidentId)) return null;
  const machine = await deps.runs.getMachine(incidentId, machineId);
  if (!machine?.instanceId || !finding.instanceIds.includes(machine.instanceId) || !machine.readyAt) return null;
  return { incidentId, machine, instanceId: machine.instanceId, cutoff: toIso(Date.parse(machine.capturedAt) - 1) };
}

/** Fold a later finding (or a GuardDuty update of the same one) into an incident. */
async function fold(
  deps: IntakeDeps, incident: Incident, assessment: Assessment, finding: Finding, delivery: FindingDelivery, now: string,
  reinfection: Reinfection | null, correlatedWith?: string,
): Promise<{ incident: Incident; movedEarlier: boolean }> {
  if (delivery === 'duplicate') return { incident, movedEarlier: false };
  let movedEarlier = false;
  const folded = await changeIncident(deps.store, incident.incidentId, (current) => {
    movedEarlier = false;
    const changes: Partial<Incident> = { updatedAt: now };
    if (!current.findingIds.includes(finding.id)) changes.findingIds = [...current.findingIds, finding.id];
    const since = combineSuspectedSince([current.suspectedSince, assessment.suspectedSince]);
    if (since !== current.suspectedSince) { changes.suspectedSince = since; movedEarlier = current.suspectedSince !== null; }
    if (Date.parse(assessment.evidenceAt) < Date.parse(current.evidenceAt)) changes.evidenceAt = assessment.evidenceAt;
    if (correlatedWith && !(current.correlated ?? []).includes(correlatedWith)) changes.correlated = [...(current.correlated ?? []), correlatedWith];
    const escalates = assessment.action === 'failover-proposal' && (current.status === 'notified' || current.status === 'ignored');
    if (escalates) Object.assign(changes, { status: 'proposed', action: assessment.action, mode: assessment.mode, groups: assessment.groups, machines: assessment.machines, assessment });
    else if (assessment.mode === 'recovery' && current.mode === 'test' && current.status === 'proposed') changes.mode = 'recovery';
    if (reinfection && reinfection.incidentId === current.incidentId) {
      const group = reinfection.machine.group;
      const existing = current.groupCutoffs?.[group];
      if (!existing || Date.parse(reinfection.cutoff) < Date.parse(existing)) {
        changes.groupCutoffs = { ...current.groupCutoffs, [group]: reinfection.cutoff };
        movedEarlier = true;
      }
      // A recovered incident re-opens for a new round; one already re-opened keeps its round.
      if (current.status === 'recovered' || current.status === 'failover-failed') {
        changes.status = 'reinfected';
        changes.round = (current.round ?? 1) + 1;
      }
    }
    return changes;
  });
  return { incident: folded ?? incident, movedEarlier };
}

/**
 * What a fold sets in motion: a re-infection marks the restored point infected and tells people;
 * a cutoff that moved earlier is announced so pending proposals are judged again.
 * Returns whether this call handled a re-infection.
 */
async function afterFold(deps: IntakeDeps, incident: Incident, movedEarlier: boolean, reinfection: Reinfection | null, finding: Finding, now: string): Promise<boolean> {
  if (reinfection) {
    const m = reinfection.machine;
    await deps.catalog.markPoint(m.machineId, m.pointId, {
      scan: 'infected',
      scanRecord: {
        verdict: 'infected', source: 'reinfection', scanId: finding.id, at: now,
        detail: `instance ${reinfection.instanceId}, restored from this point by ${incident.incidentId}, was compromised again (${finding.type})`.slice(0, 500),
      },
    }).catch((e) => { if (!(e instanceof NotFoundError)) throw e; });
    await deps.audit.append(incident.incidentId, {
      type: 'incident.reinfected', actor: 'guardduty', at: now,
      data: {
        findingId: finding.id, findingType: finding.type, machineId: m.machineId, instanceId: reinfection.instanceId,
        pointId: m.pointId, capturedAt: m.capturedAt, group: m.group, cutoff: reinfection.cutoff, round: incident.round ?? 1,
        outcome: `point ${m.pointId} is marked infected; the machine's later points are after the new cutoff; a new proposal comes from before ${m.capturedAt}`,
      },
    });
    const people = peopleOf(deps.index, [m.group], (g) => [...decidersOf(g), ...peopleInRole(g, 'analyst')]);
    await deps.notifier.send({
      kind: 'finding', incidentId: incident.incidentId, ...(people.length ? { recipients: people } : {}),
      subject: `[cleanpoint] RE-INFECTION: ${m.machineId} (restored from ${m.pointId}) is compromised again`,
      text: [
        `${finding.type} (severity ${finding.severity}) on ${reinfection.instanceId}, the machine Cleanpoint restored for ${incident.incidentId}.`,
        `The point it was restored from (${m.pointId}, captured ${m.capturedAt}) was not clean: it is marked infected.`,
        `A new failover proposal for ${m.group} from a point before ${m.capturedAt} follows for approval.`,
      ].join('\n'),
    });
    await deps.events.publish([{ detailType: 'Incident Reinfected', detail: { incidentId: incident.incidentId, machineId: m.machineId, pointId: m.pointId, findingId: finding.id } }]);
  }
  if (movedEarlier) {
    await deps.events.publish([{ detailType: 'Incident Evidence Changed', detail: { incidentId: incident.incidentId, suspectedSince: incident.suspectedSince, groupCutoffs: incident.groupCutoffs ?? {} } }]);
  }
  return reinfection !== null;
}

function peopleOf(index: InventoryIndex, groups: string[], pick: (g: NonNullable<ReturnType<InventoryIndex['groupByName']['get']>>) => string[]): string[] {
  return [...new Set(groups.flatMap((name) => {
    const g = index.groupByName.get(name);
    return g ? pick(g) : [];
  }))];
}
