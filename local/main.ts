import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ValidationError } from '../domain/shared/index.ts';
import { parseInventoryText } from '../domain/inventory/index.ts';
import { parsePolicyText } from '../domain/findings/index.ts';
import { oversizeReason, parameterTierNote, type ParameterDocument } from '../functions/shared/parameter-limits.ts';
import { minutes } from './console/html.ts';
import { drillExecution } from './drills-api.ts';
import { parseFaults, type Ec2Faults } from './ec2-sim/index.ts';
import { seededAt, startLocalSystem, type LocalSystem } from './system.ts';

/**
 * `npm start`: the whole system on this machine (see ARCHITECTURE.md, "Running locally").
 * Validates every flag before starting anything, seeds the demo estate on the first run,
 * serves the console and approval pages on 127.0.0.1, prints what to do next, and on
 * Ctrl-C / SIGTERM stops serving, saves the simulator and closes the embedded DynamoDB.
 */
export const START_USAGE = `usage: npm start -- [--port N] [--data-dir DIR | --in-memory] [--speed N] [--inventory FILE] [--policy FILE] [--faults FILE] [--no-schedules] [--iam on|off]

  --port N          HTTP port on 127.0.0.1 (default 8787; 0 picks a free one)
  --data-dir DIR    where state is kept between runs (default .cleanpoint/)
  --in-memory       keep nothing: a fresh demo estate every start
  --speed N         virtual time runs N times faster than wall time (default 20)
  --inventory FILE  the estate (default examples/inventory.yaml)
  --policy FILE     assessment policy (default: the built-in policy)
  --faults FILE     EC2 fault injection for the simulator (JSON; see local/ec2-sim/faults.ts)
  --no-schedules    do not tick the schedules (scheduled drills, the daily drill check) every virtual
                    hour; tick them by hand with: npx cleanpoint drills tick
  --iam on|off      per-function IAM (default on): every AWS call a function makes is checked
                    against its own role in serverless.yml and refused as AWS would refuse it.
                    'off' only to debug a refusal: what works with it off may fail on AWS`;

