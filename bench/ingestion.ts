import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { assessFinding, DEFAULT_POLICY, intakeFinding, parseFinding, type IntakeDeps } from '../domain/findings/index.ts';
import type { Clock, Notification } from '../domain/shared/index.ts';
import { indexInventory, parseInventory, type InventoryIndex } from '../domain/inventory/index.ts';
import type { DomainEvent, EventPublisher, Notifier, WorkflowEngine } from '../domain/ports/index.ts';
import { MemoryAuditLog, MemoryIncidentStore, MemoryRecoveryPointCatalog, MemoryRunStore } from '../functions/shared/adapters/memory/index.ts';
import { ROOT } from '../local/serverless-config.ts';
import { atLeast, exactly, figure, type Benchmark, type Figure } from './lib/result.ts';
import { seededRandom, shuffle } from './lib/stats.ts';

/**
 * 3. Finding ingestion on one core: the pure parse + assess rate, and the full intake rate
 * (parse, assess, claim/correlate, record, create or fold the incident, start the workflow,
 * audit, publish) with every finding delivered 10 times.
 */

const FINDINGS_DIR = path.resolve(ROOT, '../shared/fixtures/guardduty/findings');
const NOW = Date.UTC(2025, 5, 2, 12, 0, 0);
const DELIVERIES_PER_FINDING = 10;
/** Of the 10 deliveries, this many are GuardDuty updates of the finding (count and updatedAt moved on). */
const UPDATES_PER_FINDING = 2;
const GROUPS = 100;
const MACHINES_PER_GROUP = 5;

type Json = Record<string, unknown>;

/** A shared sample as a template: the finding object, and how to put a variant back into the sample's envelope. */
interface Template {
  file: string;
  finding: Json;
  wrap(finding: Json): Json;
  /** Instance findings can touch a protected machine. */
  instance: boolean;
}

export function loadTemplates(dir = FINDINGS_DIR): { templates: Template[]; skipped: { file: string; reason: string }[] } {
  const templates: Template[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const raw = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Json;
    try {
      parseFinding(raw);
    } catch (e) {
      // e.g. a CloudTrail "AWS API Call via CloudTrail" event from aws.guardduty: not a finding.
      skipped.push({ file, reason: `${(e as Error).name}: ${(e as Error).message}` });
      continue;
    }
    const enveloped = typeof raw['detail'] === 'object' && raw['detail'] !== null;
    const finding = (enveloped ? raw['detail'] : raw) as Json;
    templates.push({
      file, finding, instance: (finding['resource'] as Json)['resourceType'] === 'Instance',
      wrap: (f) => (enveloped ? { ...raw, detail: f } : f),
    });
  }
  return { templates, skipped };
}

const COMPROMISE_TYPES = [
  'Backdoor:EC2/C&CActivity.B', 'Impact:EC2/MaliciousDomainRequest.Reputation', 'CryptoCurrency:EC2/BitcoinTool.B!DNS',
  'UnauthorizedAccess:EC2/TorClient', 'Execution:Runtime/NewBinaryExecuted', 'Trojan:EC2/DNSDataExposure',
];
const RECON_TYPES = ['Recon:EC2/PortProbeUnprotectedPort', 'Recon:EC2/Portscan', 'Discovery:S3/MaliciousIPCaller'];

/** What the generator meant a finding to be: a failover proposal for a group, or anything else (its own incident). */
export type Intent = { kind: 'proposal'; group: string } | { kind: 'other' };

export interface GeneratedFinding {
  id: string;
  intent: Intent;
  /** The first delivery and the GuardDuty updates (later updatedAt, higher count). */
  versions: Json[];
}

export function benchInventory(groups = GROUPS, perGroup = MACHINES_PER_GROUP): InventoryIndex {
  return indexInventory(parseInventory({
    version: 1,
    groups: Array.from({ length: groups }, (_, g) => ({
      name: `app-${String(g).padStart(4, '0')}`,
      deciders: ['duty-manager'],
      machines: Array.from({ length: perGroup }, (_, m) => ({
        id: `app-${String(g).padStart(4, '0')}-m${m}`,
        instanceId: `i-0${(g * perGroup + m).toString(16).padStart(16, '0')}`,
      })),
    })),
  }, 'bench inventory'));
}

