import { readFile } from 'node:fs/promises';
import { ValidationError, UnsupportedEventError } from '../domain/shared/index.ts';
import { parameterSizeRefusal, parameterTierNote, type ParameterDocument } from '../functions/shared/parameter-limits.ts';

/** Exit codes: 0 success, 2 invalid input (the message names the file and the path), 1 otherwise. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_INVALID = 2;

/** An error the user can fix by changing their input. */
export class UsageError extends Error {
  override readonly name = 'UsageError' as const;
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
}

export const processIo: Io = {
  stdout: (t) => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  stderr: (t) => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

/** Read a file argument; `-` is standard input (at most one argument may use it). */
export async function readInput(io: Io, file: string, what: string): Promise<{ text: string; name: string }> {
  if (file === '-') return { text: await io.readStdin(), name: '<stdin>' };
  try {
    return { text: await readFile(file, 'utf8'), name: file };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: cannot read ${what} (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`);
  }
}

/**
 * The inventory and policy are SSM parameters on AWS (docs/deploy.md): refuse a file no
 * parameter holds (over 8 KB, exit 2), and say on stderr when it needs the Advanced tier (over 4 KB).
 */
export function checkParameterSize(io: Io, what: ParameterDocument, input: { text: string; name: string }): void {
  const refusal = parameterSizeRefusal(what, input.name, input.text);
  if (refusal) throw new UsageError(refusal);
  const note = parameterTierNote(what, input.name, input.text);
  if (note) io.stderr(`note: ${note}`);
}

export function parseJsonText(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError(name, [{ path: '', message: `not valid JSON (${(e as Error).message})` }]);
  }
}

/** Prefix a domain validation error with the file it came from. */
export async function inFile<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ValidationError || e instanceof UnsupportedEventError) {
      const err = new UsageError(`${name}: ${e.message}`, { cause: e });
      throw err;
    }
    throw e;
  }
}

export function exitCodeFor(e: unknown): number {
  return e instanceof UsageError || e instanceof ValidationError || e instanceof UnsupportedEventError ? EXIT_INVALID : EXIT_FAILURE;
}
