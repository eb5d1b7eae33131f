import { hostname, userInfo } from 'node:os';
import type { DecisionKind } from '../../domain/approvals/index.ts';
import { decideFromCli, revokeLinks, type CliDecisionResult, type DecideDeps } from '../../domain/approvals/index.ts';
import { configVars, loadConfig } from '../shared/config.ts';
import { getSecret } from '../shared/secrets.ts';
import { clock, estate, notifier, stateStores, workflowEngine } from '../shared/wiring.ts';

/**
 * The CLI's side of approvals, for `cleanpoint approvals approve|reject ID --as PERSON
 * [--reason TEXT]` and `cleanpoint approvals revoke-links ID --person PERSON [--reissue]`.
 * Dependencies are built from the same environment the functions use (the local runtime sets
 * it; on AWS the operator's credentials and the stage's variables), on first use.
 * The task token never leaves the store: results are the request's public view.
 */

/** Who is at the keyboard, for the audit trail (the `--as` person is an attribution, not a login). */
export function cliSource(): string {
  let user = 'unknown';
  try { user = userInfo().username; } catch { /* no passwd entry (containers) */ }
  return `cli:${user}@${hostname()}`;
}

let decideDeps: Promise<DecideDeps> | undefined;

function depsFromEnvironment(): Promise<DecideDeps> {
  decideDeps ??= (async () => {
    const config = loadConfig({
      STATE_TABLE: configVars.STATE_TABLE, INVENTORY_SOURCE: configVars.INVENTORY_SOURCE,
      INCIDENT_STATE_MACHINE_ARN: configVars.INCIDENT_STATE_MACHINE_ARN.optional(),
    });
    return { ...stateStores(config), workflows: workflowEngine(config), clock, index: (await estate(config)).index };
  })();
  decideDeps.catch(() => { decideDeps = undefined; });
  return decideDeps;
}

/** Approve or reject as PERSON from the command line (channel `cli`). Throws the domain's errors (exit code by name). */
export async function cliDecideApproval(input: { approvalId: string; as: string; decision: DecisionKind; reason?: string; source?: string; confirmUnverified?: boolean }): Promise<CliDecisionResult> {
  return decideFromCli(await depsFromEnvironment())({ ...input, source: input.source ?? cliSource() });
}

/** Withdraw every personal link PERSON holds for the request; optionally e-mail them a fresh one. */
export async function cliRevokeLinks(input: { approvalId: string; personId: string; by: string; reason?: string; reissue?: boolean; source?: string }) {
  const base = await depsFromEnvironment();
  const reissue = input.reissue ? await (async () => {
    const config = loadConfig({
      INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, PUBLIC_BASE_URL: configVars.PUBLIC_BASE_URL, LINK_SECRET_PARAMETER: configVars.LINK_SECRET_PARAMETER,
      NOTIFY_EMAIL_FROM: configVars.NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO: configVars.NOTIFY_EMAIL_TO,
    });
    return { notifier: notifier(config), publicBaseUrl: config.PUBLIC_BASE_URL, linkSecret: await getSecret(config.LINK_SECRET_PARAMETER), index: base.index, incidents: base.incidents };
  })() : undefined;
  return revokeLinks({ approvals: base.approvals, audit: base.audit, clock: base.clock, ...(reissue ? { reissue } : {}) })({
    approvalId: input.approvalId, personId: input.personId, by: input.by, channel: 'cli', source: input.source ?? cliSource(),
    ...(input.reason ? { reason: input.reason } : {}), ...(input.reissue ? { reissue: true } : {}),
  });
}
