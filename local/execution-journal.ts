import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * The local workflow engine's durable history: one append-only file of JSON lines per execution
 * in `<data folder>/executions/`. Each record is written with one write(2) before the engine
 * goes on, so a process killed (kill -9) at any point leaves every record written so far in the
 * file; the records a restart cannot do without (an execution's start and end, a callback
 * task's token, its settlement, a redrive) are also flushed to the disk (fdatasync), so that
 * they survive the machine going down too. A last line cut short by the kill is ignored on
 * reading and cut off before the file is written again.
 */
export type JournalRecord =
  | { t: 'start'; executionArn: string; name: string; machine: string; input: unknown; startDate: string; startMs: number }
  | { t: 'event'; ev: Record<string, unknown>; transitions: number; historyEvents: number }
  | { t: 'child'; executionArn: string }
  /** A callback task's token, handed to its function; `deadline`: its TimeoutSeconds on the virtual clock (ms). */
  | { t: 'token'; state: string; token: string; deadline?: number }
  | { t: 'settled'; token: string; outcome: { output: unknown } | { error: string; cause: string } | { expired: true } }
  /** A Wait state started: it ends at `deadline` on the virtual clock (ms). */
  | { t: 'wait'; state: string; deadline: number }
  | { t: 'end'; status: string; output?: unknown; error?: string; cause?: string; stopDate: string }
  | { t: 'redrive'; redriveCount: number; redriveDate: string };

const FLUSHED = new Set<JournalRecord['t']>(['start', 'token', 'settled', 'end', 'redrive']);

export class ExecutionJournal {
  private readonly files = new Map<string, number>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** The file of an execution: its machine's and its own name (neither may hold '/', see invalidNameReason). */
  fileOf(executionArn: string): string {
    const [, , , , , , machine, name] = executionArn.split(':');
    return path.join(this.dir, `${encodeURIComponent(machine ?? 'machine')}--${encodeURIComponent(name ?? executionArn)}.jsonl`);
  }

  append(executionArn: string, record: JournalRecord): void {
    let fd = this.files.get(executionArn);
    if (fd === undefined) {
      fd = openSync(this.fileOf(executionArn), 'a', 0o600);
      this.files.set(executionArn, fd);
    }
    writeSync(fd, `${JSON.stringify(record)}\n`);
    if (FLUSHED.has(record.t)) fdatasyncSync(fd);
  }

  /** Every execution's records, in the order written; a torn last line is dropped (and cut off the file). */
  load(): JournalRecord[][] {
    if (!existsSync(this.dir)) return [];
    const out: JournalRecord[][] = [];
    for (const entry of readdirSync(this.dir).sort()) {
      if (!entry.endsWith('.jsonl')) continue;
      const file = path.join(this.dir, entry);
      const bytes = readFileSync(file);
      const records: JournalRecord[] = [];
      // Whole lines only: what follows the last newline is a record cut short by the kill.
      let kept = 0;
      while (kept < bytes.length) {
        const nl = bytes.indexOf(0x0a, kept);
        if (nl < 0) break;
        const line = bytes.subarray(kept, nl).toString('utf8');
        if (line) {
          try { records.push(JSON.parse(line) as JournalRecord); } catch { break; }
        }
        kept = nl + 1;
      }
      if (kept < bytes.length) {
        const fd = openSync(file, 'r+');
        try { ftruncateSync(fd, kept); fdatasyncSync(fd); } finally { closeSync(fd); }
      }
      if (records[0]?.t === 'start') out.push(records);
    }
    return out;
  }

  close(): void {
    for (const fd of this.files.values()) closeSync(fd);
    this.files.clear();
  }
}
