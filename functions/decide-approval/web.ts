import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { withoutToken, type ApprovalRequest, type DecisionKind } from '../../domain/approvals/index.ts';
import { approvalCard, decideApproval, mayApprove, recordRefusal, type Attempt, type DecideDeps } from '../../domain/approvals/index.ts';
import { NotFoundError } from '../../domain/shared/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import { claimsFrom, csrfToken, linkGeneration, safeEqual, verifyLink } from '../../domain/approvals/index.ts';
import { proposeFailover } from '../../domain/failover/index.ts';
import { readinessBadgeOf, type GroupReadiness } from '../../domain/protection/index.ts';
import type { Policy } from '../../domain/findings/index.ts';
import type { RecoveryPointCatalog } from '../../domain/ports/index.ts';
import { isIsoTimestamp } from '../../domain/shared/index.ts';
import { escapeHtml, header, html, HttpError, rawBody, type HttpResult } from '../shared/http/http.ts';
import { metrics } from '../shared/observability.ts';
import { approvalPage, previewPage, type PageIdentity } from './page.ts';

export interface WebDeps extends DecideDeps {
  linkSecret: string;
  catalog: RecoveryPointCatalog;
  policy: Policy;
  /** The latest readiness report per group (from the daily check), shown to deciders. */
  readiness?: (group: string) => Promise<GroupReadiness | null>;
}

/** Query or form fields that would make a GET look like a decision: refused, never acted on. */
const DECISION_PARAMS = ['decision', 'approve', 'reject', 'action', 'csrf', 'step', 'reason'];

const LINK_REFUSALS = {
  'malformed': [403, 'This approval link is not valid for this request.'],
  'bad-signature': [403, 'This approval link is not valid for this request.'],
  'revoked': [403, 'This approval link was withdrawn. Use the newest link you were sent, or ask for a new one.'],
  'expired': [410, 'This approval link has expired.'],
} as const;

/**
 * GET /approvals/{id}?p=&e=&g=&s= — shows the request to the person the link was sent to.
 * A GET never decides, whatever it carries (mail scanners and link previews follow links).
 */
export async function showPage(d: WebDeps, approvalId: string, query: Record<string, string | undefined>, source: string): Promise<HttpResult> {
  const request = await load(d, approvalId);
  const who = await identify(d, request, query, source);
  if (DECISION_PARAMS.some((k) => k in query)) {
    await recordRefusal(d, request, { personId: who.personId, channel: 'web', source }, 'a GET request carried decision parameters; decisions are only taken by POST');
    throw new HttpError(405, 'Decisions are never taken from a link. Open the link and use the buttons on the page.');
  }
  if (request.status === 'superseded') {
    // The evidence moved while this request was pending: its links stop working, and say why.
    const why = `superseded by a newer proposal${request.closedReason ? ` (${request.closedReason})` : ''}`;
    await recordRefusal(d, request, { personId: who.personId, channel: 'web', source }, why);
    throw new HttpError(410, `This request was ${why}. Use the link in the newer message you were sent.`);
  }
  return html(200, render(d, request, await incidentOf(d, request), who, undefined, await readinessHtml(d, request.groups)));
}

/**
 * POST /approvals/{id}/decision — the form of the page: link fields, CSRF token, decision,
 * reason (reject), older cutoffs (approve), step (preview | confirm).
 * Order: well-formed form ▶ personal link ▶ same-origin ▶ CSRF ▶ fields ▶ (preview | decide).
 * Every refused attempt is audited once; the request changes only through decideApproval.
 */
