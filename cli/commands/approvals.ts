import { parseArgs } from 'node:util';
import type { ApprovalView } from '../../local/read-model.ts';
import { UsageError, type Io } from '../io.ts';
import { columns, LocalApi, shortTime, URL_OPTION } from '../local-api.ts';

export const APPROVALS_USAGE = 'cleanpoint approvals list [--status pending|approved|rejected|expired] [--url URL] [--json]';

const STATUSES = ['pending', 'approved', 'rejected', 'expired'];

/** `approvals list`: the approval requests, newest first, with the first decider's link while pending. */
export async function approvalsCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { ...URL_OPTION, status: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1 || positionals[0] !== 'list') throw new UsageError(`expected "approvals list"\nusage: ${APPROVALS_USAGE}`);
  if (values.status !== undefined && !STATUSES.includes(values.status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, not ${JSON.stringify(values.status)}`);
  const api = new LocalApi(values.url);
  const { approvals } = await api.get<{ approvals: ApprovalView[] }>(`/local/approvals${values.status ? `?status=${values.status}` : ''}`, 'approvals');
  io.stdout(values.json ? JSON.stringify(approvals, null, 2) : render(approvals));
  return 0;
}

function render(approvals: ApprovalView[]): string {
  if (approvals.length === 0) return 'No approval requests.';
  const table = columns([
    ['APPROVAL', 'INCIDENT', 'STATUS', 'GROUPS', 'MODE', 'APPROVED', 'DEADLINE'],
    ...approvals.map((a) => [a.approvalId, a.incidentId, a.status, a.groups.join(','), a.proposal.mode,
      `${a.decisions.filter((d) => d.decision === 'approve').length}/${a.quorum}`, shortTime(a.expiresAt)]),
  ]);
  const links = approvals.filter((a) => a.link).map((a) => `${a.approvalId}: ${a.link!.personName}'s link ${a.link!.url}`);
  return links.length ? `${table}\n\n${links.join('\n')}` : table;
}
