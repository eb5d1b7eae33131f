import { GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ProbeRequest, ProbeResult } from '../../../domain/drills/index.ts';
import { TransientError, ValidationError, type Clock } from '../../../domain/shared/index.ts';
import type { AcceptanceChecker } from '../../../domain/ports/index.ts';

/**
 * AcceptanceChecker over SSM Run Command (`AWS-RunShellScript`): every probe is a short shell
 * script run on a drilled machine inside the isolated test network, so tcp/http checks take the
 * path a client in that network takes (another drilled machine, through the security groups),
 * and ssm checks run their command on the machine itself.
 *
 * Needs, on AWS: the recovered images run the SSM agent, the drill instances have an instance
 * profile allowing `AmazonSSMManagedInstanceCore`, and the isolated test subnet reaches SSM
 * through VPC interface endpoints (ssm, ssmmessages, ec2messages): it has no internet route.
 *
 * The first line of every script is a comment carrying the probe as JSON (`# cleanpoint-check
 * {...}`): the shell ignores it; it makes the command self-describing in SSM's history, and the
 * local runtime's acceptance runner reads it to simulate the answer.
 */
export const CHECK_HEADER = '# cleanpoint-check ';
const TERMINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut', 'Cancelling', 'Undeliverable', 'Terminated', 'DeliveryTimedOut', 'ExecutionTimedOut', 'InvalidPlatform', 'AccessDenied']);
/** One probe's own limit (a check's timeout is spent over several probes). */
const PROBE_SECONDS = 10;
const HTTP_STATUS_MARK = 'cleanpoint:http:status=';
const TCP_OPEN_MARK = 'cleanpoint:tcp:open';

export interface CheckHeader {
  v: 1;
  drill: string;
  name: string;
  machine: string;
  type: 'tcp' | 'http' | 'ssm';
  host?: string;
  port?: number;
  path?: string;
  expectStatus?: number;
  /** ssm output / http body the check expects (locally: what a healthy simulated machine answers). */
  expect?: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** Single-quoted for the shell: `'` becomes `'\''`. */
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shell script (one line per element, as AWS-RunShellScript takes it) for a probe. */
export function probeScript(req: ProbeRequest): string[] {
  const c = req.check;
  const seconds = Math.max(1, Math.min(PROBE_SECONDS, Math.floor(req.timeoutMs / 1000)));
  const header: CheckHeader = { v: 1, drill: req.drillId, name: c.name, machine: req.target.machineId, type: c.type };
  if (c.type === 'ssm') {
    if (c.expectOutput !== undefined) header.expect = c.expectOutput;
    return [`${CHECK_HEADER}${JSON.stringify(header)}`, c.command];
  }
  const host = req.target.privateIpAddress;
  if (!host || !IPV4.test(host)) throw new ValidationError('acceptance check', [{ path: c.name, message: `${req.target.machineId} has no private IPv4 address in the test network` }]);
  header.host = host;
  header.port = c.port;
  if (c.type === 'tcp') {
    return [
      `${CHECK_HEADER}${JSON.stringify(header)}`,
      `if timeout ${seconds} bash -c ${quote(`exec 3<>/dev/tcp/${host}/${c.port}`)} 2>/dev/null; then echo ${TCP_OPEN_MARK}; else echo cleanpoint:tcp:closed; exit 1; fi`,
    ];
  }
  if (/[\u0000-\u001f\u007f\s]/.test(c.path)) throw new ValidationError('acceptance check', [{ path: `${c.name}.path`, message: 'must not contain spaces or control characters' }]);
  header.path = c.path;
  header.expectStatus = c.expectStatus;
  if (c.expectBody !== undefined) header.expect = c.expectBody;
  const url = `http://${host}:${c.port}${c.path}`;
  return [
    `${CHECK_HEADER}${JSON.stringify(header)}`,
    `code=$(curl -sS -o /tmp/cleanpoint-check-body -w '%{http_code}' --max-time ${seconds} ${quote(url)}) || code=000`,
    `echo "${HTTP_STATUS_MARK}$code"`,
    'head -c 4096 /tmp/cleanpoint-check-body 2>/dev/null; rm -f /tmp/cleanpoint-check-body',
  ];
}

/** Judge a finished invocation's output against the check. */
export function judgeOutput(req: ProbeRequest, status: string, stdout: string, responseCode: number | undefined): ProbeResult {
  const c = req.check;
  if (status === 'TimedOut' || status === 'ExecutionTimedOut' || status === 'DeliveryTimedOut') return { passed: false, detail: `no answer (SSM ${status})` };
  if (status === 'Undeliverable' || status === 'InvalidPlatform' || status === 'AccessDenied') return { passed: false, detail: `could not run the probe (SSM ${status})` };
  if (c.type === 'tcp') {
    return stdout.includes(TCP_OPEN_MARK)
      ? { passed: true, detail: `port ${c.port} open` }
      : { passed: false, detail: `port ${c.port} refused or unreachable` };
  }
  if (c.type === 'http') {
    const mark = stdout.indexOf(HTTP_STATUS_MARK);
    const code = mark >= 0 ? Number(stdout.slice(mark + HTTP_STATUS_MARK.length).match(/^\d{3}/)?.[0] ?? NaN) : NaN;
    const body = mark >= 0 ? stdout.slice(mark).split('\n').slice(1).join('\n') : '';
    if (!Number.isFinite(code) || code === 0) return { passed: false, detail: `no HTTP answer on port ${c.port}` };
    if (code !== c.expectStatus) return { passed: false, detail: `HTTP ${code}, expected ${c.expectStatus}` };
    if (c.expectBody !== undefined && !body.includes(c.expectBody)) return { passed: false, detail: `HTTP ${code} but the body lacks ${JSON.stringify(c.expectBody)}` };
    return { passed: true, detail: `HTTP ${code}${c.expectBody !== undefined ? ' with the expected body' : ''}` };
  }
  const out = stdout.trim().slice(0, 200);
  if (status !== 'Success') return { passed: false, detail: `exit ${responseCode ?? '?'}${out ? `: ${out}` : ''}` };
  if (c.expectOutput !== undefined && !stdout.includes(c.expectOutput)) return { passed: false, detail: `output lacks ${JSON.stringify(c.expectOutput)}${out ? ` (got ${JSON.stringify(out)})` : ''}` };
  return { passed: true, detail: `exit 0${c.expectOutput !== undefined ? ' with the expected output' : ''}` };
}

export class SsmAcceptanceChecker implements AcceptanceChecker {
  constructor(private readonly client: SSMClient, private readonly clock: Clock, private readonly options: { pollMs?: number } = {}) {}

