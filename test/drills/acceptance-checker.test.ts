import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProbeRequest } from '../../domain/drills/index.ts';
import { fixedClock, ValidationError } from '../../domain/shared/index.ts';
import type { AcceptanceCheck } from '../../domain/inventory/index.ts';
import { CHECK_HEADER, judgeOutput, probeScript, SsmAcceptanceChecker } from '../../functions/shared/adapters/ssm-acceptance-checker.ts';
import { LocalAcceptanceRunner } from '../../local/acceptance-runner.ts';
import { Ec2Simulator } from '../../local/ec2-sim/index.ts';
import { attachEmulator } from '../../local/sdk-emulator.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';

const tcp: AcceptanceCheck = { name: 'postgres', type: 'tcp', port: 5432, timeoutSeconds: 60 };
const http: AcceptanceCheck = { name: 'api-health', type: 'http', port: 8080, path: "/health?who=o'brien", expectStatus: 200, expectBody: 'ok', timeoutSeconds: 60 };
const ssm: AcceptanceCheck = { name: 'service', type: 'ssm', command: 'systemctl is-active payments', expectOutput: 'active', timeoutSeconds: 60 };

function request(check: AcceptanceCheck, targetIp: string | null = '10.0.1.20'): ProbeRequest {
  return {
    drillId: 'drill-payments-x', check, timeoutMs: 60_000,
    target: { machineId: 'payments-db-1', instanceId: 'i-0aaa0000000000001', privateIpAddress: targetIp },
    runner: { machineId: 'payments-api-1', instanceId: 'i-0bbb0000000000002', privateIpAddress: '10.0.1.21' },
  };
}

describe('probe scripts (AWS-RunShellScript)', () => {
  it('describes the probe in a first comment line, then probes the port through bash /dev/tcp', () => {
    const [header, probe] = probeScript(request(tcp));
    expect(JSON.parse(header!.slice(CHECK_HEADER.length))).toEqual({ v: 1, drill: 'drill-payments-x', name: 'postgres', machine: 'payments-db-1', type: 'tcp', host: '10.0.1.20', port: 5432 });
    expect(probe).toContain(`bash -c 'exec 3<>/dev/tcp/10.0.1.20/5432'`);
  });

  it('quotes the URL for the shell, so an inventory path cannot inject commands', () => {
    const lines = probeScript(request(http));
    expect(lines[1]).toContain(`--max-time 10 'http://10.0.1.20:8080/health?who=o'\\''brien'`);
    expect(() => probeScript(request({ ...http, path: '/x y' }))).toThrow(ValidationError);
    expect(() => probeScript(request(http, null))).toThrow(/no private IPv4 address/);
  });

  it('runs an ssm check\'s own command', () => {
    expect(probeScript(request(ssm)).slice(1)).toEqual(['systemctl is-active payments']);
  });

  it('judges the output: open port, HTTP status and body, exit code and output', () => {
    expect(judgeOutput(request(tcp), 'Success', 'cleanpoint:tcp:open\n', 0)).toEqual({ passed: true, detail: 'port 5432 open' });
    expect(judgeOutput(request(tcp), 'Failed', 'cleanpoint:tcp:closed\n', 1).passed).toBe(false);
    expect(judgeOutput(request(http), 'Success', 'cleanpoint:http:status=200\nall ok\n', 0)).toEqual({ passed: true, detail: 'HTTP 200 with the expected body' });
    expect(judgeOutput(request(http), 'Success', 'cleanpoint:http:status=200\nnope', 0).detail).toBe('HTTP 200 but the body lacks "ok"');
    expect(judgeOutput(request(http), 'Success', 'cleanpoint:http:status=503\n', 0).detail).toBe('HTTP 503, expected 200');
    expect(judgeOutput(request(http), 'Success', 'cleanpoint:http:status=000\n', 0).detail).toBe('no HTTP answer on port 8080');
    expect(judgeOutput(request(ssm), 'Success', 'active\n', 0).passed).toBe(true);
    expect(judgeOutput(request(ssm), 'Failed', 'inactive\n', 3).detail).toBe('exit 3: inactive');
    expect(judgeOutput(request(ssm), 'TimedOut', '', -1).detail).toBe('no answer (SSM TimedOut)');
  });
});

