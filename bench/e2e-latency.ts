import type { ApprovalStore } from '../domain/ports/index.ts';
import type { LocalRuntime } from '../local/runtime.ts';
import { guardDutyEvent } from '../test/helpers/local-runtime.ts';
import { atMost, figure, type Benchmark } from './lib/result.ts';
import { DECIDER, startBenchRuntime } from './lib/runtime.ts';
import { median, percentile } from './lib/stats.ts';

/**
 * 6. End-to-end local latency: a GuardDuty finding put on the local bus ▶ the approval request
 * visible (in the approval store, and its e-mail in the outbox). Each sample hits its own
 * one-machine group, so every finding creates a new incident and proposal.
 */

const TARGET_MS = 500;
/** Real time: nothing on this path waits on the clock, and the approval window never closes during the run. */
const SPEED = 1;
const POLL_MS = 1;
const SAMPLE_TIMEOUT_MS = 30_000;

/**
 * Put the finding on the bus and wait until the approval request for its incident exists and
 * the decider's e-mail carrying its link is in the outbox. The outbox (in memory) is watched
 * every millisecond; the store is asked once per new approval e-mail, so polling adds no load
 * to the embedded DynamoDB the workflow is using.
 */
async function sample(rt: LocalRuntime, approvals: ApprovalStore, instanceId: string): Promise<{ ms: number; incidentId: string; approvalId: string }> {
  const seen = rt.outbox.length;
  const t0 = performance.now();
  const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId, minutesAgo: 30 }));
  if (delivery?.status !== 'delivered') throw new Error(`finding not delivered: ${delivery?.error}`);
  const incidentId = (delivery.result as { incidentId: string }).incidentId;
  let checked = seen;
  for (;;) {
    for (; checked < rt.outbox.length; checked++) {
      const msg = rt.outbox[checked]!;
      const approvalId = msg.to.includes(DECIDER.email) ? msg.text.match(/\/approvals\/([^?\s/]+)\?/)?.[1] : undefined;
      if (!approvalId) continue;
      const stored = await approvals.getApproval(approvalId);
      if (stored?.incidentId === incidentId) return { ms: performance.now() - t0, incidentId, approvalId };
    }
    if (performance.now() - t0 > SAMPLE_TIMEOUT_MS) throw new Error(`no approval request visible for ${incidentId} after ${SAMPLE_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export const e2eLatencyBenchmark: Benchmark = {
  name: 'e2e-latency',
  title: '6. End-to-end local latency: finding ▶ approval request visible',
  async run({ quick }) {
    const samples = quick ? 5 : 20;
    // Group 0 warms the handlers up (first import of each module, first DynamoDB connections).
    const groups = Array.from({ length: samples + 1 }, (_, i) => ({ name: `svc-${String(i).padStart(2, '0')}`, machines: [{ id: `svc-${String(i).padStart(2, '0')}-1`, wave: 1 }] }));
    const bench = await startBenchRuntime(groups, { speed: SPEED });
    const { rt } = bench;
    try {
      const { stateStores } = await import('../functions/shared/wiring.ts');
      const approvals = stateStores({ STATE_TABLE: rt.tables.state }, rt.platform).approvals;
      const cold = await sample(rt, approvals, bench.instanceOf(groups[0]!.machines[0]!.id));
      const warm: number[] = [];
      for (const g of groups.slice(1)) {
        const s = await sample(rt, approvals, bench.instanceOf(g.machines[0]!.id));
        // The listing the console and the CLI use must show it too.
        const listed = await approvals.listApprovals({ incidentId: s.incidentId });
        if (!listed.some((a) => a.approvalId === s.approvalId)) throw new Error(`approval ${s.approvalId} not listed for ${s.incidentId}`);
        warm.push(s.ms);
      }
      return {
        figures: [
          figure(`${samples} findings, each on its own group`, 'finding ▶ approval visible (median)', median(warm), 'ms', atMost(TARGET_MS)),
          figure(`${samples} findings, each on its own group`, 'finding ▶ approval visible (slowest)', percentile(warm, 100), 'ms'),
          figure('first finding after start-up (handlers cold)', 'finding ▶ approval visible', cold.ms, 'ms'),
        ],
        method: [
          `Local runtime (startLocalRuntime, seeded like the integration tests) in real time: dynalite, the EC2 simulator, the real ASL and handlers. Inventory: ${samples + 1} groups of one machine each, generated into a temporary file; each finding hits its own group, so every sample creates a new incident, runs Select Recovery Points and Request Failover Approval, and stores and mails a new approval request.`,
          `Latency: wall time from putting the GuardDuty event on the local bus (rt.putEvent: the rule match and the assess-finding handler) until the approval request is in the approval store (getApproval, and listApprovals({ incidentId }) checked afterwards) and the decider's e-mail with its link is in rt.outbox; the outbox is watched every ${POLL_MS} ms. Samples run one after another; the first finding after start-up (module imports, first connections) is reported separately and not in the median.`,
        ],
        details: { samples, coldMs: Math.round(cold.ms), warmMs: warm.map((x) => Math.round(x * 10) / 10) },
      };
    } finally {
      await bench.close();
    }
  },
};
