/**
 * The product's one promise, at the domain level: for ANY interleaving of findings, recovery
 * point verdicts and decisions, nothing Cleanpoint launches is captured after the cutoff in force
 * at its launch, nor infected, quarantined, expired or deleted at its launch.
 *
 * A model-based property test (fast-check `fc.commands` / `fc.asyncModelRun`) drives the real use
 * cases (intake, selection, approval, revision, planning, launch, review) over the in-memory
 * fakes. A tiny orchestrator plays the incident-response state machine's role
 * (statemachines/incident-response.asl.json): select ▶ request (pending, with a task token) ▶ on
 * the token's success: plan ▶ launch wave by wave ▶ done; ProposalSuperseded (from the request,
 * the plan, or the waiting task) ▶ select again; a wave with a machine stopped before launch
 * (PointNoLongerEligible) ▶ review the run ▶ ask again ▶ select; a selection with no machine ▶ stop.
 *
 * The invariant is judged by the fake ComputeProvider at the instant of RunInstances, against
 * the test's OWN record of what it told the system (the findings it sent, the verdicts and
 * deletions it made), and against the stores as they are then (catalogue + currentCutoff).
 *
 * Simplifications (each deliberate): one incident and one application group; the point scans of
 * the state machine (Scan Chosen Points) are not modelled (approval confirms unverified points);
 * machine checks between waves, test-mode cleanup, recordOutcome and re-infection rounds are left
 * out; catalogue deletion is emulated by a wrapper (the memory catalogue has no delete): a deleted
 * point is gone from getPoint AND from pointsAtOrBefore.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideApproval, requestApproval } from '../../domain/approvals/index.ts';
import { PointNoLongerEligibleError, ProposalSupersededError, ThrottledError, toIso, WorkflowGoneError, type Clock, type Notification } from '../../domain/shared/index.ts';
import { launchMachine, planIncidentRun, type RunPlan } from '../../domain/failover/index.ts';
import { indexInventory, parseInventory, TAG, type InventoryIndex } from '../../domain/inventory/index.ts';
import { DEFAULT_POLICY, intakeFinding } from '../../domain/findings/index.ts';
import type {
  ComputeProvider, DomainEvent, EventPublisher, LaunchRequest, MachineKind, Notifier, PointChange, RecoveryPointCatalog, RecoveryPointLookup, RecoveryPointWriter, WorkflowEngine,
} from '../../domain/ports/index.ts';
import { currentCutoff, reviewStoppedRun, reviseOnEvent } from '../../domain/incidents/index.ts';
import { selectForIncident, type RecoveryPoint, type SnapshotRef } from '../../domain/recovery-points/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { ACCOUNT_ID, INSTANCES, makeEvent, makeFinding, makeInventory, makePoint, REGION } from '../helpers/fixtures.ts';

// ---------------------------------------------------------------------------------------------
// The estate: payments (db in wave 1; api and web in wave 2), one decider, quorum 1
// ---------------------------------------------------------------------------------------------

const T0 = Date.parse('2024-05-01T10:00:00.000Z');
const MIN = 60_000;
const GROUP = 'payments';
const MACHINES = ['payments-db', 'payments-api', 'payments-web'] as const;
type MachineId = (typeof MACHINES)[number];
const INSTANCE_OF: Record<MachineId, string> = { 'payments-db': INSTANCES.paymentsDb, 'payments-api': INSTANCES.paymentsApi, 'payments-web': INSTANCES.paymentsWeb };
/** The policy's default margin: suspectedSince = earliest evidence − 60 min. */
const MARGIN_MIN = DEFAULT_POLICY.safetyMarginMinutes;
const POINTS_PER_MACHINE = 12;
/** Point k of a machine: every 25 minutes back from 09:35 (k = 0) to 05:00 (k = 11). */
const pointTime = (k: number) => toIso(T0 - (k + 1) * 25 * MIN);
const pointIdOf = (machine: MachineId, k: number) => `${machine}@${pointTime(k)}`;
/** The first finding: evidence 30 minutes ago, so the first cutoff is 08:30. */
const FIRST_FINDING_MINUTES_AGO = 30;

