import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../domain/findings/index.ts';
import { buildFailoverPlan, checkMachine, launchMachine, type Run } from '../../domain/failover/index.ts';
import { indexInventory, parseInventory } from '../../domain/inventory/index.ts';
import { selectRecoveryPoints, type MachineFacts } from '../../domain/recovery-points/index.ts';
import { ValidationError } from '../../domain/shared/index.ts';
import { MemoryAuditLog } from '../../functions/shared/adapters/memory/index.ts';
import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { MemoryRunStore } from '../../functions/shared/adapters/memory/run-store.ts';
import { INSTANCES, makeInventory, makePoint } from '../helpers/fixtures.ts';
import { fixedClock, instanceView, makeRunMachine, NOW, ScriptedCompute } from '../functions/support.ts';

/**
 * Issue 16, items 5 and 6: the inventory's key, instance profile, private IP and user data reach
 * RunInstances (plan ▶ run machine ▶ launch request), per mode.
 */
const DEPLOYMENT_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const MACHINE_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/0fedcba9-8765-4321-0fed-cba987654321';
const GROUP_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/aaaabbbb-cccc-dddd-eeee-ffff00001111';
const PROFILE = 'arn:aws:iam::111122223333:instance-profile/payments-db';
const DRILL_PROFILE = 'arn:aws:iam::111122223333:instance-profile/cleanpoint-drill';

function inventory(edit: (raw: ReturnType<typeof makeInventory>) => void = () => {}) {
  const raw = makeInventory();
  const payments = raw.groups[0]!;
  Object.assign(payments, { kmsKeyId: GROUP_KEY, testInstanceProfileArn: DRILL_PROFILE });
  Object.assign(payments.machines[0]!, { kmsKeyId: MACHINE_KEY, instanceProfileArn: PROFILE, preservePrivateIp: true, userData: '#!/bin/sh\necho restored\n' });
  edit(raw);
  return indexInventory(parseInventory(raw));
}

const facts = (privateIpAddress?: string): MachineFacts => ({
  instanceId: INSTANCES.paymentsDb, readAt: '2024-05-01T08:00:00.000Z', architecture: 'x86_64', enaSupport: true, platform: 'linux',
  rootDeviceName: '/dev/xvda', blockDevices: [{ deviceName: '/dev/xvda', volumeId: 'vol-0123456789abcdef0' }],
  ...(privateIpAddress ? { privateIpAddress } : {}),
});

async function planFor(index: ReturnType<typeof inventory>, mode: 'recovery' | 'test', machines: string[], privateIp: string | null = '10.0.3.17') {
  const catalog = new InMemoryRecoveryPointCatalog(machines.map((machineId) => makePoint({ machineId, machine: { ...facts(privateIp ?? undefined), instanceId: INSTANCES.paymentsDb } })));
  const selection = await selectRecoveryPoints({ catalog })({
    groups: [{ group: 'payments', cutoff: '2024-05-01T08:30:00.000Z', machines }], evidenceAt: '2024-05-01T09:30:00.000Z',
  });
  return buildFailoverPlan(DEFAULT_POLICY, index)({ mode, selection });
}

describe('launch settings in the plan', () => {
  it('recovery mode: the machine\'s key over its group\'s, its instance profile, the captured private IP and its user data', async () => {
    // Act
    const plan = await planFor(inventory(), 'recovery', ['payments-db', 'payments-api']);

    // Assess
    const byId = new Map(plan.machines.map((m) => [m.machineId, m.launch]));
    expect(byId.get('payments-db')).toEqual({ kmsKeyId: MACHINE_KEY, instanceProfileArn: PROFILE, privateIpAddress: '10.0.3.17', userData: '#!/bin/sh\necho restored\n' });
    // No key of its own: the group's; no profile, no preservation, no user data.
    expect(byId.get('payments-api')).toEqual({ kmsKeyId: GROUP_KEY });
  });

  it('test mode: never the production instance profile nor the private IP; the group\'s drill profile if it names one', async () => {
    // Act
    const withDrillProfile = await planFor(inventory(), 'test', ['payments-db']);
    const without = await planFor(inventory((raw) => { delete (raw.groups[0] as Record<string, unknown>)['testInstanceProfileArn']; }), 'test', ['payments-db']);

    // Assess
    expect(withDrillProfile.machines[0]!.launch).toEqual({ kmsKeyId: MACHINE_KEY, instanceProfileArn: DRILL_PROFILE, userData: '#!/bin/sh\necho restored\n' });
    expect(without.machines[0]!.launch).not.toHaveProperty('instanceProfileArn');
    expect(without.machines[0]!.launch).not.toHaveProperty('privateIpAddress');
  });

  it('falls back to the inventory\'s key, and notes (without blocking) a preserved IP the point did not capture', async () => {
    // Prepare
    const index = inventory((raw) => {
      (raw as Record<string, unknown>)['kmsKeyId'] = DEPLOYMENT_KEY;
      delete (raw.groups[0] as Record<string, unknown>)['kmsKeyId'];
      delete (raw.groups[0]!.machines[0] as Record<string, unknown>)['kmsKeyId'];
    });

    // Act
    const plan = await planFor(index, 'recovery', ['payments-db'], null);

    // Assess
    expect(plan.machines[0]!.launch.kmsKeyId).toBe(DEPLOYMENT_KEY);
    expect(plan.machines[0]!.launch).not.toHaveProperty('privateIpAddress');
    expect(plan.problems).toEqual([]);
    expect(plan.notes).toEqual([expect.stringContaining('payments-db: preservePrivateIp is set but point')]);
  });

  it('refuses user data over 16 KB raw, counted in bytes (EC2\'s limit before base64)', () => {
    // Prepare: 8,193 two-byte characters = 16,386 bytes but only 8,193 UTF-16 units
    const raw = makeInventory();
    Object.assign(raw.groups[0]!.machines[0]!, { userData: 'é'.repeat(8193) });

    // Act
    let error: unknown;
    try { parseInventory(raw); } catch (e) { error = e; }

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([expect.objectContaining({ path: 'groups[0].machines[0].userData', message: expect.stringContaining('16 KB raw') })]);
  });
});

