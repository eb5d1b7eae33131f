import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { recordRefusal, withoutToken, type ApprovalRequest, type Attempt, type DecideInput, type DecisionKind } from '../../domain/approvals/index.ts';
import type { Policy } from '../../domain/findings/index.ts';
import { proposeFailover } from '../../domain/failover/index.ts';
import type { RecoveryPointCatalog } from '../../domain/ports/index.ts';
import { crossSiteReason, csrfMatches, incidentOf, type PageDeps } from '../shared/approval-page.ts';
import { header, HttpError, rawBody } from '../shared/edge/index.ts';
import { previewPage, type PageIdentity } from '../shared/presenters/approval-page.ts';

/**
 * The page's decision form, read: link fields, CSRF token, decision, reason (reject), older
 * cutoffs (approve), step (preview | confirm). What the browser and the form must get right is
 * checked here (a form post, same origin, the CSRF token, a decision named); what the decision
 * may be is the domain's (decideOnPage ▶ validateDecision).
 */
export interface DecisionDeps extends PageDeps {
  catalog: RecoveryPointCatalog;
  policy: Policy;
}

export interface DecisionForm { params: URLSearchParams; fields: Record<string, string | undefined> }

export function readForm(event: APIGatewayProxyEventV2): DecisionForm {
  const type = header(event, 'content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new HttpError(415, 'decisions are posted as an HTML form');
  const params = new URLSearchParams(rawBody(event));
  return { params, fields: Object.fromEntries([...params.keys()].map((k) => [k, params.get(k) ?? undefined])) };
}

/** Order: same-origin ▶ CSRF ▶ a decision named; each refusal audited once. Then the attempt, as the domain takes it. */
export async function attemptOf(
  d: DecisionDeps, request: ApprovalRequest, who: PageIdentity, event: APIGatewayProxyEventV2, form: DecisionForm, source: string,
): Promise<DecideInput & { step: 'preview' | 'confirm' }> {
  const { params } = form;
  const named = params.get('decision');
  const decision: DecisionKind | undefined = named === 'approve' || named === 'reject' ? named : undefined;
  const attempt: Attempt = { personId: who.personId, channel: 'web', source, ...(decision ? { decision } : {}) };
  const refuse = async (status: number, why: string, message: string): Promise<never> => {
    await recordRefusal(d, request, attempt, why);
    throw new HttpError(status, message);
  };
  const crossSite = crossSiteReason(event);
  if (crossSite) await refuse(403, `cross-site form post (${crossSite})`, 'This form did not come from your approval page. Open your link again.');
  if (!csrfMatches(d, request, form.fields)) await refuse(403, 'missing or invalid CSRF token', 'This form has expired or did not come from your approval page. Open your link again.');
  if (!decision) return refuse(400, 'the form named no decision', 'decision form: decision: must be approve or reject');
  // The select's empty option is "the proposed cutoff": only picked older cutoffs are asked for.
  const cutoffs = Object.fromEntries([...params].filter(([k, v]) => k.startsWith('cutoff:') && v).map(([k, v]) => [k.slice('cutoff:'.length), v]));
  const reason = params.get('reason');
  return {
    approvalId: request.approvalId, personId: who.personId, decision, channel: 'web', source,
    ...(reason !== null ? { reason } : {}), ...(Object.keys(cutoffs).length ? { groupCutoffs: cutoffs } : {}),
    // The second confirmation a point with an unverified malware scan needs (the page's checkbox).
    ...(params.get('confirmUnverified') === 'true' ? { confirmUnverified: true } : {}),
    step: params.get('step') === 'preview' ? 'preview' : 'confirm',
    names: { form: 'decision form' },
  };
}

/** The selection recomputed with the older cutoffs, and the form that confirms them; nothing is decided. */
export async function previewOf(d: DecisionDeps, request: ApprovalRequest, cutoffs: Record<string, string>, who: PageIdentity): Promise<string> {
  const incident = await incidentOf(d, request);
  const recomputed = await proposeFailover({ policy: d.policy, index: d.index, catalog: d.catalog })(
    { ...incident.assessment, suspectedSince: request.proposal!.cutoff, groups: incident.groups, machines: incident.machines },
    { groupCutoffs: cutoffs, alternatives: 0 },
  );
  return previewPage(withoutToken(request), recomputed.selection, recomputed.plan, cutoffs, who);
}