type Unsafe = 'infected' | 'quarantined' | 'expired' | 'deleted';
/** Points that are unsafe before anything happens (the catalogue as the incident finds it). */
const PRESET: { machine: MachineId; k: number; as: Exclude<Unsafe, 'deleted'> }[] = [
  { machine: 'payments-db', k: 4, as: 'quarantined' },
  { machine: 'payments-api', k: 0, as: 'expired' },
  { machine: 'payments-api', k: 5, as: 'infected' },
  { machine: 'payments-web', k: 6, as: 'quarantined' },
];

function estate(): InventoryIndex {
  const inv = makeInventory();
  const payments = inv.groups.find((g) => g.name === GROUP)!;
  payments.deciders = ['alice'];
  payments.approval = { quorum: 1, timeoutMinutes: 24 * 60, forbidSelfApproval: true };
  return indexInventory(parseInventory(inv));
}

function catalogue(): RecoveryPoint[] {
  return MACHINES.flatMap((machineId, i) => Array.from({ length: POINTS_PER_MACHINE }, (_, k) => {
    const preset = PRESET.find((p) => p.machine === machineId && p.k === k);
    return makePoint({
      machineId, capturedAt: pointTime(k),
      snapshots: [{ deviceName: '/dev/xvda', snapshotId: `snap-0${i}${k.toString(16).padStart(2, '0')}0000000000a`, volumeSize: 50 }],
      ...(preset?.as === 'infected' ? { scan: 'infected' as const } : preset ? { status: preset.as } : {}),
    });
  }));
}

/** A GuardDuty backdoor finding on a payments machine, first seen `minutesAgo` before T0. */
function findingEvent(n: number, machine: MachineId, minutesAgo: number): Record<string, unknown> {
  const id = `f${n.toString(16).padStart(31, '0')}`;
  const seen = toIso(T0 - minutesAgo * MIN);
  return makeEvent(makeFinding({
    id, arn: `arn:aws:guardduty:${REGION}:${ACCOUNT_ID}:detector/6ab7c8d9e0f1a2b3c4d5e6f7a8b9c0d1/finding/${id}`,
    resource: { instanceDetails: { instanceId: INSTANCE_OF[machine] } },
    service: { eventFirstSeen: seen, eventLastSeen: seen },
    createdAt: toIso(T0), updatedAt: toIso(T0),
  }), { id: `0e0e0e0e-0000-4000-8000-${n.toString().padStart(12, '0')}` });
}

// ---------------------------------------------------------------------------------------------
// Fakes
// ---------------------------------------------------------------------------------------------

/** Where a command may be slipped into a launch (between the use case's reads and RunInstances). */
type LaunchWindow = 'registerImage' | 'throttleBackoff';

/**
 * The memory catalogue plus deletion: a deleted point is gone for every reader (getPoint and
 * pointsAtOrBefore), as a point AWS Backup deleted is gone from the real catalogue.
 */
class DeletableCatalog implements RecoveryPointCatalog, RecoveryPointLookup, Pick<RecoveryPointWriter, 'markPoint'> {
  readonly deleted = new Set<string>();
  constructor(private readonly inner: MemoryRecoveryPointCatalog) {}
  delete(machineId: string, pointId: string): void { this.deleted.add(`${machineId}/${pointId}`); }
  async getPoint(machineId: string, pointId: string): Promise<RecoveryPoint | null> {
    return this.deleted.has(`${machineId}/${pointId}`) ? null : this.inner.getPoint(machineId, pointId);
  }
  async *pointsAtOrBefore(machineId: string, atOrBefore: string, options?: { pageSize?: number }): AsyncGenerator<RecoveryPoint> {
    for await (const p of this.inner.pointsAtOrBefore(machineId, atOrBefore, options)) if (!this.deleted.has(`${machineId}/${p.pointId}`)) yield p;
  }
  async markPoint(machineId: string, pointId: string, change: PointChange): Promise<void> {
    if (!this.deleted.has(`${machineId}/${pointId}`)) await this.inner.markPoint(machineId, pointId, change);
  }
}

type TaskOutcome = { kind: 'success'; output: unknown } | { kind: 'failure'; error: string; cause: string };