export interface StartOptions {
  port: number;
  dataDir: string | null;
  speed: number;
  inventoryFile: string;
  policyFile?: string;
  faults?: Ec2Faults;
  /** false: no schedule ticks while running (--no-schedules). Absent: they run. */
  schedules?: false;
  /** --iam off: no per-function IAM enforcement (debugging only). Absent: on. */
  iam?: 'off';
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
        inventory: { type: 'string' }, policy: { type: 'string' }, faults: { type: 'string' }, 'no-schedules': { type: 'boolean' }, iam: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
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
  fileFlag('--inventory', inventoryFile, (text) => parseInventoryText(fitsParameter('inventory', text), inventoryFile));
  if (v.policy !== undefined) fileFlag('--policy', v.policy, (text) => parsePolicyText(fitsParameter('policy', text), v.policy));
  if (v.iam !== undefined && v.iam !== 'on' && v.iam !== 'off') throw new StartUsageError(`--iam must be on or off, not ${JSON.stringify(v.iam)}`);
  const faults = v.faults === undefined ? undefined : fileFlag('--faults', v.faults, (text) => parseFaults(parseJson(text, v.faults!)));
  return {
    port, speed, dataDir, inventoryFile, ...(v.policy !== undefined ? { policyFile: v.policy } : {}), ...(faults ? { faults } : {}),
    ...(v['no-schedules'] ? { schedules: false as const } : {}),
    ...(v.iam === 'off' ? { iam: 'off' as const } : {}),
  };
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

/** On AWS the inventory and policy are SSM parameters: a file no parameter holds is refused (functions/shared/parameter-limits.ts). */
function fitsParameter(what: ParameterDocument, text: string): string {
  const refusal = oversizeReason(what, text);
  if (refusal) throw new Error(refusal);
  return text;
}

/** What to tell the user about the SSM tier the inventory and policy files need (over 4 KB: Advanced). */
export function parameterNotes(options: Pick<StartOptions, 'inventoryFile' | 'policyFile'>): string[] {
  const files: [ParameterDocument, string | undefined][] = [['inventory', options.inventoryFile], ['policy', options.policyFile]];
  return files.flatMap(([what, file]) => {
    const note = file ? parameterTierNote(what, file, readFileSync(file, 'utf8')) : undefined;
    return note ? [`note: ${note}`] : [];
  });
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
${options.iam === 'off'
    ? 'IAM enforcement is OFF (--iam off): calls a function\'s role does not allow go through here, and would fail on AWS.'
    : 'Each function runs with its own IAM role from serverless.yml: a call its role does not allow is refused, as on AWS.'}

  Console         ${url}/
  Drills          ${url}/drills
  Outbox          ${url}/outbox   (approval e-mails also print in this terminal)

Next, in another terminal:
  1. Send the example ransomware finding:
       npx cleanpoint findings send examples/findings/ransomware-payments-db.json${urlFlag}
  2. Open the approval link it prints (or the one in the e-mail), review the recovery points, approve.
     Deadlines run on virtual time: a ${deadline}-minute approval deadline passes in ${wall >= 120 ? `${Math.round(wall / 60)} minutes` : `${Math.round(wall)} seconds`} here (--speed 1 for real time).
  3. Watch the failover:
       npx cleanpoint incidents watch INCIDENT_ID${urlFlag}      or ${url}/incidents

Drills: ${options.schedules === false
    ? 'the schedules are off (--no-schedules); one tick: npx cleanpoint drills tick'
    : `the schedules tick every virtual hour (${wallText(SCHEDULE_TICK_VIRTUAL_MS / 1000 / options.speed)} here): due drills start, and once a day\n  groups never tested, overdue or failed are reported`}. A drill now:
       npx cleanpoint drills run crm --wait${urlFlag}

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
  for (const note of parameterNotes(options)) process.stderr.write(`${note}\n`);
  let system: LocalSystem;
  try {
    // The crash tests' fault hook: CLEANPOINT_FAULT_EXIT_AT=<machine>:<state> kills this process (SIGKILL) right after that state starts.
    const faultExitAt = process.env['CLEANPOINT_FAULT_EXIT_AT'];
    system = await startLocalSystem({ ...options, echoOutbox: true, ...(faultExitAt ? { faultExitAt } : {}) });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`cleanpoint start: ${err.code === 'EADDRINUSE' ? `port ${options.port} is in use (is Cleanpoint already running?); pass --port N` : err.message}\n`);
    return 1;
  }
  process.stdout.write(`${nextSteps(system, options)}\n`);
  const ticker = options.schedules === false ? null : startScheduleTicker(system, { speed: options.speed });
  await untilStopped(system, ticker);
  return 0;
}

/** Virtual time between two ticks of the schedules: serverless.yml's drill tick is rate(1 hour). */
export const SCHEDULE_TICK_VIRTUAL_MS = 3_600_000;
/** setTimeout's largest delay; a slower tick (--speed below ~0.0009) waits this long instead of firing at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ScheduleTicker {
  /** Run one tick now (what the timer does); resolves when it has finished. */
  tick(): Promise<void>;
  /** No more ticks; resolves once a tick in progress has finished. */
  stop(): Promise<void>;
}

/**
 * While `npm start` runs, what EventBridge does on AWS: one tick of every schedule in
 * serverless.yml (rt.runSchedules()) per virtual hour at the runtime's speed, so scheduled drills
 * start and the daily lifecycle check runs (it decides itself whether a day has passed). Ticks
 * never overlap. Prints a line when a tick starts a drill and when that drill ends, and a
 * schedule that cannot run (once per reason). Only `npm start` starts it: tests and the demo
 * tick by hand (rt.runSchedules(), POST /local/schedules/tick) or call this.
 */
