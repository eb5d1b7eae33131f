import type { EC2Client, ServiceOutputTypes } from '@aws-sdk/client-ec2';
import { isHoldableClock } from '../virtual-clock.ts';
import type { Ec2Simulator } from './simulator.ts';

export const SIMULATOR_MIDDLEWARE_NAME = 'cleanpointEc2Simulator';
const CAPTURE_MIDDLEWARE_NAME = 'cleanpointEc2SimulatorInput';
const INPUT = Symbol.for('cleanpoint.ec2Simulator.input');
const RELEASE = Symbol.for('cleanpoint.ec2Simulator.release');

type SimContextBag = { [INPUT]?: unknown; [RELEASE]?: () => void };

/**
 * Route every command of a real EC2Client to the simulator instead of AWS. The SDK still resolves its
 * config, serialises and signs the request, and runs its retry strategy (set `maxAttempts: 1` to see
 * throttling errors directly: retries back off in real time). Attaching again replaces the simulator.
 */
export function attachEc2Simulator(client: EC2Client, sim: Ec2Simulator): void {
  const stack = client.middlewareStack;
  stack.remove(CAPTURE_MIDDLEWARE_NAME);
  stack.remove(SIMULATOR_MIDDLEWARE_NAME);

  // Initialize step: the command input as the caller gave it. Also keeps a VirtualClock from jumping
  // while the SDK does real I/O before our finalize step (it reads shared config files on first use).
  stack.add((next, context) => async (args) => {
    const bag = context as SimContextBag;
    bag[INPUT] = args.input;
    bag[RELEASE] = isHoldableClock(sim.clock) ? sim.clock.hold() : undefined;
    try {
      return await next(args);
    } finally {
      bag[RELEASE]?.();
    }
  }, { step: 'initialize', priority: 'high', name: CAPTURE_MIDDLEWARE_NAME });

  // FinalizeRequest step, inside the retry loop: answer from the simulator without calling `next`.
  stack.add((_next, context) => async () => {
    const bag = context as SimContextBag;
    bag[RELEASE]?.();
    const output = await sim.execute(context.commandName ?? 'UnknownCommand', bag[INPUT]);
    const withMetadata = { $metadata: { httpStatusCode: 200, requestId: 'cleanpoint-ec2-simulator' }, ...output };
    return { output: withMetadata as ServiceOutputTypes, response: {} };
  }, { step: 'finalizeRequest', priority: 'low', name: SIMULATOR_MIDDLEWARE_NAME });
}
