/**
 * A small approvals world on in-memory fakes: an inventory with people in every role, an
 * incident with a stored proposal, a recording workflow engine and notifier, a fixed clock.
 * Plus builders for Slack requests signed the way Slack signs them.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { requestApproval, type ApprovalRequest } from '../../domain/approvals/index.ts';
import { SLACK_ACTIONS, slackSignature } from '../../functions/shared/adapters/slack/index.ts';
import { fixedClock, type Notification } from '../../domain/shared/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import { indexInventory, parseInventory, type InventoryIndex } from '../../domain/inventory/index.ts';
import type { MachineKind, Notifier, WorkflowEngine } from '../../domain/ports/index.ts';
import type { AuditEntry } from '../../domain/evidence/index.ts';
import { MemoryApprovalStore, MemoryAuditLog, MemoryIncidentStore } from '../../functions/shared/adapters/memory/index.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { apiGatewayEvent } from '../../local/http-event.ts';
import { makeApproval, makeIncident } from '../contract/contract-fixtures.ts';
import { loadSharedFixture, makeInventory, type RawGroup, type RawInventory } from '../helpers/fixtures.ts';

export const LINK_SECRET = 'test-link-secret-4f1d6c0a9b8e7d6c5b4a39281706f5e4';
export const SLACK_SECRET = 'test-slack-signing-secret-0a1b2c3d4e5f60718293a4b5';
export const PUBLIC_BASE_URL = 'https://approvals.example.com';
export const T0 = Date.parse('2024-05-01T09:50:00.000Z');

/** Slack user ids of the people below. */
export const SLACK = { alice: 'U0ALICE001', bob: 'U0BOB00001', carol: 'U0CAROL001', dave: 'U0DAVE0001', stranger: 'U0NOBODY01' } as const;

/**
 * payments: deciders alice and bob, quorum 2, self-approval forbidden, escalates to erin;
 * ledger: deciders bob and dave (quorum 1); carol is an analyst of payments.
 */
export function approvalInventory(): RawInventory {
  const inv = makeInventory();
  inv.people = [
    { id: 'alice', name: 'Alice Martin', email: 'alice@example.com', slackUserId: SLACK.alice },
    { id: 'bob', name: 'Bob Chen', email: 'bob@example.com', slackUserId: SLACK.bob },
    { id: 'carol', name: 'Carol Diaz', email: 'carol@example.com', slackUserId: SLACK.carol },
    { id: 'dave', name: 'Dave Okafor', email: 'dave@example.com', slackUserId: SLACK.dave },
    { id: 'erin', name: 'Erin Escalation', email: 'erin@example.com' },
  ];
  const payments = inv.groups.find((g) => g.name === 'payments')!;
  payments.approval = { quorum: 2, timeoutMinutes: 60, forbidSelfApproval: true, escalateTo: ['erin'] } as RawGroup['approval'];
  inv.groups.find((g) => g.name === 'ledger')!.deciders = ['bob', 'dave'];
  return inv;
}

export class RecordingEngine implements WorkflowEngine {
  readonly calls: { op: 'success' | 'failure'; token: string; payload: unknown }[] = [];
  async startExecution(input: { machine: MachineKind; name: string; input: unknown }) {
    return { executionArn: `arn:aws:states:eu-west-1:111122223333:execution:${input.machine}:${input.name}`, alreadyStarted: false };
  }
  async sendTaskSuccess(token: string, output: unknown) { this.calls.push({ op: 'success', token, payload: output }); }
  async sendTaskFailure(token: string, error: string, cause: string) { this.calls.push({ op: 'failure', token, payload: { error, cause } }); }
}

export class RecordingNotifier implements Notifier {
  readonly sent: Notification[] = [];
  failFor: (n: Notification) => boolean = () => false;
  async send(n: Notification) {
    if (this.failFor(n)) throw new Error('mail server down');
    this.sent.push(structuredClone(n));
  }
}

export interface World {
  index: InventoryIndex;
  incidents: MemoryIncidentStore;
  approvals: MemoryApprovalStore;
  audit: MemoryAuditLog;
  runs: MemoryRunStore;
  workflows: RecordingEngine;
  notifier: RecordingNotifier;
  clock: ReturnType<typeof fixedClock>;
  incident: Incident;
}

