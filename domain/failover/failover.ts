import { createHash } from 'node:crypto';
import type { ApprovalRequest } from '../approvals/model.ts';
import { CleanupIncompleteError, ConflictError, DEFAULT_RETRY, LaunchFailedError, MachineCheckFailedError, MachineNotReadyError, minutesBetween, NotFoundError, PointNoLongerEligibleError, ProposalSupersededError, retrying, SafetyViolationError, ThrottledError, toIso, TransientError, type Clock, type RetryPolicy } from '../shared/index.ts';
import { changeIncident, currentCutoff, failingPoints, moveTo, STOPPED_PREFIX, whyPointFails } from '../incidents/index.ts';
import type { IncidentOutcome } from '../incidents/model.ts';
import { TAG, type InstanceView, type InventoryIndex } from '../inventory/index.ts';
import { proposeFailover } from './plan.ts';
import type { Policy } from '../findings/model.ts';
import type {
  ApprovalStore, AuditLog, ComputeProvider, IncidentStore, RecoveryPointCatalog, RecoveryPointLookup, RecoveryPointWriter, RunStore, SnapshotDirectory,
} from '../ports/index.ts';
import type { Run, RunKind, RunMachine } from './run.ts';
import { launchOne, type LaunchItem } from './launch-one.ts';
import type { Pacer } from './pacing.ts';

export interface WaveItem { runId: string; kind: RunKind; mode: 'recovery' | 'test'; machineId: string }
export interface RunPlan {
  runId: string; kind: RunKind; mode: 'recovery' | 'test'; waves: { wave: number; machines: WaveItem[] }[];
  /** Name of the failover execution for this plan (incident runs: one per approval). */
  runName?: string;
}

/**
 * planIncidentRun(deps)({ incidentId, approvalId })
 *
 * 1. Read the incident and the approved request; refuse anything not approved.
 * 2. Recompute the selection when a decider picked older cutoffs, else use the proposal.
 * 3. A sample finding may only ever launch in test mode.
 * 4. Re-judge every approved point against the incident's CURRENT cutoffs and the catalogue
 *    (evidence may have moved while the deciders read): a point that no longer stands
 *    supersedes the approval (ProposalSuperseded: the workflow selects and asks again). The
 *    approval was for these points: none is ever substituted silently.
 * 5. Store one record per machine (idempotent) and return the waves for the workflow. When the
 *    incident already has a run (a re-proposal after a launch was stopped, or a re-infection),
 *    machines whose approved point changed are re-planned onto it (their earlier point and
 *    instance kept in `replaced`); machines whose point is unchanged keep their progress.
 */
