import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../domain/shared/index.ts';
import { CHECK_HEADER, type CheckHeader } from '../functions/shared/adapters/ssm-acceptance-checker.ts';
import type { Ec2Simulator } from './ec2-sim/index.ts';
import { instanceState } from './ec2-sim/lifecycle.ts';
import { awsError } from './sdk-emulator.ts';

/**
 * SSM Run Command for the local runtime, enough for the drills' acceptance checks: it answers
 * `SendCommand` / `GetCommandInvocation` for the SSM acceptance-check adapter, so the adapter
 * code that runs on AWS runs here too.
 *
 * THE CHECKS ARE SIMULATED. Nothing listens on a port locally and no shell runs. The answer to
 * a probe is derived from the EC2 simulator's state: the machine that runs the probe must be a
 * running instance; a tcp/http probe reaches the target when an instance with that private IP
 * is running in the same VPC, and it then answers as a healthy service would (port open,
 * HTTP `200 ok`, or the expected status/body); an ssm command exits 0 printing what the check
 * expects. Faults (`failingChecks`) make chosen checks fail the way real ones do: refused,
 * timing out, a wrong HTTP status or body, a failing command.
 */
const failingCheck = z.strictObject({
  /** Check name (default: every check). */
  check: z.string().min(1).optional(),
  /** Machine id under test (default: every machine). */
  machine: z.string().min(1).optional(),
  /** How it fails (default `refused`). */
  behaviour: z.enum(['refused', 'timeout', 'wrong-status', 'wrong-body', 'command-fails']).default('refused'),
  /** HTTP status for `wrong-status` (default 503). */
  status: z.number().int().min(100).max(599).default(503),
});

export const acceptanceFaultsSchema = z.strictObject({ failingChecks: z.array(failingCheck).default([]) });
export type AcceptanceFaults = z.input<typeof acceptanceFaultsSchema>;

/** Simulated time a probe takes before its invocation finishes. */
const DURATION_MS = { tcp: 50, http: 200, ssm: 1_500 } as const;

interface Invocation {
  commandId: string;
  instanceId: string;
  doneAt: number;
  status: 'Success' | 'Failed' | 'TimedOut';
  responseCode: number;
  stdout: string;
  stderr: string;
}

export class LocalAcceptanceRunner {
  private faults = acceptanceFaultsSchema.parse({});
  private readonly invocations = new Map<string, Invocation>();
  /** Every probe seen (for tests and the console): header plus where it ran. */
  readonly probes: (CheckHeader & { instanceId: string; at: string })[] = [];

  constructor(private readonly sim: Ec2Simulator, private readonly clock: Clock) {}

  setFaults(faults: AcceptanceFaults): void {
    this.faults = acceptanceFaultsSchema.parse(faults);
  }

  clearFaults(): void {
    this.faults = acceptanceFaultsSchema.parse({});
  }

  currentFaults(): z.infer<typeof acceptanceFaultsSchema> {
    return structuredClone(this.faults);
  }

  /** Answers the SSM commands the acceptance checker sends; anything else is not emulated. */
  handle(command: string, input: Record<string, unknown>): Record<string, unknown> {
    if (command === 'SendCommandCommand') return this.send(input);
    if (command === 'GetCommandInvocationCommand') return this.invocation(input);
    throw awsError('UnsupportedOperation', `${command} is not emulated locally`);
  }

  private send(input: Record<string, unknown>): Record<string, unknown> {
    const instanceId = String((input['InstanceIds'] as string[] | undefined)?.[0] ?? '');
    const commands = ((input['Parameters'] as Record<string, string[]> | undefined)?.['commands'] ?? []);
    const timeoutSeconds = Number((input['Parameters'] as Record<string, string[]> | undefined)?.['executionTimeout']?.[0] ?? 3600);
    const world = this.sim.snapshotState();
    const now = this.clock.now();
    const runner = world.instances[instanceId];
    // SSM refuses instances that are not managed (not running, terminated, unknown).
    if (!runner || instanceState(runner, now) !== 'running') throw awsError('InvalidInstanceId', `Instances [[${instanceId}]] not in a valid state for account`);
    const first = commands[0] ?? '';
    if (!first.startsWith(CHECK_HEADER)) throw awsError('UnsupportedOperation', 'the local SSM answers Cleanpoint acceptance checks only');
    const header = JSON.parse(first.slice(CHECK_HEADER.length)) as CheckHeader;
    this.probes.push({ ...header, instanceId, at: new Date(now).toISOString() });
    const commandId = randomUUID();
    const outcome = this.simulate(header, runner.vpcId, world, now);
    this.invocations.set(`${commandId}/${instanceId}`, {
      commandId, instanceId, ...outcome,
      doneAt: now + (outcome.status === 'TimedOut' ? timeoutSeconds * 1000 : DURATION_MS[header.type]),
    });
    return { Command: { CommandId: commandId, DocumentName: 'AWS-RunShellScript', InstanceIds: [instanceId], Status: 'Pending' } };
  }

  private simulate(h: CheckHeader, runnerVpc: string, world: ReturnType<Ec2Simulator['snapshotState']>, now: number): Omit<Invocation, 'commandId' | 'instanceId' | 'doneAt'> {
    const ok = (stdout: string) => ({ status: 'Success' as const, responseCode: 0, stdout, stderr: '' });
    const failed = (stdout: string, code = 1) => ({ status: 'Failed' as const, responseCode: code, stdout, stderr: '' });
    const fault = this.faults.failingChecks.find((f) => (!f.check || f.check === h.name) && (!f.machine || f.machine === h.machine));
    if (fault?.behaviour === 'timeout') return { status: 'TimedOut', responseCode: -1, stdout: '', stderr: '' };
    if (h.type === 'ssm') {
      return fault ? failed('simulated: the command failed', 2) : ok(h.expect ?? 'ok');
    }
    const target = Object.values(world.instances).find((i) => i.privateIpAddress === h.host && instanceState(i, now) === 'running');
    const reachable = Boolean(target) && target!.vpcId === runnerVpc;
    if (h.type === 'tcp') return reachable && !fault ? ok('cleanpoint:tcp:open') : failed('cleanpoint:tcp:closed');
    if (!reachable || fault?.behaviour === 'refused' || fault?.behaviour === 'command-fails') return ok('cleanpoint:http:status=000');
    if (fault?.behaviour === 'wrong-status') return ok(`cleanpoint:http:status=${fault.status}\nservice unavailable (simulated)`);
    if (fault?.behaviour === 'wrong-body') return ok(`cleanpoint:http:status=${h.expectStatus ?? 200}\nsomething else (simulated)`);
    return ok(`cleanpoint:http:status=${h.expectStatus ?? 200}\n${h.expect ?? 'ok'} (simulated healthy service)`);
  }

  private invocation(input: Record<string, unknown>): Record<string, unknown> {
    const inv = this.invocations.get(`${String(input['CommandId'])}/${String(input['InstanceId'])}`);
    if (!inv) throw awsError('InvocationDoesNotExist', 'The command invocation does not exist');
    if (this.clock.now() < inv.doneAt) return { CommandId: inv.commandId, InstanceId: inv.instanceId, Status: 'InProgress', ResponseCode: -1 };
    return {
      CommandId: inv.commandId, InstanceId: inv.instanceId, Status: inv.status, StatusDetails: inv.status, ResponseCode: inv.responseCode,
      StandardOutputContent: inv.stdout, StandardErrorContent: inv.stderr,
    };
  }
}
