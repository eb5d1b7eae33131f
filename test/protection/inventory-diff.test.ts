import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseInventory, type Inventory } from '../../domain/inventory/index.ts';
import { diffInventories, renderInventoryDiff } from '../../domain/protection/index.ts';
import { inventoryCommand } from '../../cli/commands/inventory.ts';
import { demoInventory } from './support.ts';

type Raw = Record<string, any>;

/** The demo inventory changed by `edit` (on the raw form, then validated like a file would be). */
function edited(edit: (raw: Raw) => void): Inventory {
  const raw = structuredClone(demoInventory()) as unknown as Raw;
  edit(raw);
  return parseInventory(raw);
}
const payments = (raw: Raw) => raw['groups'][0];
const diff = (edit: (raw: Raw) => void) => diffInventories(demoInventory(), edited(edit));
const lines = (edit: (raw: Raw) => void) => diff(edit).changes.map((c) => `${c.weakens ? '!' : ' '}${c.kind} ${c.message}`);

describe('diffInventories', () => {
  it('finds nothing between an inventory and itself', () => {
    expect(diffInventories(demoInventory(), demoInventory())).toEqual({ changes: [], weakened: 0 });
  });

  it('weakens when a machine leaves a group, and says where it went', () => {
    expect(lines((raw) => { payments(raw).machines.pop(); })).toEqual([
      '!removed machine payments-api-2 (i-0aa000000000a0102) leaves group payments and the inventory: it is no longer protected',
    ]);
    expect(lines((raw) => { raw['groups'][1].machines.push(payments(raw).machines.pop()); })).toEqual([
      "!removed machine payments-api-2 leaves group payments for group crm: it fails over with crm's objectives, deciders and networks",
      ' added machine payments-api-2 joins group crm from group payments',
    ]);
  });

  it('weakens when an objective is relaxed, and not when it is tightened', () => {
    expect(diff((raw) => { payments(raw).objectives.rpoMinutes = 120; }).changes).toEqual([{
      kind: 'changed', weakens: true, group: 'payments', path: 'groups[payments].objectives.rpoMinutes',
      message: 'the RPO objective of group payments is relaxed from 60 to 120 minutes',
    }]);
    expect(lines((raw) => { payments(raw).objectives.rtoMinutes = 15; })).toEqual([' changed the RTO objective of group payments is tightened from 30 to 15 minutes']);
    expect(lines((raw) => { delete payments(raw).objectives; })[0]).toMatch(/^!removed group payments loses its objectives/);
  });

  it('weakens when a decider is removed or the quorum lowered, and not when one is added', () => {
    expect(lines((raw) => { payments(raw).roles.decider = ['dev']; })).toEqual(['!removed decider dom is removed from group payments']);
    expect(lines((raw) => { raw['groups'][1].roles.decider.push('dev'); })).toEqual([' added decider dev is added to group crm']);
    expect(lines((raw) => { payments(raw).approval.quorum = 2; })).toEqual([' changed the approval quorum of group payments is raised from 1 to 2']);
    const lowered = edited((raw) => { payments(raw).approval.quorum = 2; });
    expect(diffInventories(lowered, demoInventory()).changes.map((c) => [c.weakens, c.message])).toEqual([[true, 'the approval quorum of group payments is lowered from 2 to 1']]);
    expect(lines((raw) => { payments(raw).approval.forbidSelfApproval = false; })).toEqual(['!changed group payments now lets the requester approve their own failover']);
  });

  it('weakens when the test network changes or disappears, and when the drill interval is lengthened', () => {
    expect(lines((raw) => { payments(raw).networks.test.subnetId = 'subnet-0c0000000000000ff'; })).toEqual([
      '!changed the test network of group payments changes from subnet-0c000000000000001 [sg-0c000000000000001] to subnet-0c0000000000000ff [sg-0c000000000000001]: check that it is still isolated',
    ]);
    expect(lines((raw) => { payments(raw).networks.recovery.securityGroupIds = ['sg-0b0000000000000ff']; })[0]).toMatch(/^ changed the recovery network of group payments/);
    expect(lines((raw) => { delete payments(raw).networks.test; })).toEqual(['!removed group payments loses its test network (subnet-0c000000000000001)']);
    expect(lines((raw) => { payments(raw).drills.maxDaysBetweenDrills = 30; })).toEqual(['!changed the drill interval of group payments is lengthened from 7 to 30 days']);
    expect(lines((raw) => { delete payments(raw).drills.schedule; })).toEqual(['!removed group payments is no longer drilled on a schedule (was cron(0 3 ? * SUN *))']);
  });

  it('reports groups, people, checks and machine details added, removed or changed', () => {
    expect(lines((raw) => {
      raw['groups'].pop();
      raw['groups'].push({ name: 'billing', deciders: ['dev'], machines: [{ id: 'billing-1', instanceId: 'i-0dd0000000000aa01' }] });
      delete raw['people'][1].slackUserId;
      payments(raw).checks = [];
      payments(raw).machines[0].wave = 3;
      payments(raw).machines[0].checks = [];
    })).toEqual([
      '!removed person dev loses their Slack user id (U0DANA0001): one channel fewer to reach them',
      '!removed group intranet is removed: its 1 machine(s) (intranet-web-1) are no longer protected unless they move to another group',
      ' changed machine payments-db-1 of group payments moves from wave 1 to wave 3',
      '!removed acceptance check postgres of machine payments-db-1 is removed',
      '!removed acceptance check api-health of group payments is removed',
      ' added group billing is added with 1 machine(s): billing-1',
    ]);
  });

  it('renders additions, removals and changes, marking what weakens', () => {
    const text = renderInventoryDiff(diff((raw) => { payments(raw).approval.quorum = 2; payments(raw).roles.decider = ['dev', 'dom', 'ana']; payments(raw).objectives.rpoMinutes = 90; }));
    expect(text).toBe([
      '!~ the RPO objective of group payments is relaxed from 60 to 90 minutes',
      ' + decider ana is added to group payments',
      ' ~ the approval quorum of group payments is raised from 1 to 2',
      '',
      '3 change(s), 1 weakens the plan (marked !).',
    ].join('\n'));
    expect(renderInventoryDiff({ changes: [], weakened: 0 })).toBe('No changes to the plan.');
  });
});