export function startScheduleTicker(
  system: Pick<LocalSystem, 'rt' | 'stores' | 'url'>,
  o: { speed: number; out?: (line: string) => void; err?: (line: string) => void },
): ScheduleTicker {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = o.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const wallMs = Math.min(MAX_TIMER_MS, Math.max(1, Math.round(SCHEDULE_TICK_VIRTUAL_MS / o.speed)));
  const lastNotice = new Map<string, string>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const once = async () => {
    for (const run of await system.rt.runSchedules()) {
      if (run.error) { err(`schedule tick: ${run.functionName} failed: ${run.error}`); continue; }
      const decisions = (run.result as { decisions?: unknown } | undefined)?.decisions;
      if (!Array.isArray(decisions)) continue;
      for (const d of decisions as { group: string; action: string; drillId?: string; slot?: string; alreadyStarted?: boolean; reason?: string }[]) {
        if (d.action === 'started' && d.drillId && !d.alreadyStarted) {
          lastNotice.delete(d.group);
          out(`Drill started: ${d.drillId} (${d.group}, scheduled for ${d.slot ?? 'now'}): ${system.url}/drills/${encodeURIComponent(d.group)}`);
          announceEnd(d.drillId);
        } else if ((d.action === 'skipped' || d.action === 'invalid-schedule') && d.reason && lastNotice.get(d.group) !== d.reason) {
          lastNotice.set(d.group, d.reason);
          out(`Scheduled drill of ${d.group} not started: ${d.reason}`);
        }
      }
    }
  };
  const announceEnd = (drillId: string) => {
    void drillExecution(system.rt, drillId)?.done.then(async (ex) => {
      if (stopped) return;
      const drill = await system.stores.drills.getDrill(drillId);
      const verdict = drill?.status === 'aborted' ? 'aborted' : drill?.result === 'warn' ? 'passed with warnings' : drill?.result === 'pass' ? 'passed' : drill?.result === 'fail' ? 'failed' : ex.status.toLowerCase();
      const rto = drill?.measurements?.rtoMinutes;
      out(`Drill ${drillId} ${verdict}${rto !== undefined && rto !== null ? `, RTO ${minutes(rto)}` : ''}${drill?.cleanup?.status === 'incomplete' ? ', cleanup INCOMPLETE' : ''}.`);
    }).catch(() => undefined);
  };
  const tick = (): Promise<void> => {
    running ??= once().catch((e: unknown) => { err(`schedule tick failed: ${(e as Error).message}`); }).finally(() => { running = undefined; });
    return running;
  };
  const arm = () => {
    if (stopped) return;
    // unref: the server keeps the process alive; the ticker alone must not.
    timer = setTimeout(() => { void tick().then(arm); }, wallMs).unref();
  };
  arm();
  return {
    tick,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

function wallText(wallSeconds: number): string {
  const [n, unit] = wallSeconds >= 120 ? [Math.round(wallSeconds / 60), 'minute'] : [Math.max(1, Math.round(wallSeconds)), 'second'];
  return n === 1 ? `every ${unit}` : `every ${n} ${unit}s`;
}

/** Resolves after the first SIGINT/SIGTERM has saved and closed everything; a second one exits at once. */
function untilStopped(system: LocalSystem, ticker: ScheduleTicker | null): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) { process.stderr.write(`\n${signal} again: exiting without waiting.\n`); process.exit(1); }
      stopping = true;
      const running = [...system.rt.engine.executions.values()].filter((x) => x.status === 'RUNNING').length;
      process.stdout.write(`\n${signal}: saving and stopping…${running ? ` (${running} workflow(s) still running; they do not resume after a restart)` : ''}\n`);
      (ticker?.stop() ?? Promise.resolve()).then(() => system.close()).then(() => { process.stdout.write('Stopped.\n'); resolve(); }, (e: Error) => { process.stderr.write(`while stopping: ${e.message}\n`); process.exitCode = 1; resolve(); });
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
