import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CUSTOMER_KMS_KEY, type LocalRuntime } from '../../local/runtime.ts';
import { approvalLink, formFields, guardDutyEvent, httpGet, httpPostForm, startSeededRuntime, until } from '../helpers/local-runtime.ts';

/**
 * Issue 16, items 5 and 6 in the local runtime: a failover launches a machine under a
 * customer-managed key (not Cleanpoint's) with its instance profile and user data, through
 * launch-machine's own role; a machine whose key the role is not allowed (not in the deployment's
 * launchKmsKeyArns) is accepted by EC2 and ended at launch, and the incident says why.
 */
const PROFILE = 'arn:aws:iam::000000000000:instance-profile/intranet-web';
/** A key of the account the deployment does not list: the launch role may not use it. */
const UNLISTED_KEY = 'arn:aws:kms:us-east-1:000000000000:key/badbad00-0000-4000-8000-0000000bad00';

let rt: LocalRuntime;

function inventoryFile(): string {
  const inventory = parseYaml(readFileSync('examples/inventory.yaml', 'utf8')) as { groups: { name: string; machines: Record<string, unknown>[] }[] };
  const machine = (group: string, id: string) => inventory.groups.find((g) => g.name === group)!.machines.find((m) => m['id'] === id)!;
  Object.assign(machine('intranet', 'intranet-web-1'), { kmsKeyId: LOCAL_CUSTOMER_KMS_KEY, instanceProfileArn: PROFILE, userData: '#!/bin/sh\nsystemctl start intranet\n' });
  Object.assign(machine('crm', 'crm-db-1'), { kmsKeyId: UNLISTED_KEY });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'cleanpoint-keys-')), 'inventory.yaml');
  writeFileSync(file, stringifyYaml(inventory));
  return file;
}

beforeAll(async () => {
  rt = await startSeededRuntime({ speed: 120, inventoryFile: inventoryFile() });
}, 120_000);
afterAll(async () => { await rt?.close(); });

async function incident(incidentId: string) {
  const { stateStores } = await import('../../functions/shared/wiring.ts');
  return stateStores({ STATE_TABLE: rt.tables.state }, rt.platform).incidents.getIncident(incidentId);
}

/** A finding on the instance, the decider approves from the e-mailed link; the execution's end. */
async function failover(instanceId: string, decider: string) {
  const [delivery] = await rt.putEvent(guardDutyEvent(rt, { instanceId, minutesAgo: 30 }));
  const incidentId = (delivery!.result as { incidentId: string }).incidentId;
  const link = await approvalLink(rt, decider, incidentId);
  const page = await httpGet(rt, link);
  await httpPostForm(rt, `${link.pathname}/decision`, { ...formFields(page.body, 'approve'), step: 'confirm' });
  const done = await (await until('the incident execution', () => rt.executionFor(incidentId))).done;
  return { incidentId, done };
}

describe('customer-managed keys and instance profiles in a failover (local runtime, per-function IAM)', () => {
  it('restores the machine under its customer key with its instance profile and user data', async () => {
    // Act
    const { incidentId, done } = await failover('i-0cc000000000a0101', 'dana@example.com');

    // Assess
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    const [instance] = rt.sim.resources({ tag: { key: 'cleanpoint:incident', value: incidentId } }).filter((r) => r.type === 'instance');
    const described = (await rt.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instance!.id] }))).Reservations![0]!.Instances![0]!;
    expect(described.IamInstanceProfile?.Arn).toBe(PROFILE);
    const volumes = Object.values(rt.sim.snapshotState().volumes).filter((v) => v.attachment?.instanceId === instance!.id);
    expect(volumes.length).toBeGreaterThan(0);
    expect(volumes.every((v) => v.encrypted && v.kmsKeyId === LOCAL_CUSTOMER_KMS_KEY)).toBe(true);
    expect(rt.iam?.unexpectedDenials()).toEqual([]);
    const { stateStores } = await import('../../functions/shared/wiring.ts');
    const audit = await stateStores({ STATE_TABLE: rt.tables.state }, rt.platform).audit.list(incidentId);
    expect(audit.find((e) => e.type === 'machine.launched')?.data).toMatchObject({ kmsKeyId: LOCAL_CUSTOMER_KMS_KEY, instanceProfileArn: PROFILE });
  }, 60_000);

  it('a key the launch role may not use: EC2 ends the instance at launch and the incident names the key', async () => {
    // Act: the refusals of kms:* on the unlisted key are provoked on purpose
    const { incidentId, done } = await rt.iam!.expectDenials(() => failover('i-0bb0000000000db01', 'dominik@example.com'));

    // Assess
    expect(done.status).toBe('FAILED');
    const stored = await incident(incidentId);
    expect(stored?.status).toBe('failover-failed');
    const db = stored!.outcome!.machines.find((m) => m.machineId === 'crm-db-1');
    expect(db?.state).toBe('failed');
    expect(db?.error).toContain('Client.InternalError: Client error on launch');
    expect(db?.error).toContain(UNLISTED_KEY);
    // EC2 accepted the launch (no UnauthorizedOperation) and ended it itself.
    expect(db?.instanceId).toMatch(/^i-/);
    const described = (await rt.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [db!.instanceId!] }))).Reservations![0]!.Instances![0]!;
    expect(described.State?.Name).toBe('terminated');
    expect(described.StateReason?.Code).toBe('Client.InternalError');
    expect(rt.iam!.denials.filter((d) => d.functionName === 'launch-machine').map((d) => d.action)).toContain('kms:CreateGrant');
  }, 60_000);
});
