import type { ApprovalRequest, ProposalChange } from '../approvals/model.ts';
import { ConflictError, toIso, WorkflowGoneError, type Clock } from '../shared/index.ts';
import type { Incident } from './incident.ts';
import type { ApprovalStore, AuditLog, IncidentStore, RecoveryPointLookup, RunStore, WorkflowEngine } from '../ports/index.ts';
import { ineligibility, type RecoveryPoint, type Selection } from '../recovery-points/model.ts';

/**
 * Incidents evolve: evidence arrives over hours. One rule holds at every step — nothing
 * Cleanpoint launches was known to be unsafe at the moment of its launch. This module holds
 * the checks every step applies (the pending request, the plan after approval, each launch):
 * is a chosen point still at or before the group's CURRENT cutoff, and is it still in the
 * catalogue, available and not infected?
 */

/**
 * The cutoff that holds for a group now: the incident's suspectedSince, or earlier where the
 * group has its own (a re-infection), or earlier still where a decider picked older points.
 * Null when nothing is known (no protected machine touched).
 */
export function currentCutoff(incident: Pick<Incident, 'suspectedSince' | 'groupCutoffs'>, group: string, deciderCutoff?: string): string | null {
  const candidates = [incident.suspectedSince, incident.groupCutoffs?.[group], deciderCutoff].filter((t): t is string => typeof t === 'string');
  if (candidates.length === 0) return null;
  return toIso(Math.min(...candidates.map((t) => Date.parse(t))));
}

/** A chosen point: enough to judge it again. */
export interface ChosenRef { machineId: string; group: string; pointId: string; capturedAt: string }

/**
 * Why a chosen point no longer stands, or null when it still does.
 * `point` is the catalogue's current record of it (null: deleted from the catalogue).
 */
export function whyPointFails(chosen: ChosenRef, point: RecoveryPoint | null, cutoff: string | null): string | null {
  if (!point) return `point ${chosen.pointId} is no longer in the catalogue (deleted)`;
  const reason = ineligibility(point);
  if (reason) return `point ${chosen.pointId} is now ${reason}${point.scanRecord ? ` (${point.scanRecord.source}${point.scanRecord.scanId ? ` ${point.scanRecord.scanId}` : ''})` : ''}`;
  if (cutoff && Date.parse(chosen.capturedAt) > Date.parse(cutoff)) return `point ${chosen.pointId} (${chosen.capturedAt}) is after the current cutoff ${cutoff}`;
  return null;
}

export interface PointVerdict { machineId: string; group: string; pointId: string; why: string }

/**
 * Re-judge every chosen point against the incident as it is now and the catalogue as it is
 * now (one read per machine). Returns the points that no longer stand.
 */
export async function failingPoints(
  catalog: RecoveryPointLookup, incident: Pick<Incident, 'suspectedSince' | 'groupCutoffs'>, chosen: readonly ChosenRef[], deciderCutoffs: Record<string, string> = {},
): Promise<PointVerdict[]> {
  const verdicts = await Promise.all(chosen.map(async (c) => {
    const why = whyPointFails(c, await catalog.getPoint(c.machineId, c.pointId), currentCutoff(incident, c.group, deciderCutoffs[c.group]));
    return why ? { machineId: c.machineId, group: c.group, pointId: c.pointId, why } : null;
  }));
  return verdicts.filter((v): v is PointVerdict => v !== null);
}

/** The cutoff a request's proposal used for a group. */
function proposalCutoff(request: Pick<ApprovalRequest, 'proposal'>, group: string): string {
  return request.proposal?.selection.groups.find((g) => g.group === group)?.cutoff ?? request.proposal?.cutoff ?? '';
}

/** "what changed" between the proposal of a superseded request and the selection that replaces it. */
export function describeChange(previous: ApprovalRequest, selection: Selection, cutoff: string, failing: readonly PointVerdict[] = []): ProposalChange {
  const before = new Map((previous.proposal?.selection.machines ?? []).map((m) => [m.machineId, m]));
  const after = new Map(selection.machines.map((m) => [m.machineId, m]));
  const reasons = new Map([...(previous.supersededPoints ?? []), ...failing].map((f) => [f.machineId, f.why]));
  const ids = [...new Set([...before.keys(), ...after.keys(), ...selection.blockers.map((b) => b.machineId)])].sort();
  const machines: ProposalChange['machines'] = [];
  for (const id of ids) {
    const from = before.get(id);
    const to = after.get(id);
    if (from && to && from.pointId === to.pointId) continue;
    const blocker = selection.blockers.find((b) => b.machineId === id);
    machines.push({
      machineId: id,
      from: from ? { pointId: from.pointId, capturedAt: from.capturedAt } : null,
      to: to ? { pointId: to.pointId, capturedAt: to.capturedAt } : null,
      why: reasons.get(id) ?? (blocker ? `no eligible point any more: ${blocker.reason}` : to && !from ? 'newly proposed' : 'a newer selection chose another point'),
    });
  }
  return {
    approvalId: previous.approvalId, reason: previous.closedReason ?? 'the evidence changed',
    previousCutoff: previous.proposal?.cutoff ?? '', cutoff, machines,
  };
}

