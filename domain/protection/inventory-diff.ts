import { decidersOf, type Group, type Inventory, type Machine, type Network, type Person } from '../inventory/index.ts';
import { DEFAULT_MAX_DAYS_BETWEEN_DRILLS } from '../drills/model.ts';

/**
 * What an inventory change does to the plan, so it can be reviewed like code: what it adds,
 * removes, changes, and above all what it weakens: a machine leaving a group, an objective
 * relaxed, a decider removed, a quorum lowered, a test network changed, a drill interval
 * lengthened... Pure: two parsed inventories in, a list of changes out (inventory order).
 */

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface InventoryChange {
  kind: ChangeKind;
  /** The change makes the plan weaker (less protected, less tested, easier to approve). */
  weakens: boolean;
  /** Group concerned (null for inventory-wide changes). */
  group: string | null;
  /** Where in the inventory, e.g. `groups[payments].objectives.rpoMinutes`. */
  path: string;
  message: string;
}

export interface InventoryDiff {
  changes: InventoryChange[];
  weakened: number;
}

export function diffInventories(before: Inventory, after: Inventory): InventoryDiff {
  const changes: InventoryChange[] = [];
  const add = (kind: ChangeKind, weakens: boolean, group: string | null, path: string, message: string) => changes.push({ kind, weakens, group, path, message });

  if (before.kmsKeyId !== after.kmsKeyId) {
    add('changed', after.kmsKeyId === undefined, null, 'kmsKeyId', after.kmsKeyId === undefined
      ? `the recovery volume key ${before.kmsKeyId} is removed: volumes fall back to the deployment's key`
      : `the recovery volume key changes from ${before.kmsKeyId ?? 'the deployment default'} to ${after.kmsKeyId}`);
  }
  diffPeople(before.people, after.people, add);

  const oldGroups = new Map(before.groups.map((g) => [g.name, g]));
  const newGroups = new Map(after.groups.map((g) => [g.name, g]));
  const machineHome = (inv: Inventory) => new Map(inv.groups.flatMap((g) => g.machines.map((m) => [m.id, g.name] as const)));
  const oldHome = machineHome(before);
  const newHome = machineHome(after);

  for (const g of before.groups) {
    if (!newGroups.has(g.name)) {
      add('removed', true, g.name, `groups[${g.name}]`, `group ${g.name} is removed: its ${g.machines.length} machine(s) (${g.machines.map((m) => m.id).join(', ')}) are no longer protected unless they move to another group`);
    }
  }
  for (const g of after.groups) {
    const old = oldGroups.get(g.name);
    if (!old) {
      add('added', false, g.name, `groups[${g.name}]`, `group ${g.name} is added with ${g.machines.length} machine(s): ${g.machines.map((m) => m.id).join(', ')}`);
      continue;
    }
    diffGroup(old, g, add, oldHome, newHome);
  }
  return { changes, weakened: changes.filter((c) => c.weakens).length };
}

type Add = (kind: ChangeKind, weakens: boolean, group: string | null, path: string, message: string) => void;

function diffPeople(before: Person[], after: Person[], add: Add): void {
  const now = new Map(after.map((p) => [p.id, p]));
  for (const p of before) {
    const q = now.get(p.id);
    if (!q) { add('removed', false, null, `people[${p.id}]`, `person ${p.id} is removed`); continue; }
    for (const channel of ['email', 'slackUserId'] as const) {
      if (p[channel] === q[channel]) continue;
      const what = channel === 'email' ? 'e-mail address' : 'Slack user id';
      if (!q[channel]) add('removed', true, null, `people[${p.id}].${channel}`, `person ${p.id} loses their ${what} (${p[channel]}): one channel fewer to reach them`);
      else add('changed', false, null, `people[${p.id}].${channel}`, `person ${p.id}'s ${what} changes ${p[channel] ? `from ${p[channel]} ` : ''}to ${q[channel]}`);
    }
  }
  const had = new Set(before.map((p) => p.id));
  for (const q of after) if (!had.has(q.id)) add('added', false, null, `people[${q.id}]`, `person ${q.id} is added`);
}