  async probe(req: ProbeRequest): Promise<ProbeResult> {
    const commands = probeScript(req);
    const runOn = req.runner.instanceId;
    const seconds = Math.max(1, Math.min(PROBE_SECONDS, Math.floor(req.timeoutMs / 1000)));
    const deadline = this.clock.now() + Math.min(req.timeoutMs, (seconds + 20) * 1000);
    let commandId: string | undefined;
    try {
      const sent = await this.client.send(new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [runOn],
        Parameters: { commands, executionTimeout: [String(seconds + 5)] },
        // The delivery timeout: at least 30 s (SSM's minimum).
        TimeoutSeconds: 30,
        Comment: `cleanpoint ${req.drillId} ${req.check.name}`.slice(0, 100),
      }));
      commandId = sent.Command?.CommandId;
    } catch (e) {
      throw this.mapError('SendCommand', e);
    }
    if (!commandId) throw new TransientError('SSM SendCommand returned no command id');
    for (;;) {
      await this.clock.sleep(this.options.pollMs ?? 1000);
      try {
        const out = await this.client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: runOn }));
        if (out.Status && TERMINAL.has(out.Status)) return judgeOutput(req, out.Status, out.StandardOutputContent ?? '', out.ResponseCode);
      } catch (e) {
        // Right after SendCommand the invocation may not exist yet.
        if ((e as Error).name !== 'InvocationDoesNotExist') throw this.mapError('GetCommandInvocation', e);
      }
      if (this.clock.now() >= deadline) return { passed: false, detail: `no answer within ${Math.round(req.timeoutMs / 1000)} s` };
    }
  }

  private mapError(operation: string, e: unknown): Error {
    const name = (e as Error)?.name ?? 'Error';
    const message = `SSM ${operation} failed: ${name}: ${(e as Error)?.message ?? String(e)}`;
    if (/Throttl|InternalServerError|ServiceUnavailable/.test(name)) return new TransientError(message, { cause: e });
    return new Error(message, { cause: e });
  }
}