export interface ReviseDeps {
  incidents: IncidentStore;
  approvals: ApprovalStore;
  audit: AuditLog;
  workflows: WorkflowEngine;
  catalog: RecoveryPointLookup;
  clock: Clock;
}

export interface ReviseResult { incidentId: string; superseded: string[]; stillValid: string[] }

/**
 * reviseProposals(deps)({ incidentId, trigger })
 *
 * Input: an incident whose evidence changed (an earlier cutoff), or whose chosen point's
 * catalogue record changed. Output: the requests superseded and those still valid.
 * 1. For each pending failover request of the incident, re-judge every chosen point against
 *    the current cutoff of its group and the catalogue.
 * 2. All still stand: the request stays (audited `proposal.reviewed`): re-asking would only
 *    repeat the same points to the deciders.
 * 3. Otherwise mark the request superseded (conditional on its version: a decision taken at
 *    the same moment wins and is re-checked after approval instead), audit what no longer
 *    stands, and fail its waiting task with ProposalSuperseded: the workflow selects again
 *    from the current evidence and sends the deciders the new proposal with what changed.
 * Idempotent: a request already superseded is not touched again.
 */
export function reviseProposals(deps: ReviseDeps) {
  return async (input: { incidentId: string; trigger: string }): Promise<ReviseResult> => {
    const result: ReviseResult = { incidentId: input.incidentId, superseded: [], stillValid: [] };
    const incident = await deps.incidents.getIncident(input.incidentId);
    if (!incident) return result;
    const pending = (await deps.approvals.listApprovals({ incidentId: input.incidentId, status: 'pending' })).filter((r) => r.proposal);
    for (const listed of pending) {
      for (let round = 0; round < 5; round++) {
        const request = round === 0 ? listed : await deps.approvals.getApproval(listed.approvalId);
        if (!request || request.status !== 'pending') break;
        const chosen = request.proposal!.selection.machines;
        const failing = await failingPoints(deps.catalog, incident, chosen);
        const at = toIso(deps.clock.now());
        if (failing.length === 0) {
          result.stillValid.push(request.approvalId);
          await deps.audit.append(incident.incidentId, {
            type: 'proposal.reviewed', actor: 'cleanpoint', at,
            data: { approvalId: request.approvalId, trigger: input.trigger, outcome: 'every chosen point still stands', cutoff: currentCutoff(incident, request.groups[0] ?? '') },
          });
          break;
        }
        const reason = `${input.trigger}: ${failing.map((f) => `${f.machineId} ${f.why}`).join('; ')}`.slice(0, 900);
        try {
          await deps.approvals.updateApproval(request.approvalId, request.version, { status: 'superseded', closedReason: reason, supersededPoints: failing });
        } catch (e) {
          if (e instanceof ConflictError) continue; // decided or changed this instant: judge again
          throw e;
        }
        result.superseded.push(request.approvalId);
        await deps.audit.append(incident.incidentId, {
          type: 'approval.superseded', actor: 'cleanpoint', at,
          data: {
            approvalId: request.approvalId, trigger: input.trigger, outcome: reason,
            previousCutoffs: Object.fromEntries(request.groups.map((g) => [g, proposalCutoff(request, g)])),
            cutoffs: Object.fromEntries(request.groups.map((g) => [g, currentCutoff(incident, g)])),
            points: failing,
          },
        });
        try {
          await deps.workflows.sendTaskFailure(request.taskToken, 'ProposalSuperseded', reason);
        } catch (e) {
          if (!(e instanceof WorkflowGoneError)) throw e; // the workflow already ended: nothing waits for this request
        }
        break;
      }
    }
    return result;
  };
}

/**
 * Pending failover requests (of any incident) that chose this point: a verdict on a point
 * reaches every proposal that would launch from it.
 */