function diffGroup(a: Group, b: Group, add: Add, oldHome: Map<string, string>, newHome: Map<string, string>): void {
  const g = b.name;
  const at = (p: string) => `groups[${g}].${p}`;

  // Machines
  const oldMachines = new Map(a.machines.map((m) => [m.id, m]));
  const newMachines = new Map(b.machines.map((m) => [m.id, m]));
  for (const m of a.machines) {
    if (newMachines.has(m.id)) continue;
    const moved = newHome.get(m.id);
    add('removed', true, g, at(`machines[${m.id}]`), moved
      ? `machine ${m.id} leaves group ${g} for group ${moved}: it fails over with ${moved}'s objectives, deciders and networks`
      : `machine ${m.id} (${m.instanceId}) leaves group ${g} and the inventory: it is no longer protected`);
  }
  for (const m of b.machines) {
    const old = oldMachines.get(m.id);
    if (!old) {
      const from = oldHome.get(m.id);
      add('added', false, g, at(`machines[${m.id}]`), from ? `machine ${m.id} joins group ${g} from group ${from}` : `machine ${m.id} (${m.instanceId}) is added to group ${g} in wave ${m.wave}`);
      continue;
    }
    diffMachine(old, m, g, add);
  }

  // Objectives
  const [oa, ob] = [a.objectives, b.objectives];
  if (oa && !ob) add('removed', true, g, at('objectives'), `group ${g} loses its objectives (RPO ${oa.rpoMinutes} min, RTO ${oa.rtoMinutes} min): breaches are no longer detected`);
  else if (!oa && ob) add('added', false, g, at('objectives'), `group ${g} gets objectives: RPO ${ob.rpoMinutes} min, RTO ${ob.rtoMinutes} min`);
  else if (oa && ob) {
    for (const k of ['rpoMinutes', 'rtoMinutes'] as const) {
      if (oa[k] === ob[k]) continue;
      const relaxed = ob[k] > oa[k];
      add('changed', relaxed, g, at(`objectives.${k}`), `the ${k === 'rpoMinutes' ? 'RPO' : 'RTO'} objective of group ${g} is ${relaxed ? 'relaxed' : 'tightened'} from ${oa[k]} to ${ob[k]} minutes`);
    }
  }

  // Deciders, escalation, quorum
  diffList(decidersOf(a), decidersOf(b), (id) => add('removed', true, g, at('roles.decider'), `decider ${id} is removed from group ${g}`),
    (id) => add('added', false, g, at('roles.decider'), `decider ${id} is added to group ${g}`));
  diffList(a.approval?.escalateTo ?? [], b.approval?.escalateTo ?? [], (id) => add('removed', true, g, at('approval.escalateTo'), `${id} no longer receives escalations of group ${g}`),
    (id) => add('added', false, g, at('approval.escalateTo'), `${id} now receives escalations of group ${g}`));
  for (const role of ['executor', 'analyst'] as const) {
    diffList(a.roles?.[role] ?? [], b.roles?.[role] ?? [], (id) => add('removed', false, g, at(`roles.${role}`), `${role} ${id} is removed from group ${g}`),
      (id) => add('added', false, g, at(`roles.${role}`), `${role} ${id} is added to group ${g}`));
  }
  const [qa, qb] = [a.approval?.quorum ?? 1, b.approval?.quorum ?? 1];
  if (qa !== qb) add('changed', qb < qa, g, at('approval.quorum'), `the approval quorum of group ${g} is ${qb < qa ? 'lowered' : 'raised'} from ${qa} to ${qb}`);
  const [sa, sb] = [a.approval?.forbidSelfApproval ?? true, b.approval?.forbidSelfApproval ?? true];
  if (sa !== sb) add('changed', !sb, g, at('approval.forbidSelfApproval'), sb ? `group ${g} now forbids approving one's own failover request` : `group ${g} now lets the requester approve their own failover`);
  const [ta, tb] = [a.approval?.timeoutMinutes ?? 60, b.approval?.timeoutMinutes ?? 60];
  if (ta !== tb) add('changed', false, g, at('approval.timeoutMinutes'), `the approval timeout of group ${g} changes from ${ta} to ${tb} minutes`);

  // Networks
  for (const kind of ['test', 'recovery', 'primary'] as const) {
    const [na, nb] = [a.networks?.[kind], b.networks?.[kind]];
    if (sameNetwork(na, nb)) continue;
    // A changed test network may no longer be isolated: it is reviewed as a weakening until shown otherwise.
    const weakens = kind === 'test' || !nb;
    if (!nb) add('removed', weakens, g, at(`networks.${kind}`), `group ${g} loses its ${kind} network (${na!.subnetId})`);
    else if (!na) add('added', false, g, at(`networks.${kind}`), `group ${g} gets a ${kind} network: ${describeNetwork(nb)}`);
    else add('changed', weakens, g, at(`networks.${kind}`), `the ${kind} network of group ${g} changes from ${describeNetwork(na)} to ${describeNetwork(nb)}${kind === 'test' ? ': check that it is still isolated' : ''}`);
  }

  // Drills
  const [da, db] = [a.drills?.maxDaysBetweenDrills ?? DEFAULT_MAX_DAYS_BETWEEN_DRILLS, b.drills?.maxDaysBetweenDrills ?? DEFAULT_MAX_DAYS_BETWEEN_DRILLS];
  if (da !== db) add('changed', db > da, g, at('drills.maxDaysBetweenDrills'), `the drill interval of group ${g} is ${db > da ? 'lengthened' : 'shortened'} from ${da} to ${db} days`);
  const [ca, cb] = [a.drills?.schedule, b.drills?.schedule];
  if (ca !== cb) {
    if (!cb) add('removed', true, g, at('drills.schedule'), `group ${g} is no longer drilled on a schedule (was ${ca})`);
    else if (!ca) add('added', false, g, at('drills.schedule'), `group ${g} is drilled on schedule ${cb}`);
    else add('changed', false, g, at('drills.schedule'), `the drill schedule of group ${g} changes from ${ca} to ${cb}`);
  }

  // Acceptance checks
  diffList(a.checks.map((c) => c.name), b.checks.map((c) => c.name), (name) => add('removed', true, g, at(`checks[${name}]`), `acceptance check ${name} of group ${g} is removed`),
    (name) => add('added', false, g, at(`checks[${name}]`), `acceptance check ${name} is added to group ${g}`));
}

