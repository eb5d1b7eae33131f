import '../local/polyfills.ts';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, machineInfo, type MachineInfo } from './lib/machine.ts';
import type { Benchmark, BenchmarkResult } from './lib/result.ts';
import { figuresTable, report, summary } from './lib/table.ts';

/**
 * `npm run bench`: runs each benchmark in a fresh Node process (the local runtime and the handler
 * modules are process-wide singletons, and a clean heap keeps one benchmark's garbage out of the
 * next one's timings), prints one Markdown table per benchmark on stdout (progress on stderr), and
 * writes every figure with its target and pass/fail to bench/results/latest.json.
 *
 *   npm run bench                       all benchmarks, full size (under 10 minutes on 2 cores)
 *   npm run bench -- --quick            small N, for development
 *   npm run bench -- --only launch,cold-start
 *
 * Runs with --quick or --only write bench/results/partial.json instead, so latest.json always
 * holds a complete run.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Loaded lazily: a child process imports only the benchmark it runs. */
const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  launch: async () => (await import('./launch.ts')).launchBenchmark,
  selection: async () => (await import('./selection.ts')).selectionBenchmark,
  ingestion: async () => (await import('./ingestion.ts')).ingestionBenchmark,
  'cold-start': async () => (await import('./cold-start.ts')).coldStartBenchmark,
  orchestration: async () => (await import('./orchestration.ts')).orchestrationBenchmark,
  'e2e-latency': async () => (await import('./e2e-latency.ts')).e2eLatencyBenchmark,
  'slack-ack': async () => (await import('./slack-ack.ts')).slackAckBenchmark,
};

/** Benchmarks that measure single-core throughput run pinned to one CPU when `taskset` exists. */
const ONE_CORE = new Set(['ingestion']);
/** A benchmark that takes longer than this is stopped and reported as failed (the whole run must stay under 10 minutes). */
const CHILD_TIMEOUT_MS = 6 * 60_000;

/** The environment every benchmark process gets: dummy credentials and no way to reach real AWS settings. */
const HERMETIC_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_CONFIG_FILE: '/nonexistent/cleanpoint-bench/config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/cleanpoint-bench/credentials',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_DEV: 'false',
};

interface Args {
  only: string[];
  quick: boolean;
  child?: string;
  out?: string;
}

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      child: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`usage: npm run bench -- [--quick] [--only ${Object.keys(BENCHMARKS).join(',')}] [--out file.json]\n`);
    process.exit(0);
  }
  const only = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(BENCHMARKS);
  const unknown = only.filter((n) => !(n in BENCHMARKS));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')} (known: ${Object.keys(BENCHMARKS).join(', ')})`);
  return { only, quick: values.quick, ...(values.child ? { child: values.child } : {}), ...(values.out ? { out: values.out } : {}) };
}

/** In the child: run one benchmark and write its result as JSON to `out`. */
async function runChild(name: string, quick: boolean, out: string): Promise<void> {
  const benchmark = await BENCHMARKS[name]!();
  const start = performance.now();
  const result = await benchmark.run({ quick });
  const full: BenchmarkResult = { name, title: benchmark.title, ...result, wallMs: Math.round(performance.now() - start) };
  writeFileSync(out, JSON.stringify(full));
}

function hasTaskset(): boolean {
  return ['/usr/bin/taskset', '/bin/taskset'].some((p) => existsSync(p));
}