/** Step Functions' side of task tokens: one outcome per token; a second one is refused as gone. */
class TokenEngine implements WorkflowEngine {
  readonly outcomes = new Map<string, TaskOutcome>();
  readonly starts: string[] = [];
  readonly anomalies: string[] = [];
  async startExecution(input: { machine: MachineKind; name: string; input: unknown }) {
    const alreadyStarted = this.starts.includes(input.name);
    this.starts.push(input.name);
    return { executionArn: `arn:aws:states:${REGION}:${ACCOUNT_ID}:execution:${input.machine}:${input.name}`, alreadyStarted };
  }
  async sendTaskSuccess(token: string, output: unknown) { this.settle(token, { kind: 'success', output }); }
  async sendTaskFailure(token: string, error: string, cause: string) { this.settle(token, { kind: 'failure', error, cause }); }
  private settle(token: string, outcome: TaskOutcome) {
    const known = this.outcomes.get(token);
    if (known) {
      this.anomalies.push(`token ${token} got ${outcome.kind} after ${known.kind}`);
      throw new WorkflowGoneError(`task ${token} is already closed`);
    }
    this.outcomes.set(token, outcome);
  }
}

/** EventBridge between intake / verdicts and revise-proposal: queued until a command delivers them. */
class QueuedEvents implements EventPublisher {
  readonly queue: DomainEvent[] = [];
  async publish(events: DomainEvent[]) { this.queue.push(...structuredClone(events)); }
}

class QuietNotifier implements Notifier {
  readonly sent: Notification[] = [];
  async send(n: Notification) { this.sent.push(n); }
}

interface LaunchRecord { machineId: string; pointId: string; capturedAt: string; cutoff: string | null; why: string | null }

/**
 * A ComputeProvider that judges the invariant at the instant of RunInstances. It may run armed
 * commands inside RegisterImage (evidence arriving while the image registers) or make the next
 * RunInstances throttle once, so armed commands run in the launcher's backoff.
 */
class JudgingCompute implements ComputeProvider {
  readonly launches: LaunchRecord[] = [];
  armed: { window: LaunchWindow; run: () => Promise<void> }[] = [];
  throttleNext = false;
  private images = 0;
  private instances = 0;
  constructor(private readonly judge: (tags: Record<string, string>) => Promise<LaunchRecord>) {}

  /** Run (and disarm) the commands armed for a window. */
  async fire(window: LaunchWindow): Promise<void> {
    const now = this.armed.filter((a) => a.window === window);
    this.armed = this.armed.filter((a) => a.window !== window);
    for (const a of now) await a.run();
  }

  async registerImage(_input: { name: string; snapshots: SnapshotRef[]; tags: Record<string, string> }) {
    await this.fire('registerImage');
    return { imageId: `ami-0${(++this.images).toString(16).padStart(16, '0')}` };
  }

  async runInstance(request: LaunchRequest) {
    if (this.throttleNext) {
      this.throttleNext = false;
      throw new ThrottledError('Request limit exceeded.');
    }
    this.launches.push(await this.judge(request.tags));
    return { instanceId: `i-0${(++this.instances).toString(16).padStart(16, '0')}` };
  }

  async describeInstances() { return []; }
  async terminateInstances() {}
  async deregisterImage() {}
  async findTagged() { return { instances: [], imageIds: [] }; }
  async snapshotInstance() { return { snapshots: [] }; }
}

// ---------------------------------------------------------------------------------------------
// The world: stores, use cases, the test's own record of the truth, and the orchestrator
// ---------------------------------------------------------------------------------------------

type Phase =
  | { phase: 'select' }
  | { phase: 'request' }
  | { phase: 'waiting'; token: string }
  | { phase: 'plan'; approvalId: string }
  | { phase: 'launch'; plan: RunPlan; wave: number; next: number; stopped: boolean }
  | { phase: 'review' }
  | { phase: 'done' | 'stopped' | 'failed'; why: string };

const TERMINAL = ['done', 'stopped', 'failed'];

class World {
  readonly index = estate();
  readonly incidents = new MemoryIncidentStore();
  readonly approvals = new MemoryApprovalStore();
  readonly audit = new MemoryAuditLog();
  readonly runs = new MemoryRunStore();
  readonly catalog = new DeletableCatalog(new MemoryRecoveryPointCatalog(catalogue()));
  readonly workflows = new TokenEngine();
  readonly events = new QueuedEvents();
  readonly notifier = new QuietNotifier();
  readonly compute = new JudgingCompute((tags) => this.judge(tags));
  private t = T0;
  readonly clock: Clock = {
    now: () => this.t,
    // The launcher's backoff after a throttle: whatever was armed for it happens now.
    sleep: async (ms) => { this.t += Math.max(0, ms); await this.compute.fire('throttleBackoff'); },
  };

