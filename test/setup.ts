import '../local/polyfills.ts';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { IamEnforcer } from '../local/iam/enforce.ts';

/**
 * Per-function IAM is on in every local runtime a test starts. After each test file: a refusal
 * nobody provoked on purpose (iam.expectDenials) fails the file, naming the function, the action
 * and the resource; and what the file's calls used of each role is written for the
 * least-privilege check that runs after the whole suite (test/coverage/iam-coverage.test.ts).
 */
afterAll(() => {
  const enforcers = IamEnforcer.all();
  if (enforcers.length === 0) return;
  const dir = process.env['CLEANPOINT_IAM_USAGE_DIR'];
  const usage: Record<string, string[]> = {};
  const denials = enforcers.flatMap((e) => e.unexpectedDenials());
  for (const e of enforcers) {
    for (const [fn, used] of Object.entries(e.usage())) usage[fn] = [...new Set([...(usage[fn] ?? []), ...used])];
    e.retire();
  }
  if (dir) {
    mkdirSync(dir, { recursive: true });
    const file = path.relative(process.cwd(), expect.getState().testPath ?? 'unknown');
    writeFileSync(path.join(dir, `${randomUUID()}.json`), JSON.stringify({ file, usage, denials }));
  }
  if (denials.length > 0) {
    const lines = denials.map((d) => `${d.functionName}: ${d.action} on ${d.resource} (${d.reason})`);
    throw new Error(`IAM refused calls the functions' roles do not allow (serverless.yml iamRoleStatements):\n  ${[...new Set(lines)].join('\n  ')}`);
  }
});
