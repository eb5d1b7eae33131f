import type { LocalExecution } from '../local/workflow-runner.ts';
import { approvalLink, formFields, guardDutyEvent, httpGet, httpPostForm, until } from '../test/helpers/local-runtime.ts';
import { atMost, figure, type Benchmark, type Figure } from './lib/result.ts';
import { DECIDER, startBenchRuntime } from './lib/runtime.ts';

/**
 * 5. Orchestration cost: Step Functions state transitions per machine for a failover, in the
 * local runtime (the real ASL from statemachines/, run by the local interpreter with every Task
 * bound to the real handlers). One application group of 20 machines in two waves; a finding on
 * one of them proposes the group's failover, a decider approves through the approval page, the
 * incident-response machine runs the failover machine and records the outcome.
 */

const TARGET_PER_MACHINE = 10;
/** Sped up so boots and waits take milliseconds, slow enough that the one-hour approval window never closes. */
const SPEED = 120;

interface Counted {
  machine: string;
  status: string;
  entered: number;
  retried: number;
  enteredByState: Record<string, number>;
}

function count(e: LocalExecution): Counted {
  const enteredByState: Record<string, number> = {};
  let retried = 0;
  for (const ev of e.events) {
    if (ev.type === 'StateEntered' && ev.state) enteredByState[ev.state.name] = (enteredByState[ev.state.name] ?? 0) + 1;
    if (ev.type === 'StateRetried') retried++;
  }
  // execution.transitions counts StateEntered events as they stream in: it is the figure.
  return { machine: e.machine, status: e.status, entered: e.transitions, retried, enteredByState };
}

export const orchestrationBenchmark: Benchmark = {
  name: 'orchestration',
  title: '5. Orchestration cost: state transitions per machine',
  async run({ quick }) {
    const machines = quick ? 6 : 20;
    const firstWave = Math.max(1, Math.round(machines / 4));
    const ids = Array.from({ length: machines }, (_, i) => `app-${String(i + 1).padStart(2, '0')}`);
    const bench = await startBenchRuntime([{ name: 'bench-app', machines: ids.map((id, i) => ({ id, wave: i < firstWave ? 1 : 2 })) }], { speed: SPEED });
    const { rt } = bench;
    try {
      const wallStart = performance.now();
      const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId: bench.instanceOf(ids[0]!), minutesAgo: 30 }));
      if (delivery?.status !== 'delivered') throw new Error(`finding not delivered: ${delivery?.error}`);
      const incidentId = (delivery.result as { incidentId: string }).incidentId;
      const link = await approvalLink(rt, DECIDER.email, incidentId);
      const page = await httpGet(rt, link);
      const decided = await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
      if (decided.statusCode !== 200) throw new Error(`approval answered ${decided.statusCode}`);
      const incidentExecution = await until('the incident-response execution', () => rt.executionFor(incidentId), 60_000);
      const done = await incidentExecution.done;
      if (done.status !== 'SUCCEEDED') throw new Error(`incident response ended ${done.status}: ${done.error}: ${done.cause}`);
      const failoverExecutions = [...rt.engine.executions.values()].filter((e) => e.machine !== incidentExecution.machine && JSON.stringify(e.input).includes(incidentId));
      await Promise.all(failoverExecutions.map((e) => e.done));
      const launched = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } }).filter((r) => r.type === 'instance').length;
      if (launched !== machines) throw new Error(`${launched} instances launched, expected ${machines}`);
      const wallMs = performance.now() - wallStart;

      const ir = count(done);
      const children = failoverExecutions.map(count);
      const failover = children.find((c) => /failover/i.test(c.machine)) ?? children[0];
      if (!failover) throw new Error('no failover execution found');
      const childEntered = children.reduce((n, c) => n + c.entered, 0);
      const childRetried = children.reduce((n, c) => n + c.retried, 0);
      const label = `${machines} machines, waves ${firstWave} + ${machines - firstWave}`;
      const figures: Figure[] = [
        figure(`failover machine, ${label}`, 'StateEntered per machine', failover.entered / machines, 'count', atMost(TARGET_PER_MACHINE)),
        figure(`failover machine, ${label}`, 'StateEntered + StateRetried per machine', (failover.entered + failover.retried) / machines, 'count', undefined, 'what AWS bills: retries are transitions too'),
        figure(`incident response end to end, ${label}`, 'StateEntered per machine', (ir.entered + childEntered) / machines, 'count', atMost(TARGET_PER_MACHINE)),
        figure(`incident response end to end, ${label}`, 'StateEntered + StateRetried per machine', (ir.entered + ir.retried + childEntered + childRetried) / machines, 'count'),
        figure(`incident response end to end, ${label}`, 'StateEntered, incident-response machine alone', ir.entered, 'count'),
      ];
      return {
        figures,
        method: [
          `Local runtime (local/runtime.ts startLocalRuntime, seeded like the integration tests) at ${SPEED}× speed: dynalite, the EC2 simulator (boot 30 s, status checks 60 s), statemachines/*.asl.json run by the local interpreter with every Task bound to the real handler. Inventory: one group of ${machines} machines (wave 1: ${firstWave}, wave 2: ${machines - firstWave}), generated into a temporary file.`,
          `A GuardDuty finding on one machine goes onto the local bus; the decider approves through the approval page (GET the personal link, POST the confirm form, as the integration test does); the run ends when the incident-response execution and the failover execution it started have finished (${launched} instances launched).`,
          `Figures: StateEntered events (execution.transitions) of the failover execution / ${machines}, and of the incident-response execution plus the failover execution / ${machines}. StateRetried events are reported beside them: AWS bills a retry as a transition. The local interpreter retries at the first interval of each retrier without backoff, so readiness checks are retried more often locally than on AWS (15 s × 1.5ⁿ).`,
        ],
        details: { machines, waves: [firstWave, machines - firstWave], incidentId, wallMs: Math.round(wallMs), incidentResponse: ir, children },
      };
    } finally {
      await bench.close();
    }
  },
};
