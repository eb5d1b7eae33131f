import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  approvalCard, claimsFrom, csrfToken, deciderOptions, linkGeneration, recordRefusal, safeEqual, supersededWhy, validateView, verifyLink, withoutToken,
  type ApprovalRequest, type Attempt, type DecideDeps, type LinkRefusal,
} from '../../domain/approvals/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import type { GroupReadiness } from '../../domain/protection/index.ts';
import { APPROVAL_ID, NotFoundError } from '../../domain/shared/index.ts';
import { header, html, HttpError, publicMessage, statusFor, type HttpResult } from './edge/index.ts';
import { logger } from './observability.ts';
import { approvalPage, messagePage, readinessSection, type PageIdentity } from './presenters/approval-page.ts';

/**
 * The web edge of the approval page, shared by show-approval (GET) and post-decision (POST):
 * the personal link that identifies the decider, the browser checks of a form post (same
 * origin, CSRF token), the page rendered with the presenter, and errors as pages. The rules of
 * a decision are not here: they are the domain's (validateDecision, validateView,
 * deciderOptions); every refusal here is audited through the domain's recordRefusal.
 */

export interface PageDeps extends DecideDeps {
  linkSecret: string;
  /** The latest readiness report per group (from the daily check), shown to deciders. */
  readiness?: (group: string) => Promise<GroupReadiness | null>;
}

const LINK_REFUSALS: Record<LinkRefusal, readonly [number, string]> = {
  'malformed': [403, 'This approval link is not valid for this request.'],
  'bad-signature': [403, 'This approval link is not valid for this request.'],
  'revoked': [403, 'This approval link was withdrawn. Use the newest link you were sent, or ask for a new one.'],
  'expired': [410, 'This approval link has expired.'],
};

/** Query or form fields that would make a GET look like a decision: refused, never acted on. */
const DECISION_PARAMS = ['decision', 'approve', 'reject', 'action', 'csrf', 'step', 'reason'];

/** The address the request came from, for the audit trail. */
export const sourceOf = (event: APIGatewayProxyEventV2): string => event.requestContext?.http?.sourceIp ?? 'unknown';

/** The request named by the route's {approvalId} (an id of the wrong shape names none). */
export async function loadRequest(d: Pick<PageDeps, 'approvals'>, approvalId: string | undefined): Promise<ApprovalRequest> {
  const request = approvalId && APPROVAL_ID.pattern.test(approvalId) ? await d.approvals.getApproval(approvalId) : null;
  if (!request) throw new NotFoundError('No approval request with this id exists.');
  return request;
}

export async function incidentOf(d: Pick<PageDeps, 'incidents'>, request: ApprovalRequest): Promise<Incident> {
  const incident = await d.incidents.getIncident(request.incidentId);
  if (!incident) throw new NotFoundError('incident not found');
  return incident;
}

/** The personal link identifies the decider: signature, generation (not revoked), expiry, this request. */
export async function identify(d: PageDeps, request: ApprovalRequest, f: Record<string, string | undefined>, source: string): Promise<PageIdentity> {
  const { claims, signature } = claimsFrom(request.approvalId, f);
  const check = verifyLink(d.linkSecret, claims, signature, d.clock.now(), linkGeneration(request, claims.personId));
  if (!check.ok) {
    // The person named by an unverified link is only a claim: recorded as such.
    const actor = check.reason === 'bad-signature' || check.reason === 'malformed' ? `unverified:${claims.personId.slice(0, 64) || 'unknown'}` : claims.personId;
    await recordRefusal(d, request, { personId: actor, channel: 'web', source }, `link ${check.reason}`);
    const [status, message] = LINK_REFUSALS[check.reason];
    throw new HttpError(status, message);
  }
  return {
    personId: claims.personId,
    personName: d.index.personById.get(claims.personId)?.name ?? claims.personId,
    hidden: { p: claims.personId, e: String(claims.exp), g: String(claims.gen), s: signature, csrf: csrfToken(d.linkSecret, claims) },
  };
}

/**
 * What a GET may not do: carry decision parameters (mail scanners and link previews follow
 * links, so a GET never decides), or open a request the domain no longer shows (superseded).
 */
export async function refuseWhatAGetCannotDo(d: PageDeps, request: ApprovalRequest, who: PageIdentity, query: Record<string, string | undefined>, source: string): Promise<void> {
  const attempt: Attempt = { personId: who.personId, channel: 'web', source };
  if (DECISION_PARAMS.some((k) => k in query)) {
    await recordRefusal(d, request, attempt, 'a GET request carried decision parameters; decisions are only taken by POST');
    throw new HttpError(405, 'Decisions are never taken from a link. Open the link and use the buttons on the page.');
  }
  const refused = validateView(request);
  if (refused) {
    // The evidence moved while this request was pending: its links stop working, and say why.
    await recordRefusal(d, request, attempt, supersededWhy(refused));
    throw new HttpError(410, `This request was ${supersededWhy(refused)}. Use the link in the newer message you were sent.`);
  }
}

/**
 * Defence in depth next to the CSRF token: browsers say where a form post comes from. A post
 * from another site (Sec-Fetch-Site) or another origin (Origin ≠ Host) is refused. Clients
 * that send neither header (curl, old browsers) still need the CSRF token.
 */
export function crossSiteReason(event: APIGatewayProxyEventV2): string | null {
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

/** The form's CSRF token must be the one the decider's page carried (bound to request, person, expiry, generation). */
export function csrfMatches(d: Pick<PageDeps, 'linkSecret'>, request: ApprovalRequest, fields: Record<string, string | undefined>): boolean {
  return safeEqual(csrfToken(d.linkSecret, claimsFrom(request.approvalId, fields).claims), fields['csrf'] ?? '');
}

/** The page of a request for the person the link identifies, with what the rules let them do. */
export async function renderRequest(d: PageDeps, request: ApprovalRequest, who: PageIdentity, notice?: string): Promise<string> {
  const incident = await incidentOf(d, request);
  const card = approvalCard(withoutToken(request), incident, d.index);
  const readiness = d.readiness ? readinessSection(await Promise.all(request.groups.map(async (group) => ({ group, report: await d.readiness!(group).catch(() => null) })))) : undefined;
  return approvalPage(withoutToken(request), incident, who, {
    scans: Object.fromEntries(card.machines.map((m) => [m.machineId, m.scan])),
    ...(readiness ? { readiness } : {}),
    now: d.clock.now(),
    ...deciderOptions(d.index, request, who.personId),
    nameOf: (id) => d.index.personById.get(id)?.name ?? id,
    ...(notice ? { notice } : {}),
  });
}

/** Errors become pages here: 4xx messages are shown, 5xx internals never are. */
export function pageFailure(e: unknown, event: APIGatewayProxyEventV2): HttpResult {
  const status = statusFor(e);
  const message = publicMessage(e, status);
  if (status < 500) logger.info('approval request refused', { status, reason: message, method: event.requestContext?.http?.method, path: event.rawPath });
  return html(status, messagePage(status, status === 410 ? 'Expired' : status === 403 ? 'Not allowed' : 'Request refused', message));
}
