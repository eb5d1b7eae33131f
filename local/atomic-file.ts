import { closeSync, fdatasyncSync, openSync, renameSync, writeSync } from 'node:fs';

/**
 * Replaces `file` with `text` so that a process killed at any point (kill -9) leaves either the
 * old file or the new one, never part of one: a temporary file next to it, flushed to the disk,
 * then renamed over it (rename(2) is atomic within a file system).
 */
export function writeFileAtomic(file: string, text: string, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, text);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
