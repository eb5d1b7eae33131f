import { peopleInRole, type InventoryIndex } from '../inventory/index.ts';
import type { IncidentStore, Notifier } from '../ports/index.ts';

export type NotifyEvent = 'outcome' | 'escalation' | 'failure' | 'cleanup-failed' | 'no-eligible-point' | 'rejected' | 'expired' | 'failback-complete' | 'failback-not-approved';

/**
 * notifyAbout(deps)(input)
 *
 * Tells the people of the affected groups (executors, deciders, analysts) what happened to
 * an incident, in words: result, achieved RTO/RPO, what failed. Unknown incidents (e.g. a
 * drill run id) still produce a message naming the run.
 */
export function notifyAbout(deps: { incidents: IncidentStore; notifier: Notifier; index: InventoryIndex }) {
  return async (input: { runId: string; event: NotifyEvent; detail?: string }): Promise<{ sent: boolean }> => {
    const incident = await deps.incidents.getIncident(input.runId);
    const groups = incident?.groups ?? [];
    const recipients = [...new Set(groups.flatMap((g) => {
      const group = deps.index.groupByName.get(g);
      return group ? [...peopleInRole(group, 'executor'), ...peopleInRole(group, 'decider'), ...peopleInRole(group, 'analyst')] : [];
    }))];
    const o = incident?.outcome;
    const what = groups.length ? groups.join(', ') : input.runId;
    const lines: string[] = [];
    let subject: string;
    switch (input.event) {
      case 'outcome':
        subject = `Failover of ${what}: ${o?.result ?? 'finished'}`;
        if (o) {
          lines.push(`Result: ${o.result}. Achieved RTO ${o.rtoMinutes ?? 'n/a'} min, clean data given up (RPO) ${o.rpoMinutes ?? 'n/a'} min.`);
          for (const m of o.machines) lines.push(`- ${m.machineId}: ${m.state}${m.instanceId ? ` as ${m.instanceId}` : ''} from ${m.pointId}${m.error ? ` (${m.error})` : ''}`);
        }
        break;
      case 'rejected': subject = `Failover of ${what} was rejected`; break;
      case 'expired': subject = `Nobody decided on the failover of ${what} in time`; lines.push('The approval request expired after escalation. Start a manual failover if it is still needed.'); break;
      case 'escalation': subject = `Failover of ${what} is waiting for a decision (escalated)`; break;
      case 'no-eligible-point': subject = `No clean recovery point for ${what}`; lines.push('No machine of the affected groups has an eligible recovery point before the suspected corruption.'); break;
      case 'failback-complete':
        subject = `${what} failed back to the primary environment; incident closed`;
        for (const m of incident?.failback?.machines ?? []) lines.push(`- ${m.machineId}: primary ${m.primaryInstanceId ?? 'n/a'}, recovery machine ${m.retiredInstanceId ?? 'n/a'} retired`);
        break;
      case 'failback-not-approved':
        subject = `The failback of ${what} was not approved; the recovery machines keep running`;
        lines.push('An executor may ask again with `cleanpoint incidents failback`.');
        break;
      case 'cleanup-failed': subject = `ALARM: test machines of ${what} could not be cleaned up`; break;
      default: subject = `Failover of ${what} failed`;
    }
    if (input.detail) lines.push(input.detail.slice(0, 2000));
    await deps.notifier.send({
      kind: input.event === 'cleanup-failed' ? 'alarm' : input.event === 'escalation' ? 'escalation' : 'outcome',
      incidentId: incident?.incidentId ?? input.runId, subject, text: lines.join('\n') || subject, recipients,
    });
    return { sent: true };
  };
}