function diffMachine(a: Machine, b: Machine, g: string, add: Add): void {
  const at = (p: string) => `groups[${g}].machines[${b.id}].${p}`;
  if (a.instanceId !== b.instanceId) add('changed', false, g, at('instanceId'), `machine ${b.id} of group ${g} now is instance ${b.instanceId} (was ${a.instanceId})`);
  if (a.wave !== b.wave) add('changed', false, g, at('wave'), `machine ${b.id} of group ${g} moves from wave ${a.wave} to wave ${b.wave}`);
  if (a.instanceType !== b.instanceType) add('changed', false, g, at('instanceType'), `machine ${b.id} of group ${g} recovers as ${b.instanceType ?? 'its own type'} (was ${a.instanceType ?? 'its own type'})`);
  if (a.drsSourceServerId !== b.drsSourceServerId) {
    add(b.drsSourceServerId ? 'changed' : 'removed', !b.drsSourceServerId, g, at('drsSourceServerId'), b.drsSourceServerId
      ? `machine ${b.id} of group ${g} is replicated by DRS source server ${b.drsSourceServerId}${a.drsSourceServerId ? ` (was ${a.drsSourceServerId})` : ''}`
      : `machine ${b.id} of group ${g} is no longer linked to DRS source server ${a.drsSourceServerId}: its DRS points and replication stalls are ignored`);
  }
  diffList(a.checks.map((c) => c.name), b.checks.map((c) => c.name), (name) => add('removed', true, g, at(`checks[${name}]`), `acceptance check ${name} of machine ${b.id} is removed`),
    (name) => add('added', false, g, at(`checks[${name}]`), `acceptance check ${name} is added to machine ${b.id}`));
}

function diffList(before: readonly string[], after: readonly string[], removed: (x: string) => void, added: (x: string) => void): void {
  const [a, b] = [new Set(before), new Set(after)];
  for (const x of a) if (!b.has(x)) removed(x);
  for (const x of b) if (!a.has(x)) added(x);
}

function sameNetwork(a: Network | undefined, b: Network | undefined): boolean {
  if (!a || !b) return a === b;
  return a.subnetId === b.subnetId && [...a.securityGroupIds].sort().join() === [...b.securityGroupIds].sort().join();
}

const describeNetwork = (n: Network) => `${n.subnetId} [${n.securityGroupIds.join(', ')}]`;

/** Text for the CLI: `+` added, `-` removed, `~` changed; `!` marks what weakens the plan. */
export function renderInventoryDiff(diff: InventoryDiff): string {
  if (diff.changes.length === 0) return 'No changes to the plan.';
  const sign: Record<ChangeKind, string> = { added: '+', removed: '-', changed: '~' };
  const lines = diff.changes.map((c) => `${c.weakens ? '!' : ' '}${sign[c.kind]} ${c.message}`);
  lines.push('', `${diff.changes.length} change(s), ${diff.weakened} weaken${diff.weakened === 1 ? 's' : ''} the plan${diff.weakened ? ' (marked !)' : ''}.`);
  return lines.join('\n');
}
