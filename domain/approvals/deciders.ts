import type { ApprovalRequest } from './approval.ts';
import { decidersOf, type InventoryIndex } from '../inventory/index.ts';

/** Who may decide a request: eligibility, quorum and the self-approval rule (every channel, the request and the page). */

/**
 * Who may decide: people who are deciders of EVERY affected group (plus, on escalation, the
 * groups' escalation contacts). Quorum: the largest quorum among the groups.
 */
export function eligibility(index: InventoryIndex, groups: string[], escalation: boolean): { deciders: string[]; quorum: number } {
  const sets: Set<string>[] = [];
  let quorum = 1;
  for (const name of groups) {
    const g = index.groupByName.get(name);
    if (!g) continue;
    const extra: string[] = escalation ? g.approval?.escalateTo ?? [] : [];
    sets.push(new Set<string>([...decidersOf(g), ...extra]));
    quorum = Math.max(quorum, g.approval?.quorum ?? 1);
  }
  const [first, ...rest] = sets;
  const deciders = [...(first ?? [])].filter((d) => rest.every((s) => s.has(d)));
  return { deciders: deciders.sort(), quorum };
}

/** Self-approval is forbidden unless every affected group explicitly allows it (the default is to forbid). */
export function forbidsSelfApproval(index: InventoryIndex, groups: string[]): boolean {
  return groups.some((g) => index.groupByName.get(g)?.approval?.forbidSelfApproval ?? true);
}

/** May this person approve (not only reject)? Eligible, and not the requester where that is forbidden. */
export function mayApprove(index: InventoryIndex, r: Pick<ApprovalRequest, 'eligibleDeciders' | 'groups' | 'requestedBy'>, personId: string): boolean {
  if (!r.eligibleDeciders.includes(personId)) return false;
  return !(r.requestedBy === personId && forbidsSelfApproval(index, r.groups));
}


/** What a person may do on a pending request: reject (eligible) and approve (eligible, not barred as the requester). */
export function deciderOptions(index: InventoryIndex, r: Pick<ApprovalRequest, 'eligibleDeciders' | 'groups' | 'requestedBy'>, personId: string): { canApprove: boolean; canReject: boolean } {
  return { canApprove: mayApprove(index, r, personId), canReject: r.eligibleDeciders.includes(personId) };
}
