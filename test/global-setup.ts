import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * One folder per test run where each test file's IAM usage lands (test/setup.ts); the
 * least-privilege check reads them after the suite (test/coverage/iam-coverage.test.ts).
 */
export default function setup(): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-iam-usage-'));
  process.env['CLEANPOINT_IAM_USAGE_DIR'] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