  // The truth as the test itself made it: the earliest evidence it sent, the points it spoiled.
  private modelCutoffMs = T0 - (FIRST_FINDING_MINUTES_AGO + MARGIN_MIN) * MIN;
  private readonly unsafe = new Map<string, Unsafe>(PRESET.map((p) => [`${p.machine}/${pointIdOf(p.machine, p.k)}`, p.as]));
  /** Every launch that broke the promise, with why. */
  readonly violations: string[] = [];
  readonly log: string[] = [];

  incidentId = '';
  state: Phase = { phase: 'select' };
  private findings = 0;
  private tokens = 0;
  private ids = 0;
  private asks = 0;

  private readonly deps = {
    index: this.index, policy: DEFAULT_POLICY, incidents: this.incidents, approvals: this.approvals, audit: this.audit, runs: this.runs,
    catalog: this.catalog, workflows: this.workflows, notifier: this.notifier, clock: this.clock,
  };
  private readonly intake = intakeFinding({ ...this.deps, store: this.incidents, events: this.events });
  private readonly select = selectForIncident(this.deps);
  private readonly request = requestApproval({
    ...this.deps, publicBaseUrl: 'https://approvals.example.com', linkSecret: 'test-link-secret-5b2e9d0c7a6f4e3d2c1b0a9f8e7d6c5b',
    newId: () => `apv${(++this.ids).toString().padStart(19, '0')}`,
  });
  private readonly decide = decideApproval(this.deps);
  private readonly revise = reviseOnEvent(this.deps);
  private readonly plan = planIncidentRun(this.deps);
  private readonly launch = launchMachine({
    runs: this.runs, compute: this.compute, clock: this.clock, audit: this.audit,
    retry: { maxAttempts: 4, baseMs: 500, capMs: 20_000, random: () => 0.5 },
    revalidate: { catalog: this.catalog, incidents: this.incidents },
  });
  private readonly review = reviewStoppedRun(this.deps);

  static async create(): Promise<World> {
    const w = new World();
    const first = await w.intake(findingEvent(++w.findings, 'payments-db', FIRST_FINDING_MINUTES_AGO));
    w.incidentId = first.incidentId;
    await w.deliverEvents('fifo');
    return w;
  }

  /** Time moves a second per command, so records made by different commands are ordered. */
  tick(): void { this.t += 1000; }

  terminal(): boolean { return TERMINAL.includes(this.state.phase); }

  // --- The invariant, judged at RunInstances --------------------------------------------------

  private async judge(tags: Record<string, string>): Promise<LaunchRecord> {
    const runId = tags[TAG.incident] ?? '';
    const machineId = tags[TAG.machine] ?? '';
    const m = await this.runs.getMachine(runId, machineId);
    const incident = await this.incidents.getIncident(runId);
    if (!m || !incident) {
      const why = `launch of ${machineId} in ${runId} without a run record or incident`;
      this.violations.push(why);
      return { machineId, pointId: '?', capturedAt: '?', cutoff: null, why };
    }
    const reasons: string[] = [];
    // The test's own record: what it sent and what it spoiled.
    const spoiled = this.unsafe.get(`${machineId}/${m.pointId}`);
    if (spoiled) reasons.push(`point is ${spoiled} (as the test made it)`);
    if (Date.parse(m.capturedAt) > this.modelCutoffMs) reasons.push(`captured ${m.capturedAt}, after the evidence's cutoff ${toIso(this.modelCutoffMs)}`);
    // The stores as they are at this instant.
    const point = await this.catalog.getPoint(machineId, m.pointId);
    const cutoff = currentCutoff(incident, m.group);
    if (!point) reasons.push('point is not in the catalogue');
    else {
      if (point.status !== 'available') reasons.push(`catalogue says ${point.status}`);
      if (point.scan === 'infected') reasons.push('catalogue says infected');
      if (point.capturedAt !== m.capturedAt) reasons.push(`catalogue time ${point.capturedAt} differs from the run's ${m.capturedAt}`);
    }
    if (cutoff === null || Date.parse(m.capturedAt) > Date.parse(cutoff)) reasons.push(`captured ${m.capturedAt}, after the incident's current cutoff ${cutoff}`);
    const why = reasons.length ? `${machineId} launched from ${m.pointId}: ${reasons.join('; ')}` : null;
    if (why) this.violations.push(why);
    return { machineId, pointId: m.pointId, capturedAt: m.capturedAt, cutoff, why };
  }

