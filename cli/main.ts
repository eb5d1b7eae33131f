import { APPROVALS_USAGE, approvalsCommand } from './commands/approvals.ts';
import { ASSESS_USAGE, assessCommand } from './commands/assess.ts';
import { COVERAGE_USAGE, coverageCommand } from './commands/coverage.ts';
import { INVENTORY_USAGE, inventoryCommand } from './commands/inventory.ts';
import { READINESS_USAGE, readinessCommand } from './commands/readiness.ts';
import { DRILLS_USAGE, drillsCommand } from './commands/drills.ts';
import { FINDINGS_USAGE, findingsCommand } from './commands/findings.ts';
import { INCIDENTS_USAGE, incidentsCommand } from './commands/incidents.ts';
import { MACHINES_USAGE, machinesCommand } from './commands/machines.ts';
import { PLAN_USAGE, planCommand } from './commands/plan.ts';
import { RUNBOOK_USAGE, runbookCommand } from './commands/runbook.ts';
import { EXIT_INVALID, exitCodeFor, processIo, type Io } from './io.ts';

type Command = (io: Io, argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; usage: string }> = {
  assess: { run: assessCommand, usage: ASSESS_USAGE },
  plan: { run: planCommand, usage: PLAN_USAGE },
  runbook: { run: runbookCommand, usage: RUNBOOK_USAGE },
  inventory: { run: inventoryCommand, usage: INVENTORY_USAGE },
  coverage: { run: coverageCommand, usage: COVERAGE_USAGE },
  readiness: { run: readinessCommand, usage: READINESS_USAGE },
  // Against the running local system (`npm start`), over its HTTP API:
  findings: { run: findingsCommand, usage: FINDINGS_USAGE },
  incidents: { run: incidentsCommand, usage: INCIDENTS_USAGE },
  approvals: { run: approvalsCommand, usage: APPROVALS_USAGE },
  machines: { run: machinesCommand, usage: MACHINES_USAGE },
  drills: { run: drillsCommand, usage: DRILLS_USAGE },
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
  // `--help`/`-h` anywhere before a `--` (after the command or any subcommand): the command's
  // usage, exit 0, before any flag is parsed or anything is done.
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.includes('--help') || own.includes('-h')) {
    io.stdout(`usage: ${command.usage}`);
    return 0;
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