export function planIncidentRun(deps: {
  incidents: IncidentStore; approvals: ApprovalStore; runs: RunStore; audit: AuditLog; catalog: RecoveryPointCatalog & RecoveryPointLookup;
  policy: Policy; index: InventoryIndex; clock: Clock;
}) {
  return async (input: { incidentId: string; approvalId: string }): Promise<RunPlan> => {
    const incident = await deps.incidents.getIncident(input.incidentId);
    if (!incident) throw new NotFoundError(`incident ${input.incidentId} not found`);
    const approval = await deps.approvals.getApproval(input.approvalId);
    if (!approval || approval.incidentId !== incident.incidentId) throw new NotFoundError(`approval ${input.approvalId} not found for this incident`);
    if (approval.status !== 'approved') throw new ConflictError(`approval is ${approval.status}, not approved`);
    const mode = incident.mode ?? 'test';
    if (incident.assessment.finding.sample && mode !== 'test') throw new SafetyViolationError('a sample finding may only fail over in test mode');

    if (!approval.proposal) throw new ConflictError(`approval ${input.approvalId} is for a ${approval.purpose ?? 'failover'}, not a failover`);
    let plan = approval.proposal.plan;
    let selection = approval.proposal.selection;
    if (approval.groupCutoffs && Object.keys(approval.groupCutoffs).length > 0) {
      const assessment = { ...incident.assessment, suspectedSince: incident.suspectedSince, evidenceAt: incident.evidenceAt, groups: incident.groups, machines: incident.machines };
      const p = await proposeFailover({ policy: deps.policy, index: deps.index, catalog: deps.catalog })(assessment, { groupCutoffs: approval.groupCutoffs });
      plan = p.plan;
      selection = p.selection;
    }
    const failing = await failingPoints(deps.catalog, incident, selection.machines, approval.groupCutoffs ?? {});
    const now = toIso(deps.clock.now());
    if (failing.length) {
      const reason = `approved, then superseded before launch: ${failing.map((f) => `${f.machineId} ${f.why}`).join('; ')}`.slice(0, 900);
      await deps.audit.append(incident.incidentId, { type: 'failover.revalidation-failed', actor: 'cleanpoint', at: now, data: { approvalId: approval.approvalId, points: failing } });
      await deps.approvals.updateApproval(approval.approvalId, approval.version, { status: 'superseded', closedReason: reason, supersededPoints: failing })
        .catch((e) => { if (!(e instanceof ConflictError)) throw e; });
      throw new ProposalSupersededError(reason);
    }
    const chosen = new Map(selection.machines.map((m) => [m.machineId, m]));
    const decidedAt = lastDecisionAt(approval);
    const machines: RunMachine[] = plan.machines.map((m) => ({
      runId: incident.incidentId, machineId: m.machineId, group: m.group, wave: m.wave, mode,
      pointId: m.pointId, capturedAt: m.capturedAt, lossMinutes: chosen.get(m.machineId)?.lossMinutes ?? 0,
      snapshots: m.snapshots, instanceType: m.instanceType, fallbackInstanceTypes: m.fallbackInstanceTypes, network: m.network,
      ...(m.launch ? { launch: m.launch } : {}),
    }));
    const run: Run = {
      runId: incident.incidentId, kind: 'incident', incidentId: incident.incidentId, mode,
      createdAt: now, decidedAt, waves: plan.waves,
    };
    const { created } = await deps.runs.createRun(run, machines);
    if (created) {
      await deps.audit.append(incident.incidentId, {
        type: 'failover.planned', actor: 'cleanpoint', at: run.createdAt,
        data: { mode, waves: plan.waves, points: machines.map((m) => ({ machineId: m.machineId, pointId: m.pointId, capturedAt: m.capturedAt })) },
      });
    } else {
      await replan(deps, run, machines, approval, now);
    }
    await changeIncident(deps.incidents, incident.incidentId, moveTo('failing-over', { updatedAt: now }));
    const stored = (await deps.runs.getRun(run.runId)) ?? run;
    return { ...toRunPlan(stored), runName: runExecutionName(stored.runId, incident.round ?? 1, approval.approvalId) };
  };
}

