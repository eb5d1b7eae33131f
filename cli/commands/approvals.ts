import { parseArgs } from 'node:util';
import { LISTED_APPROVAL_STATUSES } from '../../domain/approvals/index.ts';
import { APPROVAL_ID, isId } from '../../domain/shared/index.ts';
import type { ApprovalView } from '../../local/read-model.ts';
import { UsageError, type Io } from '../io.ts';
import { columns, LocalApi, shortTime, URL_OPTION } from '../local-api.ts';

export const APPROVALS_USAGE = 'cleanpoint approvals list [--status pending|approved|rejected|expired] [--url URL] [--json]\n  cleanpoint approvals approve|reject ID --as PERSON [--reason TEXT] [--confirm-unverified] [--url URL]';

const STATUSES: readonly string[] = LISTED_APPROVAL_STATUSES;

/** `approvals list`: the approval requests, newest first, with the first decider's link while pending. */
export async function approvalsCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { ...URL_OPTION, status: { type: 'string' }, json: { type: 'boolean', default: false }, as: { type: 'string' }, reason: { type: 'string' }, 'confirm-unverified': { type: 'boolean', default: false } },
  });
  const [sub, id] = positionals;
  if ((sub === 'approve' || sub === 'reject') && id && positionals.length === 2) return decide(io, values.url, sub, id, values.as, values.reason, values['confirm-unverified']);
  if (positionals.length !== 1 || sub !== 'list') throw new UsageError(`expected "approvals list" or "approvals approve|reject ID --as PERSON"\nusage: ${APPROVALS_USAGE}`);
  if (values.status !== undefined && !STATUSES.includes(values.status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, not ${JSON.stringify(values.status)}`);
  const api = new LocalApi(values.url);
  const { approvals } = await api.get<{ approvals: ApprovalView[] }>(`/local/approvals${values.status ? `?status=${values.status}` : ''}`, 'approvals');
  io.stdout(values.json ? JSON.stringify(approvals, null, 2) : render(approvals));
  return 0;
}

/**
 * `approvals approve|reject ID --as PERSON`: the CLI channel. The decision goes through the same
 * rules as every other channel (eligible decider, quorum, expiry, single use) and is audited
 * with channel "cli"; `--as` names the person, who must be a decider of every affected group.
 */
async function decide(io: Io, url: string, decision: 'approve' | 'reject', approvalId: string, as: string | undefined, reason: string | undefined, confirmUnverified = false): Promise<number> {
  if (!as) throw new UsageError('--as PERSON is required: the person (from the inventory) who decides');
  if (!isId(APPROVAL_ID, approvalId)) throw new UsageError(`ID ${JSON.stringify(approvalId)} is not an approval id`);
  if (decision === 'reject' && !reason?.trim()) throw new UsageError('--reason TEXT is required to reject');
  const api = new LocalApi(url);
  const out = await api.post<{ status: string; duplicate?: boolean; approvalsNeeded?: number }>(`/local/approvals/${approvalId}/decision`, { as, decision, ...(reason ? { reason } : {}), ...(confirmUnverified ? { confirmUnverified: true } : {}) }, `approval ${approvalId}`);
  io.stdout(`${decision === 'approve' ? 'Approved' : 'Rejected'} as ${as}: request is ${out.status}${out.duplicate ? ' (already decided; nothing changed)' : ''}${out.status === 'pending' && out.approvalsNeeded ? `, ${out.approvalsNeeded} more approval(s) needed` : ''}`);
  return 0;
}

function render(approvals: ApprovalView[]): string {
  if (approvals.length === 0) return 'No approval requests.';
  const table = columns([
    ['APPROVAL', 'INCIDENT', 'STATUS', 'GROUPS', 'MODE', 'APPROVED', 'DEADLINE'],
    ...approvals.map((a) => [a.approvalId, a.incidentId, a.status, a.groups.join(','), a.proposal?.mode ?? a.purpose ?? 'failback',
      `${a.decisions.filter((d) => d.decision === 'approve').length}/${a.quorum}`, shortTime(a.expiresAt)]),
  ]);
  const links = approvals.filter((a) => a.link).map((a) => `${a.approvalId}: ${a.link!.personName}'s link ${a.link!.url}`);
  return links.length ? `${table}\n\n${links.join('\n')}` : table;
}