export async function incidentsChoosing(approvals: ApprovalStore, machineId: string, pointId: string): Promise<string[]> {
  const pending = await approvals.listApprovals({ status: 'pending' });
  return [...new Set(pending.filter((r) => r.proposal?.selection.machines.some((m) => m.machineId === machineId && m.pointId === pointId)).map((r) => r.incidentId))];
}

/**
 * reviseOnEvent(deps)(event)
 *
 * The `cleanpoint` events that can make a pending proposal unsafe, from the bus:
 * - `Incident Evidence Changed` {incidentId}: a finding moved a cutoff earlier (assess-finding);
 * - `Recovery Point Verdict Changed` / `Recovery Point Status Changed` {machineId, pointId}: a
 *   point turned infected, quarantined or deleted (scan verdicts, catalogue changes).
 * Each reaches reviseProposals for every incident it concerns. EventBridge delivers at least
 * once and in any order: reviseProposals judges the current state, so repeats are harmless.
 */
export function reviseOnEvent(deps: ReviseDeps) {
  const revise = reviseProposals(deps);
  return async (event: { detailType: string; detail: { incidentId?: string; machineId?: string; pointId?: string } }): Promise<ReviseResult[]> => {
    if (event.detailType === 'Incident Evidence Changed' && event.detail.incidentId) {
      return [await revise({ incidentId: event.detail.incidentId, trigger: 'new evidence moved the cutoff earlier' })];
    }
    const { machineId, pointId } = event.detail;
    if (!machineId || !pointId) return [];
    const incidents = await incidentsChoosing(deps.approvals, machineId, pointId);
    const trigger = `recovery point ${pointId} of ${machineId} changed`;
    return Promise.all(incidents.map((incidentId) => revise({ incidentId, trigger })));
  };
}

/** How often one incident asks its deciders again after launches were stopped, before giving up. */
export const MAX_ASK_AGAIN = 5;

/**
 * reviewStoppedRun(deps)({ incidentId })
 *
 * After a failover run failed: were machines stopped before launch because their approved
 * point no longer stood (PointNoLongerEligible)? Then the deciders are asked again (the
 * workflow selects from the current evidence; machines already running keep their progress).
 * Bounded: after MAX_ASK_AGAIN stopped runs the failure stands and people take over.
 */
export function reviewStoppedRun(deps: { runs: RunStore; approvals: ApprovalStore; audit: AuditLog; clock: Clock }) {
  return async (input: { incidentId: string }): Promise<{ askAgain: boolean; stopped: string[] }> => {
    const machines = await deps.runs.listMachines(input.incidentId);
    const halted = machines.filter((m) => !m.instanceId && m.error?.startsWith(STOPPED_PREFIX));
    const stopped = halted.map((m) => m.machineId).sort();
    if (stopped.length === 0) return { askAgain: false, stopped };
    const history = await deps.audit.list(input.incidentId);
    const asked = history.filter((e) => e.type === 'failover.asking-again').length;
    const askAgain = asked < MAX_ASK_AGAIN;
    if (askAgain) {
      // The approval that launched this run no longer stands for the stopped machines: mark it
      // superseded, so the next request tells the deciders what changed since they approved.
      const approved = (await deps.approvals.listApprovals({ incidentId: input.incidentId, status: 'approved' }))
        .filter((r) => r.proposal && !r.supersededBy).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      if (approved) {
        const points = halted.map((m) => ({ machineId: m.machineId, group: m.group, pointId: m.pointId, why: (m.error ?? '').slice(STOPPED_PREFIX.length).replace(/; the deciders are asked again$/, '') }));
        const reason = `approved, then stopped before launch: ${points.map((p) => `${p.machineId} ${p.why}`).join('; ')}`.slice(0, 900);
        await deps.approvals.updateApproval(approved.approvalId, approved.version, { status: 'superseded', closedReason: reason, supersededPoints: points })
          .catch((e) => { if (!(e instanceof ConflictError)) throw e; });
      }
    }
    await deps.audit.append(input.incidentId, {
      type: askAgain ? 'failover.asking-again' : 'failover.not-asking-again', actor: 'cleanpoint', at: toIso(deps.clock.now()),
      data: { stopped, outcome: askAgain ? 'launches were stopped because their points no longer stood: a new proposal follows' : `launches were stopped ${asked} times: people must decide how to go on` },
    });
    return { askAgain, stopped };
  };
}

/** How launchMachine records a machine it stopped because its point no longer stood. */
export const STOPPED_PREFIX = 'stopped before launch: ';