const RUN: Run = { runId: 'inc-0123456789abcdef0123', kind: 'incident', incidentId: 'inc-0123456789abcdef0123', mode: 'recovery', createdAt: '2024-05-01T09:55:00.000Z', decidedAt: '2024-05-01T09:54:00.000Z', waves: [{ wave: 1, machines: ['payments-db'] }] };

async function launchWorld(launch: Parameters<typeof makeRunMachine>[0]) {
  const runs = new MemoryRunStore();
  await runs.createRun(RUN, [makeRunMachine({ mode: 'recovery', ...launch })]);
  const compute = new ScriptedCompute();
  const audit = new MemoryAuditLog();
  const launchOne = launchMachine({ runs, audit, compute, clock: fixedClock(NOW), kmsKeyId: DEPLOYMENT_KEY, retry: { maxAttempts: 1, baseMs: 1, capMs: 1, random: () => 0 } });
  return { runs, compute, audit, launch: () => launchOne({ runId: RUN.runId, machineId: 'payments-db', kind: 'incident' }) };
}

describe('launchMachine: the run machine\'s launch settings reach RunInstances', () => {
  it('uses the machine\'s key, not the deployment\'s, with its instance profile, private IP and user data', async () => {
    // Prepare
    const w = await launchWorld({ launch: { kmsKeyId: MACHINE_KEY, instanceProfileArn: PROFILE, privateIpAddress: '10.0.3.17', userData: 'echo hi' } });

    // Act
    await w.launch();

    // Assess
    expect(w.compute.launches[0]).toMatchObject({ kmsKeyId: MACHINE_KEY, instanceProfileArn: PROFILE, privateIpAddress: '10.0.3.17', userData: 'echo hi' });
    const launched = (await w.audit.list(RUN.runId)).find((e) => e.type === 'machine.launched');
    expect(launched?.data).toMatchObject({ kmsKeyId: MACHINE_KEY, instanceProfileArn: PROFILE, privateIpAddress: '10.0.3.17' });
  });

  it('uses the deployment\'s key for a run planned without launch settings', async () => {
    // Prepare
    const w = await launchWorld({});

    // Act
    await w.launch();

    // Assess
    expect(w.compute.launches[0]?.kmsKeyId).toBe(DEPLOYMENT_KEY);
    expect(w.compute.launches[0]).not.toHaveProperty('instanceProfileArn');
  });

  it('a preserved address already in use: launches under a new address with a new token, audited and recorded', async () => {
    // Prepare
    const w = await launchWorld({ launch: { kmsKeyId: MACHINE_KEY, privateIpAddress: '10.0.3.17' } });
    w.compute.runInstanceImpl = async (r) => {
      if (r.privateIpAddress) throw new Error('EC2 RunInstances failed: InvalidIPAddress.InUse: Address 10.0.3.17 is in use.');
      return { instanceId: 'i-0fedcba98765432cc' };
    };

    // Act
    const out = await w.launch();

    // Assess
    expect(out.instanceId).toBe('i-0fedcba98765432cc');
    expect(w.compute.launches.map((l) => l.privateIpAddress)).toEqual(['10.0.3.17', undefined]);
    expect(w.compute.launches[0]!.clientToken).not.toBe(w.compute.launches[1]!.clientToken);
    const types = (await w.audit.list(RUN.runId)).map((e) => e.type);
    expect(types).toEqual(['machine.private-ip-not-preserved', 'machine.launched']);
    expect((await w.runs.getMachine(RUN.runId, 'payments-db'))?.privateIpNotPreserved).toBe('10.0.3.17');
  });
});

describe('checkMachine: an instance EC2 ended at launch', () => {
  it('fails with EC2\'s state reason and the likely cause (the volumes\' key), not a generic timeout', async () => {
    // Prepare
    const runs = new MemoryRunStore();
    await runs.createRun(RUN, [makeRunMachine({ mode: 'recovery', instanceId: 'i-0fedcba98765432aa', launchedAt: '2024-05-01T09:58:00.000Z', launch: { kmsKeyId: MACHINE_KEY } })]);
    const compute = new ScriptedCompute();
    compute.instances.set('i-0fedcba98765432aa', instanceView({ state: 'terminated', statusOk: null, stateReason: { code: 'Client.InternalError', message: 'Client.InternalError: Client error on launch' } }));
    const audit = new MemoryAuditLog();

    // Act
    let error: unknown;
    try { await checkMachine({ runs, compute, audit, clock: fixedClock(NOW) })({ runId: RUN.runId, machineId: 'payments-db' }); } catch (e) { error = e; }

    // Assess
    expect((error as Error).name).toBe('MachineCheckFailedError');
    expect((error as Error).message).toContain('Client.InternalError: Client error on launch');
    expect((error as Error).message).toContain(MACHINE_KEY);
    const failed = (await audit.list(RUN.runId)).find((e) => e.type === 'machine.check-failed');
    expect(String(failed?.data['error'])).toContain('KMS key');
  });
});