  // --- What the world does (the commands' bodies) --------------------------------------------

  async finding(machine: MachineId, minutesAgo: number): Promise<void> {
    this.modelCutoffMs = Math.min(this.modelCutoffMs, T0 - (minutesAgo + MARGIN_MIN) * MIN);
    await this.intake(findingEvent(++this.findings, machine, minutesAgo));
  }

  /** A point target: an index into the machine's history, or whatever point is currently chosen for it. */
  async resolve(machine: MachineId, target: number | 'chosen'): Promise<string> {
    if (target !== 'chosen') return pointIdOf(machine, target);
    const m = await this.runs.getMachine(this.incidentId, machine);
    if (m && !m.instanceId) return m.pointId;
    const pending = (await this.approvals.listApprovals({ incidentId: this.incidentId, status: 'pending' }))[0];
    const proposed = pending?.proposal ?? (await this.runs.getProposal(this.incidentId));
    return proposed?.selection.machines.find((c) => c.machineId === machine)?.pointId ?? pointIdOf(machine, 0);
  }

  async spoil(machine: MachineId, target: number | 'chosen', as: Unsafe): Promise<void> {
    const pointId = await this.resolve(machine, target);
    const key = `${machine}/${pointId}`;
    if (this.unsafe.get(key) !== 'deleted') this.unsafe.set(key, as);
    if (as === 'deleted') this.catalog.delete(machine, pointId);
    else await this.catalog.markPoint(machine, pointId, as === 'infected' ? { scan: 'infected' } : { status: as });
    await this.events.publish([{ detailType: as === 'infected' ? 'Recovery Point Verdict Changed' : 'Recovery Point Status Changed', detail: { machineId: machine, pointId } }]);
  }

  /** EventBridge delivers what is queued, in order or not (it promises no order). */
  async deliverEvents(order: 'fifo' | 'lifo'): Promise<void> {
    const batch = this.events.queue.splice(0);
    if (order === 'lifo') batch.reverse();
    for (const e of batch) await this.revise({ detailType: e.detailType, detail: e.detail as { incidentId?: string; machineId?: string; pointId?: string } });
  }

  /** The decider approves the request pending now (if any); `stale`: clicks an old, superseded link instead. */
  async approve(stale = false): Promise<void> {
    const [target] = await this.approvals.listApprovals({ incidentId: this.incidentId, status: stale ? 'superseded' : 'pending' });
    if (!target) return;
    const attempt = this.decide({ approvalId: target.approvalId, personId: 'alice', decision: 'approve', channel: 'cli', source: 'test', confirmUnverified: true });
    if (stale) {
      // A repeat of alice's own approval is a no-op (double click); a first one is refused. Neither tells the workflow anything.
      const told = this.workflows.outcomes.size;
      if (target.decisions.some((d) => d.personId === 'alice')) expect((await attempt).duplicate).toBe(true);
      else await expect(attempt, 'an approval on a superseded request must be refused').rejects.toThrow(/superseded/);
      expect(this.workflows.outcomes.size).toBe(told);
      return;
    }
    await attempt;
  }

