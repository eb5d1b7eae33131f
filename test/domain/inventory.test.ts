import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../domain/shared/index.ts';
import { decidersOf, indexInventory, parseInventory, parseInventoryText, peopleInRole } from '../../domain/inventory/index.ts';
import { INSTANCES, makeInventory, validationError } from '../helpers/fixtures.ts';

const paths = (e: ValidationError) => e.issues.map((i) => i.path).sort();

const YAML_INVENTORY = `
# Reviewed like code: one entry per protected application.
version: 1
people:
  - id: alice
    email: alice@example.com
  - id: bob
groups:
  - name: payments
    objectives: { rpoMinutes: 15, rtoMinutes: 60 }
    networks:
      recovery: { subnetId: subnet-0a1b2c3d, securityGroupIds: [sg-0a1b2c3d] }
      test:
        subnetId: subnet-0a1b2c3e
        securityGroupIds: [sg-0a1b2c3e, sg-0a1b2c3f]
    deciders: [alice, bob]
    approval: { quorum: 2 }
    machines:
      - id: payments-db
        instanceId: i-0123456789abcdef0
        instanceType: r6i.large
      - id: payments-api
        instanceId: i-0123456789abcdef1
        wave: 2
        instanceType: m6i.large
  - name: reporting
    machines:
      - { id: reporting-etl, instanceId: i-0fedcba9876543210 }
`;

describe('parseInventoryText', () => {
  it('parses a valid YAML inventory', () => {
    // Act
    const inventory = parseInventoryText(YAML_INVENTORY);
    // Assess
    expect(inventory.groups.map((g) => g.name)).toEqual(['payments', 'reporting']);
    expect(inventory.groups[0]!.networks?.test?.securityGroupIds).toEqual(['sg-0a1b2c3e', 'sg-0a1b2c3f']);
    expect(inventory.groups[0]!.machines.map((m) => [m.id, m.instanceId, m.wave])).toEqual([
      ['payments-db', 'i-0123456789abcdef0', 1],
      ['payments-api', 'i-0123456789abcdef1', 2],
    ]);
  });

  it('parses the same inventory written as JSON', () => {
    // Prepare
    const json = JSON.stringify(makeInventory(), null, 2);
    // Act
    const inventory = parseInventoryText(json);
    // Assess
    expect(inventory).toEqual(parseInventory(makeInventory()));
    expect(inventory.groups).toHaveLength(3);
  });

  it('refuses text that is not YAML, with a ValidationError', () => {
    // Act
    const error = validationError(() => parseInventoryText('groups: [\n  - name: a\n'));
    // Assess
    expect(error.message).toMatch(/not valid YAML or JSON/);
  });

  it('refuses a mapping with the same key twice', () => {
    // Prepare
    const text = 'groups:\n  - name: payments\n    name: ledger\n    machines: []\n';
    // Act
    const error = validationError(() => parseInventoryText(text));
    // Assess
    expect(error.message).toMatch(/unique/i);
  });

  it('names the source in the error message', () => {
    // Act
    const error = validationError(() => parseInventoryText('groups: []', 'inventory/prod.yaml'));
    // Assess
    expect(error.message.startsWith('inventory/prod.yaml:')).toBe(true);
    expect(paths(error)).toEqual(['groups']);
  });
});