/**
 * `count` distinct findings built from the shared samples: 10 % failover proposals on protected
 * machines, 30 % notifications on protected machines (reconnaissance, or below the failover
 * severity), 30 % compromise findings on instances that are not protected, 30 % on other
 * resource types (access keys, buckets) at low severity or archived.
 */
export function generateFindings(count: number, templates: Template[], index: InventoryIndex, seed: number, updates = UPDATES_PER_FINDING): GeneratedFinding[] {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const instanceTemplates = templates.filter((t) => t.instance);
  const otherTemplates = templates.filter((t) => !t.instance);
  const machines = [...index.machineById.values()];
  const out: GeneratedFinding[] = [];
  for (let k = 0; k < count; k++) {
    const r = random();
    let template: Template;
    let type: string;
    let severity: number;
    let instanceId: string;
    let archived = false;
    let intent: Intent = { kind: 'other' };
    if (r < 0.1) {
      const hit = pick(machines);
      template = pick(instanceTemplates);
      type = pick(COMPROMISE_TYPES);
      severity = 7 + Math.round(random() * 20) / 10;
      instanceId = hit.machine.instanceId;
      intent = { kind: 'proposal', group: hit.group.name };
    } else if (r < 0.4) {
      template = pick(instanceTemplates);
      const recon = random() < 0.5;
      type = recon ? pick(RECON_TYPES) : pick(COMPROMISE_TYPES);
      severity = recon ? 5 + Math.round(random() * 40) / 10 : 4 + Math.round(random() * 29) / 10;
      instanceId = pick(machines).machine.instanceId;
    } else if (r < 0.7) {
      template = pick(instanceTemplates);
      type = pick(COMPROMISE_TYPES);
      severity = 5 + Math.round(random() * 40) / 10;
      instanceId = `i-f${k.toString(16).padStart(16, '0')}`;
    } else {
      template = otherTemplates.length ? pick(otherTemplates) : pick(instanceTemplates);
      type = (template.finding['type'] as string) ?? pick(RECON_TYPES);
      severity = Math.round(random() * 39) / 10;
      archived = random() < 0.5;
      instanceId = `i-e${k.toString(16).padStart(16, '0')}`;
    }
    const id = `bench${k.toString(16).padStart(27, '0')}`;
    const firstSeen = NOW - Math.floor(random() * 6 * 3_600_000);
    const createdAt = firstSeen + 5 * 60_000;
    const versions: Json[] = [];
    for (let v = 0; v <= updates; v++) {
      const f = template.finding;
      const resource = f['resource'] as Json;
      const service = f['service'] as Json;
      const updatedAt = createdAt + v * 3_600_000;
      versions.push(template.wrap({
        ...f,
        id,
        ...(typeof f['arn'] === 'string' ? { arn: (f['arn'] as string).replace(/finding\/[^/]+$/, `finding/${id}`) } : {}),
        type, severity,
        createdAt: new Date(createdAt).toISOString(),
        updatedAt: new Date(updatedAt).toISOString(),
        resource: { ...resource, instanceDetails: { ...(resource['instanceDetails'] as Json | undefined), instanceId } },
        service: {
          ...service, archived, count: v + 1,
          eventFirstSeen: new Date(firstSeen).toISOString(), eventLastSeen: new Date(updatedAt).toISOString(),
        },
      }));
    }
    out.push({ id, intent, versions });
  }
  return out;
}

/** Each finding `DELIVERIES_PER_FINDING` times (its updates among them), all shuffled together. */
export function deliveriesOf(findings: GeneratedFinding[], perFinding: number, seed: number): Json[] {
  const out: Json[] = [];
  for (const f of findings) {
    for (let d = 0; d < perFinding; d++) out.push(d < f.versions.length ? f.versions[d]! : f.versions[0]!);
  }
  return shuffle(out, seededRandom(seed));
}

/** Distinct incidents the deliveries must make: one per failover group hit, one per other finding. */
export function expectedIncidents(findings: GeneratedFinding[]): { incidents: number; proposalGroups: number } {
  const groups = new Set(findings.flatMap((f) => (f.intent.kind === 'proposal' ? [f.intent.group] : [])));
  const others = findings.filter((f) => f.intent.kind === 'other').length;
  return { incidents: groups.size + others, proposalGroups: groups.size };
}

