import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { withoutToken, type ApprovalRequest, type Channel } from '../../domain/approval.ts';
import { decideApproval, type DecideDeps } from '../../domain/approvals.ts';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { csrfToken, safeEqual, verifyLink, type LinkClaims } from '../../domain/links.ts';
import { proposeFailover } from '../../domain/plan.ts';
import type { Policy } from '../../domain/policy.ts';
import type { RecoveryPointCatalog } from '../../domain/ports.ts';
import { isIsoTimestamp } from '../../domain/validation.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { header, html, HttpError, publicMessage, rawBody, statusFor, type HttpResult } from '../shared/http/http.ts';
import { lambda } from '../shared/middleware.ts';
import { logger, metrics } from '../shared/observability.ts';
import { getSecret } from '../shared/secrets.ts';
import { catalogStore, clock, estate, stateStores, workflowEngine } from '../shared/wiring.ts';
import { approvalPage, messagePage, previewPage, type PageIdentity } from './page.ts';

export interface DecideHttpDeps extends DecideDeps {
  linkSecret: string;
  catalog: RecoveryPointCatalog;
  policy: Policy;
}

const DECISION_PARAMS = ['decision', 'approve', 'reject', 'action', 'csrf'];

/**
 * HTTP API for the approval page:
 *   GET  /approvals/{approvalId}?p=&e=&s=   shows the request to the person the link was sent to
 *   POST /approvals/{approvalId}/decision   decides (form: link fields, csrf, decision, reason, cutoffs)
 * GET never decides (mail scanners and link previews follow links); a decision needs the
 * personal link's signature AND the CSRF token rendered into that person's form.
 */
export function makeHandler(deps: () => Promise<DecideHttpDeps>) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? event.requestContext?.http?.path ?? '';
    const source = event.requestContext?.http?.sourceIp ?? 'unknown';
    try {
      const d = await deps();
      const view = path.match(/^\/approvals\/([A-Za-z0-9_-]{1,64})$/);
      const decide = path.match(/^\/approvals\/([A-Za-z0-9_-]{1,64})\/decision$/);
      if (view && method === 'GET') return await showPage(d, view[1]!, event.queryStringParameters ?? {}, source);
      if (decide && method === 'POST') return await postDecision(d, decide[1]!, event, source);
      if (view || decide) throw new HttpError(405, 'method not allowed');
      throw new HttpError(404, 'no such page');
    } catch (e) {
      const status = statusFor(e);
      if (status < 500) logger.info('approval request refused', { status, reason: (e as Error).message, method, path });
      return html(status, messagePage(status, status === 410 ? 'Expired' : status === 403 ? 'Not allowed' : 'Request refused', publicMessage(e, status)));
    }
  };
}

async function showPage(d: DecideHttpDeps, approvalId: string, query: Record<string, string | undefined>, source: string): Promise<HttpResult> {
  const request = await load(d, approvalId);
  const who = await identify(d, request, query, source, 'web');
  if (DECISION_PARAMS.some((k) => k in query)) {
    await refuseAudit(d, request, who.personId, source, 'a GET request carried decision parameters; decisions are only taken by POST');
    throw new HttpError(405, 'Decisions are never taken from a link. Open the link and use the buttons on the page.');
  }
  const incident = await d.incidents.getIncident(request.incidentId);
  if (!incident) throw new NotFoundError('incident not found');
  return html(200, approvalPage(withoutToken(request), incident, who));
}

