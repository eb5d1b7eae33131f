/**
 * Answer a real AWS SDK v3 client's commands locally, at the SDK boundary: the calling code
 * (our adapters) runs unchanged, the SDK still builds and serialises the request, and this
 * middleware returns the service's answer instead of sending it. Errors are thrown with the
 * AWS error code as `name`, as the SDK would.
 */
type AnyClient = { middlewareStack: { add: (...a: never[]) => unknown; remove: (name: string) => unknown } };
export type CommandHandler = (command: string, input: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>;

const INPUT = Symbol.for('cleanpoint.emulator.input');

export function attachEmulator(client: AnyClient, name: string, handle: CommandHandler): void {
  const stack = client.middlewareStack as unknown as {
    add: (mw: unknown, opts: { step: string; priority?: string; name: string }) => void;
    remove: (name: string) => void;
  };
  stack.remove(`${name}Input`);
  stack.remove(name);
  stack.add((next: (a: unknown) => Promise<unknown>, context: Record<symbol, unknown>) => async (args: { input: unknown }) => {
    context[INPUT] = args.input;
    return next(args);
  }, { step: 'initialize', priority: 'high', name: `${name}Input` });
  stack.add((_next: unknown, context: Record<string | symbol, unknown>) => async () => {
    const output = await handle(String(context['commandName'] ?? 'Unknown'), (context[INPUT] ?? {}) as Record<string, unknown>);
    return { output: { $metadata: { httpStatusCode: 200, requestId: `local-${name}` }, ...output }, response: {} };
  }, { step: 'finalizeRequest', priority: 'low', name });
}

export function awsError(code: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name: code, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}
