import { assessFinding, combineSuspectedSince, type Assessment } from './assess.ts';
import type { Clock } from './clock.ts';
import { ConflictError } from './errors.ts';
import { parseFinding, type Finding } from './finding.ts';
import { changeIncident } from './incident-updates.ts';
import { executionNameFor, incidentIdFor, newIncident, OPEN_STATUSES, type Incident } from './incident.ts';
import { peopleInRole, type InventoryIndex } from './inventory.ts';
import type { Policy } from './policy.ts';
import type { AuditLog, EventPublisher, FindingDelivery, IncidentStore, Notifier, WorkflowEngine } from './ports.ts';
import { toIso } from './validation.ts';

export interface IntakeDeps {
  policy: Policy;
  index: InventoryIndex;
  store: IncidentStore;
  audit: AuditLog;
  workflows: WorkflowEngine;
  events: EventPublisher;
  notifier: Notifier;
  clock: Clock;
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
}

/**
 * intakeFinding(deps)(event)
 *
 * Input: an EventBridge GuardDuty event (or bare finding). Output: the incident it belongs to.
 * EventBridge delivers at least once, concurrently, and GuardDuty re-sends a finding with a
 * higher count as it recurs; every step below is idempotent so any number of deliveries make
 * one incident and one workflow execution.
 * 1. Parse and assess the finding.
 * 2. A failover proposal claims its application groups; a group already claimed by another
 *    open incident makes this finding join that incident (correlation).
 * 3. Record the delivery (new / update / duplicate) under the incident it belongs to.
 * 4. Create the incident with a conditional write, or fold the finding into the existing one
 *    (suspectedSince can only move earlier; a notify incident can escalate to a proposal).
 * 5. For a proposal, start the incident-response workflow with a name derived from the incident
 *    id (Step Functions refuses a second execution of the same name).
 * 6. Audit, publish a `cleanpoint` event, and notify on first sight of notify-level findings.
 */
export function intakeFinding(deps: IntakeDeps) {
  const assess = assessFinding(deps.policy, deps.index);
  return async (event: unknown): Promise<IntakeResult> => {
    const finding = parseFinding(event);
    const assessment = assess(finding);
    const ownId = incidentIdFor(finding);
    const now = toIso(deps.clock.now());

    // Fast path for redeliveries (most deliveries under at-least-once): a finding already recorded
    // at this version, whose incident exists and is past needing a start, changes nothing.
    const prior = await deps.store.getFindingRecord(finding.id);
    if (prior && Date.parse(prior.updatedAt) >= Date.parse(finding.updatedAt)) {
      const existing = await deps.store.getIncident(prior.incidentId);
      const settled = existing && (existing.action !== 'failover-proposal' || existing.status !== 'proposed' || existing.executionArn);
      if (existing && settled) {
        return {
          incidentId: existing.incidentId, delivery: 'duplicate', assessment, created: false, correlated: existing.incidentId !== ownId,
          executionName: existing.executionName ?? null, incident: existing,
        };
      }
    }

    let targetId = ownId;
    if (assessment.action === 'failover-proposal') targetId = await claimGroups(deps, assessment.groups, ownId);

    const delivery = await deps.store.recordFinding(targetId, finding);
    if (delivery !== 'new') {
      // A redelivery or update belongs to the incident its first delivery chose (first writer wins,
      // and never changes), even if group ownership has moved since.
      const record = prior ?? await deps.store.getFindingRecord(finding.id);
      if (record && record.incidentId !== targetId) {
        if (targetId === ownId && assessment.action === 'failover-proposal') {
          await Promise.all(assessment.groups.map((g) => deps.store.releaseGroup(g, ownId)));
        }
        targetId = record.incidentId;
      }
    }
    let created = false;
    let incident: Incident;
    if (targetId === ownId) {
      const result = await deps.store.createIncident(newIncident(assessment, finding, now));
      created = result.created;
      incident = result.created ? result.incident : await fold(deps, result.incident, assessment, finding, delivery, now);
    } else {
      const existing = await deps.store.getIncident(targetId);
      if (!existing) throw new ConflictError(`group owner ${targetId} has no incident record`);
      incident = await fold(deps, existing, assessment, finding, delivery, now);
    }

    if (created || delivery !== 'duplicate') {
      await deps.audit.append(incident.incidentId, {
        type: created ? 'incident.created' : 'finding.received', actor: 'guardduty', at: now,
        data: { findingId: finding.id, findingType: finding.type, severity: finding.severity, delivery, action: assessment.action, reasons: assessment.reasons },
      });
    }

    let executionName: string | null = null;
    if (incident.action === 'failover-proposal' && incident.status === 'proposed') {
      const name = executionNameFor('incident', incident.incidentId);
      executionName = name;
      const started = await deps.workflows.startExecution({ machine: 'incident-response', name, input: { incidentId: incident.incidentId } });
      if (!incident.executionArn) {
        // Step Functions answers a repeated start of the same name and input with the same
        // execution, so `alreadyStarted` cannot tell concurrent deliveries apart: the one
        // delivery whose write records the execution on the incident is the one that audits it.
        let recordedHere = false;
        incident = (await changeIncident(deps.store, incident.incidentId, (c) => {
          recordedHere = !c.executionArn;
          return recordedHere ? { executionName: name, executionArn: started.executionArn } : null;
        })) ?? incident;
        if (recordedHere) {
          await deps.audit.append(incident.incidentId, { type: 'workflow.started', actor: 'cleanpoint', at: now, data: { executionName: name } });
        }
      }
    }

    if (created || delivery === 'new') {
      await deps.events.publish([{
        detailType: created ? 'Incident Created' : 'Finding Correlated',
        detail: { incidentId: incident.incidentId, findingId: finding.id, action: incident.action, mode: incident.mode, groups: incident.groups, machines: incident.machines },
      }]);
      if (created && assessment.action === 'notify') {
        // Analysts of the groups it touches hear about it (the configured fallback address otherwise).
        const analysts = [...new Set(assessment.groups.flatMap((g) => {
          const group = deps.index.groupByName.get(g);
          return group ? peopleInRole(group, 'analyst') : [];
        }))];
        await deps.notifier.send({
          kind: 'finding', incidentId: incident.incidentId, ...(analysts.length ? { recipients: analysts } : {}),
          subject: `[cleanpoint] ${finding.severityLabel} GuardDuty finding ${finding.type}`,
          text: [`${finding.type} (severity ${finding.severity}) in ${finding.accountId}/${finding.region}.`, ...assessment.reasons].join('\n'),
        });
      }
    }
    return { incidentId: incident.incidentId, delivery, assessment, created, correlated: targetId !== ownId, executionName, incident };
  };
}

