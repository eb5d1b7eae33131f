import { mapLimit } from '../shared/index.ts';
import { NotFoundError, toIso, type Clock } from '../shared/index.ts';
import { eligibility } from '../approvals/index.ts';
import { DEFAULT_MAX_DAYS_BETWEEN_DRILLS } from '../drills/model.ts';
import { peopleInRole, type Group, type InventoryIndex, type Network } from '../inventory/index.ts';
import type { CheckOutcome, EventPublisher, NetworkFacts, Notifier, ProtectionStore, RecoveryEnvironment, RouteFact } from '../ports/index.ts';
import { formatMinutes, newestRestorablePoint, rpoStatusOf, type Badge, type RpoObservation } from './rpo-monitor.ts';
import { type RecoveryPointCatalog } from '../recovery-points/model.ts';
import { READINESS_CHECKS, type GroupReadiness, type ReadinessCheck, type ReadinessItem, type ReadinessStatus } from './readiness-report.ts';
export type { ReadinessCheck, ReadinessStatus, ReadinessItem, GroupReadiness } from './readiness-report.ts';
export { READINESS_CHECKS } from './readiness-report.ts';

/**
 * Readiness: would a failover of this group work today? Checked daily (and on demand) so the
 * plan is known to work before the day it is needed. Each check passes, warns (works, but
 * something should be fixed or could not be verified) or fails (a failover or drill would not
 * work as planned); a failed or warned item says what to fix.
 *
 *   deciders          every decider reachable on at least one channel (Slack user id, or an
 *                     e-mail address and a verified SES sender)
 *   quorum            the approval quorum can be met by the reachable deciders
 *   recovery-network  networks.recovery: subnet and security groups exist, in one VPC, with
 *   test-network      networks.test:     free addresses for the whole group
 *   test-isolation    the test subnet's route table has no route out of the VPC (internet, NAT,
 *                     egress-only or virtual private gateway, peering, transit gateway...)
 *   kms-key           the key recovery volumes are encrypted with is usable
 *   instance-quota    EC2 instance quota headroom for the whole group
 *   drill             a passing drill within drills.maxDaysBetweenDrills
 *   recovery-points   every machine has a restorable point within objectives.rpoMinutes
 */

/** What readinessOf needs to know about one group's world (gathered by checkReadiness). */
export interface ReadinessFacts {
  index: InventoryIndex;
  /** Subnets, security groups and routes for (at least) the group's networks. */
  network: NetworkFacts;
  /** EC2 instance quota and instances running now; null when it could not be read. */
  quota: { maxInstances: number; running: number } | null;
  /** The e-mail sender (SES identity) deciders' mail comes from. */
  emailSender: CheckOutcome;
  /** The key recovery volumes are encrypted with (null id: none configured). */
  key: { keyId: string | null; outcome: CheckOutcome };
  /** When the group last passed a drill (null: never). */
  lastPassedDrillAt: string | null;
  /** RPO observations of the group's machines. */
  rpo: readonly RpoObservation[];
}

const DAY_MS = 86_400_000;
/** Route targets that stay inside the VPC: the implicit local route and gateway endpoints to AWS services. */
const INSIDE_VPC = new Set<RouteFact['kind']>(['local', 'vpc-endpoint']);

/**
 * readinessOf(groupName, facts, now)
 *
 * Pure: the readiness of one group from facts gathered elsewhere, so the approval page, the
 * console and the CLI can show it without calling AWS. Throws NotFoundError for an unknown group.
 */
export function readinessOf(groupName: string, facts: ReadinessFacts, now: number): GroupReadiness {
  const group = facts.index.groupByName.get(groupName);
  if (!group) throw new NotFoundError(`group ${groupName} is not in the inventory`);
  const items: ReadinessItem[] = [
    ...approvalItems(group, facts),
    networkItem('recovery-network', group, group.networks?.recovery, 'recovery', facts.network),
    networkItem('test-network', group, group.networks?.test, 'test', facts.network),
    isolationItem(group, facts.network),
    keyItem(group, facts.key),
    quotaItem(group, facts.quota),
    drillItem(group, facts.lastPassedDrillAt, now),
    pointsItem(group, facts.rpo),
  ];
  const problems = [...items.filter((i) => i.status === 'fail'), ...items.filter((i) => i.status === 'warn')].flatMap((i) => i.messages);
  return { group: group.name, ready: items.every((i) => i.status !== 'fail'), checkedAt: toIso(now), items, problems };
}

const item = (check: ReadinessCheck, status: ReadinessStatus, messages: string[] = []): ReadinessItem => ({ check, status, messages });
const worst = (a: ReadinessStatus, b: ReadinessStatus): ReadinessStatus => (a === 'fail' || b === 'fail' ? 'fail' : a === 'warn' || b === 'warn' ? 'warn' : 'pass');

