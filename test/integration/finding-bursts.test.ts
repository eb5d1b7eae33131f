import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.ts';
import { guardDutyEvent, inventoryWithGroups, startSeededRuntime, until } from '../helpers/local-runtime.ts';

/**
 * GuardDuty reports several finding types for one compromise within a second, and EventBridge
 * delivers each at least once, concurrently. Any burst for one group must end in one incident,
 * one execution, one pending request that was really sent, and one `workflow.started` entry.
 */
let rt: LocalRuntime;


beforeAll(async () => {
  rt = await startSeededRuntime({ inventoryFile: inventoryWithGroups([{ name: 'archive', machineId: 'archive-1', instanceId: 'i-0dd0000000000db01' }]), infected: {}, speed: 20 });
}, 120_000);
afterAll(async () => { await rt?.close(); });

async function stores() {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  return stateStores({ STATE_TABLE: rt.tables.state }, rt.platform);
}

const TYPES = [
  'Impact:Runtime/MaliciousCommandExecuted', 'Backdoor:EC2/C&CActivity.B', 'Trojan:EC2/DNSDataExfiltration', 'Impact:EC2/MaliciousDomainRequest.Reputation',
  'Execution:Runtime/NewBinaryExecuted', 'Backdoor:EC2/C&CActivity.B!DNS', 'Trojan:EC2/BlackholeTraffic', 'Impact:EC2/BitcoinDomainRequest.Reputation',
  'Execution:Runtime/MaliciousFileExecuted', 'Trojan:EC2/DropPoint',
];

/** Machines of different groups, so every burst opens its own incident. */
const TARGETS = { 2: 'i-0aa0000000000db01', 10: 'i-0bb0000000000db01', 50: 'i-0cc000000000a0101' } as const;

async function settle(incidentId: string) {
  const s = await stores();
  // The workflow reaches its decision step: the incident awaits approval with exactly one pending
  // request, announced. Findings of a burst whose evidence starts earlier may supersede a request
  // already sent (then it is `superseded`, never left pending): the last one stands.
  return until(`incident ${incidentId} awaiting a decision`, async () => {
    const incident = await s.incidents.getIncident(incidentId);
    const pending = await s.approvals.listApprovals({ incidentId, status: 'pending' });
    const audit = await s.audit.list(incidentId);
    const requested = audit.filter((e) => e.type === 'approval.requested').map((e) => e.data['approvalId']);
    const settledNow = incident?.status === 'awaiting-approval' && pending.length === 1 && requested.at(-1) === pending[0]!.approvalId;
    return settledNow ? { incident, pending, audit } : undefined;
  }, 60_000);
}

describe('a burst of distinct findings for one machine', () => {
  for (const size of [2, 10, 50] as const) {
    it(`makes one incident that proceeds to a decision from a burst of ${size}`, async () => {
      // Prepare: `size` different findings about the same machine, evidence up to an hour apart
      const events = Array.from({ length: size }, (_, i) => guardDutyEvent(rt, {
        instanceId: TARGETS[size], type: TYPES[i % TYPES.length]!, minutesAgo: 20 + (i * 7) % 60, id: `burst${size}x${String(i).padStart(4, '0')}${'0'.repeat(12)}`,
      }));

      // Act: all delivered at once
      const results = await Promise.all(events.map((e) => rt.invoke('assess-finding', e))) as { incidentId: string }[];

      // Assess: one incident; it reaches the decision step (never failover-failed); one start audited
      const ids = new Set(results.map((r) => r.incidentId));
      expect(ids.size).toBe(1);
      const [incidentId] = [...ids] as [string];
      const { incident, pending, audit } = await settle(incidentId);
      expect(incident!.findingIds).toHaveLength(size);
      expect(audit.filter((e) => e.type === 'workflow.started')).toHaveLength(1);
      const executions = [...rt.engine.executions.values()].filter((e) => e.name.endsWith(incidentId));
      expect(executions).toHaveLength(1);
      expect(executions[0]!.status).toBe('RUNNING');
      // The request that is pending is the one the deciders were sent; any earlier one was superseded
      const requested = audit.filter((e) => e.type === 'approval.requested').map((e) => String(e.data['approvalId']));
      expect(requested.at(-1)).toBe(pending[0]!.approvalId);
      for (const earlier of requested.slice(0, -1)) expect((await (await stores()).approvals.getApproval(earlier))?.status).toBe('superseded');
      // The request is audited before its notifications go out: wait for the e-mail itself.
      await until(`the e-mail for ${pending[0]!.approvalId}`, () => rt.outbox.some((m) => m.text.includes(`/approvals/${pending[0]!.approvalId}?`)), 30_000);
    }, 90_000);
  }
});

describe('50 identical deliveries of one finding', () => {
  it('make one incident, one execution and one workflow.started entry', async () => {
    // Prepare: a finding about the archive group, which no other test touches
    const event = guardDutyEvent(rt, { instanceId: 'i-0dd0000000000db01', id: 'same0000000000000000000000000001' });

    // Act
    const results = await Promise.all(Array.from({ length: 50 }, () => rt.invoke('assess-finding', event))) as { incidentId: string; created: boolean }[];

    // Assess
    const ids = new Set(results.map((r) => r.incidentId));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const [incidentId] = [...ids] as [string];
    const { audit } = await settle(incidentId);
    expect(audit.filter((e) => e.type === 'workflow.started')).toHaveLength(1);
    expect(audit.filter((e) => e.type === 'incident.created')).toHaveLength(1);
    expect([...rt.engine.executions.values()].filter((e) => e.name.endsWith(incidentId))).toHaveLength(1);
  }, 90_000);
});
