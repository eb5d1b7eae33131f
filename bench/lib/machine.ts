import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** The machine the figures come from, read at run time (they mean little without it). */
export interface MachineInfo {
  /** Cores Node may use (what `nproc` prints). */
  nproc: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
  /** 1-, 5- and 15-minute load averages when the run started: other work on the machine skews wall-clock figures. */
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
  /** `git rev-parse --short HEAD` plus `+changes` when the tree is dirty, if git is there. */
  commit: string | null;
}

export function machineInfo(): MachineInfo {
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    commit: gitCommit(),
  };
}

function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return null;
  }
}

export function describeMachine(m: MachineInfo): string {
  const gib = (m.memoryBytes / 2 ** 30).toFixed(1);
  const load = (l: number[] | undefined) => (l ? l.join(' / ') : 'n/a');
  return [
    `- nproc: ${m.nproc} (${m.cpuModel})`,
    `- memory: ${gib} GiB`,
    `- node: ${m.node} on ${m.platform}`,
    `- load average (1 / 5 / 15 min) at start: ${load(m.loadAverageAtStart)}; at end: ${load(m.loadAverageAtEnd)}`,
    ...(m.commit ? [`- commit: ${m.commit}`] : []),
  ].join('\n');
}