function approvalItems(group: Group, facts: ReadinessFacts): ReadinessItem[] {
  const { deciders, quorum } = eligibility(facts.index, [group.name], false);
  if (deciders.length === 0) {
    return [
      item('deciders', 'fail', [`group ${group.name} has no deciders, so nobody can approve its failover: add people to roles.decider`]),
      item('quorum', 'fail', [`the approval quorum ${quorum} of group ${group.name} cannot be met without deciders: add deciders`]),
    ];
  }
  const emailOk = facts.emailSender.ok;
  const reachable: string[] = [];
  const messages: string[] = [];
  let status: ReadinessStatus = 'pass';
  for (const id of deciders) {
    const person = facts.index.personById.get(id);
    if (!person) {
      messages.push(`decider ${id} of group ${group.name} is not in people, so Cleanpoint cannot reach them: add them to people with an email or slackUserId`);
      continue;
    }
    if (person.slackUserId) { reachable.push(id); continue; }
    if (!person.email) {
      messages.push(`decider ${id} of group ${group.name} has neither a Slack user id nor an e-mail address: add slackUserId or email to people`);
    } else if (emailOk === false) {
      messages.push(`decider ${id} of group ${group.name} can only be reached by e-mail, and e-mail cannot be sent (${facts.emailSender.detail}): fix the sender, or add a slackUserId`);
    } else {
      reachable.push(id);
      if (emailOk === null) {
        status = worst(status, 'warn');
        messages.push(`decider ${id} of group ${group.name} can only be reached by e-mail, and the sender could not be verified (${facts.emailSender.detail}): check the SES identity, or add a slackUserId`);
      }
    }
  }
  const unreachable = deciders.length - reachable.length;
  if (unreachable > 0) status = worst(status, reachable.length === 0 ? 'fail' : 'warn');
  const quorumItem = reachable.length >= quorum
    ? item('quorum', 'pass')
    : item('quorum', 'fail', [`the approval quorum ${quorum} of group ${group.name} cannot be met: ${reachable.length} of its ${deciders.length} decider(s) can be reached (${reachable.join(', ') || 'none'}): make more deciders reachable, add deciders, or lower approval.quorum`]);
  return [item('deciders', status, messages), quorumItem];
}

function networkItem(check: 'recovery-network' | 'test-network', group: Group, network: Network | undefined, kind: 'recovery' | 'test', facts: NetworkFacts): ReadinessItem {
  if (!network) {
    const why = kind === 'test' ? 'drills and test-mode failovers have nowhere isolated to launch' : 'a recovery-mode failover has nowhere to launch';
    return item(check, 'fail', [`group ${group.name} has no ${kind} network, so ${why}: add networks.${kind} to the inventory`]);
  }
  const messages: string[] = [];
  const subnet = facts.subnets.find((s) => s.subnetId === network.subnetId);
  if (!subnet) {
    messages.push(`${kind} subnet ${network.subnetId} of group ${group.name} does not exist: create it or fix networks.${kind} in the inventory`);
  } else if (subnet.availableIpAddressCount !== undefined && subnet.availableIpAddressCount < group.machines.length) {
    messages.push(`${kind} subnet ${network.subnetId} of group ${group.name} has ${subnet.availableIpAddressCount} free address(es) for ${group.machines.length} machine(s): free addresses or use a larger subnet`);
  }
  for (const sg of network.securityGroupIds) {
    const found = facts.securityGroups.find((g) => g.groupId === sg);
    if (!found) messages.push(`${kind} security group ${sg} of group ${group.name} does not exist: create it or fix networks.${kind} in the inventory`);
    else if (subnet && found.vpcId !== subnet.vpcId) {
      messages.push(`${kind} security group ${sg} of group ${group.name} is in ${found.vpcId}, not in the subnet's ${subnet.vpcId}, so EC2 refuses the launch: use a security group of ${subnet.vpcId}`);
    }
  }
  return item(check, messages.length ? 'fail' : 'pass', messages);
}

function isolationItem(group: Group, facts: NetworkFacts): ReadinessItem {
  const test = group.networks?.test;
  if (!test) return item('test-isolation', 'fail', [`group ${group.name} has no test network to isolate: add networks.test to the inventory`]);
  if (!facts.subnets.some((s) => s.subnetId === test.subnetId)) {
    return item('test-isolation', 'fail', [`the isolation of test subnet ${test.subnetId} of group ${group.name} cannot be checked because the subnet does not exist: create it or fix networks.test in the inventory`]);
  }
  const routes = facts.routes[test.subnetId];
  if (!routes) {
    return item('test-isolation', 'fail', [`no route table was found for test subnet ${test.subnetId} of group ${group.name}: associate an isolated route table with it`]);
  }
  const out = routes.filter((r) => !INSIDE_VPC.has(r.kind));
  if (out.length === 0) return item('test-isolation', 'pass');
  return item('test-isolation', 'fail', out.map((r) =>
    `test subnet ${test.subnetId} of group ${group.name} has a route ${r.destination} → ${r.target} (${r.kind}) out of its VPC, so test machines could reach production or the internet: remove the route or associate an isolated route table`));
}

