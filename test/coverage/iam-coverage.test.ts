import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { actionMatches } from '../../local/iam/evaluate.ts';
import { LOCAL_ACCOUNT, LOCAL_DEPLOY_PARAMS, LOCAL_REGION, LOCAL_STAGE } from '../../local/runtime.ts';
import { functionRoleStatements, loadServerlessDefinition } from '../../local/serverless-config.ts';

/**
 * Least privilege, measured: after the whole suite (this project runs last, see
 * vitest.config.ts), every permission of every function's role must have been used by some
 * call a test made through the local runtime — its statement allowed a real request of that
 * action — or be listed below with the reason the suite cannot exercise it. An unused
 * permission is a permission an attacker who takes the function gets for free.
 *
 * A listed reason that the suite did exercise after all is stale and fails too, so the list
 * only ever names what is really unexercised.
 */

/** `function|action pattern` (or `*|pattern` for every function) ▶ why the suite cannot use it. */
const NOT_EXERCISED_LOCALLY: Record<string, string> = {
  '*|logs:CreateLogGroup': 'Lambda itself writes the function log group; the local runtime logs to stdout',
  '*|logs:CreateLogStream': 'Lambda itself writes the function log stream; the local runtime logs to stdout',
  '*|logs:PutLogEvents': 'Lambda itself writes the function log events; the local runtime logs to stdout',
  // Code paths the local suite does not reach yet (each is covered by the function's unit tests
  // with aws-sdk-client-mock; a local-runtime test that reaches it removes the line).
  'record-recovery-point|*': 'EBS/DRS snapshot events are not yet delivered through the local runtime (the demo estate seeds the catalogue directly); issue 16 adds the runtime test with machine facts',
  'assess-finding|dynamodb:DeleteItem': 'releaseGroup when two incidents race for a group and one folds into the other (domain/findings/intake.ts)',
  'select-recovery-points|dynamodb:UpdateItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'start-point-scans|guardduty:GetMalwareScan': 'start-point-scans shares its statement list with check-point-scans (YAML anchor *pointScanStatements) and never polls: to split',
  'start-point-scans|dynamodb:GetItem': 'shared statement list with check-point-scans (re-selection after a threat): to split',
  'start-point-scans|dynamodb:Query': 'shared statement list with check-point-scans (re-selection after a threat): to split',
  'start-point-scans|dynamodb:UpdateItem': 'shared statement list with check-point-scans (verdicts written to the catalogue, scan records on the state table): to split',
  'check-point-scans|dynamodb:UpdateItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'post-decision|dynamodb:GetItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'decide-slack-action|states:SendTaskFailure': 'a rejection clicked in Slack (the suite approves through Slack and rejects through the web page)',
  'review-run|dynamodb:GetItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'launch-machine|dynamodb:UpdateItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'launch-machine|kms:ReEncryptFrom': 'needs a point whose snapshots are encrypted under another key than the new volumes\' (EBS re-encrypts then); the demo estate\'s snapshots are unencrypted (test/integration/customer-keys.test.ts launches under a customer key, without re-encryption)',
  'launch-machine|kms:ReEncryptTo': 'needs a point whose snapshots are encrypted under another key than the new volumes\' (EBS re-encrypts then); the demo estate\'s snapshots are unencrypted',
  'cleanup-test-machines|dynamodb:GetItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'cleanup-test-machines|dynamodb:UpdateItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'notify|dynamodb:Query': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'retire-run-machines|dynamodb:UpdateItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'start-drill|dynamodb:GetItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'check-drill-schedule|dynamodb:UpdateItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'check-protection|dynamodb:GetItem': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'check-protection|dynamodb:Query': 'not reached by the local suite (unit tests only): to exercise in the local runtime or remove — issue 14 follow-up',
  'check-protection|kms:DescribeKey': 'KMS is not emulated: readiness asks the SimulatedAccountChecks stand-in (rt.accountChecks) for key state',
  'check-protection|ses:GetEmailIdentity': 'SES identities are not emulated: readiness asks the SimulatedAccountChecks stand-in (rt.accountChecks) whether the sender is verified',
};

interface UsageFile { file: string; usage: Record<string, string[]>; denials: unknown[] }

function usageFiles(): UsageFile[] {
  const dir = process.env['CLEANPOINT_IAM_USAGE_DIR'];
  if (!dir) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as UsageFile);
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

describe('least privilege: every permission of every role is used by the suite', () => {
  const files = usageFiles();
  const def = loadServerlessDefinition();
  // The roles as the local runtime deploys them: with the local stage's key and role lists.
  const target = { stage: LOCAL_STAGE, region: LOCAL_REGION, account: LOCAL_ACCOUNT, params: { ...LOCAL_DEPLOY_PARAMS } };

  it('has the usage of the whole suite to judge (run `npm test`, not this file alone)', () => {
    expect(files.length, 'usage files from the suite (test/setup.ts writes one per runtime test file)').toBeGreaterThan(10);
  });

  it('found no statement that was never used and has no reason', () => {
    if (files.length <= 10) return;
    const used = new Map<string, Set<string>>();
    for (const f of files) {
      for (const [fn, entries] of Object.entries(f.usage)) {
        const set = used.get(fn) ?? new Set<string>();
        for (const e of entries) set.add(e);
        used.set(fn, set);
      }
    }
    const unused: string[] = [];
    const reasonsUsed = new Set<string>();
    for (const fn of def.functions.keys()) {
      const statements = functionRoleStatements(def, fn, target);
      const entries = [...(used.get(fn) ?? [])].map((e) => {
        const bar = e.indexOf('|');
        return { index: Number(e.slice(0, bar)), action: e.slice(bar + 1) };
      });
      statements.forEach((statement, index) => {
        if (statement['Effect'] !== 'Allow') return;
        const atIndex = entries.filter((e) => e.index === index);
        const patterns = statement['Action'] !== undefined ? asList(statement['Action']) : [`NotAction:${asList(statement['NotAction']).join(',')}`];
        for (const pattern of patterns) {
          const hit = pattern.startsWith('NotAction:') ? atIndex.length > 0 : atIndex.some((e) => actionMatches(pattern, e.action));
          const reasonKey = [`${fn}|${pattern}`, `*|${pattern}`, `${fn}|*`].find((k) => k in NOT_EXERCISED_LOCALLY);
          if (hit) continue;
          if (reasonKey) { reasonsUsed.add(reasonKey); continue; }
          unused.push(`${fn}: statement ${index} ${pattern} on ${JSON.stringify(statement['Resource'] ?? statement['NotResource'])}`);
        }
      });
    }
    expect(unused, 'permissions no test used: exercise them in a local-runtime test, remove them, or list the reason in NOT_EXERCISED_LOCALLY').toEqual([]);
    const stale = Object.keys(NOT_EXERCISED_LOCALLY).filter((k) => !reasonsUsed.has(k));
    expect(stale, 'reasons for permissions that the suite did use (or that no role holds): remove them').toEqual([]);
  });

  it('saw no refusal a test did not provoke on purpose', () => {
    const denials = files.flatMap((f) => f.denials.map((d) => ({ file: f.file, ...(d as object) })));
    expect(denials).toEqual([]);
  });
});