/** A world with one proposed incident on `groups` (default payments) and its stored proposal. */
export async function approvalWorld(options: { groups?: string[]; inventory?: RawInventory } = {}): Promise<World> {
  const index = indexInventory(parseInventory(options.inventory ?? approvalInventory()));
  const groups = options.groups ?? ['payments'];
  const machines = groups.flatMap((g) => index.groupByName.get(g)!.machines.map((m) => m.id)).slice(0, 1);
  const incident = makeIncident({ groups, machines, status: 'proposed', version: 1 });
  delete (incident as Partial<Incident>).outcome;
  const w: World = {
    index, incidents: new MemoryIncidentStore(), approvals: new MemoryApprovalStore(), audit: new MemoryAuditLog(), runs: new MemoryRunStore(),
    workflows: new RecordingEngine(), notifier: new RecordingNotifier(), clock: fixedClock(T0), incident,
  };
  await w.incidents.createIncident(incident);
  const proposal = (await makeApproval()).proposal!;
  await w.runs.saveProposal(incident.incidentId, { incidentId: incident.incidentId, createdAt: '2024-05-01T09:49:00.000Z', cutoff: proposal.cutoff, selection: proposal.selection, plan: proposal.plan });
  return w;
}

let tokens = 0;
/** A Step Functions-like task token, unique per call. */
export const newTaskToken = () => `AAAAKgAAAAIAAAAAAAAAA${(++tokens).toString().padStart(6, '0')}+tok/en==`;

/** Ask for approval the way request-approval does; returns the stored request (with its token). */
export async function openRequest(w: World, input: { timeoutSeconds?: number; escalation?: boolean; requestedBy?: string; taskToken?: string } = {}): Promise<ApprovalRequest> {
  const out = await requestApproval({ ...w, publicBaseUrl: PUBLIC_BASE_URL, linkSecret: LINK_SECRET })({
    incidentId: w.incident.incidentId, taskToken: input.taskToken ?? newTaskToken(), timeoutSeconds: input.timeoutSeconds ?? 3600,
    ...(input.escalation ? { escalation: true } : {}), ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
  });
  return (await w.approvals.getApproval(out.approvalId))!;
}

/** Audit entries of the world's incident after the first `from`. */
export async function auditSince(w: Pick<World, 'audit' | 'incident'>, from: number): Promise<AuditEntry[]> {
  return (await w.audit.list(w.incident.incidentId)).slice(from);
}

/** Slack's documented block_actions button sample (bolt-python), turned into a click on one of our buttons. */
export function slackClick(o: { approvalId: string; userId: string; decision: 'approve' | 'reject'; responseUrl?: string; teamId?: string }): Record<string, unknown> {
  const body = structuredClone(loadSharedFixture<Record<string, unknown>>('slack/bolt-python_block_actions_button_body.json'));
  const user = body['user'] as Record<string, unknown>;
  user['id'] = o.userId;
  (body['team'] as Record<string, unknown>)['id'] = o.teamId ?? 'T111';
  body['response_url'] = o.responseUrl ?? 'https://hooks.slack.com/actions/T111/111/random-value';
  const [action] = body['actions'] as Record<string, unknown>[];
  action!['action_id'] = o.decision === 'approve' ? SLACK_ACTIONS.approve : SLACK_ACTIONS.reject;
  action!['value'] = o.approvalId;
  return body;
}

/** The form body Slack posts: payload=<url-encoded JSON>. */
export const slackBody = (payload: unknown) => `payload=${encodeURIComponent(JSON.stringify(payload))}`;

/** An API Gateway event for POST /slack/interactions, signed with `secret` at `timestampSec` unless overridden. */
export function slackRequest(body: string, o: { secret: string; timestampSec?: number; signature?: string; sourceIp?: string }): APIGatewayProxyEventV2 {
  const ts = String(o.timestampSec ?? Math.floor(Date.now() / 1000));
  return apiGatewayEvent({
    method: 'POST', path: '/slack/interactions', body, sourceIp: o.sourceIp ?? '3.5.140.2',
    headers: {
      'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts,
      'x-slack-signature': o.signature ?? slackSignature(o.secret, ts, body), 'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    },
  });
}