function keyItem(group: Group, key: ReadinessFacts['key']): ReadinessItem {
  if (!key.keyId) return item('kms-key', 'fail', [`no KMS key is configured for the recovery volumes of group ${group.name}: set kmsKeyId in the inventory`]);
  if (key.outcome.ok === true) return item('kms-key', 'pass');
  if (key.outcome.ok === false) return item('kms-key', 'fail', [`KMS key ${key.keyId} cannot encrypt the recovery volumes of group ${group.name} (${key.outcome.detail}): enable the key or fix kmsKeyId`]);
  return item('kms-key', 'warn', [`KMS key ${key.keyId} could not be verified (${key.outcome.detail}): check that it is enabled and that EC2 may use it`]);
}

function quotaItem(group: Group, quota: ReadinessFacts['quota']): ReadinessItem {
  if (!quota) return item('instance-quota', 'warn', ['the EC2 instance quota could not be read: check it in Service Quotas']);
  const headroom = quota.maxInstances - quota.running;
  const need = group.machines.length;
  if (headroom >= need) return item('instance-quota', 'pass');
  return item('instance-quota', 'fail', [
    `EC2 instance quota: ${quota.running} of ${quota.maxInstances} instances run, so only ${Math.max(0, headroom)} more can start and group ${group.name} needs ${need}: request a quota increase or stop unneeded instances`,
  ]);
}

function drillItem(group: Group, lastPassedAt: string | null, now: number): ReadinessItem {
  const maxDays = group.drills?.maxDaysBetweenDrills ?? DEFAULT_MAX_DAYS_BETWEEN_DRILLS;
  if (!lastPassedAt) return item('drill', 'fail', [`group ${group.name} has never passed a drill: run one (cleanpoint drills run ${group.name})`]);
  const days = (now - Date.parse(lastPassedAt)) / DAY_MS;
  if (days <= maxDays) return item('drill', 'pass');
  return item('drill', 'fail', [
    `the last passing drill of group ${group.name} was ${Math.floor(days)} day(s) ago, more than drills.maxDaysBetweenDrills (${maxDays}): run a drill (cleanpoint drills run ${group.name})`,
  ]);
}

function pointsItem(group: Group, rpo: readonly RpoObservation[]): ReadinessItem {
  if (!group.objectives) {
    return item('recovery-points', 'warn', [`group ${group.name} has no objectives, so RPO breaches cannot be detected: set objectives.rpoMinutes and rtoMinutes`]);
  }
  const messages = group.machines.flatMap((m) => {
    const o = rpo.find((r) => r.machineId === m.id);
    if (!o) return [`the recovery points of machine ${m.id} of group ${group.name} were not checked: run the readiness check again`];
    if (!o.breached) return [];
    return [`machine ${m.id} of group ${group.name} is outside its ${formatMinutes(o.objectiveMinutes ?? 0)} RPO: ${o.reason}: check its snapshots or DRS replication`];
  });
  return item('recovery-points', messages.length ? 'fail' : 'pass', messages);
}

// ---------------------------------------------------------------------------------------------

export interface ReadinessDeps {
  index: InventoryIndex;
  environment: RecoveryEnvironment;
  catalog: RecoveryPointCatalog;
  store: Pick<ProtectionStore, 'getRpoState' | 'putReadiness'>;
  /** When a group last passed a drill (null: never); the drill store's group status on AWS. */
  lastPassedDrillAt: (group: string) => Promise<string | null>;
  notifier: Notifier;
  events: EventPublisher;
  clock: Clock;
  /** The deployment's key (KMS_KEY_ID); the inventory's kmsKeyId wins when set. */
  defaultKeyId?: string;
}

export interface ReadinessRun {
  reports: GroupReadiness[];
  /** Groups whose readiness flipped since the last stored report. */
  changed: string[];
  notified: string[];
}

/**
 * checkReadiness(deps)(input)
 *
 * Input: the groups to check (default: all). Output: one report per group.
 * 1. Gather the facts once for all groups: networks (subnets, security groups, route tables),
 *    the instance quota, the e-mail sender and the key, each group's last passing drill, and
 *    each machine's newest restorable point (with its stored stall flag).
 * 2. readinessOf per group.
 * 3. Store each report (the console and approval page read it), publish `Group Readiness
 *    Changed` when `ready` flipped, and when `notify` is set (the daily run) tell the executors
 *    of every group that is not ready what to fix.
 */
