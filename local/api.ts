import { z } from 'zod';
import { ValidationError, UnsupportedEventError } from '../domain/shared/index.ts';
import { parseFinding } from '../domain/findings/index.ts';
import { LISTED_APPROVAL_STATUSES } from '../domain/approvals/index.ts';
import { ec2FaultsSchema } from './ec2-sim/index.ts';
import { HttpError, idSchemas, parseInput, parseJsonBody, parseQuery } from '../functions/shared/edge/index.ts';
import { approvalLinkFor, approvalView, incidentDetail, machineViews, summarise, type ApprovalLink } from './read-model.ts';
import { json, type LocalRequest, type LocalResponse, type Route, type RouteDeps } from './routes.ts';

/**
 * The local JSON API the CLI and the demo use. Local only: it exists to drive and inspect the
 * embedded system, not as a deployable interface. Every input is validated before anything
 * is read or written, so a refused request changes nothing.
 *
 * POSTs must be `application/json`: a page on another origin can only send "simple" form or
 * text bodies without a CORS preflight (which this server never grants), so it cannot drive them.
 */
const approvalStatus = z.enum(LISTED_APPROVAL_STATUSES);

const queries = {
  none: z.strictObject({}),
  incidents: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).optional() }),
  approvals: z.strictObject({ status: approvalStatus.optional(), incidentId: idSchemas.incidentId.optional() }),
  findings: z.strictObject({ wait: z.coerce.number().min(0).max(30).optional() }),
  outbox: z.strictObject({ to: z.string().min(1).max(320).optional() }),
};

export function localApiRoutes(deps: RouteDeps): Route[] {
  return [
    { method: 'GET', path: '/local/status', handle: async (req) => { query(req, queries.none); return json(200, await status(deps)); } },
    { method: 'POST', path: '/local/findings', handle: (req) => sendFinding(deps, req) },
    { method: 'GET', path: '/local/incidents', handle: (req) => listIncidents(deps, req) },
    { method: 'GET', path: '/local/incidents/{incidentId}', handle: (req) => showIncident(deps, req) },
    { method: 'GET', path: '/local/approvals', handle: (req) => listApprovals(deps, req) },
    { method: 'GET', path: '/local/machines', handle: async (req) => { query(req, queries.none); return json(200, { machines: await machineViews(deps) }); } },
    { method: 'GET', path: '/local/faults', handle: async (req) => { query(req, queries.none); return json(200, { faults: deps.rt.sim.faults() }); } },
    { method: 'POST', path: '/local/faults', handle: (req) => setFaults(deps, req) },
    { method: 'GET', path: '/local/outbox', handle: (req) => outbox(deps, req) },
  ];
}

async function status(deps: RouteDeps) {
  const [incidents, pending] = await Promise.all([deps.stores.incidents.listIncidents(), deps.stores.approvals.listApprovals({ status: 'pending' })]);
  return {
    now: new Date(deps.rt.clock.now()).toISOString(), speed: deps.rt.options.speed, dataDir: deps.rt.options.dataDir,
    incidents: incidents.length, pendingApprovals: pending.length, outbox: deps.rt.outbox.length,
  };
}

/**
 * Puts a GuardDuty finding (EventBridge event, or a bare finding) on the local bus, where the
 * rules from serverless.yml deliver it to assess-finding. Answers with the incident and, for
 * a failover proposal, the first decider's approval link once the request was sent (waits up
 * to `?wait=` seconds, default 10).
 */