describe('parseInventory', () => {
  it('puts a machine without a wave in wave 1 and fills the other defaults', () => {
    // Prepare
    const raw = makeInventory();
    // Act
    const inventory = parseInventory(raw);
    // Assess
    const reporting = inventory.groups[2]!;
    expect(reporting.machines[0]).toMatchObject({ id: 'reporting-etl', wave: 1, fallbackInstanceTypes: [], checks: [] });
    expect(inventory.groups[1]!.machines[0]!.wave).toBe(1);
    expect(reporting.checks).toEqual([]);
  });

  it('accepts a group without objectives, networks or deciders', () => {
    // Prepare
    const raw = { groups: [{ name: 'solo', machines: [{ id: 'solo-1', instanceId: 'i-0a1b2c3d' }] }] };
    // Act
    const inventory = parseInventory(raw);
    // Assess
    expect(inventory.groups[0]).toMatchObject({ name: 'solo', machines: [{ id: 'solo-1', wave: 1 }] });
    expect(inventory.groups[0]!.objectives).toBeUndefined();
    expect(inventory.people).toEqual([]);
  });

  it('reports duplicate machine ids across groups, unknown people and an unreachable quorum together', () => {
    // Prepare
    const raw = makeInventory();
    raw.groups[1]!.machines[0]!.id = 'payments-db'; // already in payments
    raw.groups[0]!.deciders = ['alice', 'mallory']; // mallory is not in people
    raw.groups[1]!.approval = { quorum: 3 }; // ledger has one decider
    // Act
    const error = validationError(() => parseInventory(raw));
    // Assess
    expect(paths(error)).toEqual(['groups[0].deciders[1]', 'groups[1].approval.quorum', 'groups[1].machines[0].id']);
    expect(error.message).toContain('duplicate machine id "payments-db" (first at groups[0].machines[0].id)');
    expect(error.message).toContain('unknown person "mallory"');
    expect(error.message).toContain('quorum 3 cannot be met by 1 decider(s)');
  });

  it('reports a bad instance id together with the cross-group errors of the same file', () => {
    // Prepare: one schema error and three cross-field errors in one file; all four must be reported
    const raw = makeInventory();
    raw.groups[2]!.machines[0]!.instanceId = 'i-XYZ';
    raw.groups[1]!.machines[0]!.id = 'payments-db';
    raw.groups[0]!.deciders = ['alice', 'mallory'];
    raw.groups[1]!.approval = { quorum: 3 };
    // Act
    const error = validationError(() => parseInventory(raw));
    // Assess
    expect(paths(error)).toEqual([
      'groups[0].deciders[1]', 'groups[1].approval.quorum', 'groups[1].machines[0].id', 'groups[2].machines[0].instanceId',
    ]);
  });

  it('reports every schema error with its path', () => {
    // Prepare
    const raw = makeInventory();
    raw.groups[0]!.machines[0]!.instanceId = 'i-XYZ';
    raw.groups[0]!.networks!.recovery!.subnetId = 'subnet-nothex!';
    raw.groups[1]!.machines[1]!.wave = 0;
    raw.groups[2]!.machines[0]!.instanceType = 'huge';
    raw.groups[0]!.objectives!.rpoMinutes = -5;
    // Act
    const error = validationError(() => parseInventory(raw));
    // Assess
    expect(paths(error)).toEqual([
      'groups[0].machines[0].instanceId',
      'groups[0].networks.recovery.subnetId',
      'groups[0].objectives.rpoMinutes',
      'groups[1].machines[1].wave',
      'groups[2].machines[0].instanceType',
    ]);
    expect(error.message).toContain('groups[0].machines[0].instanceId: must be an EC2 instance id like i-0123456789abcdef0');
  });

  it('refuses a group without machines and an unknown field', () => {
    // Prepare
    const raw = makeInventory();
    raw.groups[2]!.machines = [];
    raw.groups[1]!['owner'] = 'finance';
    // Act
    const error = validationError(() => parseInventory(raw));
    // Assess
    expect(paths(error)).toEqual(['groups[1]', 'groups[2].machines']);
    expect(error.message).toContain('a group needs at least one machine');
  });

  it('reports a duplicate instance id and a duplicate group name', () => {
    // Prepare
    const raw = makeInventory();
    raw.groups[2]!.machines[0]!.instanceId = INSTANCES.paymentsDb;
    raw.groups[2]!.name = 'ledger';
    // Act
    const error = validationError(() => parseInventory(raw));
    // Assess
    expect(paths(error)).toEqual(['groups[2].machines[0].instanceId', 'groups[2].name']);
  });

  it('refuses a check that names a machine of another group', () => {
    // Prepare
    const raw = makeInventory();
    raw.groups[0]!.checks![0]!.machines = ['ledger-db'];
    // Act
    const error = validationError(() => parseInventory(raw));
    // Assess
    expect(paths(error)).toEqual(['groups[0].checks[0].machines[0]']);
  });

  it('allows free-form decider names when the inventory lists no people', () => {
    // Prepare
    const raw = { groups: [{ name: 'solo', deciders: ['Head of Ops'], machines: [{ id: 'solo-1', instanceId: 'i-0a1b2c3d' }] }] };
    // Act
    const inventory = parseInventory(raw);
    // Assess
    expect(decidersOf(inventory.groups[0]!)).toEqual(['Head of Ops']);
  });

  it('counts deciders from the shorthand and roles.decider once each', () => {
    // Prepare
    const raw = makeInventory();
    raw.groups[0]!.roles!.decider = ['bob', 'carol'];
    // Act
    const group = parseInventory(raw).groups[0]!;
    // Assess
    expect(decidersOf(group)).toEqual(['alice', 'bob', 'carol']);
    expect(peopleInRole(group, 'analyst')).toEqual(['carol']);
  });
});

describe('indexInventory', () => {
  it('finds machines by id and by instance id, with their group', () => {
    // Prepare
    const inventory = parseInventory(makeInventory());
    // Act
    const index = indexInventory(inventory);
    // Assess
    expect(index.machineByInstanceId.get(INSTANCES.ledgerWorker)?.machine.id).toBe('ledger-worker');
    expect(index.machineById.get('payments-api')?.group.name).toBe('payments');
    expect(index.groupByName.get('reporting')?.machines).toHaveLength(1);
    expect(index.personById.get('alice')?.email).toBe('alice@example.com');
  });
});