async function claimGroups(deps: IntakeDeps, groups: string[], ownId: string): Promise<string> {
  const owners = await Promise.all(groups.map((g) => deps.store.claimGroup(g, ownId)));
  const other = owners.find((o) => o !== ownId);
  if (!other) return ownId;
  // Another open incident already covers one of the groups: join it and give back what we took.
  const owner = await deps.store.getIncident(other);
  if (owner && !OPEN_STATUSES.includes(owner.status)) {
    // The owner closed without releasing (crash between close and release): take over.
    await deps.store.releaseGroup(groups[owners.indexOf(other)]!, other);
    return claimGroups(deps, groups, ownId);
  }
  await Promise.all(groups.filter((_, i) => owners[i] === ownId).map((g) => deps.store.releaseGroup(g, ownId)));
  return other;
}

/** Fold a later finding (or a GuardDuty update of the same one) into an incident. */
async function fold(deps: IntakeDeps, incident: Incident, assessment: Assessment, finding: Finding, delivery: FindingDelivery, now: string): Promise<Incident> {
  if (delivery === 'duplicate') return incident;
  const folded = await changeIncident(deps.store, incident.incidentId, (current) => {
    const changes: Partial<Incident> = { updatedAt: now };
    if (!current.findingIds.includes(finding.id)) changes.findingIds = [...current.findingIds, finding.id];
    const since = combineSuspectedSince([current.suspectedSince, assessment.suspectedSince]);
    if (since !== current.suspectedSince) changes.suspectedSince = since;
    if (Date.parse(assessment.evidenceAt) < Date.parse(current.evidenceAt)) changes.evidenceAt = assessment.evidenceAt;
    const escalates = assessment.action === 'failover-proposal' && (current.status === 'notified' || current.status === 'ignored');
    if (escalates) Object.assign(changes, { status: 'proposed', action: assessment.action, mode: assessment.mode, groups: assessment.groups, machines: assessment.machines, assessment });
    else if (assessment.mode === 'recovery' && current.mode === 'test' && current.status === 'proposed') changes.mode = 'recovery';
    return changes;
  });
  return folded ?? incident;
}

