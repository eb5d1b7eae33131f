import { z } from 'zod';
import { lifecycleOf, openIncidentHolding, requestDrill } from '../domain/drills/index.ts';
import type { WorkflowEngine } from '../domain/ports/index.ts';
import { translated } from '../functions/shared/adapters/sfn-workflow-engine.ts';
import type { LocalRuntime } from './runtime.ts';
import { HttpError, idSchemas, parseInput, parseJsonBody } from '../functions/shared/edge/index.ts';
import { json, type Route, type RouteDeps } from './routes.ts';

/**
 * The local JSON API for drills (what `cleanpoint drills ...` and the console use against
 * `npm start`). Local only, like the rest of /local/: on AWS a drill is started by the schedule
 * or by StartExecution on the drill state machine, and read from the state table.
 *
 *   POST /local/drills                    {group, point?, requestedBy?} ▶ 202 {drillId, executionArn}
 *   GET  /local/drills?group=NAME         every group (or one): lifecycle, drills newest first
 *   GET  /local/drills/{drillId}          one drill and its execution's status
 *   POST /local/drills/{drillId}/abort    stop the drill's execution (StopExecution); the abort rule cleans up
 *   POST /local/schedules/tick            one tick of every schedule in serverless.yml
 */
const startBody = z.strictObject({
  group: z.string().min(1).max(128),
  point: z.string().min(1).max(256).optional(),
  requestedBy: z.string().min(1).max(128).optional(),
});

/** The WorkflowEngine port over the local engine (what the SFN client reaches locally anyway); a gone task is WorkflowGoneError, as on AWS. */
export function localWorkflows(rt: LocalRuntime): WorkflowEngine {
  return {
    async startExecution({ machine, name, input }) {
      const started = rt.engine.start(machine, name, input);
      return { executionArn: started.executionArn, alreadyStarted: started.alreadyStarted };
    },
    async sendTaskSuccess(token, output) { await translated(() => rt.engine.sendTaskSuccess(token, output)); },
    async sendTaskFailure(token, error, cause) { await translated(() => rt.engine.sendTaskFailure(token, error, cause)); },
  };
}

/** Start an on-demand drill in the local runtime (the same use case the schedule runs). */
export function startLocalDrill(rt: LocalRuntime, input: { group: string; point?: string; requestedBy?: string }) {
  return requestDrill({ index: rt.index, workflows: localWorkflows(rt), clock: rt.clock })({
    group: input.group, ...(input.point ? { point: input.point } : {}), trigger: 'on-demand', requestedBy: input.requestedBy ?? 'cli',
  });
}

/** The drill machine's execution of a drill (not its cleanup runs, not the failover child). */
export function drillExecution(rt: LocalRuntime, drillId: string) {
  return rt.engine.executions.get(`${rt.engine.machineArn('drill').replace(':stateMachine:', ':execution:')}:${drillId}`);
}

export function drillApiRoutes(deps: RouteDeps): Route[] {
  const { rt, stores } = deps;
  return [
    {
      method: 'POST', path: '/local/drills', handle: async (req) => {
        const body = parseInput(startBody, parseJsonBody(req.body, req.headers['content-type'], { ifEmpty: {} }), 'body');
        // Refused here, as the schedule does, rather than started and failed by Start Drill: a drill
        // that never ran is not a failed test, and must not turn the group Drill Failed.
        const holding = await openIncidentHolding(stores.incidents, body.group);
        if (holding) throw new HttpError(409, `group ${body.group} is part of open incident ${holding.incidentId} (${holding.status}): no drill while it lasts`);
        try {
          const started = await startLocalDrill(rt, body);
          return json(202, { ...started, drillUrl: `/local/drills/${started.drillId}` });
        } catch (e) {
          if (['NotFoundError', 'ValidationError', 'SafetyViolationError'].includes((e as Error).name)) throw new HttpError(422, (e as Error).message);
          throw e;
        }
      },
    },
    {
      method: 'GET', path: '/local/drills', handle: async (req) => {
        const { group } = parseInput(z.strictObject({ group: z.string().min(1).max(128).optional() }), Object.fromEntries(req.query), 'query');
        const groups = group ? [rt.index.groupByName.get(group)] : rt.index.inventory.groups;
        if (groups.some((g) => !g)) throw new HttpError(404, `there is no group ${group} in the inventory`);
        const incidents = await stores.incidents.listIncidents({ limit: 200 });
        const now = rt.clock.now();
        return json(200, {
          now: new Date(now).toISOString(),
          groups: await Promise.all(groups.map(async (g) => {
            const drills = await stores.drills.listDrills(g!.name, { limit: 100 });
            return { group: g!.name, objectives: g!.objectives ?? null, drillsConfig: g!.drills ?? null, lifecycle: lifecycleOf(g!, drills, incidents, now), drills };
          })),
        });
      },
    },
    {
      method: 'GET', path: '/local/drills/{drillId}', handle: async (req) => {
        const drillId = parseInput(idSchemas.drillId, req.params['drillId'], 'drillId');
        const drill = await stores.drills.getDrill(drillId);
        if (!drill) throw new HttpError(404, `there is no drill ${drillId}`);
        const ex = drillExecution(rt, drillId);
        return json(200, { drill, execution: ex ? { status: ex.status, ...(ex.error ? { error: ex.error, cause: ex.cause } : {}) } : null });
      },
    },
    {
      method: 'POST', path: '/local/drills/{drillId}/abort', handle: async (req) => {
        const drillId = parseInput(idSchemas.drillId, req.params['drillId'], 'drillId');
        const ex = drillExecution(rt, drillId);
        if (!ex) throw new HttpError(404, `there is no drill execution ${drillId}`);
        if (ex.status !== 'RUNNING') throw new HttpError(409, `drill ${drillId} is not running (${ex.status})`);
        rt.engine.abort(ex.executionArn);
        return json(202, { drillId, status: 'ABORTED', cleanup: 'the drill-abort rule starts the cleanup' });
      },
    },
    { method: 'POST', path: '/local/schedules/tick', handle: async () => json(200, { runs: await rt.runSchedules() }) },
  ];
}
