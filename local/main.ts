import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ValidationError } from '../domain/errors.ts';
import { parseInventoryText } from '../domain/inventory.ts';
import { parsePolicyText } from '../domain/policy.ts';
import { parseFaults, type Ec2Faults } from './ec2-sim/index.ts';
import { seededAt, startLocalSystem, type LocalSystem } from './system.ts';

/**
 * `npm start`: the whole system on this machine (see ARCHITECTURE.md, "Running locally").
 * Validates every flag before starting anything, seeds the demo estate on the first run,
 * serves the console and approval pages on 127.0.0.1, prints what to do next, and on
 * Ctrl-C / SIGTERM stops serving, saves the simulator and closes the embedded DynamoDB.
 */
export const START_USAGE = `usage: npm start -- [--port N] [--data-dir DIR | --in-memory] [--speed N] [--inventory FILE] [--policy FILE] [--faults FILE]

  --port N          HTTP port on 127.0.0.1 (default 8787; 0 picks a free one)
  --data-dir DIR    where state is kept between runs (default .cleanpoint/)
  --in-memory       keep nothing: a fresh demo estate every start
  --speed N         virtual time runs N times faster than wall time (default 20)
  --inventory FILE  the estate (default examples/inventory.yaml)
  --policy FILE     assessment policy (default: the built-in policy)
  --faults FILE     EC2 fault injection for the simulator (JSON; see local/ec2-sim/faults.ts)`;

export interface StartOptions {
  port: number;
  dataDir: string | null;
  speed: number;
  inventoryFile: string;
  policyFile?: string;
  faults?: Ec2Faults;
}

/** A flag the user can fix. */
export class StartUsageError extends Error {
  override readonly name = 'StartUsageError' as const;
}

export function parseStartArgs(argv: string[]): StartOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        port: { type: 'string' }, 'data-dir': { type: 'string' }, 'in-memory': { type: 'boolean' }, speed: { type: 'string' },
        inventory: { type: 'string' }, policy: { type: 'string' }, faults: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new StartUsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v['in-memory'] && v['data-dir'] !== undefined) throw new StartUsageError('--in-memory and --data-dir exclude each other: in memory nothing is written to a folder');
  const port = integerFlag('--port', v.port ?? '8787', 0, 65_535);
  const speed = numberFlag('--speed', v.speed ?? '20', 0.001, 100_000);
  const dataDir = v['in-memory'] ? null : dataDirFlag(v['data-dir'] ?? '.cleanpoint');
  const inventoryFile = v.inventory ?? 'examples/inventory.yaml';
  fileFlag('--inventory', inventoryFile, (text) => parseInventoryText(text, inventoryFile));
  if (v.policy !== undefined) fileFlag('--policy', v.policy, (text) => parsePolicyText(text, v.policy));
  const faults = v.faults === undefined ? undefined : fileFlag('--faults', v.faults, (text) => parseFaults(parseJson(text, v.faults!)));
  return { port, speed, dataDir, inventoryFile, ...(v.policy !== undefined ? { policyFile: v.policy } : {}), ...(faults ? { faults } : {}) };
}

function integerFlag(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n < min || n > max) throw new StartUsageError(`${flag} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}

function numberFlag(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new StartUsageError(`${flag} must be a number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}

function dataDirFlag(dir: string): string {
  if (!dir.trim()) throw new StartUsageError('--data-dir must name a folder');
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new StartUsageError(`--data-dir ${dir} exists and is not a folder`);
  return dir;
}

function fileFlag<T>(flag: string, file: string, parse: (text: string) => T): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StartUsageError(`${flag} ${file}: cannot read it (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a file' : code ?? (e as Error).message})`);
  }
  try {
    return parse(text);
  } catch (e) {
    throw new StartUsageError(`${flag} ${file}: ${(e as Error).message}`);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError(file, [{ path: '', message: `not valid JSON (${(e as Error).message})` }]);
  }
}

export function nextSteps(system: LocalSystem, options: StartOptions): string {
  const url = system.url;
  const urlFlag = url === 'http://127.0.0.1:8787' ? '' : ` --url ${url}`;
  const estate = system.seeded
    ? `Seeded the demo estate: ${system.seeded.machines} machines, ${system.seeded.points} recovery points.`
    : `Using the estate in ${options.dataDir}${options.dataDir && seededAt(options.dataDir) ? ` (seeded ${seededAt(options.dataDir)})` : ''}.`;
  const deadline = Math.min(...system.rt.index.inventory.groups.map((g) => g.approval?.timeoutMinutes ?? 60));
  const wall = (deadline * 60) / options.speed;
  return `
Cleanpoint is running on this machine (virtual time ×${options.speed}; ${options.dataDir ? `state kept in ${path.resolve(options.dataDir)}` : 'in memory'}).
${estate}

  Console         ${url}/
  Outbox          ${url}/outbox   (approval e-mails also print in this terminal)

Next, in another terminal:
  1. Send the example ransomware finding:
       npx cleanpoint findings send examples/findings/ransomware-payments-db.json${urlFlag}
  2. Open the approval link it prints (or the one in the e-mail), review the recovery points, approve.
     Deadlines run on virtual time: a ${deadline}-minute approval deadline passes in ${wall >= 120 ? `${Math.round(wall / 60)} minutes` : `${Math.round(wall)} seconds`} here (--speed 1 for real time).
  3. Watch the failover:
       npx cleanpoint incidents watch INCIDENT_ID${urlFlag}      or ${url}/incidents

Ctrl-C stops and saves.`;
}

export async function start(argv: string[]): Promise<number> {
  let options: StartOptions | 'help';
  try {
    options = parseStartArgs(argv);
  } catch (e) {
    if (!(e instanceof StartUsageError)) throw e;
    process.stderr.write(`cleanpoint start: ${e.message}\n\n${START_USAGE}\n`);
    return 2;
  }
  if (options === 'help') { process.stdout.write(`${START_USAGE}\n`); return 0; }
  let system: LocalSystem;
  try {
    system = await startLocalSystem({ ...options, echoOutbox: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`cleanpoint start: ${err.code === 'EADDRINUSE' ? `port ${options.port} is in use (is Cleanpoint already running?); pass --port N` : err.message}\n`);
    return 1;
  }
  process.stdout.write(`${nextSteps(system, options)}\n`);
  await untilStopped(system);
  return 0;
}

/** Resolves after the first SIGINT/SIGTERM has saved and closed everything; a second one exits at once. */
function untilStopped(system: LocalSystem): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) { process.stderr.write(`\n${signal} again: exiting without waiting.\n`); process.exit(1); }
      stopping = true;
      const running = [...system.rt.engine.executions.values()].filter((x) => x.status === 'RUNNING').length;
      process.stdout.write(`\n${signal}: saving and stopping…${running ? ` (${running} workflow(s) still running; they do not resume after a restart)` : ''}\n`);
      system.close().then(() => { process.stdout.write('Stopped.\n'); resolve(); }, (e: Error) => { process.stderr.write(`while stopping: ${e.message}\n`); process.exitCode = 1; resolve(); });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const code = await start(process.argv.slice(2));
  // Handler modules keep SDK sockets and timers alive; after a clean close there is nothing left to wait for.
  process.exit(code);
}