export function checkReadiness(deps: ReadinessDeps) {
  return async (input: { groups?: string[]; notify?: boolean } = {}): Promise<ReadinessRun> => {
    const now = deps.clock.now();
    const names = input.groups ?? deps.index.inventory.groups.map((g) => g.name);
    const groups = names.map((n) => {
      const g = deps.index.groupByName.get(n);
      if (!g) throw new NotFoundError(`group ${n} is not in the inventory`);
      return g;
    });
    const networks = groups.flatMap((g) => [g.networks?.recovery, g.networks?.test]).filter((n): n is Network => n !== undefined);
    const keyId = deps.index.inventory.kmsKeyId ?? deps.defaultKeyId ?? null;
    const machines = groups.flatMap((g) => g.machines.map((m) => ({ group: g, machine: m })));
    const [network, quota, emailSender, keyOutcome, drills, rpo] = await Promise.all([
      deps.environment.describeNetworks({
        subnetIds: [...new Set(networks.map((n) => n.subnetId))],
        securityGroupIds: [...new Set(networks.flatMap((n) => n.securityGroupIds))],
      }),
      deps.environment.instanceQuota().catch(() => null),
      deps.environment.emailSenderStatus(),
      keyId ? deps.environment.keyStatus(keyId) : Promise.resolve({ ok: false, detail: 'no key configured' }),
      Promise.all(groups.map((g) => deps.lastPassedDrillAt(g.name))),
      mapLimit(machines, 8, async ({ group, machine }) => {
        const [newestPoint, state] = await Promise.all([newestRestorablePoint(deps.catalog, machine.id, toIso(now)), deps.store.getRpoState(machine.id)]);
        return rpoStatusOf({ machine, group, newestPoint, stalled: state?.stalled ?? false, now });
      }),
    ]);
    const reports = groups.map((g, i) => readinessOf(g.name, {
      index: deps.index, network, quota, emailSender, key: { keyId, outcome: keyOutcome }, lastPassedDrillAt: drills[i] ?? null,
      rpo: rpo.filter((o) => o.group === g.name),
    }, now));
    const run: ReadinessRun = { reports, changed: [], notified: [] };
    for (const report of reports) {
      const { previous } = await deps.store.putReadiness(report);
      if (previous?.ready !== report.ready) {
        run.changed.push(report.group);
        await deps.events.publish([{ detailType: 'Group Readiness Changed', detail: { group: report.group, ready: report.ready, checkedAt: report.checkedAt, problems: report.problems.slice(0, 20) } }]);
      }
      if (input.notify && !report.ready) {
        const group = deps.index.groupByName.get(report.group)!;
        await deps.notifier.send({
          kind: 'alarm', recipients: peopleInRole(group, 'executor'),
          subject: `Readiness of ${report.group}: NOT READY (${report.items.filter((i) => i.status === 'fail').length} check(s) failed)`,
          text: [`A failover or drill of ${report.group} would not work as planned (checked ${report.checkedAt}). What to fix:`, ...report.problems.map((p) => `- ${p}`)].join('\n'),
        });
        run.notified.push(report.group);
      }
    }
    return run;
  };
}

/** The readiness badge of a group from its stored report (ProtectionStore.getReadiness). */
export function readinessBadgeOf(report: GroupReadiness | null | undefined): Badge {
  if (!report) return { text: 'readiness not checked', tone: 'muted', title: 'the readiness check has not run for this group yet' };
  const failed = report.items.filter((i) => i.status === 'fail').length;
  const warned = report.items.filter((i) => i.status === 'warn').length;
  const first = report.problems[0] ?? '';
  if (!report.ready) return { text: 'NOT READY', tone: 'bad', title: `${failed} check(s) failed (checked ${report.checkedAt}): ${first}` };
  if (warned) return { text: 'ready (warnings)', tone: 'warn', title: `${warned} warning(s) (checked ${report.checkedAt}): ${first}` };
  return { text: 'READY', tone: 'ok', title: `every check passed (checked ${report.checkedAt})` };
}

/** Text for the CLI. */
export function renderReadiness(reports: readonly GroupReadiness[]): string {
  const mark: Record<ReadinessStatus, string> = { pass: 'ok  ', warn: 'WARN', fail: 'FAIL' };
  return reports.map((r) => [
    `${r.group}: ${r.ready ? 'READY' : 'NOT READY'} (checked ${r.checkedAt})`,
    ...r.items.flatMap((i) => [`  ${mark[i.status]} ${i.check}`, ...i.messages.map((m) => `         - ${m}`)]),
  ].join('\n')).join('\n\n');
}
