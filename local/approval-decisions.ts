import { hostname, userInfo } from 'node:os';
import { decideFromCli, revokeLinks, type CliDecisionResult, type DecideDeps, type DecisionKind } from '../domain/approvals/index.ts';
import { configVars, loadConfig } from '../functions/shared/config.ts';
import { notifier, secret, stateStores, workflowEngine } from '../functions/shared/wiring.ts';
import type { LocalRuntime } from './runtime.ts';

/**
 * The operator's (CLI) side of approvals: `cleanpoint approvals approve|reject ID --as PERSON
 * [--reason TEXT]` reaches the local API, which decides here, and the withdrawal of a person's
 * links. The same domain use cases and the same validator as every channel (decideFromCli ▶
 * decideApproval ▶ validateDecision), over the runtime's platform (its clock, its emulated
 * clients). `--as` is an attribution the audit trail records, not an authentication. The task
 * token never leaves the store: results are the request's public view.
 */

/** Who is at the keyboard, for the audit trail (the `--as` person is an attribution, not a login). */
export function cliSource(): string {
  let user = 'unknown';
  try { user = userInfo().username; } catch { /* no passwd entry (containers) */ }
  return `cli:${user}@${hostname()}`;
}

function decideDeps(rt: LocalRuntime): DecideDeps {
  // Task tokens are answered by token: the workflow engine needs no state machine ARN.
  return { ...stateStores({ STATE_TABLE: rt.tables.state }, rt.platform), workflows: workflowEngine({}, rt.platform), clock: rt.platform.clock, index: rt.index };
}

/** Approve or reject as PERSON (channel `cli`). Throws the domain's errors (the local API maps them by name). */
export function decideAsOperator(rt: LocalRuntime) {
  return (input: { approvalId: string; as: string; decision: DecisionKind; reason?: string; source?: string; confirmUnverified?: boolean }): Promise<CliDecisionResult> =>
    decideFromCli(decideDeps(rt))({ ...input, source: input.source ?? cliSource() });
}

/** Withdraw every personal link PERSON holds for the request; optionally e-mail them a fresh one (as request-approval sends links). */
export function revokeLinksAsOperator(rt: LocalRuntime) {
  return async (input: { approvalId: string; personId: string; by: string; reason?: string; reissue?: boolean; source?: string }) => {
    const base = decideDeps(rt);
    const reissue = input.reissue ? await (async () => {
      const env = rt.environmentOf('request-approval');
      const config = loadConfig({
        INVENTORY_SOURCE: configVars.INVENTORY_SOURCE, PUBLIC_BASE_URL: configVars.PUBLIC_BASE_URL, LINK_SECRET_PARAMETER: configVars.LINK_SECRET_PARAMETER,
        NOTIFY_EMAIL_FROM: configVars.NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO: configVars.NOTIFY_EMAIL_TO,
      }, env);
      return {
        notifier: notifier({ ...config, ...(env['SLACK_WEBHOOK_URL_PARAMETER'] ? { SLACK_WEBHOOK_URL_PARAMETER: env['SLACK_WEBHOOK_URL_PARAMETER'] } : {}) }, rt.platform),
        publicBaseUrl: config.PUBLIC_BASE_URL, linkSecret: await secret(config.LINK_SECRET_PARAMETER, rt.platform), index: base.index, incidents: base.incidents,
      };
    })() : undefined;
    return revokeLinks({ approvals: base.approvals, audit: base.audit, clock: base.clock, ...(reissue ? { reissue } : {}) })({
      approvalId: input.approvalId, personId: input.personId, by: input.by, channel: 'cli', source: input.source ?? cliSource(),
      ...(input.reason ? { reason: input.reason } : {}), ...(input.reissue ? { reissue: true } : {}),
    });
  };
}