/** Step Functions refuses a second execution of the same name: so does this one. */
class InMemoryWorkflows implements WorkflowEngine {
  readonly started = new Map<string, unknown>();
  async startExecution(input: { machine: string; name: string; input: unknown }) {
    const alreadyStarted = this.started.has(input.name);
    if (!alreadyStarted) this.started.set(input.name, input.input);
    return { executionArn: `arn:aws:states:us-east-1:000000000000:execution:${input.machine}:${input.name}`, alreadyStarted };
  }
  async sendTaskSuccess(): Promise<void> {}
  async sendTaskFailure(): Promise<void> {}
}

class CountingPublisher implements EventPublisher {
  events = 0;
  async publish(events: DomainEvent[]): Promise<void> { this.events += events.length; }
}

class CountingNotifier implements Notifier {
  sent = 0;
  async send(_n: Notification): Promise<void> { this.sent++; }
}

const fixedClock: Clock = { now: () => NOW + 7 * 3_600_000, sleep: async () => {} };

function intakeDeps(index: InventoryIndex) {
  const workflows = new InMemoryWorkflows();
  const events = new CountingPublisher();
  const notifier = new CountingNotifier();
  const store = new MemoryIncidentStore();
  const deps: IntakeDeps = {
    policy: DEFAULT_POLICY, index, store, audit: new MemoryAuditLog(), workflows, events, notifier, clock: fixedClock,
    runs: new MemoryRunStore(), catalog: new MemoryRecoveryPointCatalog(),
  };
  return { deps, workflows, events, notifier, store };
}

/** Parse + assess every event once; returns events per second of wall time. */
function pureRate(events: Json[], index: InventoryIndex): { perSecond: number; ms: number; actions: Record<string, number> } {
  const assess = assessFinding(DEFAULT_POLICY, index);
  const actions: Record<string, number> = {};
  const t = performance.now();
  for (const e of events) {
    const a = assess(parseFinding(e));
    actions[a.action] = (actions[a.action] ?? 0) + 1;
  }
  const ms = performance.now() - t;
  return { perSecond: (events.length / ms) * 1000, ms, actions };
}

