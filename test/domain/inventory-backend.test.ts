import { describe, expect, it } from 'vitest';
import { indexInventory, machineBackend, parseInventory } from '../../domain/inventory/index.ts';
import { makeInventory, validationError } from '../helpers/fixtures.ts';

// Issue 17, item 1: a machine (or a whole group) declares `backend: drs` with its DRS source
// server; EC2-snapshot machines stay as they are; a group may mix both.

const SERVER_A = 's-1234567890abcdef0';
const SERVER_B = 's-0fedcba987654321';

type RawMachine = Record<string, unknown>;
type RawGroup = { name: string; machines: RawMachine[] } & Record<string, unknown>;

function inventoryWith(edit: (groups: RawGroup[]) => void): unknown {
  const raw = makeInventory() as unknown as { groups: RawGroup[] };
  edit(raw.groups);
  return raw;
}

function resolved(raw: unknown, machineId: string) {
  const index = indexInventory(parseInventory(raw));
  const entry = index.machineById.get(machineId)!;
  return machineBackend(entry.machine, entry.group);
}

describe('inventory: backend drs', () => {
  it('leaves machines without a backend on EC2, as before', () => {
    const raw = makeInventory();
    const first = (raw as unknown as { groups: RawGroup[] }).groups[0]!.machines[0]!.id as string;
    expect(resolved(raw, first)).toEqual({ kind: 'ec2' });
  });

  it('resolves a drs machine with its source server, account and Region; its EC2 neighbour stays ec2 (a mixed group)', () => {
    const raw = inventoryWith((groups) => {
      Object.assign(groups[0]!.machines[0]!, { backend: 'drs', drsSourceServerId: SERVER_A, drsAccountId: '111122223333', drsRegion: 'eu-west-1' });
    });
    const [first, second] = (raw as { groups: RawGroup[] }).groups[0]!.machines.map((m) => m.id as string);
    expect(resolved(raw, first!)).toEqual({ kind: 'drs', sourceServerId: SERVER_A, accountId: '111122223333', region: 'eu-west-1' });
    expect(resolved(raw, second!)).toEqual({ kind: 'ec2' });
  });

  it('applies the group default backend, account and Region; a machine can opt back to ec2', () => {
    const raw = inventoryWith((groups) => {
      const g = groups[0]!;
      Object.assign(g, { backend: 'drs', drsAccountId: '444455556666', drsRegion: 'us-west-2' });
      g.machines.forEach((m, i) => Object.assign(m, { drsSourceServerId: `s-${String(i).padStart(17, '0')}` }));
      Object.assign(g.machines[1]!, { backend: 'ec2' });
      Object.assign(g.machines[0]!, { drsRegion: 'eu-central-1' });
    });
    const ids = (raw as { groups: RawGroup[] }).groups[0]!.machines.map((m) => m.id as string);
    expect(resolved(raw, ids[0]!)).toEqual({ kind: 'drs', sourceServerId: 's-00000000000000000', accountId: '444455556666', region: 'eu-central-1' });
    expect(resolved(raw, ids[1]!)).toEqual({ kind: 'ec2' });
  });

  it('refuses a drs machine without a source server id, naming the machine and the group default', () => {
    const raw = inventoryWith((groups) => {
      Object.assign(groups[0]!, { backend: 'drs' });
    });
    const error = validationError(() => parseInventory(raw));
    const paths = error.issues.map((i) => i.path);
    expect(paths).toContain('groups[0].machines[0].drsSourceServerId');
    expect(error.message).toMatch(/needs its DRS source server id/);
    expect(error.message).toMatch(/from group payments/);
  });

  it.each([
    ['s-1234567890abcdef', 'too short (16 digits)'],
    ['s-1234567890abcdef01', 'too long (18 digits)'],
    ['s-1234567890ABCDEF0', 'upper-case'],
    ['i-1234567890abcdef0', 'an instance id'],
  ])('refuses the source server id %s (%s)', (id) => {
    const raw = inventoryWith((groups) => {
      Object.assign(groups[0]!.machines[0]!, { backend: 'drs', drsSourceServerId: id });
    });
    const error = validationError(() => parseInventory(raw));
    expect(error.issues.map((i) => i.path)).toContain('groups[0].machines[0].drsSourceServerId');
    expect(error.message).toMatch(/DRS source server id/);
  });

  it('refuses a bad backend, account or Region with their paths', () => {
    const raw = inventoryWith((groups) => {
      Object.assign(groups[0]!.machines[0]!, { backend: 'cloudendure', drsSourceServerId: SERVER_A });
      Object.assign(groups[0]!.machines[1]!, { backend: 'drs', drsSourceServerId: SERVER_B, drsAccountId: '1234', drsRegion: 'Europe' });
    });
    const paths = validationError(() => parseInventory(raw)).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['groups[0].machines[0].backend', 'groups[0].machines[1].drsAccountId', 'groups[0].machines[1].drsRegion']));
  });

  it('refuses DRS account/Region on an ec2 machine (they would be silently ignored)', () => {
    const raw = inventoryWith((groups) => {
      Object.assign(groups[0]!.machines[0]!, { drsAccountId: '111122223333' });
    });
    const error = validationError(() => parseInventory(raw));
    expect(error.issues.map((i) => i.path)).toEqual(['groups[0].machines[0].drsAccountId']);
    expect(error.message).toMatch(/only a machine with backend drs uses drsAccountId/);
  });

  it('refuses the same source server on two machines of the same account and Region, even across groups', () => {
    const raw = inventoryWith((groups) => {
      Object.assign(groups[0]!.machines[0]!, { backend: 'drs', drsSourceServerId: SERVER_A });
      Object.assign(groups[1]!.machines[0]!, { backend: 'drs', drsSourceServerId: SERVER_A });
    });
    const error = validationError(() => parseInventory(raw));
    expect(error.issues.map((i) => i.path)).toEqual(['groups[1].machines[0].drsSourceServerId']);
    expect(error.message).toMatch(/duplicate DRS source server/);
  });

  it('accepts the same source server id in two different DRS accounts', () => {
    const raw = inventoryWith((groups) => {
      Object.assign(groups[0]!.machines[0]!, { backend: 'drs', drsSourceServerId: SERVER_A, drsAccountId: '111122223333' });
      Object.assign(groups[1]!.machines[0]!, { backend: 'drs', drsSourceServerId: SERVER_A, drsAccountId: '444455556666' });
    });
    expect(() => parseInventory(raw)).not.toThrow();
  });

  it('reports a missing source server even when another field of the file is invalid', () => {
    const raw = inventoryWith((groups) => {
      Object.assign(groups[0]!.machines[0]!, { backend: 'drs' });
      Object.assign(groups[1]!, { scanBudgetMinutes: -1 });
    });
    const paths = validationError(() => parseInventory(raw)).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['groups[0].machines[0].drsSourceServerId', 'groups[1].scanBudgetMinutes']));
  });
});
