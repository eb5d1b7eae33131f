import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { functionEnvironment, loadServerlessDefinition, ROOT, type DeployTarget, type ServerlessDefinition } from '../local/serverless-config.ts';
import { atMost, figure, type Benchmark, type Figure } from './lib/result.ts';
import { median } from './lib/stats.ts';

/**
 * 4. Cold start: every function bundled as serverless-esbuild bundles it for deployment
 * (options read from custom.esbuild in serverless.yml), its size, and the median time from
 * process start to the module loaded over fresh Node processes with the deployed environment.
 */

const MB = 1_000_000;
const SIZE_TARGET_MB = 1.5;
const INIT_TARGET_MS = 250;

/** serverless-esbuild options that map straight onto esbuild's; anything else in custom.esbuild is refused. */
export function esbuildOptions(custom: Record<string, unknown>): BuildOptions {
  const known = new Set(['bundle', 'minify', 'sourcemap', 'keepNames', 'target', 'platform', 'format', 'outputFileExtension', 'mainFields', 'exclude', 'external', 'banner', 'footer', 'define', 'loader', 'treeShaking', 'packager', 'concurrency', 'metafile']);
  const unknown = Object.keys(custom).filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`custom.esbuild has options this benchmark does not mirror: ${unknown.join(', ')}`);
  const ext = (custom['outputFileExtension'] as string | undefined) ?? '.js';
  const exclude = [...((custom['exclude'] as string[] | undefined) ?? []), ...((custom['external'] as string[] | undefined) ?? [])];
  return {
    bundle: custom['bundle'] !== false,
    minify: custom['minify'] === true,
    sourcemap: custom['sourcemap'] === true,
    keepNames: custom['keepNames'] === true,
    target: custom['target'] as string | undefined ?? 'node20',
    platform: (custom['platform'] as BuildOptions['platform']) ?? 'node',
    format: (custom['format'] as BuildOptions['format']) ?? 'cjs',
    outExtension: { '.js': ext },
    ...(custom['mainFields'] ? { mainFields: custom['mainFields'] as string[] } : {}),
    external: exclude.filter((e) => e !== '*'),
    ...(custom['banner'] ? { banner: custom['banner'] as Record<string, string> } : {}),
    ...(custom['footer'] ? { footer: custom['footer'] as Record<string, string> } : {}),
    ...(custom['define'] ? { define: custom['define'] as Record<string, string> } : {}),
    ...(custom['loader'] ? { loader: custom['loader'] as BuildOptions['loader'] } : {}),
    ...(custom['treeShaking'] !== undefined ? { treeShaking: custom['treeShaking'] as boolean } : {}),
  };
}

/** Bytes per top-level npm package (or `cleanpoint` for the project's own code) in one output. */
function composition(meta: Metafile, output: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[output]?.inputs ?? {})) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    const key = m ? m[1]! : 'cleanpoint';
    out[key] = (out[key] ?? 0) + bytesInOutput;
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

interface ProcessSample { loadedAtMs: number; importMs: number }

/** The made-up deployment the functions' environments are resolved for (serverless-config.ts). */
export const DEPLOY = { stage: 'bench', region: 'eu-west-1', account: '123456789012' } as const satisfies DeployTarget;

/**
 * One fresh process: only the deployed variables (plus PATH and dummy credentials, as Lambda
 * gives), import the bundle, report performance.now() (time since the process started) and
 * the import alone.
 */
function coldStart(file: string, env: Record<string, string>, functionName: string): Promise<ProcessSample> {
  const script = `const t0 = performance.now(); const m = await import(${JSON.stringify(file)}); const t1 = performance.now();
if (typeof m.handler !== 'function') throw new Error('no handler export');
process.stdout.write(JSON.stringify({ loadedAtMs: t1, importMs: t1 - t0 }));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        ...env,
        PATH: process.env['PATH'] ?? '',
        AWS_REGION: DEPLOY.region,
        AWS_DEFAULT_REGION: DEPLOY.region,
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_LAMBDA_FUNCTION_NAME: `cleanpoint-${DEPLOY.stage}-${functionName}`,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${functionName}: exit ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`));
      try {
        resolve(JSON.parse(stdout) as ProcessSample);
      } catch {
        reject(new Error(`${functionName}: unexpected output ${stdout.slice(0, 200)}`));
      }
    });
  });
}

interface FunctionResult {
  name: string;
  handlerFile: string;
  bytes: number | null;
  composition: Record<string, number>;
  samples: ProcessSample[];
  medianLoadedAtMs: number | null;
  medianImportMs: number | null;
  error?: string;
}

