import { z } from 'zod';
import { buildEvidencePack, verifyAuditChain } from '../domain/evidence/index.ts';
import { domainErrorsAsHttp, HttpError, idSchemas, parseInput, parseJsonBody } from '../functions/shared/edge/index.ts';
import { EVIDENCE_HEADERS, renderEvidenceHtml } from '../functions/shared/presenters/evidence-html.ts';
import { json, type LocalRequest, type LocalResponse, type Route, type RouteDeps } from './routes.ts';
import { decideAsOperator } from './approval-decisions.ts';

/**
 * Local API routes for what happens to an incident after the proposal: a decision from the
 * CLI, the evidence pack and its verification, the failback and closing. They call the same
 * handler or use case the deployed system uses (manage-incident, the operator's decision path, local/approval-decisions.ts).
 */
const person = idSchemas.personId;
const failbackBody = z.strictObject({ by: person });
const closeBody = z.strictObject({ by: person, reason: z.string().trim().min(1, 'a reason is required').max(1000) });
const decisionBody = z.strictObject({ as: person, decision: z.enum(['approve', 'reject']), reason: z.string().max(1000).optional(), confirmUnverified: z.boolean().optional() });


export function incidentActionRoutes(deps: RouteDeps): Route[] {
  return [
    { method: 'GET', path: '/local/incidents/{incidentId}/evidence', handle: (req) => evidence(deps, req) },
    { method: 'GET', path: '/local/incidents/{incidentId}/verify', handle: (req) => verify(deps, req) },
    { method: 'POST', path: '/local/incidents/{incidentId}/failback', handle: (req) => act(deps, req, 'failback') },
    { method: 'POST', path: '/local/incidents/{incidentId}/close', handle: (req) => act(deps, req, 'close') },
    { method: 'POST', path: '/local/approvals/{approvalId}/decision', handle: (req) => decide(deps, req) },
  ];
}

function incidentParam(req: LocalRequest): string {
  return parseInput(idSchemas.incidentId, req.params['incidentId'], 'incidentId');
}

async function evidence(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  const format = req.query.get('format') ?? 'json';
  if (format !== 'json' && format !== 'html') throw new HttpError(400, `format must be json or html, not ${JSON.stringify(format)}`);
  const pack = await mapErrors(() => buildEvidencePack({ ...deps.stores, index: deps.rt.index, now: () => new Date(deps.rt.clock.now()).toISOString() })(incidentParam(req)));
  if (format === 'json') return json(200, pack);
  return { status: 200, headers: { ...EVIDENCE_HEADERS }, body: renderEvidenceHtml(pack) };
}

async function verify(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  const id = incidentParam(req);
  if (!(await deps.stores.incidents.getIncident(id))) throw new HttpError(404, `no incident ${id}`);
  const entries = await deps.stores.audit.list(id);
  return json(200, { incidentId: id, entries: entries.length, ...verifyAuditChain(entries) });
}

async function act(deps: RouteDeps, req: LocalRequest, action: 'failback' | 'close'): Promise<LocalResponse> {
  const id = incidentParam(req);
  const body = parseInput(action === 'close' ? closeBody : failbackBody, bodyOf(req), `${action} request`);
  const out = await mapErrors(() => deps.rt.invoke('manage-incident', { action, incidentId: id, ...body }));
  return json(action === 'failback' ? 202 : 200, out);
}

async function decide(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  const approvalId = parseInput(idSchemas.approvalId, req.params['approvalId'], 'approvalId');
  const body = parseInput(decisionBody, bodyOf(req), 'decision');
  // The CLI's decision path (decideFromCli, channel cli: the validator every channel uses).
  const out = await mapErrors(() => decideAsOperator(deps.rt)({ approvalId, as: body.as, decision: body.decision, ...(body.reason ? { reason: body.reason } : {}), ...(body.confirmUnverified ? { confirmUnverified: true } : {}), source: `local-api:${req.sourceIp}` }));
  return json(200, out);
}

/** An empty body stands for null (the schema then names what is missing). */
const bodyOf = (req: LocalRequest): unknown => parseJsonBody(req.body, req.headers['content-type'], { ifEmpty: null });

/** Domain errors become the 4xx a caller can act on (also by name: they may come from an invoked function); anything else stays a 500. */
const mapErrors = <T>(fn: () => Promise<T>): Promise<T> => domainErrorsAsHttp(fn, { byName: true });