describe('SsmAcceptanceChecker', () => {
  // One mocked client per test (not the class: the local runner below uses a real one).
  let client: SSMClient;
  let ssmMock: ReturnType<typeof mockClient>;
  beforeEach(() => {
    client = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    ssmMock = mockClient(client);
  });

  it('sends the script to the runner machine and polls until the invocation finishes', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssmMock.on(GetCommandInvocationCommand)
      .rejectsOnce(Object.assign(new Error('not yet'), { name: 'InvocationDoesNotExist' }))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'cleanpoint:tcp:open\n' });
    const checker = new SsmAcceptanceChecker(client, fixedClock(0));

    const result = await checker.probe(request(tcp));

    expect(result).toEqual({ passed: true, detail: 'port 5432 open' });
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, { DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-0bbb0000000000002'], TimeoutSeconds: 30 });
    expect(ssmMock).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 3);
    expect(ssmMock).toHaveReceivedCommandWith(GetCommandInvocationCommand, { CommandId: 'cmd-1', InstanceId: 'i-0bbb0000000000002' });
  });

  it('gives up when the invocation does not finish in the time left', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-2' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const result = await new SsmAcceptanceChecker(client, fixedClock(0)).probe({ ...request(tcp), timeoutMs: 8_000 });
    expect(result).toEqual({ passed: false, detail: 'no answer within 8 s' });
  });

  it('turns SSM throttling into a TransientError the caller retries', async () => {
    ssmMock.on(SendCommandCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(new SsmAcceptanceChecker(client, fixedClock(0)).probe(request(tcp))).rejects.toMatchObject({ name: 'TransientError' });
  });
});

describe('local acceptance runner (simulated checks, through the same SSM adapter)', () => {
  async function world() {
    const clock = new VirtualClock({ startMs: Date.parse('2025-03-02T03:00:00Z') });
    const sim = new Ec2Simulator({ clock, throttling: false });
    const vpcA = sim.seedVpc({ cidrBlock: '10.0.0.0/16' });
    const vpcB = sim.seedVpc({ cidrBlock: '10.1.0.0/16' });
    const subnetA = sim.seedSubnet({ vpcId: vpcA, cidrBlock: '10.0.1.0/24', isolated: true });
    const subnetB = sim.seedSubnet({ vpcId: vpcB, cidrBlock: '10.1.1.0/24', isolated: true });
    const db = sim.seedInstance({ subnetId: subnetA });
    const app = sim.seedInstance({ subnetId: subnetA });
    const elsewhere = sim.seedInstance({ subnetId: subnetB });
    const ip = (id: string) => sim.snapshotState().instances[id]!.privateIpAddress;
    const runner = new LocalAcceptanceRunner(sim, clock);
    const client = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    attachEmulator(client, 'testSsm', (command, input) => runner.handle(command, input));
    const checker = new SsmAcceptanceChecker(client, clock);
    const probe = (check: AcceptanceCheck, target: string, from: string) => checker.probe({
      drillId: 'drill-x', check, timeoutMs: 30_000,
      target: { machineId: 'db-1', instanceId: target, privateIpAddress: ip(target) }, runner: { machineId: 'app-1', instanceId: from, privateIpAddress: ip(from) },
    });
    return { sim, runner, probe, db, app, elsewhere };
  }

  it('answers like healthy services on running machines of the same network', async () => {
    const w = await world();
    expect(await w.probe(tcp, w.db, w.app)).toEqual({ passed: true, detail: 'port 5432 open' });
    expect(await w.probe({ ...http, path: '/health' }, w.db, w.app)).toEqual({ passed: true, detail: 'HTTP 200 with the expected body' });
    expect(await w.probe(ssm, w.db, w.db)).toEqual({ passed: true, detail: 'exit 0 with the expected output' });
    expect(w.runner.probes.map((p) => [p.name, p.instanceId])).toEqual([['postgres', w.app], ['api-health', w.app], ['service', w.db]]);
  });

  it('cannot reach a machine in another VPC (the test network is isolated)', async () => {
    const w = await world();
    expect(await w.probe(tcp, w.elsewhere, w.app)).toEqual({ passed: false, detail: 'port 5432 refused or unreachable' });
  });

  it('fails the checks a failingChecks fault names, the way real ones fail', async () => {
    const w = await world();
    w.runner.setFaults({ failingChecks: [{ check: 'api-health', behaviour: 'wrong-status', status: 502 }, { check: 'postgres', behaviour: 'timeout' }, { check: 'service' }] });
    expect((await w.probe({ ...http, path: '/health' }, w.db, w.app)).detail).toBe('HTTP 502, expected 200');
    expect((await w.probe(tcp, w.db, w.app)).detail).toBe('no answer (SSM TimedOut)');
    expect((await w.probe(ssm, w.db, w.db)).passed).toBe(false);
    w.runner.clearFaults();
    expect((await w.probe(tcp, w.db, w.app)).passed).toBe(true);
  });
});