  /** One step of the incident-response state machine. */
  async step(): Promise<void> {
    const s = this.state;
    switch (s.phase) {
      case 'select': {
        const selected = await this.select({ incidentId: this.incidentId });
        this.state = selected.ready ? { phase: 'request' } : { phase: 'stopped', why: 'no eligible recovery point' };
        break;
      }
      case 'request': {
        const token = `tok-${++this.tokens}`;
        try {
          await this.request({ incidentId: this.incidentId, taskToken: token, timeoutSeconds: 24 * 3600 });
          this.state = { phase: 'waiting', token };
        } catch (e) {
          if (!(e instanceof ProposalSupersededError)) throw e;
          this.state = { phase: 'select' };
        }
        break;
      }
      case 'waiting': {
        const outcome = this.workflows.outcomes.get(s.token);
        if (!outcome) break; // still waiting for the deciders
        if (outcome.kind === 'failure' && outcome.error === 'ProposalSuperseded') { this.state = { phase: 'select' }; break; }
        if (outcome.kind === 'failure') throw new Error(`unexpected task failure ${outcome.error}: ${outcome.cause}`);
        this.state = { phase: 'plan', approvalId: (outcome.output as { approvalId: string }).approvalId };
        break;
      }
      case 'plan': {
        try {
          const plan = await this.plan({ incidentId: this.incidentId, approvalId: s.approvalId });
          this.state = { phase: 'launch', plan, wave: 0, next: 0, stopped: false };
        } catch (e) {
          if (!(e instanceof ProposalSupersededError)) throw e;
          this.state = { phase: 'select' };
        }
        break;
      }
      case 'launch': {
        // One machine per step; the wave is judged when all its machines were tried (Tally Wave).
        const wave = s.plan.waves[s.wave]!;
        const item = wave.machines[s.next]!;
        let stopped = s.stopped;
        try {
          await this.launch({ runId: item.runId, machineId: item.machineId, kind: 'incident' });
        } catch (e) {
          if (!(e instanceof PointNoLongerEligibleError)) throw e;
          stopped = true;
        }
        const next = s.next + 1;
        if (next < wave.machines.length) this.state = { ...s, next, stopped };
        else if (stopped) this.state = { phase: 'review' };
        else if (s.wave + 1 < s.plan.waves.length) this.state = { ...s, wave: s.wave + 1, next: 0, stopped: false };
        else this.state = { phase: 'done', why: 'every wave launched' };
        break;
      }
      case 'review': {
        const reviewed = await this.review({ incidentId: this.incidentId });
        this.asks++;
        this.state = reviewed.askAgain ? { phase: 'select' } : { phase: 'failed', why: `launches stopped ${this.asks} times` };
        break;
      }
      default:
        break;
    }
  }

  /** Let the incident run to its end: deliver what is queued, approve what is asked, step. Bounded. */
  async settle(maxSteps = 200): Promise<void> {
    // Changes still armed for a launch stay armed: they happen inside the next launch of the run.
    for (let i = 0; i < maxSteps && !this.terminal(); i++) {
      await this.deliverEvents('fifo');
      if (this.state.phase === 'waiting') await this.approve();
      await this.step();
    }
  }