export async function postDecision(d: WebDeps, approvalId: string, event: APIGatewayProxyEventV2, source: string): Promise<HttpResult> {
  const type = header(event, 'content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new HttpError(415, 'decisions are posted as an HTML form');
  const form = new URLSearchParams(rawBody(event));
  const request = await load(d, approvalId);
  const fields = Object.fromEntries([...form.keys()].map((k) => [k, form.get(k) ?? undefined]));
  const who = await identify(d, request, fields, source);
  const decisionField = form.get('decision');
  const decision: DecisionKind | undefined = decisionField === 'approve' || decisionField === 'reject' ? decisionField : undefined;
  const attempt: Attempt = { personId: who.personId, channel: 'web', source, ...(decision ? { decision } : {}) };
  const refuse = async (status: number, why: string, message: string): Promise<never> => {
    await recordRefusal(d, request, attempt, why);
    throw new HttpError(status, message);
  };

  const crossSite = crossSiteReason(event);
  if (crossSite) await refuse(403, `cross-site form post (${crossSite})`, 'This form did not come from your approval page. Open your link again.');
  const { claims } = claimsFrom(request.approvalId, fields);
  if (!safeEqual(csrfToken(d.linkSecret, claims), form.get('csrf') ?? '')) {
    await refuse(403, 'missing or invalid CSRF token', 'This form has expired or did not come from your approval page. Open your link again.');
  }
  if (!decision) await refuse(400, 'the form named no decision', 'decision form: decision: must be approve or reject');
  const reason = (form.get('reason') ?? '').trim().slice(0, 1000);
  if (decision === 'reject' && !reason) await refuse(400, 'a rejection without a reason', 'decision form: reason: a rejection needs a reason');
  const cutoffs: Record<string, string> = {};
  for (const [k, v] of form) {
    if (!k.startsWith('cutoff:') || !v) continue;
    const group = k.slice('cutoff:'.length);
    const problem = !request.proposal ? 'a failback has no restore points to pick'
      : !request.groups.includes(group) ? `group ${group} is not part of this request`
      : !isIsoTimestamp(v) ? 'must be an ISO-8601 timestamp'
        : Date.parse(v) > Date.parse(request.proposal.cutoff) ? 'may only move the cutoff earlier' : null;
    if (problem) await refuse(400, `invalid cutoff ${k}: ${problem}`, `decision form: ${k}: ${problem}`);
    cutoffs[group] = v;
  }

  if (form.get('step') === 'preview' && !request.proposal) await refuse(400, 'a preview of a failback', 'decision form: step: a failback has no restore points to preview');
  if (form.get('step') === 'preview' && decision === 'approve' && request.proposal) {
    // Recompute with the older cutoffs and show it; nothing is decided until the confirm POST.
    const incident = await incidentOf(d, request);
    const recomputed = await proposeFailover({ policy: d.policy, index: d.index, catalog: d.catalog })(
      { ...incident.assessment, suspectedSince: request.proposal.cutoff, groups: incident.groups, machines: incident.machines },
      { groupCutoffs: cutoffs, alternatives: 0 },
    );
    return html(200, previewPage(withoutToken(request), recomputed.selection, recomputed.plan, cutoffs, who));
  }
  const result = await decideApproval(d)({
    approvalId: request.approvalId, personId: who.personId, decision: decision!, channel: 'web', source,
    ...(reason ? { reason } : {}), ...(Object.keys(cutoffs).length ? { groupCutoffs: cutoffs } : {}),
    // The second confirmation a point with an unverified malware scan needs (the page's checkbox).
    ...(form.get('confirmUnverified') === 'true' ? { confirmUnverified: true } : {}),
  });
  metrics.addMetric(decision === 'approve' ? 'Approvals' : 'Rejections', MetricUnit.Count, result.duplicate ? 0 : 1);
  const notice = result.duplicate ? 'Your decision was already recorded; nothing was changed.' : undefined;
  return html(200, render(d, result.request, await incidentOf(d, request), who, notice, await readinessHtml(d, request.groups)));
}

/**
 * What the last readiness check said about each affected group (deciders reachable, networks,
 * quota, a recent drill, a point within RPO): a decider should know before approving that the
 * recovery network is gone or the quota too small.
 */
async function readinessHtml(d: WebDeps, groups: string[]): Promise<string | undefined> {
  if (!d.readiness) return undefined;
  const parts: string[] = [];
  for (const group of groups) {
    const report = await d.readiness(group).catch(() => null);
    const badge = readinessBadgeOf(report);
    const problems = report?.problems ?? [];
    parts.push(`<p data-readiness="${escapeHtml(group)}"><b>${escapeHtml(group)}</b>: <span class="badge ${badge.tone === 'bad' ? 'rejected' : badge.tone === 'warn' ? 'pending' : badge.tone === 'ok' ? 'approved' : ''}">${escapeHtml(badge.text)}</span>`
      + `${report ? ` <span class="muted">checked ${escapeHtml(report.checkedAt)}</span>` : ''}</p>`
      + (problems.length ? `<ul>${problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>` : ''));
  }
  return parts.join('');
}

function render(d: WebDeps, request: ApprovalRequest, incident: Incident, who: PageIdentity, notice?: string, readiness?: string): string {
  const card = approvalCard(withoutToken(request), incident, d.index);
  return approvalPage(withoutToken(request), incident, who, {
    scans: Object.fromEntries(card.machines.map((m) => [m.machineId, m.scan])),
    ...(readiness ? { readiness } : {}),
    now: d.clock.now(),
    canReject: request.eligibleDeciders.includes(who.personId),
    canApprove: mayApprove(d.index, request, who.personId),
    nameOf: (id) => d.index.personById.get(id)?.name ?? id,
    ...(notice ? { notice } : {}),
  });
}

async function load(d: WebDeps, approvalId: string): Promise<ApprovalRequest> {
  const request = await d.approvals.getApproval(approvalId);
  if (!request) throw new NotFoundError('No approval request with this id exists.');
  return request;
}

async function incidentOf(d: WebDeps, request: ApprovalRequest): Promise<Incident> {
  const incident = await d.incidents.getIncident(request.incidentId);
  if (!incident) throw new NotFoundError('incident not found');
  return incident;
}

/** The personal link identifies the decider: signature, generation (not revoked), expiry, this request. */
async function identify(d: WebDeps, request: ApprovalRequest, f: Record<string, string | undefined>, source: string): Promise<PageIdentity> {
  const { claims, signature } = claimsFrom(request.approvalId, f);
  const check = verifyLink(d.linkSecret, claims, signature, d.clock.now(), linkGeneration(request, claims.personId));
  if (!check.ok) {
    // The person named by an unverified link is only a claim: recorded as such.
    const actor = check.reason === 'bad-signature' || check.reason === 'malformed' ? `unverified:${claims.personId.slice(0, 64) || 'unknown'}` : claims.personId;
    await recordRefusal(d, request, { personId: actor, channel: 'web', source }, `link ${check.reason}`);
    const [status, message] = LINK_REFUSALS[check.reason];
    throw new HttpError(status, message);
  }
  const person = d.index.personById.get(claims.personId);
  return {
    personId: claims.personId,
    personName: person?.name ?? claims.personId,
    hidden: { p: claims.personId, e: String(claims.exp), g: String(claims.gen), s: signature, csrf: csrfToken(d.linkSecret, claims) },
  };
}

/**
 * Defence in depth next to the CSRF token: browsers say where a form post comes from. A post
 * from another site (Sec-Fetch-Site) or another origin (Origin ≠ Host) is refused. Clients
 * that send neither header (curl, old browsers) still need the CSRF token.
 */
function crossSiteReason(event: APIGatewayProxyEventV2): string | null {
  const site = header(event, 'sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${site}`;
  const origin = header(event, 'origin');
  if (origin === undefined) return null;
  // Browsers send the opaque origin "null" when the page's referrer policy withholds it; the
  // browser's own Sec-Fetch-Site then says whether the form came from this site.
  if (origin === 'null') return site === 'same-origin' ? null : 'Origin: null without Sec-Fetch-Site: same-origin';
  const host = header(event, 'host');
  if (!host) return null; // API Gateway always passes Host; a local caller that does not is judged by Sec-Fetch-Site and CSRF
  try {
    return new URL(origin).host === host ? null : `Origin: ${origin.slice(0, 100)}`;
  } catch {
    return 'unreadable Origin';
  }
}
