import { parseArgs } from 'node:util';
import { parseFinding } from '../../domain/findings/index.ts';
import { retimeFinding } from '../../local/finding-retime.ts';
import type { ApprovalLink } from '../../local/read-model.ts';
import { inFile, parseJsonText, readInput, UsageError, type Io } from '../io.ts';
import { columns, LocalApi, URL_OPTION } from '../local-api.ts';

export const FINDINGS_USAGE = 'cleanpoint findings send FILE|- [--url URL] [--keep-times] [--keep-id] [--json]';

interface SendResponse {
  incidentId: string; action: string; delivery: string; created: boolean; correlated: boolean; status: string | null;
  approval: ApprovalLink | null; incidentUrl: string;
}

/**
 * `findings send FILE`: put a GuardDuty finding on the running system's event bus. The demo
 * estate's history is relative to when it was seeded, so by default the finding is moved to
 * "first seen 30 minutes ago" in the runtime's (virtual) time and gets a fresh id; --keep-times
 * and --keep-id send it exactly as written.
 */
export async function findingsCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { ...URL_OPTION, 'keep-times': { type: 'boolean', default: false }, 'keep-id': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  });
  const [sub, file, ...extra] = positionals;
  if (sub !== 'send') throw new UsageError(`${sub ? `unknown subcommand ${JSON.stringify(sub)}` : 'missing subcommand'}\nusage: ${FINDINGS_USAGE}`);
  if (!file || extra.length) throw new UsageError(`expected one FILE (or - for standard input)\nusage: ${FINDINGS_USAGE}`);
  const api = new LocalApi(values.url);
  const input = await readInput(io, file, 'the finding');
  const value = parseJsonText(input.text, input.name);
  // Checked here too, so the message names the file and the field as written in it.
  await inFile(input.name, () => parseFinding(value));
  const { now } = await api.get<{ now: string }>('/local/status', 'status');
  const event = retimeFinding(value, { nowMs: Date.parse(now), retime: !values['keep-times'], freshId: !values['keep-id'] });
  const sent = await api.post<SendResponse>('/local/findings', event, input.name);
  io.stdout(values.json ? JSON.stringify(sent, null, 2) : render(sent, values.url));
  return 0;
}

function render(s: SendResponse, url: string): string {
  const urlFlag = url === URL_OPTION.url.default ? '' : ` --url ${url}`;
  const rows: string[][] = [
    ['Incident', `${s.incidentId}  (${s.created ? 'new incident' : s.correlated ? 'joined an open incident' : `${s.delivery} delivery`})`],
    ['Action', s.action],
    ['Status', s.status ?? '-'],
  ];
  if (s.approval) rows.push(['Approve', s.approval.url], ['', `personal link of ${s.approval.personName} <${s.approval.email}>; the other deciders got their own by e-mail`]);
  else if (s.action === 'failover-proposal') rows.push(['Approve', `no pending approval request yet; see cleanpoint approvals list${urlFlag}`]);
  rows.push(['Console', s.incidentUrl], ['Watch', `cleanpoint incidents watch ${s.incidentId}${urlFlag}`]);
  return columns(rows);
}