async function postDecision(d: DecideHttpDeps, approvalId: string, event: APIGatewayProxyEventV2, source: string): Promise<HttpResult> {
  const type = header(event, 'content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new HttpError(415, 'decisions are posted as an HTML form');
  const form = new URLSearchParams(rawBody(event));
  const request = await load(d, approvalId);
  const fields = Object.fromEntries([...form.keys()].map((k) => [k, form.get(k) ?? undefined]));
  const who = await identify(d, request, fields, source, 'web');
  const claims = claimsOf(request.approvalId, fields);
  if (!safeEqual(csrfToken(d.linkSecret, claims), form.get('csrf') ?? '')) {
    await refuseAudit(d, request, who.personId, source, 'missing or invalid CSRF token');
    throw new HttpError(403, 'This form has expired or did not come from your approval page. Open your link again.');
  }
  const decision = form.get('decision');
  if (decision !== 'approve' && decision !== 'reject') throw new ValidationError('decision form', [{ path: 'decision', message: 'must be approve or reject' }]);
  const reason = (form.get('reason') ?? '').trim().slice(0, 1000);
  if (decision === 'reject' && !reason) throw new ValidationError('decision form', [{ path: 'reason', message: 'a rejection needs a reason' }]);
  const cutoffs: Record<string, string> = {};
  for (const [k, v] of form) {
    if (!k.startsWith('cutoff:') || !v) continue;
    const group = k.slice('cutoff:'.length);
    if (!request.groups.includes(group)) throw new ValidationError('decision form', [{ path: k, message: `group ${group} is not part of this request` }]);
    if (!isIsoTimestamp(v)) throw new ValidationError('decision form', [{ path: k, message: 'must be an ISO-8601 timestamp' }]);
    if (Date.parse(v) > Date.parse(request.proposal.cutoff)) throw new ValidationError('decision form', [{ path: k, message: 'may only move the cutoff earlier' }]);
    cutoffs[group] = v;
  }
  if (form.get('step') === 'preview' && decision === 'approve') {
    const incident = await d.incidents.getIncident(request.incidentId);
    if (!incident) throw new NotFoundError('incident not found');
    const recomputed = await proposeFailover({ policy: d.policy, index: d.index, catalog: d.catalog })(
      { ...incident.assessment, suspectedSince: request.proposal.cutoff, groups: incident.groups, machines: incident.machines },
      { groupCutoffs: cutoffs, alternatives: 0 },
    );
    return html(200, previewPage(withoutToken(request), recomputed.selection, cutoffs, who));
  }
  const result = await decideApproval(d)({
    approvalId: request.approvalId, personId: who.personId, decision, channel: 'web', source,
    ...(reason ? { reason } : {}), ...(Object.keys(cutoffs).length ? { groupCutoffs: cutoffs } : {}),
  });
  metrics.addMetric(decision === 'approve' ? 'Approvals' : 'Rejections', MetricUnit.Count, result.duplicate ? 0 : 1);
  const incident = await d.incidents.getIncident(request.incidentId);
  if (!incident) throw new NotFoundError('incident not found');
  return html(200, approvalPage(withoutToken(result.request), incident, who));
}

async function load(d: DecideHttpDeps, approvalId: string): Promise<ApprovalRequest> {
  const request = await d.approvals.getApproval(approvalId);
  if (!request) throw new NotFoundError('No approval request with this id exists.');
  return request;
}

function claimsOf(approvalId: string, f: Record<string, string | undefined>): LinkClaims {
  return { approvalId, personId: f['p'] ?? '', exp: Number(f['e'] ?? NaN) };
}

/** The personal link identifies the decider: signature, expiry, and that it names this request. */
async function identify(d: DecideHttpDeps, request: ApprovalRequest, f: Record<string, string | undefined>, source: string, channel: Channel): Promise<PageIdentity> {
  const claims = claimsOf(request.approvalId, f);
  const check = verifyLink(d.linkSecret, claims, f['s'] ?? '', d.clock.now());
  if (!check.ok) {
    await refuseAudit(d, request, claims.personId || 'unknown', source, `link ${check.reason}`, channel);
    throw new HttpError(check.reason === 'expired' ? 410 : 403,
      check.reason === 'expired' ? 'This approval link has expired.' : 'This approval link is not valid for this request.');
  }
  const person = d.index.personById.get(claims.personId);
  return {
    personId: claims.personId,
    personName: person?.name ?? claims.personId,
    hidden: { p: claims.personId, e: String(claims.exp), s: f['s'] ?? '', csrf: csrfToken(d.linkSecret, claims) },
  };
}

async function refuseAudit(d: DecideHttpDeps, r: ApprovalRequest, actor: string, source: string, outcome: string, channel: Channel = 'web') {
  await d.audit.append(r.incidentId, { type: 'approval.refused', actor, at: new Date(d.clock.now()).toISOString(), data: { approvalId: r.approvalId, channel, source, outcome } });
}

const config = loadConfig({
  STATE_TABLE: configVars.STATE_TABLE, CATALOG_TABLE: configVars.CATALOG_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
  POLICY_SOURCE: configVars.POLICY_SOURCE, LINK_SECRET_PARAMETER: configVars.LINK_SECRET_PARAMETER,
  INCIDENT_STATE_MACHINE_ARN: configVars.INCIDENT_STATE_MACHINE_ARN.optional(),
});
const stores = stateStores(config);
const catalog = catalogStore(config);
const workflows = workflowEngine(config);

export const handler = lambda(makeHandler(async () => ({
  ...stores, workflows, catalog, clock, ...(await estate(config)), linkSecret: await getSecret(config.LINK_SECRET_PARAMETER),
})));
