/**
 * Every command and every subcommand answers --help and -h with its usage on stdout, exit 0,
 * without doing anything else (no local API is reachable at the URL given, no file is read).
 */
import { describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import type { Io } from '../cli/io.ts';

const SUBCOMMANDS: Record<string, string[]> = {
  assess: [], plan: [], runbook: [], coverage: [], readiness: [],
  inventory: ['diff'],
  findings: ['send'],
  incidents: ['list', 'show', 'watch', 'export', 'verify', 'failback', 'close', 'redrive', 'abandon'],
  approvals: ['list', 'approve', 'reject'],
  machines: ['list'],
  drills: ['run', 'list', 'show', 'report', 'abort', 'tick'],
};

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), readStdin: async () => { throw new Error('stdin read'); } };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('cleanpoint --help', () => {
  const cases = Object.entries(SUBCOMMANDS).flatMap(([cmd, subs]) => [[cmd], ...subs.map((s) => [cmd, s])]);
  for (const words of cases) {
    for (const flag of ['--help', '-h']) {
      it(`${words.join(' ')} ${flag}`, async () => {
        // An unreachable --url: a command that tried to do its work would fail instead of exiting 0.
        const r = await run([...words, flag, '--url', 'http://127.0.0.1:9']);
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        expect(r.out).toContain(`cleanpoint ${words[0]}`);
      });
    }
  }

  it('the top level lists every command', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of Object.keys(SUBCOMMANDS)) expect(r.out).toContain(`cleanpoint ${cmd}`);
  });
});