/** Run one benchmark in a fresh process; a crash or timeout becomes a result with one failed figure. */
async function runIsolated(name: string, quick: boolean, dir: string): Promise<BenchmarkResult> {
  const out = path.join(dir, `${name}.json`);
  const nodeArgs = [...process.execArgv, fileURLToPath(import.meta.url), '--child', name, '--out', out, ...(quick ? ['--quick'] : [])];
  const pinned = ONE_CORE.has(name) && hasTaskset();
  const [command, args] = pinned ? ['taskset', ['-c', '0', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const start = performance.now();
  const status = await new Promise<{ code: number | null; signal: string | null; timedOut: boolean }>((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...HERMETIC_ENV } });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, CHILD_TIMEOUT_MS);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, timedOut }); });
  });
  if (status.code === 0 && existsSync(out)) {
    const result = JSON.parse(readFileSync(out, 'utf8')) as BenchmarkResult;
    if (pinned) result.method = [...result.method, 'Ran pinned to one CPU (taskset -c 0).'];
    return result;
  }
  const why = status.timedOut ? `stopped after ${CHILD_TIMEOUT_MS / 60_000} min` : `exited with ${status.code ?? status.signal}`;
  return {
    name, title: name, wallMs: Math.round(performance.now() - start), method: [], details: {},
    figures: [{ case: 'run', metric: 'benchmark completed', value: null, unit: 'count', target: { op: '==', value: 1 }, pass: false, note: why }],
  };
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (args.child) {
    if (!args.out) throw new Error('--child needs --out');
    await runChild(args.child, args.quick, args.out);
    // Embedded servers and pending virtual timers may keep the loop alive: the result is written.
    process.exit(0);
  }
  const machine = machineInfo();
  const partial = args.quick || args.only.length < Object.keys(BENCHMARKS).length;
  process.stdout.write(`## Cleanpoint benchmarks${args.quick ? ' (quick)' : ''}\n\nMachine:\n${describeMachine(machine)}\n\n`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cleanpoint-bench-'));
  const started = performance.now();
  const results: BenchmarkResult[] = [];
  try {
    for (const name of args.only) {
      process.stderr.write(`▶ ${name}${args.quick ? ' (quick)' : ''}\n`);
      const result = await runIsolated(name, args.quick, dir);
      results.push(result);
      process.stderr.write(`  ${name} took ${(result.wallMs / 1000).toFixed(1)} s\n`);
      process.stdout.write(`${report([result])}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  machine.loadAverageAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const totals = summary(results);
  const wallMs = Math.round(performance.now() - started);
  process.stdout.write(`**${totals.met} of ${totals.targets} targets met** in ${(wallMs / 1000).toFixed(0)} s.\n`);
  for (const m of totals.missed) process.stdout.write(`- missed: ${m}\n`);
  const file = args.out ?? path.join(HERE, 'results', partial ? 'partial.json' : 'latest.json');
  mkdirSync(path.dirname(file), { recursive: true });
  const generatedAt = new Date().toISOString();
  const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  writeFileSync(file, `${JSON.stringify({ generatedAt, command, quick: args.quick, only: args.only, machine, wallMs, summary: totals, results }, null, 2)}\n`);
  // The same figures as Markdown, with how each was obtained: what docs/performance.md records.
  const markdown = file.replace(/\.json$/, '.md');
  writeFileSync(markdown, fullReport({ generatedAt, command, machine, wallMs, results, totals }));
  process.stderr.write(`results written to ${path.relative(process.cwd(), file)} and ${path.relative(process.cwd(), markdown)}\n`);
}

function fullReport(r: { generatedAt: string; command: string; machine: MachineInfo; wallMs: number; results: BenchmarkResult[]; totals: ReturnType<typeof summary> }): string {
  const sections = r.results.map((b) => [
    `### ${b.title}`, '', figuresTable(b.figures), '', 'How the figures are obtained:', '', ...b.method.map((m) => `- ${m}`), '',
  ].join('\n'));
  return [
    `## Benchmark run of ${r.generatedAt}`, '', `\`${r.command}\`, ${(r.wallMs / 1000).toFixed(0)} s; ${r.totals.met} of ${r.totals.targets} targets met.`, '',
    'Machine:', '', describeMachine(r.machine), '', ...sections,
    ...(r.totals.missed.length ? ['Missed targets:', '', ...r.totals.missed.map((m) => `- ${m}`), ''] : []),
  ].join('\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
