import { mapLimit } from '../shared/index.ts';
import type { Mode } from '../findings/model.ts';
import { minutesBetween, NotFoundError, toIso, type Clock } from '../shared/index.ts';
import type { Group, InventoryIndex } from '../inventory/index.ts';
import type { AuditLog, IncidentStore, MalwareScanner, RecoveryPointWriter, RunStore } from '../ports/index.ts';
import type { PointScan, ScanThreat } from './scan.ts';
import type { StoredProposal } from '../failover/model.ts';
import { selectRecoveryPoints, type RecoveryPoint, type RecoveryPointCatalog } from './catalogue.ts';

/**
 * Scan before launch (docs/scanning.md): the points chosen for a failover are malware-scanned
 * (GuardDuty Malware Protection) before the deciders are asked. A point whose scan finds a
 * threat is marked infected in the catalogue and the machine steps back to its next older
 * eligible point, which is scanned in turn. What could not be verified within the group's
 * budget is shown to the deciders as `unverified`.
 */

export interface PointScanDeps {
  runs: RunStore;
  incidents: IncidentStore;
  audit: AuditLog;
  /** Read side of the catalogue (re-selection) and its writer (verdicts). */
  catalog: RecoveryPointCatalog;
  points: RecoveryPointWriter;
  scanner: MalwareScanner;
  index: InventoryIndex;
  clock: Clock;
  /** Scans started or read in parallel (default 8). */
  concurrency?: number;
  /** Seconds between checks while scans run (default 30). */
  pollSeconds?: number;
}

/** What the workflow is told after each step: whether to wait again and what is restorable. */
export interface PointScanProgress {
  incidentId: string;
  done: boolean;
  /** Seconds to wait before the next check (at least 1). */
  waitSeconds: number;
  /** Something is still restorable and every machine has a target network (as select-recovery-points reports it). */
  ready: boolean;
  machineCount: number;
  blockerCount: number;
  scans: { pending: number; clean: number; infected: number; unverified: number; steppedBack: number };
}

export const DEFAULT_SCAN_POLL_SECONDS = 30;

/** Does this group's policy ask for a scan of its points in this mode? */
export function scanRequired(group: Pick<Group, 'scanBeforeLaunch'> | undefined, mode: Mode): boolean {
  const policy = group?.scanBeforeLaunch ?? 'recovery';
  return policy === 'always' || (policy === 'recovery' && mode === 'recovery');
}

/**
 * startPointScans(deps)({ incidentId })
 *
 * Input: the incident whose proposal was just stored by select-recovery-points.
 * Output: progress (`done` at once when no group's policy asks for a scan).
 * 1. Read the stored proposal.
 * 2. For every chosen machine whose group's policy asks for a scan in the proposal's mode and
 *    whose point has no scan yet, start one (bounded parallelism; idempotent per incident and
 *    point, so a retried task does not start a second scan).
 * 3. Remember the scan ids (and the first start, from which the budget runs) in the proposal; audit.
 */
export function startPointScans(deps: PointScanDeps) {
  return async (input: { incidentId: string }): Promise<PointScanProgress> => {
    const proposal = await load(deps, input.incidentId);
    const now = deps.clock.now();
    const started = await startFor(deps, proposal, proposal.selection.machines.filter((m) => {
      const existing = proposal.scans?.[m.machineId];
      return scanRequired(deps.index.groupByName.get(m.group), proposal.plan.mode) && existing?.pointId !== m.pointId;
    }), now);
    if (started.length > 0) {
      await deps.runs.saveProposal(proposal.incidentId, proposal);
      await deps.audit.append(proposal.incidentId, {
        type: 'scan.started', actor: 'cleanpoint', at: toIso(now),
        data: { scans: started.map((s) => ({ machineId: s.machineId, pointId: s.scan.pointId, scanId: s.scan.scanId })) },
      });
    }
    return progress(deps, proposal, now);
  };
}

