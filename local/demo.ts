import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChosenPoint } from '../domain/recovery-points/index.ts';
import { retimeFinding } from './finding-retime.ts';
import type { ApprovalLink, IncidentDetail } from './read-model.ts';
import { ROOT } from './serverless-config.ts';
import { startLocalSystem, type LocalSystem } from './system.ts';
import { verifyFailover, type FailoverVerification } from './verify-failover.ts';

/**
 * `npm run demo`: the ransomware scenario end to end with nobody at the keyboard. Everything
 * goes through the same HTTP endpoints a person uses: the finding through the local API, the
 * decision through the approval page's form (GET the personal link, POST the approve form).
 * Then the failover is checked against the simulator and the catalogue (verifyFailover), and
 * the result is 0 only when every check held.
 */
export interface DemoOptions {
  /** Virtual time speed-up (default 600: a 30-second boot takes 50 ms). */
  speed?: number;
  findingFile?: string;
  inventoryFile?: string;
  /** Wall-clock limit for the failover (default 60 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface DemoResult {
  ok: boolean;
  incidentId: string | null;
  problems: string[];
  verification: FailoverVerification | null;
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const log = options.log ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const speed = options.speed ?? 600;
  let system: LocalSystem | undefined;
  let incidentId: string | null = null;
  try {
    system = await startLocalSystem({
      port: 0, dataDir: null, speed, inventoryFile: options.inventoryFile ?? path.join(ROOT, 'examples/inventory.yaml'), seed: { days: 7 },
    });
    const { url } = system;
    log(`✔ Cleanpoint runs in memory at ${url} (virtual time ×${speed}); seeded ${system.seeded?.machines ?? 0} machines with ${system.seeded?.points ?? 0} recovery points`);

    const sent = await sendFinding(url, options.findingFile ?? path.join(ROOT, 'examples/findings/ransomware-payments-db.json'));
    incidentId = sent.incidentId;
    log(`✔ Finding sent: incident ${sent.incidentId} (${sent.action}), status ${sent.status}`);
    if (sent.action !== 'failover-proposal') return fail(log, incidentId, [`the finding led to ${sent.action}, not a failover proposal`]);

    const first = await approvalLinkFromOutbox(url, sent.approval);
    log(`✔ Approval e-mail to ${first.email} (${first.personName}) carries ${first.url.split('?')[0]}?…`);
    const scans = (await getJson<IncidentDetail>(`${url}/local/incidents/${sent.incidentId}`)).audit.filter((a) => a.type === 'scan.threats-found');
    for (const a of scans) log(`✔ The malware scan before launch found ${String(a.data['machineId'] ?? 'a machine')}'s newest clean-looking point infected: stepped back to an older one`);

    // Evidence moves while the decider reads: a second finding shows the compromise began hours earlier.
    const earlier = await sendFinding(url, options.findingFile ?? path.join(ROOT, 'examples/findings/ransomware-payments-db.json'), { leadMinutes: 240 });
    if (earlier.incidentId !== sent.incidentId) return fail(log, incidentId, [`the earlier finding opened ${earlier.incidentId} instead of joining ${sent.incidentId}`]);
    const second = await newPendingLink(url, sent.incidentId, [first.approvalId]);
    const stale = await fetch(first.url);
    if (stale.status !== 410) return fail(log, incidentId, [`the superseded request's link answered ${stale.status}, not 410`]);
    const changed = (await getJson<IncidentDetail>(`${url}/local/incidents/${sent.incidentId}`)).approvals.find((a) => a.approvalId === second.approvalId)?.supersedes;
    log(`✔ A second finding moved the cutoff ${changed?.previousCutoff ?? '?'} ▶ ${changed?.cutoff ?? '?'}: the pending request was superseded (its link now answers 410) and a new proposal went out (${changed?.machines.length ?? 0} point(s) changed)`);
    await approveThroughPage(second);
    log(`✔ ${second.personName} approved the new proposal`);

    const detail = await waitForSettled(url, sent.incidentId, options.timeoutMs ?? 60_000);
    log(`✔ The incident settled as ${detail.incident.status}`);
    report(log, detail);
    const verification = await verifyAndLog(log, system, sent.incidentId, 'latest clean point before the corruption');
    if (detail.incident.status !== 'recovered') log(`  ✘ incident is ${detail.incident.status}`);
    if (!verification.ok) return fail(log, incidentId, verification.problems, verification);

    // Re-infection: GuardDuty reports a backdoor on the database Cleanpoint just restored.
    const db = detail.machines.find((m) => m.wave === 1) ?? detail.machines[0]!;
    const reinfection = await sendFinding(url, options.findingFile ?? path.join(ROOT, 'examples/findings/ransomware-payments-db.json'), {
      leadMinutes: 5, instance: { instanceId: db.instanceId!, tags: { 'cleanpoint:incident': sent.incidentId, 'cleanpoint:machine': db.machineId } },
    });
    if (!reinfection.reinfected) return fail(log, incidentId, [`a finding on the recovery instance ${db.instanceId} was not taken as a re-infection`]);
    log(`✔ A finding on the restored ${db.machineId} (${db.instanceId}) re-opened the incident: ${db.pointId} is marked infected`);
    const third = await newPendingLink(url, sent.incidentId, [first.approvalId, second.approvalId]);
    const thirdPoint = (await getJson<IncidentDetail>(`${url}/local/incidents/${sent.incidentId}`)).approvals.find((a) => a.approvalId === third.approvalId)?.proposal?.selection.machines.find((m) => m.machineId === db.machineId);
    if (!thirdPoint || Date.parse(thirdPoint.capturedAt) >= Date.parse(db.capturedAt)) return fail(log, incidentId, [`the new proposal does not restore ${db.machineId} from before ${db.capturedAt}`]);
    log(`✔ The new proposal restores ${db.machineId} from ${thirdPoint.pointId}, before the re-infected point`);
    await approveThroughPage(third);
    const again = await waitForSettled(url, sent.incidentId, options.timeoutMs ?? 60_000, (d) => d.audit.filter((a) => a.type === 'outcome.recorded').length >= 2);
    log(`✔ After the re-infection the incident settled as ${again.incident.status}`);
    const final = await verifyAndLog(log, system, sent.incidentId, 'latest clean point before the re-infected one');
    if (again.incident.status !== 'recovered' || !final.ok) return fail(log, incidentId, [...final.problems, ...(again.incident.status !== 'recovered' ? [`incident is ${again.incident.status}`] : [])], final);
    log('Demo passed: every launch came from the latest clean point known at its launch, also after the evidence moved twice.');
    return { ok: true, incidentId, problems: [], verification: final };
  } catch (e) {
    return fail(log, incidentId, [(e as Error).message]);
  } finally {
    await system?.close();
  }
}

function fail(log: (l: string) => void, incidentId: string | null, problems: string[], verification: FailoverVerification | null = null): DemoResult {
  log('Demo FAILED:');
  for (const p of problems) log(`  ✘ ${p}`);
  return { ok: false, incidentId, problems, verification };
}

interface SentFinding { incidentId: string; action: string; status: string; approval: ApprovalLink | null }

async function verifyAndLog(log: (l: string) => void, system: LocalSystem, incidentId: string, what: string): Promise<FailoverVerification> {
  const verification = await verifyFailover({ rt: system.rt, stores: system.stores }, incidentId);
  log('Checks against the simulator and the catalogue:');
  for (const m of verification.machines) {
    const ok = m.problems.length === 0;
    log(`  ${ok ? '✔' : '✘'} ${m.machineId.padEnd(16)} ${m.instanceId ?? 'no instance'} ${m.instanceState ?? ''} from ${m.used?.pointId ?? '—'}${ok ? ` = ${what}` : `: ${m.problems.join('; ')}`}`);
  }
  return verification;
}

/** The link of a pending request other than `except`, once its e-mail is in the outbox. */
async function newPendingLink(url: string, incidentId: string, except: string[]): Promise<ApprovalLink> {
  return poll(`a new approval request for ${incidentId}`, async () => {
    const d = await getJson<IncidentDetail>(`${url}/local/incidents/${incidentId}`);
    const pending = d.approvals.find((a) => a.status === 'pending' && !except.includes(a.approvalId) && a.link);
    return pending?.link ?? undefined;
  }, 30_000);
}

interface FindingOptions {
  leadMinutes?: number;
  /** Send it about this instance (and its tags) instead of the file's. */
  instance?: { instanceId: string; tags: Record<string, string> };
}

async function sendFinding(url: string, file: string, options: FindingOptions = {}): Promise<SentFinding & { reinfected?: boolean }> {
  const status = await getJson<{ now: string }>(`${url}/local/status`);
  const event = retimeFinding(JSON.parse(readFileSync(file, 'utf8')), { nowMs: Date.parse(status.now), ...(options.leadMinutes ? { leadMinutes: options.leadMinutes } : {}) }) as { detail: { resource: { instanceDetails: { instanceId: string; tags: { key: string; value: string }[] } } } };
  if (options.instance) {
    event.detail.resource.instanceDetails.instanceId = options.instance.instanceId;
    event.detail.resource.instanceDetails.tags = Object.entries(options.instance.tags).map(([key, value]) => ({ key, value }));
  }
  const res = await fetch(`${url}/local/findings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
  const body = await res.json() as SentFinding & { error?: string };
  if (!res.ok) throw new Error(`POST /local/findings answered ${res.status}: ${body.error}`);
  return body;
}

/** The approval link exactly as the decider received it: from the e-mail in the outbox. */
async function approvalLinkFromOutbox(url: string, approval: ApprovalLink | null): Promise<ApprovalLink> {
  if (!approval) throw new Error('no approval request was sent for the incident');
  const needle = `/approvals/${approval.approvalId}?`;
  return poll(`the approval e-mail to ${approval.email}`, async () => {
    const { messages } = await getJson<{ messages: { text: string }[] }>(`${url}/local/outbox?to=${encodeURIComponent(approval.email)}`);
    const link = messages.flatMap((m) => m.text.match(/https?:\/\/\S+/g) ?? []).find((u) => u.includes(needle));
    return link ? { ...approval, url: link } : undefined;
  });
}

/** GET the page as a browser would, then POST its approve form (with the CSRF token it carries). */
async function approveThroughPage(link: ApprovalLink): Promise<void> {
  const page = await fetch(link.url);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`the approval page answered ${page.status}`);
  const form = decisionForm(html, 'approve');
  const res = await fetch(new URL(form.action, link.url), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...form.fields, step: 'confirm' }).toString(),
  });
  const after = await res.text();
  if (res.status !== 200) throw new Error(`approving answered ${res.status}: ${after.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)}`);
}

/** The form holding `decision=approve` (or reject): its action and hidden fields (HTML entities decoded). */
export function decisionForm(html: string, decision: 'approve' | 'reject'): { action: string; fields: Record<string, string> } {
  const form = html.split('<form').slice(1).map((f) => f.slice(0, f.indexOf('</form>'))).find((f) => f.includes(`name="decision" value="${decision}"`));
  if (!form) throw new Error(`the approval page has no ${decision} form (already decided, or not a decider?)`);
  const action = decode(form.match(/action="([^"]+)"/)?.[1] ?? '');
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input\b[^>]*>/g)) {
    const tag = m[0];
    const name = tag.match(/name="([^"]*)"/)?.[1];
    if (!/type="hidden"/.test(tag) || !name) continue;
    fields[decode(name)] = decode(tag.match(/value="([^"]*)"/)?.[1] ?? '');
  }
  return { action, fields };
}

function decode(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const SETTLED = ['recovered', 'failover-failed', 'rejected', 'expired', 'notified', 'ignored', 'closed'];

async function waitForSettled(url: string, incidentId: string, timeoutMs: number, also: (d: IncidentDetail) => boolean = () => true): Promise<IncidentDetail> {
  return poll(`incident ${incidentId} to settle`, async () => {
    const d = await getJson<IncidentDetail>(`${url}/local/incidents/${incidentId}`);
    return SETTLED.includes(d.incident.status) && (d.incident.outcome || d.incident.status !== 'recovered') && also(d) ? d : undefined;
  }, timeoutMs);
}

function report(log: (l: string) => void, d: IncidentDetail): void {
  const selection = d.proposal?.selection;
  log(`Suspected corruption since ${d.incident.suspectedSince}; every machine restores from its latest clean point at or before it.`);
  for (const m of selection?.machines ?? []) log(`  ${m.machineId.padEnd(16)} ${m.pointId}  ${m.capturedAt}  gives up ${round(m.lossMinutes)} min of clean data${skippedText(m)}`);
  for (const b of selection?.blockers ?? []) log(`  ${b.machineId.padEnd(16)} BLOCKED: ${b.reason}`);
  for (const g of selection?.groups ?? []) log(`  group ${g.group}: consistency skew ${g.consistencySkewMinutes ?? '—'} min`);
  const o = d.incident.outcome;
  const objective = (k: 'rtoMinutes' | 'rpoMinutes') => Object.values(d.objectives).map((v) => v[k]).filter((v): v is number => v !== null);
  if (o) {
    log(`Measured RTO ${o.rtoMinutes === null ? '—' : `${round(o.rtoMinutes)} min`} (objective ${objective('rtoMinutes').join('/') || '—'} min), ` +
      `RPO ${o.rpoMinutes === null ? '—' : `${round(o.rpoMinutes)} min`} (objective ${objective('rpoMinutes').join('/') || '—'} min; ransomware moves the restore point back past the corruption)`);
  }
}

function skippedText(m: ChosenPoint): string {
  if (!m.skippedCount) return '';
  return `; skipped ${m.skippedCount} newer: ${m.skipped.map((s) => `${s.capturedAt.slice(11, 16)} ${s.reason}`).join(', ')}${m.skippedCount > m.skipped.length ? ', …' : ''}`;
}

const round = (n: number) => Math.round(n * 10) / 10;

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = await res.json() as T & { error?: string };
  if (!res.ok) throw new Error(`GET ${new URL(url).pathname} answered ${res.status}: ${body.error}`);
  return body;
}

async function poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const result = await runDemo();
  process.exit(result.ok ? 0 : 1);
}
