import { isFinal } from '../../domain/incidents/index.ts';
import { HttpError, idSchemas } from '../../functions/shared/edge/index.ts';
import { approvalView, incidentDetail, machineViews, protectionReader, readinessBadges, rpoBadges, summarise } from '../read-model.ts';
import type { LocalRequest, LocalResponse, Route, RouteDeps } from '../routes.ts';
import { drillsPageData, renderDrillsPage } from './drills.ts';
import { incidentPage } from './incident.ts';
import { incidentsPage } from './incidents.ts';
import { page } from './layout.ts';
import { machinesPage } from './machines.ts';
import { outboxPage } from './outbox.ts';
import { overviewPage } from './overview.ts';

/** The console: read-only pages over the running system (deciding happens on the approval pages). */
export function consoleRoutes(deps: RouteDeps): Route[] {
  const now = () => new Date(deps.rt.clock.now()).toISOString();
  return [
    {
      method: 'GET', path: '/', handle: async (req) => {
        noQuery(req);
        const groups = deps.rt.index.inventory.groups.map((g) => g.name);
        const [incidents, approvals, machines, readiness] = await Promise.all([
          deps.stores.incidents.listIncidents(), deps.stores.approvals.listApprovals({ status: 'pending' }), machineViews(deps),
          protectionReader(deps).then((reader) => readinessBadges(reader, groups)),
        ]);
        return page({ title: 'Overview', section: '/', now: now() }, overviewPage({
          incidents: incidents.map(summarise), approvals: approvals.map((a) => approvalView(deps, a)), machines, outbox: deps.rt.outbox, readiness,
        }));
      },
    },
    {
      method: 'GET', path: '/machines', handle: async (req) => {
        noQuery(req);
        const machines = await machineViews(deps);
        const rpo = await rpoBadges(await protectionReader(deps), machines.map((m) => m.machineId));
        return page({ title: 'Machines', section: '/machines', now: now() }, machinesPage(machines, rpo));
      },
    },
    {
      method: 'GET', path: '/incidents', handle: async (req) => {
        noQuery(req);
        return page({ title: 'Incidents', section: '/incidents', now: now() }, incidentsPage((await deps.stores.incidents.listIncidents()).map(summarise)));
      },
    },
    {
      method: 'GET', path: '/incidents/{incidentId}', handle: async (req) => {
        noQuery(req);
        const parsed = idSchemas.incidentId.safeParse(req.params['incidentId']);
        if (!parsed.success) throw new HttpError(404, `${req.params['incidentId']} is not an incident id (they look like inc-0123456789abcdef0123)`);
        const detail = await incidentDetail(deps, parsed.data);
        if (!detail) throw new HttpError(404, `There is no incident ${parsed.data}.`);
        const refresh = isFinal(detail.incident.status) ? {} : { refreshSeconds: 2 };
        return page({ title: `Incident ${detail.incident.incidentId}`, section: '/incidents', now: now(), ...refresh }, incidentPage(detail, deps.rt.clock.now()));
      },
    },
    {
      method: 'GET', path: '/drills', handle: async (req) => {
        const keys = [...new Set(req.query.keys())];
        const unknown = keys.filter((k) => k !== 'group');
        if (unknown.length) throw new HttpError(400, `this page takes only ?group=NAME (got ${unknown.join(', ')})`);
        const groups = req.query.getAll('group');
        if (groups.length > 1) throw new HttpError(400, 'name one group: ?group=NAME');
        return drillsPage(groups[0] ?? null);
      },
    },
    { method: 'GET', path: '/drills/{group}', handle: async (req) => { noQuery(req); return drillsPage(req.params['group'] ?? ''); } },
    { method: 'GET', path: '/outbox', handle: async (req) => { noQuery(req); return page({ title: 'Outbox', section: '/outbox', now: now() }, outboxPage(deps.rt.outbox, deps.rt.options.publicBaseUrl)); } },
  ];

  /** Every group's drill lifecycle, or one group's (404 when the inventory has no such group); reloads while a drill runs. */
  async function drillsPage(group: string | null): Promise<LocalResponse> {
    if (group !== null && !deps.rt.index.groupByName.has(group)) throw new HttpError(404, `There is no group ${JSON.stringify(group)} in the inventory.`);
    const data = await drillsPageData(deps, group);
    const running = data.groups.some((g) => (group === null || g.group.name === group) && g.lifecycle.runningDrillId);
    return page({ title: group ? `Drills of ${group}` : 'Drills', section: '/drills', now: now(), ...(running ? { refreshSeconds: 2 } : {}) }, renderDrillsPage(data));
  }
}

function noQuery(req: LocalRequest): void {
  const keys = [...new Set(req.query.keys())];
  if (keys.length) throw new HttpError(400, `this page takes no query parameters (got ${keys.join(', ')})`);
}