export const coldStartBenchmark: Benchmark = {
  name: 'cold-start',
  title: '4. Cold start of the deployed bundles',
  async run({ quick }) {
    const def: ServerlessDefinition = loadServerlessDefinition();
    const custom = (((def.raw['custom'] ?? {}) as Record<string, unknown>)['esbuild'] ?? {}) as Record<string, unknown>;
    const options = esbuildOptions(custom);
    const processes = quick ? 3 : 20;
    const all = [...def.functions.values()];
    const functions = quick ? all.slice(0, 3) : all;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cleanpoint-bench-bundles-'));
    const results: FunctionResult[] = [];
    try {
      const entries = new Map<string, string>();
      for (const fn of functions) {
        const file = `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.ts`;
        const handlerFile = path.join(ROOT, file);
        if (!existsSync(handlerFile)) {
          results.push({ name: fn.name, handlerFile: file, bytes: null, composition: {}, samples: [], medianLoadedAtMs: null, medianImportMs: null, error: `${file} does not exist` });
          continue;
        }
        entries.set(fn.name, handlerFile);
      }
      // serverless-esbuild builds each function separately (package.individually). One esbuild call
      // with one entry point per function makes the same independent bundles (no code splitting),
      // and parses the shared node_modules once instead of once per function.
      const buildStart = performance.now();
      type Built = { name: string; file: string; bytes: number; composition: Record<string, number> } | { name: string; error: string };
      let built: Built[];
      try {
        const out = await build({
          ...options, entryPoints: Object.fromEntries([...entries].map(([name, entry]) => [`${name}/handler`, entry])),
          outdir: dir, metafile: true, write: true, logLevel: 'silent', absWorkingDir: ROOT,
        });
        built = [...entries.keys()].map((name) => {
          const [output, info] = Object.entries(out.metafile.outputs).find(([f]) => f.includes(`/${name}/handler.`))!;
          return { name, file: path.resolve(ROOT, output), bytes: info.bytes, composition: composition(out.metafile, output) };
        });
      } catch (e) {
        const error = (e as Error).message.split('\n')[0] ?? 'build failed';
        built = [...entries.keys()].map((name) => ({ name, error }));
      }
      const buildMs = performance.now() - buildStart;
      process.stderr.write(`  cold-start: bundled ${built.length} functions in ${(buildMs / 1000).toFixed(1)} s\n`);

      for (const b of built) {
        const handlerFile = path.relative(ROOT, entries.get(b.name)!);
        if ('error' in b) {
          results.push({ name: b.name, handlerFile, bytes: null, composition: {}, samples: [], medianLoadedAtMs: null, medianImportMs: null, error: `bundle: ${b.error}` });
          continue;
        }
        const env = functionEnvironment(def, b.name, DEPLOY);
        const samples: ProcessSample[] = [];
        let error: string | undefined;
        // One process at a time: two would compete for the two cores and inflate each other's time.
        for (let i = 0; i < processes && !error; i++) {
          try {
            samples.push(await coldStart(b.file, env, b.name));
          } catch (e) {
            error = (e as Error).message;
          }
        }
        results.push({
          name: b.name, handlerFile, bytes: b.bytes, composition: b.composition, samples,
          medianLoadedAtMs: samples.length && !error ? median(samples.map((s) => s.loadedAtMs)) : null,
          medianImportMs: samples.length && !error ? median(samples.map((s) => s.importMs)) : null,
          ...(error ? { error } : {}),
        });
        const r = results.at(-1)!;
        process.stderr.write(`  cold-start: ${b.name}: ${(b.bytes / MB).toFixed(2)} MB, ${r.medianLoadedAtMs?.toFixed(0) ?? 'n/a'} ms${error ? ` (${error})` : ''}\n`);
      }
      const figures: Figure[] = [];
      for (const r of results) {
        figures.push(
          figure(r.name, 'bundle size', r.bytes === null ? null : r.bytes / MB, 'MB', atMost(SIZE_TARGET_MB), r.error && r.bytes === null ? r.error : undefined),
          figure(r.name, 'process start ▶ module loaded (median)', r.medianLoadedAtMs, 'ms', atMost(INIT_TARGET_MS), r.error && r.bytes !== null ? r.error : undefined),
          figure(r.name, 'import alone (median)', r.medianImportMs, 'ms'),
        );
      }
      // Where the bytes of the first bundle come from (the others are alike): the cause of its size.
      const sample = results.find((r) => r.bytes !== null);
      if (sample) {
        for (const [pkg, bytes] of Object.entries(sample.composition).slice(0, 8)) {
          figures.push(figure(`composition of ${sample.name}`, pkg, bytes / MB, 'MB'));
        }
      }
      // A bare `node` start on this machine, for scale: the part of the figure no bundle can remove.
      const bare: number[] = [];
      for (let i = 0; i < Math.min(processes, 10); i++) bare.push((await coldStart(path.join(ROOT, 'bench', 'lib', 'empty-module.mjs'), {}, 'empty-module')).loadedAtMs);
      figures.push(figure('empty module (baseline)', 'process start ▶ module loaded (median)', median(bare), 'ms'));
      return {
        figures,
        method: [
          `Bundles: esbuild ${(await import('esbuild')).version} with the options of custom.esbuild in serverless.yml (${Object.entries(custom).filter(([k]) => k !== 'banner').map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')}, plus its createRequire banner), one self-contained bundle per function (package.individually; built in one esbuild call with one entry point per function, no code splitting), SDK included. Functions and handlers are read from serverless.yml with loadServerlessDefinition()${quick ? ' (quick: the first three only)' : ''}. Size: bytes of the bundled handler${String(options.outExtension?.['.js'])}, 1 MB = 1,000,000 bytes.`,
          `Initialisation: ${processes} fresh \`node\` processes per function, one after another, each with only the deployed environment (provider and function variables from serverless.yml, CloudFormation references resolved to made-up names and ARNs, \${param:…, null} variables left out as the framework does, plus PATH, region, dummy credentials and AWS_LAMBDA_FUNCTION_NAME/MEMORY_SIZE), importing the bundle and checking the handler export. Figure: performance.now() after the import, i.e. time since the process started (Node's own start-up included), median over the processes; "import alone" is the import's share. No AWS call happens at import.`,
          `Baseline: the same measurement for an empty module, the part of the figure that belongs to Node itself on this machine.`,
        ],
        details: { esbuild: custom, processes, buildMs: Math.round(buildMs), functions: results },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