  /** The machine's run record (tests read it after the fact). */
  async machine(machineId: MachineId) {
    return this.runs.getMachine(this.incidentId, machineId);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

type Model = Record<string, never>;
type Cmd = fc.AsyncCommand<Model, World>;

/** A change of the world's evidence or catalogue: a command of its own, or slipped into a launch. */
interface Change { apply(w: World): Promise<void>; describe(): string }

const findingChange = (machine: MachineId, minutesAgo: number): Change => ({
  apply: (w) => w.finding(machine, minutesAgo),
  describe: () => `Finding(${machine}, ${minutesAgo} min ago)`,
});
const spoilChange = (machine: MachineId, target: number | 'chosen', as: Unsafe): Change => ({
  apply: (w) => w.spoil(machine, target, as),
  describe: () => (as === 'deleted' ? `DeletePoint(${machine}, ${target})` : `MarkPoint(${machine}, ${target}, ${as})`),
});
const deliverChange = (order: 'fifo' | 'lifo'): Change => ({
  apply: (w) => w.deliverEvents(order),
  describe: () => `DeliverEvents(${order})`,
});

class ChangeCommand implements Cmd {
  constructor(private readonly change: Change) {}
  check() { return true; }
  async run(_m: Model, w: World) { w.tick(); await this.change.apply(w); expectNoViolation(w, this.toString()); }
  toString() { return this.change.describe(); }
}

/** Arm a change to happen inside the next launch: while its image registers, or in its throttle backoff. */
class DuringLaunchCommand implements Cmd {
  constructor(private readonly change: Change, private readonly window: LaunchWindow) {}
  check() { return true; }
  async run(_m: Model, w: World) {
    w.tick();
    w.compute.armed.push({ window: this.window, run: () => this.change.apply(w) });
    if (this.window === 'throttleBackoff') w.compute.throttleNext = true;
  }
  toString() { return `DuringLaunch(${this.window}, ${this.change.describe()})`; }
}

class ApproveCommand implements Cmd {
  constructor(private readonly stale: boolean) {}
  check() { return true; }
  async run(_m: Model, w: World) { w.tick(); await w.approve(this.stale); expectNoViolation(w, this.toString()); }
  toString() { return this.stale ? 'Approve(stale link)' : 'Approve'; }
}

class StepCommand implements Cmd {
  check() { return true; }
  async run(_m: Model, w: World) { w.tick(); await w.step(); expectNoViolation(w, this.toString()); }
  toString() { return 'Step'; }
}

function expectNoViolation(w: World, after: string): void {
  expect(w.violations, `after ${after}`).toEqual([]);
  expect(w.workflows.anomalies, `after ${after}`).toEqual([]);
}

const machineArb = fc.constantFrom(...MACHINES);
const targetArb = fc.oneof(fc.constant<'chosen'>('chosen'), fc.integer({ min: 0, max: POINTS_PER_MACHINE - 1 }));
const changeArb: fc.Arbitrary<Change> = fc.oneof(
  // Mostly evidence the catalogue still covers; now and then evidence older than every point.
  fc.tuple(machineArb, fc.oneof({ arbitrary: fc.integer({ min: 0, max: 200 }), weight: 9 }, { arbitrary: fc.integer({ min: 201, max: 330 }), weight: 1 }))
    .map(([m, ago]) => findingChange(m, ago)),
  fc.tuple(machineArb, targetArb, fc.constantFrom<Unsafe>('infected', 'quarantined', 'expired')).map(([m, t, as]) => spoilChange(m, t, as)),
  fc.tuple(machineArb, targetArb).map(([m, t]) => spoilChange(m, t, 'deleted')),
);

function commandsArb(windows: readonly LaunchWindow[]) {
  const arbs: { arbitrary: fc.Arbitrary<Cmd>; weight: number }[] = [
    { arbitrary: changeArb.map((c) => new ChangeCommand(c)), weight: 3 },
    { arbitrary: fc.constantFrom<'fifo' | 'lifo'>('fifo', 'lifo').map((o) => new ChangeCommand(deliverChange(o))), weight: 2 },
    { arbitrary: fc.boolean().map((stale) => new ApproveCommand(stale)), weight: 2 },
    // The workflow needs about seven steps from selection to the last launch: steps are common.
    { arbitrary: fc.constant(new StepCommand()), weight: 6 },
  ];
  if (windows.length) arbs.push({ arbitrary: fc.tuple(changeArb, fc.constantFrom(...windows)).map(([c, win]) => new DuringLaunchCommand(c, win)), weight: 1 });
  // fc.commands picks among its arbitraries uniformly: an arbitrary listed n times weighs n.
  return fc.commands(arbs.flatMap((a) => Array.from({ length: a.weight }, () => a.arbitrary)), { maxCommands: 25, size: 'max' });
}

async function playAndSettle(cmds: Iterable<Cmd>): Promise<World> {
  const w = await World.create();
  await fc.asyncModelRun(() => ({ model: {} as Model, real: w }), cmds);
  await w.settle();
  return w;
}

function expectPromiseKept(w: World): void {
  expect(w.violations).toEqual([]);
  expect(w.workflows.anomalies).toEqual([]);
  expect(w.compute.launches.filter((l) => l.why)).toEqual([]);
  expect(TERMINAL, `the incident settles (ended in ${w.state.phase})`).toContain(w.state.phase);
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('an evolving incident (model-based)', () => {
  it('never launches a point captured after the cutoff current at its launch, nor one infected, quarantined, expired or deleted then', async () => {
    await fc.assert(
      // Changes may also land inside a launch: while its image registers, and in the launcher's
      // backoff after EC2 throttled RunInstances (the window this property found open; now judged).
      fc.asyncProperty(commandsArb(['registerImage', 'throttleBackoff']), async (cmds) => {
        const w = await playAndSettle(cmds);
        expectPromiseKept(w);
        if (w.state.phase === 'done') {
          // Done means every machine of the run is running.
          const machines = await w.runs.listMachines(w.incidentId);
          expect(machines.every((m) => m.instanceId)).toBe(true);
        }
      }),
      { numRuns: 200, seed: 20240501 },
    );
  }, 30_000);
});

describe('an evolving incident (fixed interleavings)', () => {
  it('stops a wave-2 machine whose approved point turned infected after approval, asks again and launches it from an older point', async () => {
    // Prepare: proposed, requested, approved
    const w = await World.create();
    await w.step(); // select
    await w.step(); // request
    const approved = await w.resolve('payments-api', 'chosen');
    await w.approve();
    await w.step(); // waiting ▶ plan
    await w.step(); // plan ▶ launch

    // Act: the approved api point is found infected, then the waves launch
    await w.spoil('payments-api', 'chosen', 'infected');
    await w.step(); // wave 1: db
    await w.step(); // wave 2: api (stopped)
    await w.step(); // wave 2: web
    const stopped = await w.machine('payments-api');
    const phaseAfterWave = w.state.phase;
    await w.settle();

    // Assess
    expect(phaseAfterWave).toBe('review');
    expect(stopped?.pointId).toBe(approved);
    expect(stopped?.instanceId).toBeUndefined();
    expect(stopped?.error).toMatch(/^stopped before launch: point .* is now infected/);
    const after = (await w.machine('payments-api'))!;
    expect(after.instanceId).toBeDefined();
    expect(Date.parse(after.capturedAt)).toBeLessThan(Date.parse(approved.split('@')[1]!));
    expect(w.state.phase).toBe('done');
    expect((await w.audit.list(w.incidentId)).map((e) => e.type)).toContain('failover.asking-again');
    expectPromiseKept(w);
  });

  it('an earlier finding whose event has not arrived yet does not let the approved points launch: planning re-judges them and the workflow selects again', async () => {
    // Prepare: requested from the 08:30 cutoff
    const w = await World.create();
    await w.step(); // select
    await w.step(); // request
    const first = (await w.approvals.listApprovals({ incidentId: w.incidentId, status: 'pending' }))[0]!;

    // Act: evidence from 3 hours ago (cutoff 06:00), its event still queued; the decider approves meanwhile
    await w.finding('payments-web', 180);
    await w.approve();
    await w.step(); // waiting ▶ plan
    await w.step(); // plan ▶ ProposalSuperseded ▶ select
    const afterPlan = w.state.phase;
    await w.settle();

    // Assess
    expect(w.workflows.outcomes.get('tok-1')?.kind).toBe('success');
    expect(afterPlan).toBe('select');
    expect((await w.approvals.getApproval(first.approvalId))?.status).toBe('superseded');
    expect(w.state.phase).toBe('done');
    expect(w.compute.launches).toHaveLength(3);
    for (const l of w.compute.launches) expect(Date.parse(l.capturedAt)).toBeLessThanOrEqual(Date.parse('2024-05-01T06:00:00.000Z'));
    expectPromiseKept(w);
  });

  it('stops without launching anything when evidence reaches back before every point', async () => {
    // Prepare
    const w = await World.create();

    // Act: the compromise began before the oldest point (05:00)
    await w.finding('payments-db', 6 * 60);
    await w.settle();

    // Assess
    expect(w.state).toEqual({ phase: 'stopped', why: 'no eligible recovery point' });
    expect(w.compute.launches).toEqual([]);
  });
});

/**
 * Found by the property above when changes may land in the throttle backoff: launchMachine judged
 * the point before RegisterImage and after it, but launchOne then waited for the pacer and, when
 * EC2 throttled, backed off and called RunInstances again without judging the point again.
 * Shrunk counterexample (seed 20240501): [DuringLaunch(throttleBackoff, Finding(payments-db, 201 min ago))].
 * These tests failed before the fix (launchOne's beforeAttempt, called before every RunInstances).
 */
describe('a point that becomes unsafe while RunInstances is throttled', () => {
  const changes: [string, (w: World) => Promise<void>][] = [
    ['a finding moves the cutoff before the approved point', (w) => w.finding('payments-web', 120)],
    ['the approved point is found infected', (w) => w.spoil('payments-db', 'chosen', 'infected')],
  ];
  it.each(changes)('is not launched when, during the backoff, %s', async (_what, change) => {
    // Prepare: approved and planned; wave 1 (payments-db) is next
    const w = await World.create();
    for (let i = 0; i < 2; i++) await w.step(); // select, request
    await w.approve();
    for (let i = 0; i < 2; i++) await w.step(); // waiting ▶ plan ▶ launch
    const approved = await w.resolve('payments-db', 'chosen');

    // Act: EC2 throttles the first RunInstances; the change lands during the backoff
    w.compute.throttleNext = true;
    w.compute.armed.push({ window: 'throttleBackoff', run: () => change(w) });
    await w.step();

    // Assess: the machine is stopped before launch, not launched from the spoiled point
    expect(w.violations).toEqual([]);
    expect(await w.machine('payments-db')).toMatchObject({ pointId: approved });
    expect((await w.machine('payments-db'))?.instanceId).toBeUndefined();
  });
});
