import { z } from 'zod';
import { verifyAuditChain } from '../domain/evidence/index.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, ApprovalExpiredError } from '../domain/shared/index.ts';
import { buildEvidencePack, renderEvidenceHtml } from '../domain/evidence/index.ts';
import { parseWith } from '../domain/shared/index.ts';
import { incidentIdSchema } from './read-model.ts';
import { HttpFailure, json, type LocalRequest, type LocalResponse, type Route, type RouteDeps } from './routes.ts';

/**
 * Local API routes for what happens to an incident after the proposal: a decision from the
 * CLI, the evidence pack and its verification, the failback and closing. They call the same
 * handler or use case the deployed system uses (manage-incident, decide-approval's CLI path).
 */
const person = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a person id from the inventory');
const failbackBody = z.strictObject({ by: person });
const closeBody = z.strictObject({ by: person, reason: z.string().trim().min(1, 'a reason is required').max(1000) });
const decisionBody = z.strictObject({ as: person, decision: z.enum(['approve', 'reject']), reason: z.string().max(1000).optional(), confirmUnverified: z.boolean().optional() });
const approvalIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'must be an approval id');

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
  return parseWith(incidentIdSchema, req.params['incidentId'], 'incidentId');
}

async function evidence(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  const format = req.query.get('format') ?? 'json';
  if (format !== 'json' && format !== 'html') throw new HttpFailure(400, `format must be json or html, not ${JSON.stringify(format)}`);
  const pack = await mapErrors(() => buildEvidencePack({ ...deps.stores, index: deps.rt.index, now: () => new Date(deps.rt.clock.now()).toISOString() })(incidentParam(req)));
  if (format === 'json') return json(200, pack);
  return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" }, body: renderEvidenceHtml(pack) };
}

async function verify(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  const id = incidentParam(req);
  if (!(await deps.stores.incidents.getIncident(id))) throw new HttpFailure(404, `no incident ${id}`);
  const entries = await deps.stores.audit.list(id);
  return json(200, { incidentId: id, entries: entries.length, ...verifyAuditChain(entries) });
}

async function act(deps: RouteDeps, req: LocalRequest, action: 'failback' | 'close'): Promise<LocalResponse> {
  const id = incidentParam(req);
  const body = parseWith(action === 'close' ? closeBody : failbackBody, bodyOf(req), `${action} request`);
  const out = await mapErrors(() => deps.rt.invoke('manage-incident', { action, incidentId: id, ...body }));
  return json(action === 'failback' ? 202 : 200, out);
}

async function decide(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  const approvalId = parseWith(approvalIdSchema, req.params['approvalId'], 'approvalId');
  const body = parseWith(decisionBody, bodyOf(req), 'decision');
  const { cliDecideApproval } = await import('../functions/decide-approval/cli.ts');
  const out = await mapErrors(() => cliDecideApproval({ approvalId, as: body.as, decision: body.decision, ...(body.reason ? { reason: body.reason } : {}), ...(body.confirmUnverified ? { confirmUnverified: true } : {}), source: `local-api:${req.sourceIp}` }));
  return json(200, out);
}

function bodyOf(req: LocalRequest): unknown {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpFailure(415, 'send the body as application/json');
  try {
    return JSON.parse(req.body || 'null');
  } catch (e) {
    throw new HttpFailure(400, `the request body is not valid JSON (${(e as Error).message})`);
  }
}

/** Domain errors become the 4xx a caller can act on; anything else stays a 500. */
async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const name = (e as Error).name;
    if (e instanceof ValidationError || name === 'ValidationError') throw new HttpFailure(400, (e as Error).message);
    if (e instanceof ForbiddenError || name === 'ForbiddenError') throw new HttpFailure(403, (e as Error).message);
    if (e instanceof NotFoundError || name === 'NotFoundError') throw new HttpFailure(404, (e as Error).message);
    if (e instanceof ConflictError || name === 'ConflictError') throw new HttpFailure(409, (e as Error).message);
    if (e instanceof ApprovalExpiredError || name === 'ApprovalExpired') throw new HttpFailure(410, (e as Error).message);
    throw e;
  }
}
