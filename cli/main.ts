import { ASSESS_USAGE, assessCommand } from './commands/assess.ts';
import { PLAN_USAGE, planCommand } from './commands/plan.ts';
import { EXIT_INVALID, exitCodeFor, processIo, type Io } from './io.ts';

type Command = (io: Io, argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; usage: string }> = {
  assess: { run: assessCommand, usage: ASSESS_USAGE },
  plan: { run: planCommand, usage: PLAN_USAGE },
};

export function usage(): string {
  return ['usage:', ...Object.values(COMMANDS).map((c) => `  ${c.usage}`), '', 'Exit codes: 0 ok, 2 invalid input, 1 other failure.'].join('\n');
}

/** Runs one command; returns the exit code. Errors are printed, never thrown. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name ? 0 : EXIT_INVALID;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`cleanpoint: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return EXIT_INVALID;
  }
  try {
    return await command.run(io, rest);
  } catch (e) {
    const argError = isArgError(e);
    const message = argError ? `${(e as Error).message}\nusage: ${command.usage}` : (e as Error).message;
    io.stderr(`cleanpoint ${name}: ${message}`);
    return argError ? EXIT_INVALID : exitCodeFor(e);
  }
}

/** node:util parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for bad flags. */
function isArgError(e: unknown): boolean {
  return typeof (e as { code?: unknown })?.code === 'string' && (e as { code: string }).code.startsWith('ERR_PARSE_ARGS');
}
