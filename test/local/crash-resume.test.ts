/**
 * Crash and resume (issue 15, "Done means"): for each state of the failover, drill and failback
 * machines that their stories enter, the runtime is stopped dead right after that state starts
 * (the fault hook, faultExitAt `<machine>:<state>`), started again on the same data folder, and
 * the story completes with the same outcome as an uninterrupted run: the same final status, the
 * same instances (none launched twice), no second approval request, no drill resource left.
 *
 * Two ways to die:
 *  - in this process, for every state: the fault freezes the execution journal at once
 *    (engine.suspend(): nothing more is written, as after kill -9) and the runtime is closed;
 *    in-flight Lambda invocations are let finish (their writes land as if the kill came a little
 *    later; their results are not journalled, so their tasks run again on resume);
 *  - as its own process killed with SIGKILL (test/fixtures/crash-scenario.ts, the same
 *    composition as `npm start`, CLEANPOINT_FAULT_EXIT_AT), for a sample of states: a task in a
 *    Map (Launch Machine), a pending approval (its e-mailed link is used after the restart), a
 *    nested `.sync` child (Launch Primaries), a drill's acceptance checks.
 *
 * Each case starts from a copy of a prepared data folder (seeded; or recovered, for the failback).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inventoryWithLongDeadlines } from '../helpers/local-system.ts';
import { runScenario, startScenarioSystem, type Phase, type ScenarioOutcome } from '../fixtures/crash-scenario.ts';

const root = mkdtempSync(path.join(tmpdir(), 'cleanpoint-crash-'));
const inventoryFile = inventoryWithLongDeadlines();
const folders: Record<'seeded' | 'recovered', string> = { seeded: path.join(root, 'seeded'), recovered: '' };
const baseline: Partial<Record<Phase, ScenarioOutcome>> = {};
let cases = 0;

function copyOf(template: string): string {
  const dir = path.join(root, `case-${++cases}`);
  cpSync(template, dir, { recursive: true });
  return dir;
}

const templateOf = (phase: Phase) => (phase === 'failback' ? folders.recovered : folders.seeded);
const machineOf: Record<Phase, string> = { failover: 'failover', drill: 'drill', failback: 'failback' };

/** What must be the same after a crash as without one. */
function comparable(o: ScenarioOutcome) {
  return { status: o.status, instances: o.instances, leftBehind: o.leftBehind, approvals: o.approvals, executions: o.executions };
}

beforeAll(async () => {
  const t0 = Date.now();
  const seeding = await startScenarioSystem({ phase: 'failover', dataDir: folders.seeded, inventoryFile });
  await seeding.close();
  for (const phase of ['failover', 'drill'] as const) {
    const dir = copyOf(folders.seeded);
    baseline[phase] = (await runScenario({ phase, dataDir: dir, inventoryFile }))!;
    if (phase === 'failover') folders.recovered = copyOf(dir);
  }
  baseline.failback = (await runScenario({ phase: 'failback', dataDir: copyOf(folders.recovered), inventoryFile }))!;
  process.stderr.write(`crash-resume: templates and baselines in ${Date.now() - t0} ms\n`);
}, 120_000);

describe('the uninterrupted stories', () => {
  it('recover, pass the drill and fail back, with the instances each launches', () => {
    expect(baseline.failover).toMatchObject({ status: 'recovered', approvals: 1 });
    expect(baseline.failover!.instances).toEqual(['payments-api-1:recovery:running', 'payments-api-2:recovery:running', 'payments-db-1:recovery:running']);
    expect(baseline.drill).toMatchObject({ status: 'finished', leftBehind: 0 });
    expect(baseline.drill!.instances.every((i) => i.endsWith(':test:terminated'))).toBe(true);
    expect(baseline.failback).toMatchObject({ status: 'closed', approvals: 2 });
  });
});

/** Every state of the phase's machine its uninterrupted story entered, in order. */
function statesOf(phase: Phase): string[] {
  return baseline[phase]!.statesEntered.filter((s) => s.startsWith(`${machineOf[phase]}:`));
}