async function sendFinding(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  const { wait = 10 } = query(req, queries.findings);
  const value = jsonBody(req);
  try {
    parseFinding(value); // the same check assess-finding makes, before anything is put on the bus
  } catch (e) {
    if (e instanceof ValidationError) throw new HttpError(400, e.message);
    if (e instanceof UnsupportedEventError) throw new HttpError(422, e.message);
    throw e;
  }
  const body = value as Record<string, unknown>;
  // parseFinding accepted it as a GuardDuty finding: complete a partial envelope so the bus rule matches.
  const event = { source: 'aws.guardduty', 'detail-type': 'GuardDuty Finding', ...('detail' in body ? body : { detail: body }) };
  const deliveries = await deps.rt.putEvent(event);
  const delivery = deliveries.find((d) => d.functionName === 'assess-finding');
  if (!delivery) throw new HttpError(422, 'no rule on the local event bus sends this event to assess-finding');
  if (delivery.status === 'failed') {
    // Our own refusals name the offending path and reach the caller; anything else (a store's or
    // an SDK's message, a crash) stays in the log under a reference the caller can quote.
    if (/^(ValidationError|UnsupportedEventError): /.test(delivery.error ?? '')) throw new HttpError(422, `assess-finding refused the event: ${delivery.error!.slice(0, 2000)}`);
    process.stderr.write(`local API: assess-finding failed on event ${delivery.id}: ${delivery.error}\n`);
    throw new HttpError(502, `assess-finding failed on this event (reference ${delivery.id}; the cause is in the runtime's log)`);
  }
  const result = delivery.result as { incidentId: string; action: string; delivery: string; created: boolean; correlated: boolean; reinfected?: boolean; alsoFolded?: string[] };
  const approval = result.action === 'failover-proposal' ? await awaitApprovalLink(deps, result.incidentId, wait * 1000) : null;
  const incident = await deps.stores.incidents.getIncident(result.incidentId);
  return json(result.created ? 201 : 200, {
    incidentId: result.incidentId, action: result.action, delivery: result.delivery, created: result.created, correlated: result.correlated,
    reinfected: result.reinfected === true, alsoFolded: result.alsoFolded ?? [],
    status: incident?.status ?? null, approval, incidentUrl: `${deps.rt.options.publicBaseUrl}/incidents/${result.incidentId}`,
  });
}

/** The workflow asks for approval asynchronously: poll (wall time) until the link was mailed. */
async function awaitApprovalLink(deps: RouteDeps, incidentId: string, waitMs: number): Promise<ApprovalLink | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const [pending] = await deps.stores.approvals.listApprovals({ incidentId, status: 'pending' });
    const link = pending ? approvalLinkFor(deps, pending) : null;
    if (link) return link;
    const incident = await deps.stores.incidents.getIncident(incidentId);
    const waiting = incident?.status === 'proposed' || incident?.status === 'awaiting-approval';
    if (!waiting || Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function listIncidents(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  const { limit } = query(req, queries.incidents);
  const incidents = await deps.stores.incidents.listIncidents(limit !== undefined ? { limit } : {});
  return json(200, { incidents: incidents.map(summarise) });
}

async function showIncident(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  query(req, queries.none);
  const id = parseInput(idSchemas.incidentId, req.params['incidentId'], 'incidentId');
  const detail = await incidentDetail(deps, id);
  if (!detail) throw new HttpError(404, `no incident ${id}`);
  return json(200, detail);
}

async function listApprovals(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  const q = query(req, queries.approvals);
  const approvals = await deps.stores.approvals.listApprovals({ ...(q.status ? { status: q.status } : {}), ...(q.incidentId ? { incidentId: q.incidentId } : {}) });
  return json(200, { approvals: approvals.map((a) => approvalView(deps, a)) });
}

/** Replace the simulator's EC2 faults (`{}` clears them). */
async function setFaults(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  query(req, queries.none);
  const faults = parseInput(ec2FaultsSchema, jsonBody(req), 'faults');
  deps.rt.sim.setFaults(faults);
  return json(200, { faults: deps.rt.sim.faults() });
}

async function outbox(deps: RouteDeps, req: LocalRequest): Promise<LocalResponse> {
  const { to } = query(req, queries.outbox);
  const messages = [...deps.rt.outbox].reverse().filter((m) => !to || m.to.includes(to));
  return json(200, { messages });
}

// ---- input parsing (the edge's): every refusal is a 4xx naming the field ----

const jsonBody = (req: LocalRequest): unknown => parseJsonBody(req.body, req.headers['content-type'], { object: true });

const query = <T extends z.ZodType>(req: LocalRequest, schema: T): z.infer<T> => parseQuery(req.query, schema);