/** The failover execution of a run for one approval: unique per approval, so a re-plan starts a fresh one. */
export function runExecutionName(runId: string, round: number, approvalId: string): string {
  const suffix = createHash('sha256').update(`${round}/${approvalId}`).digest('hex').slice(0, 8);
  return `${runId}-${suffix}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
}

/** Move the machines of an existing run onto newly approved points (idempotent: a repeat finds them moved). */
async function replan(deps: { runs: RunStore; audit: AuditLog }, run: Run, planned: RunMachine[], approval: ApprovalRequest, now: string): Promise<void> {
  const existing = new Map((await deps.runs.listMachines(run.runId)).map((m) => [m.machineId, m]));
  const moved: { machineId: string; from: string; to: string; instanceId: string | null }[] = [];
  for (const m of planned) {
    const cur = existing.get(m.machineId);
    if (!cur) continue; // the run's machine set is fixed when it is created
    if (cur.pointId === m.pointId) {
      // Same point: keep what happened, but a launch that failed (or was stopped) gets another try.
      if (!cur.instanceId && cur.failedAt) await deps.runs.updateMachine(run.runId, m.machineId, { failedAt: undefined, error: undefined, decidedAt: lastDecisionAt(approval) });
      continue;
    }
    const why = approval.supersedes ? `re-proposed: ${approval.supersedes.reason}` : 'a later approval chose another point';
    await deps.runs.updateMachine(run.runId, m.machineId, {
      pointId: m.pointId, capturedAt: m.capturedAt, lossMinutes: m.lossMinutes, snapshots: m.snapshots, network: m.network,
      decidedAt: lastDecisionAt(approval),
      replaced: [...(cur.replaced ?? []), { pointId: cur.pointId, capturedAt: cur.capturedAt, instanceId: cur.instanceId ?? null, at: now, why: why.slice(0, 300) }],
      imageId: undefined, instanceId: undefined, instanceTypeUsed: undefined, launchedAt: undefined, readyAt: undefined, failedAt: undefined, error: undefined,
    });
    moved.push({ machineId: m.machineId, from: cur.pointId, to: m.pointId, instanceId: cur.instanceId ?? null });
  }
  await deps.audit.append(run.runId, { type: 'failover.replanned', actor: 'cleanpoint', at: now, data: { approvalId: approval.approvalId, moved } });
}

export function toRunPlan(run: Run): RunPlan {
  return {
    runId: run.runId, kind: run.kind, mode: run.mode,
    waves: run.waves.map((w) => ({ wave: w.wave, machines: w.machines.map((machineId) => ({ runId: run.runId, kind: run.kind, mode: run.mode, machineId })) })),
  };
}

function lastDecisionAt(r: ApprovalRequest): string {
  return r.decisions.filter((d) => d.decision === 'approve').map((d) => d.at).sort().at(-1) ?? r.createdAt;
}

/**
 * AMI names are at most 128 characters: a readable prefix plus a hash of the full identity,
 * so two machines can never share a name (which would restore the wrong data).
 */
export function imageNameFor(runId: string, machineId: string, pointId: string): string {
  const hash = createHash('sha256').update(`${runId}/${machineId}/${pointId}`).digest('hex').slice(0, 16);
  const readable = `cleanpoint-${runId}-${machineId}`.replace(/[^A-Za-z0-9()[\]./_ '@-]/g, '-').slice(0, 128 - 17);
  return `${readable}-${hash}`;
}

/** EC2 idempotency token: one per run, machine and instance type, so retries never double-launch. */
export function clientTokenFor(runId: string, machineId: string, instanceType: string): string {
  return createHash('sha256').update(`${runId}/${machineId}/${instanceType}`).digest('hex').slice(0, 64);
}

export interface LaunchDeps {
  runs: RunStore;
  compute: ComputeProvider;
  clock: Clock;
  audit: AuditLog;
  kmsKeyId?: string;
  defaultInstanceType?: string;
  retry?: RetryPolicy;
  /** One per container, shared by every launch it runs: paces RunInstances to the account bucket. */
  pacer?: Pacer;
  /** Seconds the workflow should wait before the first check (boot + status checks). */
  bootWaitSeconds?: number;
  /**
   * Re-validation at the moment of launch: the catalogue as it is now, and (incident runs) the
   * incident's current cutoffs. Without them nothing is re-checked (benchmarks only).
   */
  revalidate?: Revalidation;
}

/**
 * launchMachine(deps)({ runId, machineId })
 *
 * 1. Read the machine's record; a machine that already has an instance is not launched again.
 * 2. Register an image from the point's snapshots (found by name if it already exists).
 * 3. RunInstances with an idempotency token, encrypted volumes, IMDSv2, the run's tags, into
 *    the mode's network. Throttling is retried with jittered backoff; no capacity moves on to
 *    the next fallback instance type.
 * 4. Record the instance id (and what it took) and tell the workflow how long to wait.
 */
export function launchMachine(deps: LaunchDeps) {
  const retry = deps.retry ?? DEFAULT_RETRY;
  return async (input: { runId: string; machineId: string; kind?: RunKind }): Promise<{ instanceId: string; instanceType: string; waitSeconds: number; throttledRetries: number }> => {
    const m = await deps.runs.getMachine(input.runId, input.machineId);
    if (!m) throw new NotFoundError(`machine ${input.machineId} is not part of run ${input.runId}`);
    const waitSeconds = deps.bootWaitSeconds ?? 60;
    if (m.instanceId) return { instanceId: m.instanceId, instanceType: m.instanceTypeUsed ?? m.instanceType ?? '', waitSeconds, throttledRetries: m.throttledRetries ?? 0 };
    if (!m.network) throw new LaunchFailedError(`${m.machineId}: no ${m.mode} network configured for group ${m.group}`);
    // `askEc2`: also ask EC2 whether the point's snapshots still exist. Only needed before the image
    // is registered: EC2 refuses to delete a snapshot an image uses (InvalidSnapshot.InUse), so
    // the retries of RunInstances judge only the catalogue and the incident (no EC2 call per retry).
    const stillStands = async (askEc2 = false) => {
      // A failback launches from snapshots Cleanpoint just took of the recovery machines, not from catalogue points.
      if (!deps.revalidate || input.kind === 'failback') return;
      const why = await revalidatePoint(deps.revalidate, m, askEc2);
      if (!why) return;
      const at = toIso(deps.clock.now());
      const error = `${STOPPED_PREFIX}${why}; the deciders are asked again`;
      await deps.runs.updateMachine(m.runId, m.machineId, { failedAt: at, error });
      await deps.audit.append(m.runId, { type: 'machine.launch-stopped', actor: 'cleanpoint', at, data: { machineId: m.machineId, pointId: m.pointId, why } });
      throw new PointNoLongerEligibleError(`${m.machineId}: ${why}`);
    };
    await stillStands(true);
    const tags = { [TAG.incident]: m.runId, [TAG.machine]: m.machineId, [TAG.mode]: m.mode, Name: `cleanpoint-${m.machineId}` };
    let throttled = 0;
    const withRetry = async <T>(call: () => Promise<T>): Promise<T> => {
      const out = await retrying(retry, deps.clock)(call, {
        retryable: (e) => e instanceof ThrottledError || e instanceof TransientError,
        throttled: (e) => e instanceof ThrottledError,
        onFailure: (e) => { if (e instanceof ThrottledError) throttled++; },
      });
      if (!out.ok) throw out.error;
      return out.value;
    };
    const { imageId } = await withRetry(() => deps.compute.registerImage({
      name: imageNameFor(m.runId, m.machineId, m.pointId),
      snapshots: m.snapshots, tags,
    }));
    const types = [m.instanceType ?? deps.defaultInstanceType ?? 't3.medium', ...m.fallbackInstanceTypes];
    // A machine re-planned onto another point is a new launch: a new idempotency key.
    const key = m.replaced?.length ? `${m.runId}/${m.machineId}/${m.replaced.length}` : `${m.runId}/${m.machineId}`;
    // Registering the image, waiting for a RunInstances token and backing off from throttling all
    // take time in which evidence may move: the point is judged again right before every attempt.
    const item: LaunchItem = {
      key, imageId, beforeAttempt: () => stillStands(), instanceType: types[0]!, fallbackInstanceTypes: types.slice(1),
      subnetId: m.network.subnetId, securityGroupIds: m.network.securityGroupIds, tags, ...launchOptions(m, deps.kmsKeyId),
    };
    const launch = launchOne({ compute: deps.compute, clock: deps.clock, retry, pacer: deps.pacer });
    let privateIpNotPreserved: string | undefined;
    let outcome;
    try {
      outcome = await launch(item);
    } catch (e) {
      if (!item.privateIpAddress || !(e instanceof Error) || !e.message.includes('InvalidIPAddress.InUse')) throw e;
      // The preserved address is taken in the recovery subnet (another instance, or the source
      // itself when it was not isolated elsewhere). Failing the machine would stop the recovery of
      // its wave at 3 a.m.; launching it under a new address brings it back, and the timeline
      // says which address could not be kept so DNS or clients can be pointed at the new one.
      // A different idempotency key: the same token with other parameters is refused by EC2.
      privateIpNotPreserved = item.privateIpAddress;
      await deps.audit.append(m.runId, {
        type: 'machine.private-ip-not-preserved', actor: 'cleanpoint', at: toIso(deps.clock.now()),
        data: { machineId: m.machineId, privateIpAddress: privateIpNotPreserved, subnetId: m.network.subnetId, why: e.message },
      });
      const { privateIpAddress: _kept, ...withoutIp } = item;
      outcome = await launch({ ...withoutIp, key: `${key}/new-ip` });
    }
    throttled += outcome.throttled;
    if (outcome.ok) {
      const { instanceId, instanceType } = outcome;
      const launchedAt = toIso(outcome.launchedAt);
      await deps.runs.updateMachine(m.runId, m.machineId, { imageId, instanceId, instanceTypeUsed: instanceType, launchedAt, throttledRetries: throttled, ...(privateIpNotPreserved ? { privateIpNotPreserved } : {}) });
      await deps.audit.append(m.runId, {
        type: 'machine.launched', actor: 'cleanpoint', at: launchedAt,
        data: {
          machineId: m.machineId, instanceId, imageId, instanceType, pointId: m.pointId, mode: m.mode, subnetId: m.network.subnetId,
          ...(item.kmsKeyId ? { kmsKeyId: item.kmsKeyId } : {}), ...(item.instanceProfileArn ? { instanceProfileArn: item.instanceProfileArn } : {}),
          ...(item.privateIpAddress && !privateIpNotPreserved ? { privateIpAddress: item.privateIpAddress } : {}),
        },
      });
      return { instanceId, instanceType, waitSeconds, throttledRetries: throttled };
    }
    const failures = outcome.failures;
    if (outcome.retryable) {
      // Throttling outlasted this invocation's retries (other launches share the account's bucket):
      // the workflow retries the task later; the idempotency token keeps that from double-launching.
      await deps.runs.updateMachine(m.runId, m.machineId, { imageId, throttledRetries: throttled });
      throw new ThrottledError(`${m.machineId}: EC2 kept throttling (${failures.join('; ')}); the workflow will retry`);
    }
    const error = `could not launch ${m.machineId}: ${failures.join('; ')}`;
    await deps.runs.updateMachine(m.runId, m.machineId, { imageId, failedAt: toIso(deps.clock.now()), error, throttledRetries: throttled });
    await deps.audit.append(m.runId, { type: 'machine.launch-failed', actor: 'cleanpoint', at: toIso(deps.clock.now()), data: { machineId: m.machineId, error } });
    throw new LaunchFailedError(error);
  };
}

/**
 * The key, instance profile, private IP and user data of a machine's launch: the run's launch
 * settings, the volumes under the deployment's key when the inventory names none.
 */
export function launchOptions(m: Pick<RunMachine, 'launch'>, deploymentKmsKeyId: string | undefined): Pick<LaunchItem, 'kmsKeyId' | 'instanceProfileArn' | 'privateIpAddress' | 'userData'> {
  const kmsKeyId = m.launch?.kmsKeyId ?? deploymentKmsKeyId;
  return {
    ...(kmsKeyId ? { kmsKeyId } : {}),
    ...(m.launch?.instanceProfileArn ? { instanceProfileArn: m.launch.instanceProfileArn } : {}),
    ...(m.launch?.privateIpAddress ? { privateIpAddress: m.launch.privateIpAddress } : {}),
    ...(m.launch?.userData !== undefined ? { userData: m.launch.userData } : {}),
  };
}

/**
 * Why a run machine's point no longer stands now, or null. Incident runs are judged against the
 * incident's current cutoff for the group; drill runs (no incident) against the catalogue only.
 */
async function revalidatePoint(deps: Revalidation, m: RunMachine, askEc2: boolean): Promise<string | null> {
  const incident = await deps.incidents.getIncident(m.runId);
  const cutoff = incident ? currentCutoff(incident, m.group) : null;
  const why = whyPointFails(m, await deps.catalog.getPoint(m.machineId, m.pointId), cutoff);
  if (why || !askEc2 || !deps.snapshots) return why;
  // The catalogue may not know yet that a snapshot was deleted (or failed): ask EC2 itself.
  const wanted = m.snapshots.map((s) => s.snapshotId);
  const found = new Map((await deps.snapshots.describeSnapshots(wanted)).map((s) => [s.snapshotId, s]));
  const gone = wanted.filter((id) => found.get(id)?.state !== 'completed');
  if (gone.length === 0) return null;
  // Record it, so the next selection does not choose this point again.
  await deps.writer?.markPoint(m.machineId, m.pointId, { status: 'expired' }).catch((e) => { if (!(e instanceof NotFoundError)) throw e; });
  return `point ${m.pointId} has snapshot(s) ${gone.map((id) => `${id} ${found.get(id)?.state ?? 'deleted'}`).join(', ')}: it is marked expired`;
}

/**
 * An instance that is not running, said with EC2's own reason. `Client.InternalError: Client error
 * on launch` is how EC2 ends an instance (pending ▶ terminated) whose encrypted volumes it could
 * not create because the caller may not use their KMS key (AWS knowledge centre: "encrypted
 * volumes stops immediately"): the timeline names the key and what to fix, instead of waiting for
 * the check's deadline.
 */
function whyNotRunning(m: RunMachine, view: InstanceView): string {
  const reason = view.stateReason;
  if (!reason) return `instance is ${view.state}`;
  const said = `instance is ${view.state}: EC2 says ${reason.message || reason.code}`;
  if (reason.code !== 'Client.InternalError') return said;
  const key = m.launch?.kmsKeyId ? `KMS key ${m.launch.kmsKeyId}` : 'the KMS key of its volumes';
  return `${said}. EC2 ended the launch: the launch role could not use ${key} (the key's policy must allow the launch role, and the key must be listed in the deployment's launchKmsKeyArns: docs/deploy.md), or the key is disabled`;
}

/** What a launch judges its point against: the catalogue, the incident, and (on AWS) EC2's own snapshots. */
export interface Revalidation {
  catalog: RecoveryPointLookup;
  incidents: IncidentStore;
  snapshots?: SnapshotDirectory;
  writer?: Pick<RecoveryPointWriter, 'markPoint'>;
}

/** How long after launch an instance that EC2 does not know yet is still "not ready", not "failed". */
export const NOT_FOUND_GRACE_MS = 5 * 60_000;

/**
 * checkMachine(deps)({ runId, machineId })
 *
 * Running with both status checks ok → ready (recorded). Still pending or initialising →
 * MachineNotReadyError, which the workflow retries with backoff. Impaired, stopped or gone →
 * MachineCheckFailedError.
 */
export function checkMachine(deps: { runs: RunStore; compute: ComputeProvider; clock: Clock; audit: AuditLog }) {
  return async (input: { runId: string; machineId: string }): Promise<{ instanceId: string; ready: true }> => {
    const m = await deps.runs.getMachine(input.runId, input.machineId);
    if (!m?.instanceId) throw new NotFoundError(`machine ${input.machineId} of run ${input.runId} has no instance`);
    if (m.readyAt) return { instanceId: m.instanceId, ready: true };
    const [view] = await deps.compute.describeInstances([m.instanceId]);
    const fail = async (why: string): Promise<never> => {
      await deps.runs.updateMachine(m.runId, m.machineId, { failedAt: toIso(deps.clock.now()), error: why });
      await deps.audit.append(m.runId, { type: 'machine.check-failed', actor: 'cleanpoint', at: toIso(deps.clock.now()), data: { machineId: m.machineId, instanceId: m.instanceId, error: why } });
      throw new MachineCheckFailedError(`${m.machineId} (${m.instanceId}): ${why}`);
    };
    if (!view) {
      // EC2's describe calls are eventually consistent: a just-launched instance may not be visible yet.
      const sinceLaunch = deps.clock.now() - Date.parse(m.launchedAt ?? '');
      if (Number.isFinite(sinceLaunch) && sinceLaunch < NOT_FOUND_GRACE_MS) throw new MachineNotReadyError(`${m.machineId} is not visible yet`);
      return fail('instance not found');
    }
    if (view.state === 'pending') throw new MachineNotReadyError(`${m.machineId} is still pending`);
    if (view.state !== 'running') return fail(whyNotRunning(m, view));
    if (view.statusOk === null) throw new MachineNotReadyError(`${m.machineId} status checks are initialising`);
    if (view.statusOk === false) return fail(`status checks failed (${view.statusDetail ?? 'impaired'})`);
    const readyAt = toIso(deps.clock.now());
    await deps.runs.updateMachine(m.runId, m.machineId, { readyAt });
    await deps.audit.append(m.runId, { type: 'machine.ready', actor: 'cleanpoint', at: readyAt, data: { machineId: m.machineId, instanceId: m.instanceId } });
    return { instanceId: m.instanceId, ready: true };
  };
}

/**
 * cleanupTestRun(deps)({ runId })
 *
 * Finds everything tagged with the run AND test mode (never recovery-mode machines),
 * terminates the instances, deregisters the images, then looks again: anything still there
 * is listed in a CleanupIncompleteError so an alarm can say exactly what is left.
 */
export function cleanupTestRun(deps: { compute: ComputeProvider; audit: AuditLog; clock: Clock }) {
  return async (input: { runId: string }): Promise<{ terminated: string[]; deregistered: string[]; remaining: string[] }> => {
    const tags = { [TAG.incident]: input.runId, [TAG.mode]: 'test' };
    const found = await deps.compute.findTagged(tags);
    // Second guard besides the tag filter (and IAM): never terminate anything not tagged test mode.
    const live = found.instances
      .filter((i) => i.tags[TAG.mode] === 'test' && i.tags[TAG.incident] === input.runId)
      .filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down').map((i) => i.instanceId);
    if (live.length) await deps.compute.terminateInstances(live);
    for (const imageId of found.imageIds) await deps.compute.deregisterImage(imageId);
    const after = await deps.compute.findTagged(tags);
    const remaining = [
      ...after.instances.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down').map((i) => i.instanceId),
      ...after.imageIds,
    ];
    const at = toIso(deps.clock.now());
    await deps.audit.append(input.runId, { type: remaining.length ? 'cleanup.incomplete' : 'cleanup.done', actor: 'cleanpoint', at, data: { terminated: live, deregistered: found.imageIds, remaining } });
    if (remaining.length) throw new CleanupIncompleteError(`cleanup of ${input.runId} left ${remaining.join(', ')}`);
    return { terminated: live, deregistered: found.imageIds, remaining };
  };
}

export type OutcomeResult = 'recovered' | 'partial' | 'failed' | 'rejected' | 'expired' | 'no-eligible-point';

/**
 * Achieved figures of a run: RTO from the decision to the last machine ready; RPO the
 * largest clean-data window given up.
 */
export function measureRun(run: Run | null, machines: RunMachine[]): { rtoMinutes: number | null; rpoMinutes: number | null; allReady: boolean } {
  const ready = machines.filter((m) => m.readyAt);
  const allReady = machines.length > 0 && ready.length === machines.length;
  const lastReady = ready.map((m) => Date.parse(m.readyAt!)).reduce((a, b) => Math.max(a, b), -Infinity);
  return {
    // A re-planned machine was decided later than the run: RTO counts from the latest decision.
    rtoMinutes: run && allReady ? minutesBetween(lastReady, Math.max(Date.parse(run.decidedAt), ...machines.map((m) => (m.decidedAt ? Date.parse(m.decidedAt) : -Infinity)))) : null,
    rpoMinutes: machines.length ? Math.max(...machines.map((m) => m.lossMinutes)) : null,
    allReady,
  };
}

/**
 * recordOutcome(deps)({ runId, result })
 *
 * Measures the run, stores the outcome on the incident with its new status, audits it, and
 * gives the groups back when the incident is over before anything launched.
 */
export function recordOutcome(deps: { incidents: IncidentStore; runs: RunStore; audit: AuditLog; clock: Clock }) {
  return async (input: { runId: string; result: OutcomeResult; error?: string }): Promise<{ incidentId: string; result: OutcomeResult; rtoMinutes: number | null; rpoMinutes: number | null }> => {
    const run = await deps.runs.getRun(input.runId);
    const machines = run ? await deps.runs.listMachines(input.runId) : [];
    const measured = measureRun(run, machines);
    let result = input.result;
    if (result === 'recovered' && !measured.allReady) result = machines.some((m) => m.readyAt) ? 'partial' : 'failed';
    const incidentId = run?.incidentId ?? input.runId;
    const at = toIso(deps.clock.now());
    const outcome: IncidentOutcome = {
      result: result === 'no-eligible-point' ? 'failed' : result,
      rtoMinutes: measured.rtoMinutes, rpoMinutes: measured.rpoMinutes,
      machines: machines.map((m) => ({
        machineId: m.machineId, instanceId: m.instanceId ?? null, pointId: m.pointId, state: m.readyAt ? 'running' : 'failed',
        ...(m.error ? { error: m.error } : {}),
      })),
      ...(run ? { decidedAt: run.decidedAt } : {}),
      finishedAt: at,
    };
    const status = ({ recovered: 'recovered', partial: 'failover-failed', failed: 'failover-failed', rejected: 'rejected', expired: 'expired', 'no-eligible-point': 'failover-failed' } as const)[result];
    // Audit first: whoever sees the new status (console, CLI watch) then also finds the record of it.
    await deps.audit.append(incidentId, { type: 'outcome.recorded', actor: 'cleanpoint', at, data: { result, rtoMinutes: measured.rtoMinutes, rpoMinutes: measured.rpoMinutes, ...(input.error ? { error: input.error } : {}) } });
    const updated = await changeIncident(deps.incidents, incidentId, moveTo(status, { outcome, updatedAt: at }));
    if (updated && (result === 'rejected' || result === 'expired' || result === 'no-eligible-point')) {
      await Promise.all(updated.groups.map((g) => deps.incidents.releaseGroup(g, incidentId)));
    }
    return { incidentId, result, rtoMinutes: measured.rtoMinutes, rpoMinutes: measured.rpoMinutes };
  };
}