export const ingestionBenchmark: Benchmark = {
  name: 'ingestion',
  title: '3. Finding ingestion (one core)',
  async run({ quick }) {
    const total = quick ? 10_000 : 100_000;
    const distinct = total / DELIVERIES_PER_FINDING;
    const { templates, skipped } = loadTemplates();
    const index = benchInventory();
    const bigIndex = benchInventory(GROUPS * 10, MACHINES_PER_GROUP);

    // Pure: parse + assess of `total` distinct findings (warmed up on another set first).
    const pureFindings = generateFindings(total, templates, index, 11, 0).map((f) => f.versions[0]!);
    pureRate(generateFindings(5_000, templates, index, 12, 0).map((f) => f.versions[0]!), index);
    const pure = pureRate(pureFindings, index);
    // The same findings against an estate ten times larger: assessment looks machines up by instance id.
    const bigFindings = generateFindings(total, templates, bigIndex, 11, 0).map((f) => f.versions[0]!);
    pureRate(bigFindings.slice(0, 5_000), bigIndex);
    const pureBig = pureRate(bigFindings, bigIndex);

    // Full intake: `distinct` findings × 10 deliveries, shuffled; warmed up on a separate store and set.
    const warm = intakeDeps(index);
    const warmIntake = intakeFinding(warm.deps);
    for (const e of deliveriesOf(generateFindings(500, templates, index, 21), DELIVERIES_PER_FINDING, 22)) await warmIntake(e);

    const findings = generateFindings(distinct, templates, index, 31);
    const deliveries = deliveriesOf(findings, DELIVERIES_PER_FINDING, 32);
    const expected = expectedIncidents(findings);
    const run = intakeDeps(index);
    const intake = intakeFinding(run.deps);
    let created = 0;
    let correlated = 0;
    const byDelivery: Record<string, number> = {};
    const t = performance.now();
    for (const e of deliveries) {
      const r = await intake(e);
      if (r.created) created++;
      if (r.correlated) correlated++;
      byDelivery[r.delivery] = (byDelivery[r.delivery] ?? 0) + 1;
    }
    const intakeMs = performance.now() - t;
    const stored = (await run.store.listIncidents()).length;
    const intakeRate = (deliveries.length / intakeMs) * 1000;

    const n = (x: number) => x.toLocaleString('en-GB');
    const figures: Figure[] = [
      figure(`parse + assess, ${n(total)} distinct findings, ${n(index.machineById.size)}-machine estate`, 'findings per second', pure.perSecond, '/s', atLeast(10_000)),
      figure(`parse + assess, ${n(total)} distinct findings, ${n(bigIndex.machineById.size)}-machine estate`, 'findings per second', pureBig.perSecond, '/s'),
      figure(`parse + assess, ${n(bigIndex.machineById.size)} vs ${n(index.machineById.size)} machines`, 'rate ratio', pureBig.perSecond / pure.perSecond, 'ratio'),
      figure(`full intake, ${n(distinct)} findings × ${DELIVERIES_PER_FINDING} deliveries`, 'deliveries per second', intakeRate, '/s', atLeast(10_000)),
      figure(`full intake, ${n(distinct)} findings × ${DELIVERIES_PER_FINDING} deliveries`, 'incidents created', created, 'count', exactly(expected.incidents), `expected ${n(expected.incidents)}`),
      figure(`full intake, ${n(distinct)} findings × ${DELIVERIES_PER_FINDING} deliveries`, 'incidents stored', stored, 'count', exactly(expected.incidents)),
      figure(`full intake, ${n(distinct)} findings × ${DELIVERIES_PER_FINDING} deliveries`, 'workflow executions started', run.workflows.started.size, 'count', exactly(expected.proposalGroups), 'one per group proposed for failover'),
    ];
    return {
      figures,
      method: [
        `Findings built from the shared samples in ../shared/fixtures/guardduty/findings (${templates.map((x) => x.file.replace(/\.json$/, '')).join(', ')}), each variant with its own id, type, severity, instance, timestamps and archive flag, in the samples' own envelopes (bare finding, partial envelope, full EventBridge event); ${skipped.map((s) => `${s.file} is left out (${s.reason.split(':')[0]}: not a finding)`).join('; ')}. Mix: 10 % failover proposals on protected machines, 30 % notifications on protected machines, 30 % compromise findings on unprotected instances, 30 % other resource types at low severity or archived. Estate: ${GROUPS} groups × ${MACHINES_PER_GROUP} machines (and ten times that for the comparison row).`,
        `Parse + assess: domain/findings/finding.ts parseFinding (zod validation and normalisation) + domain/findings/assess.ts assessFinding with the default policy, over already-deserialised event objects (JSON.parse, done by the Lambda runtime, is not included); one pass over ${n(total)} distinct findings after a 5,000-finding warm-up.`,
        `Full intake: domain/findings/intake.ts intakeFinding with MemoryIncidentStore and MemoryAuditLog (hash-chained audit entries, deep copies in and out, as the DynamoDB adapters' semantics) and trivial in-memory WorkflowEngine (idempotent by name), EventPublisher and Notifier. It includes parsing, assessment, group claims and correlation, delivery recording, incident create/fold with optimistic concurrency, workflow start, audit and event publishing. ${n(distinct)} distinct findings, each delivered ${DELIVERIES_PER_FINDING} times (${UPDATES_PER_FINDING} of them GuardDuty updates with a later updatedAt and higher count), shuffled together, processed one after another after a warm-up on a separate store.`,
        `Distinct incidents expected, computed from how each finding was generated: one per application group hit by a failover proposal (later proposals for the group correlate into it) plus one per other finding.`,
      ],
      details: {
        templates: templates.map((x) => x.file), skipped, total, distinct, deliveries: deliveries.length,
        pure: { ms: Math.round(pure.ms), perSecond: Math.round(pure.perSecond), actions: pure.actions },
        pureLargeEstate: { machines: bigIndex.machineById.size, ms: Math.round(pureBig.ms), perSecond: Math.round(pureBig.perSecond) },
        intake: { ms: Math.round(intakeMs), perSecond: Math.round(intakeRate), created, correlated, byDelivery, stored, expected, workflowStarts: run.workflows.started.size, events: run.events.events, notifications: run.notifier.sent },
      },
    };
  },
};