/**
 * checkPointScans(deps)({ incidentId })
 *
 * Input: the incident whose scans were started.
 * Output: progress; `done` when every scan finished or the budget is spent.
 * 1. Read every pending scan (bounded parallelism).
 * 2. Threats found: mark the point infected with the scan's evidence, audit it, re-select the
 *    machine against the same cutoff (the next older eligible point) and scan that point; a
 *    machine with no eligible point left becomes a blocker of the proposal.
 * 3. No threats found: mark the point clean with the scan's evidence.
 * 4. Skipped, failed, completed with issues, or still running when the group's budget
 *    (`scanBudgetMinutes` from the first scan's start) is spent: the point is `unverified`.
 * 5. Store the proposal (selection, plan and scans) and report progress.
 */
export function checkPointScans(deps: PointScanDeps) {
  return async (input: { incidentId: string }): Promise<PointScanProgress> => {
    const proposal = await load(deps, input.incidentId);
    const scans = proposal.scans ?? {};
    const pending = Object.entries(scans).filter(([, s]) => s.verdict === 'pending' && s.scanId);
    if (pending.length === 0) return progress(deps, proposal, deps.clock.now());
    const results = await mapLimit(pending, deps.concurrency ?? 8, async ([machineId, scan]) => ({ machineId, scan, result: await deps.scanner.getScan(scan.scanId!) }));
    const now = deps.clock.now();
    const at = toIso(now);
    let incidentEvidenceAt: string | undefined;
    for (const { machineId, scan, result } of results) {
      const chosen = proposal.selection.machines.find((m) => m.machineId === machineId && m.pointId === scan.pointId);
      if (!chosen) continue; // the proposal moved on (re-selected elsewhere): nothing to judge
      const group = deps.index.groupByName.get(chosen.group);
      const threats = result.threats.slice(0, 50);
      if (result.result === 'THREATS_FOUND') {
        Object.assign(scan, { status: result.status, result: result.result, threats, verdict: 'infected', finishedAt: at }, result.reason ? { reason: result.reason } : {});
        await deps.points.markPoint(machineId, scan.pointId, {
          scan: 'infected',
          scanRecord: { verdict: 'infected', source: 'guardduty-scan', scanId: scan.scanId, at, status: result.status, threats: threats.map(bounded) },
        });
        await deps.audit.append(proposal.incidentId, {
          type: 'scan.threats-found', actor: 'cleanpoint', at,
          data: { machineId, pointId: scan.pointId, capturedAt: chosen.capturedAt, scanId: scan.scanId, status: result.status, threats },
        });
        incidentEvidenceAt ??= (await deps.incidents.getIncident(proposal.incidentId))?.evidenceAt ?? proposal.cutoff;
        await stepBack(deps, proposal, machineId, scan, chosen.group, incidentEvidenceAt, now);
        continue;
      }
      if (result.status === 'COMPLETED' && result.result === 'NO_THREATS_FOUND') {
        Object.assign(scan, { status: result.status, result: result.result, threats, verdict: 'clean', finishedAt: at });
        await deps.points.markPoint(machineId, scan.pointId, {
          scan: 'clean', scanRecord: { verdict: 'clean', source: 'guardduty-scan', scanId: scan.scanId, at, status: result.status },
        });
        await deps.audit.append(proposal.incidentId, { type: 'scan.clean', actor: 'cleanpoint', at, data: { machineId, pointId: scan.pointId, scanId: scan.scanId } });
        continue;
      }
      if (result.status === 'RUNNING') {
        scan.status = 'RUNNING';
        if (now >= budgetEnd(proposal, group)) {
          scan.verdict = 'unverified';
          scan.reason = `the scan did not finish within the ${group?.scanBudgetMinutes ?? 30}-minute scan budget`;
          await deps.audit.append(proposal.incidentId, { type: 'scan.unverified', actor: 'cleanpoint', at, data: { machineId, pointId: scan.pointId, scanId: scan.scanId, reason: scan.reason } });
        }
        continue;
      }
      // SKIPPED, FAILED, or COMPLETED_WITH_ISSUES without a threat: GuardDuty could not vouch for the point.
      Object.assign(scan, {
        status: result.status, threats, verdict: 'unverified', finishedAt: at,
        reason: `${result.status}${result.reason ? `: ${result.reason}` : ''}`.slice(0, 300),
      }, result.result ? { result: result.result } : {});
      await deps.audit.append(proposal.incidentId, { type: 'scan.unverified', actor: 'cleanpoint', at, data: { machineId, pointId: scan.pointId, scanId: scan.scanId, reason: scan.reason } });
    }
    refreshSummaries(proposal);
    await deps.runs.saveProposal(proposal.incidentId, proposal);
    return progress(deps, proposal, now);
  };
}