describe('crash right after a state starts (in process), restart on the same folder', () => {
  for (const phase of ['failover', 'drill', 'failback'] as const) {
    it(`${phase}: every state of the ${machineOf[phase]} machine`, async () => {
      const states = statesOf(phase);
      expect(states.length).toBeGreaterThan(5);
      const t0 = Date.now();
      const failures: string[] = [];
      for (const fault of states) {
        const dir = copyOf(templateOf(phase));
        let crash!: () => void;
        const crashed = new Promise<void>((r) => { crash = r; });
        let hit = false;
        const first = await runScenario({
          phase, dataDir: dir, inventoryFile, faultExitAt: fault, crashed,
          // As kill -9: the journal takes nothing more from this instant; then the runtime is closed.
          onFault: (_ex, _state, engine) => { if (hit) return; hit = true; engine.suspend(); crash(); },
        });
        if (!hit || first) { failures.push(`${fault}: the fault did not fire`); continue; }
        const after = await runScenario({ phase, dataDir: dir, inventoryFile });
        if (JSON.stringify(comparable(after!)) !== JSON.stringify(comparable(baseline[phase]!))) {
          failures.push(`${fault}: ${JSON.stringify(comparable(after!))} ≠ ${JSON.stringify(comparable(baseline[phase]!))}`);
        }
      }
      process.stderr.write(`crash-resume: ${phase}, ${states.length} states in ${Date.now() - t0} ms\n`);
      expect(failures).toEqual([]);
    }, 240_000);
  }
});

describe('kill -9 of the runtime process right after a state starts, restart on the same folder', () => {
  it.each([
    ['failover', 'failover:Launch Machine'],
    ['failover', 'incidentResponse:Request Failover Approval'],
    ['drill', 'drill:Run Acceptance Checks'],
    ['failback', 'failback:Launch Primaries'],
  ] as const)('%s, killed in %s', async (phase, fault) => {
    const dir = copyOf(templateOf(phase));
    const killed = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/crash-scenario.ts', phase, dir, inventoryFile], {
      encoding: 'utf8', env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR', CLEANPOINT_FAULT_EXIT_AT: fault }, timeout: 60_000,
    });
    expect(killed.signal, killed.stderr.slice(-2000)).toBe('SIGKILL');
    expect(killed.stdout).not.toMatch(/"status"/);
    const after = await runScenario({ phase, dataDir: dir, inventoryFile });
    expect(comparable(after!)).toEqual(comparable(baseline[phase]!));
  }, 90_000);
  it('failover, killed while the approval request waits: the e-mailed link approves after the restart, no second request', async () => {
    const dir = copyOf(folders.seeded);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/crash-scenario.ts', 'failover', dir, inventoryFile], {
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR', CLEANPOINT_SCENARIO_NO_APPROVE: '1' }, stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    // Wait until the request's e-mail is in the outbox and its token in the journal, then kill -9.
    const journalled = () => {
      const executions = path.join(dir, 'executions');
      return existsSync(executions) && readdirSync(executions).some((f) => readFileSync(path.join(executions, f), 'utf8').includes('"t":"token"'));
    };
    const mailed = () => existsSync(path.join(dir, 'outbox.json')) && readFileSync(path.join(dir, 'outbox.json'), 'utf8').includes('/approvals/');
    const start = Date.now();
    while (!(journalled() && mailed()) && Date.now() - start < 60_000) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const mails = JSON.parse(readFileSync(path.join(dir, 'outbox.json'), 'utf8')) as { text: string }[];
    const links = mails.flatMap((m) => m.text.match(/https?:\/\/\S+\/approvals\/\S+/g) ?? []);
    // One request (one e-mail per decider), kept in the outbox across the kill.
    expect(links.length).toBeGreaterThan(0);
    expect(new Set(links.map((l) => l.match(/\/approvals\/([^?]+)/)![1])).size).toBe(1);

    const after = await runScenario({ phase: 'failover', dataDir: dir, inventoryFile });
    expect(comparable(after!)).toEqual(comparable(baseline.failover!));
  }, 90_000);
});