describe('cleanpoint inventory diff', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-diff-'));
  const write = (name: string, inv: Inventory | string) => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof inv === 'string' ? inv : stringify(inv));
    return file;
  };
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await inventoryCommand({ stdout: (t) => out.push(t), stderr: (t) => err.push(t), readStdin: async () => '' }, argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const oldFile = write('old.yaml', demoInventory());
  const weaker = write('new.yaml', edited((raw) => { payments(raw).objectives.rpoMinutes = 240; }));
  const stronger = write('stronger.yaml', edited((raw) => { payments(raw).objectives.rpoMinutes = 30; }));

  it('shows the changes and exits 0, also when something weakens', async () => {
    const r = await run(['diff', oldFile, weaker]);
    expect(r.code).toBe(0);
    // The demo inventory written out in full is over a Standard SSM parameter's 4 KB: that is a
    // note on stderr, not a problem; nothing else may be said there.
    expect(r.err.split('\n').filter((line) => line && !line.startsWith('note: '))).toEqual([]);
    expect(r.out).toContain('!~ the RPO objective of group payments is relaxed from 60 to 240 minutes');
  });

  it('exits 1 with --fail-on-weaken when something weakens, 0 when nothing does', async () => {
    expect((await run(['diff', oldFile, weaker, '--fail-on-weaken'])).code).toBe(1);
    expect((await run(['diff', oldFile, stronger, '--fail-on-weaken'])).code).toBe(0);
  });

  it('prints the changes as JSON', async () => {
    const r = await run(['diff', oldFile, weaker, '--json']);
    expect(JSON.parse(r.out)).toEqual({ weakened: 1, changes: [expect.objectContaining({ kind: 'changed', weakens: true, path: 'groups[payments].objectives.rpoMinutes' })] });
  });

  it('refuses a bad invocation or an invalid inventory (exit 2 through main), naming the file', async () => {
    await expect(run(['diff', oldFile])).rejects.toThrow(/expected "inventory diff OLD NEW"/);
    const bad = write('bad.yaml', 'version: 1\ngroups: []\n');
    await expect(run(['diff', oldFile, bad])).rejects.toThrow(`${bad}: inventory: groups: at least one group`);
  });
});