async function load(deps: Pick<PointScanDeps, 'runs'>, incidentId: string): Promise<StoredProposal> {
  const proposal = await deps.runs.getProposal(incidentId);
  if (!proposal) throw new NotFoundError(`incident ${incidentId} has no proposal yet`);
  return proposal;
}

const bounded = (t: ScanThreat): ScanThreat => ({ name: t.name.slice(0, 256), ...(t.path ? { path: t.path.slice(0, 1024) } : {}) });

function budgetEnd(proposal: StoredProposal, group: Group | undefined): number {
  const from = Date.parse(proposal.scansStartedAt ?? proposal.createdAt);
  return from + (group?.scanBudgetMinutes ?? 30) * 60_000;
}

type Chosen = StoredProposal['selection']['machines'][number];

/** Start one scan per machine; records them in `proposal.scans` (and the budget's start). */
async function startFor(deps: PointScanDeps, proposal: StoredProposal, machines: Chosen[], now: number) {
  const at = toIso(now);
  const started = await mapLimit(machines, deps.concurrency ?? 8, async (m) => {
    const { scanId } = await deps.scanner.startScan({
      machineId: m.machineId, pointId: m.pointId, snapshotIds: m.snapshots.map((s) => s.snapshotId),
      idempotencyKey: `${proposal.incidentId}/${m.machineId}/${m.pointId}`,
    });
    return { machineId: m.machineId, scanId, pointId: m.pointId };
  });
  const out: { machineId: string; scan: PointScan }[] = [];
  for (const s of started) {
    const previous = proposal.scans?.[s.machineId];
    const scan: PointScan = {
      pointId: s.pointId, scanId: s.scanId, status: 'RUNNING', threats: [], verdict: 'pending', startedAt: at,
      ...(previous?.steppedBack ? { steppedBack: previous.steppedBack } : {}),
    };
    proposal.scans = { ...proposal.scans, [s.machineId]: scan };
    out.push({ machineId: s.machineId, scan });
  }
  if (out.length > 0) proposal.scansStartedAt ??= at;
  return out;
}

/**
 * The machine's scanned point had threats: choose again against the same cutoff (the point is
 * infected now, so selection passes over it) and scan the new point, or make the machine a blocker.
 */
async function stepBack(deps: PointScanDeps, proposal: StoredProposal, machineId: string, infected: PointScan, groupName: string, evidenceAt: string, now: number) {
  const at = toIso(now);
  const sel = proposal.selection;
  const old = sel.machines.find((m) => m.machineId === machineId)!;
  const steppedBack = [{ pointId: infected.pointId, capturedAt: old.capturedAt, scanId: infected.scanId ?? '', threats: infected.threats }, ...(infected.steppedBack ?? [])];
  // Points this proposal already found infected stay infected even if a catalogue read lags the write.
  const known = new Set(steppedBack.map((s) => s.pointId));
  const catalog: RecoveryPointCatalog = {
    async *pointsAtOrBefore(m, t, o) {
      for await (const p of deps.catalog.pointsAtOrBefore(m, t, o)) yield known.has(p.pointId) ? { ...p, scan: 'infected' as RecoveryPoint['scan'] } : p;
    },
  };
  const cutoff = sel.groups.find((g) => g.group === groupName)?.cutoff ?? proposal.groupCutoffs?.[groupName] ?? proposal.cutoff;
  const again = await selectRecoveryPoints({ catalog })({ groups: [{ group: groupName, cutoff, machines: [machineId] }], evidenceAt, alternatives: old.alternatives.length || 3 });
  const next = again.machines[0];
  if (!next) {
    const blocker = again.blockers[0]!;
    sel.machines = sel.machines.filter((m) => m.machineId !== machineId);
    sel.blockers = [...sel.blockers.filter((b) => b.machineId !== machineId), blocker];
    proposal.plan.machines = proposal.plan.machines.filter((m) => m.machineId !== machineId);
    proposal.plan.problems = [...proposal.plan.problems, `${machineId} (${groupName}): ${blocker.reason}`];
    proposal.scans![machineId] = { ...infected, steppedBack: steppedBack.slice(1) };
    await deps.audit.append(proposal.incidentId, { type: 'scan.machine-blocked', actor: 'cleanpoint', at, data: { machineId, reason: blocker.reason } });
    return;
  }
  sel.machines = sel.machines.map((m) => (m.machineId === machineId ? next : m));
  proposal.plan.machines = proposal.plan.machines.map((m) => (m.machineId === machineId ? { ...m, pointId: next.pointId, capturedAt: next.capturedAt, snapshots: next.snapshots } : m));
  await deps.audit.append(proposal.incidentId, {
    type: 'scan.stepped-back', actor: 'cleanpoint', at,
    data: { machineId, from: { pointId: infected.pointId, capturedAt: old.capturedAt }, to: { pointId: next.pointId, capturedAt: next.capturedAt, lossMinutes: next.lossMinutes } },
  });
  const group = deps.index.groupByName.get(groupName);
  if (now >= budgetEnd(proposal, group)) {
    proposal.scans![machineId] = {
      pointId: next.pointId, status: 'NOT_STARTED', threats: [], verdict: 'unverified', startedAt: at, steppedBack,
      reason: 'not scanned: the scan budget was spent when this older point was chosen',
    };
    return;
  }
  proposal.scans![machineId] = { ...infected, steppedBack };
  const [started] = await startFor(deps, proposal, [next], now);
  await deps.audit.append(proposal.incidentId, { type: 'scan.started', actor: 'cleanpoint', at, data: { scans: [{ machineId, pointId: next.pointId, scanId: started!.scan.scanId }] } });
}

/** Waves, group summaries and counts follow the machines after a step back or a new blocker. */
function refreshSummaries(proposal: StoredProposal): void {
  const plan = proposal.plan;
  const waveNumbers = [...new Set(plan.machines.map((m) => m.wave))].sort((a, b) => a - b);
  plan.waves = waveNumbers.map((wave) => ({ wave, machines: plan.machines.filter((m) => m.wave === wave).map((m) => m.machineId) }));
  const sel = proposal.selection;
  sel.groups = sel.groups.map((g) => {
    const times = sel.machines.filter((m) => m.group === g.group).map((m) => Date.parse(m.capturedAt));
    return {
      ...g,
      consistencySkewMinutes: times.length ? minutesBetween(Math.max(...times), Math.min(...times)) : null,
      chosen: times.length,
      blocked: sel.blockers.filter((b) => b.group === g.group).length,
    };
  });
}

function progress(deps: PointScanDeps, proposal: StoredProposal, now: number): PointScanProgress {
  const scans = Object.entries(proposal.scans ?? {}).filter(([machineId, s]) =>
    proposal.selection.machines.some((m) => m.machineId === machineId && m.pointId === s.pointId) || s.verdict === 'infected');
  const count = (v: PointScan['verdict']) => scans.filter(([, s]) => s.verdict === v).length;
  const pending = scans.filter(([, s]) => s.verdict === 'pending');
  const poll = deps.pollSeconds ?? DEFAULT_SCAN_POLL_SECONDS;
  const untilBudget = pending.map(([machineId]) => {
    const group = deps.index.groupByName.get(proposal.selection.machines.find((m) => m.machineId === machineId)?.group ?? '');
    return Math.ceil((budgetEnd(proposal, group) - now) / 1000);
  });
  const waitSeconds = Math.max(1, Math.min(poll, ...untilBudget.map((s) => Math.max(1, s))));
  const plan = proposal.plan;
  return {
    incidentId: proposal.incidentId,
    done: pending.length === 0,
    waitSeconds,
    ready: plan.machines.length > 0 && plan.machines.every((m) => m.network !== null),
    machineCount: plan.machines.length,
    blockerCount: proposal.selection.blockers.length,
    scans: {
      pending: pending.length, clean: count('clean'), infected: count('infected'), unverified: count('unverified'),
      steppedBack: Object.values(proposal.scans ?? {}).reduce((n, s) => n + (s.steppedBack?.length ?? 0), 0),
    },
  };
}
