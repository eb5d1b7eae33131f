import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { approvalCard, decideApproval, recordRefusal, refusalOf, withoutToken, type ApprovalRequest, type DecideDeps, type DecideResult } from '../../domain/approvals/index.ts';
import { ApprovalExpiredError, ConflictError, ForbiddenError, NotFoundError, ValidationError, type Clock } from '../../domain/shared/index.ts';
import { ephemeral, renderApprovalMessage, replaceWith, slackSource, verifySlackJob, type SlackJobDetail } from '../shared/adapters/slack/index.ts';
import { respondToSlack, type SlackTransport } from '../shared/adapters/slack-notifier.ts';
import { logger, metrics } from '../shared/observability.ts';

/**
 * The asynchronous leg of a Slack click: verify the job's MAC and age ▶ Slack user ▶ person
 * (inventory `slackUserId`) ▶ decideApproval (channel slack; the domain judges it like every
 * channel) ▶ write the outcome back over the click's response_url (the channel message is
 * replaced; refusals go only to the clicker, ephemeral). Idempotent: an EventBridge
 * redelivery changes nothing twice.
 */
export interface SlackDecideDeps extends DecideDeps {
  /** The Slack signing secret, or null when Slack is not set up for this stage. */
  slackSigningSecret: () => Promise<string | null>;
  slackTransport: SlackTransport;
  /** The job's age is wall-clock time: compared with this clock, never a simulated one. */
  wallClock: Clock;
}

/** What decideApproval throws on purpose: its refusals (refusalError), a vanished request, a workflow gone after the write. */
const DOMAIN_ERRORS = [ForbiddenError, ConflictError, ApprovalExpiredError, NotFoundError, ValidationError];

export interface SlackJobOutcome {
  outcome: 'decided' | 'duplicate' | 'refused' | 'ignored';
  reason?: string;
  status?: ApprovalRequest['status'];
}

export async function decideClick(d: SlackDecideDeps, { job, mac }: SlackJobDetail): Promise<SlackJobOutcome> {
  const secret = await d.slackSigningSecret();
  if (!secret) return { outcome: 'ignored', reason: 'Slack is not set up' };
  const verified = verifySlackJob(secret, job, mac, d.wallClock.now());
  const request = await d.approvals.getApproval(job.approvalId);
  const source = slackSource(job);
  const attempt = { personId: `slack:${job.slackUserId}`, channel: 'slack' as const, source, decision: job.decision };
  if (!verified.ok) {
    // Not from our acknowledgement leg (forged), or queued too long ago to still stand for the click.
    if (request) await recordRefusal(d, request, attempt, `Slack job refused: ${verified.reason}`);
    logger.warn('Slack job refused', { approvalId: job.approvalId, reason: verified.reason });
    if (verified.reason === 'stale') await reply(d, job.responseUrl, ephemeral('Your click arrived too late to be acted on. Nothing was changed; please click again.'));
    return { outcome: 'refused', reason: verified.reason };
  }
  if (!request) {
    await reply(d, job.responseUrl, ephemeral('This approval request does not exist (any more). Nothing was changed.'));
    return { outcome: 'refused', reason: 'unknown approval request' };
  }
  const person = d.index.inventory.people.find((p) => p.slackUserId === job.slackUserId);
  if (!person) {
    const why = `Slack user ${job.slackUserId} is not linked to any person in the inventory`;
    await recordRefusal(d, request, attempt, why);
    await reply(d, job.responseUrl, ephemeral(`Not done: your Slack account is not linked to anyone in the Cleanpoint inventory (slackUserId), so it cannot decide. Nothing was changed.`));
    metrics.addMetric('SlackDecisionsRefused', MetricUnit.Count, 1);
    return { outcome: 'refused', reason: why };
  }
  let result: DecideResult;
  try {
    result = await decideApproval(d)({
      approvalId: request.approvalId, personId: person.id, decision: job.decision, channel: 'slack', source,
      // A button carries no text: a rejection from Slack says who rejected it there.
      ...(job.decision === 'reject' ? { reason: `rejected in Slack by ${person.name ?? person.id}` } : {}),
    });
  } catch (e) {
    // Infrastructure fails the invocation (it is retried); the domain's errors are answers for the clicker.
    if (!DOMAIN_ERRORS.some((type) => e instanceof type)) throw e;
    const refusal = refusalOf(e);
    // decideApproval audited the refusal; the clicker alone is told why.
    // A Slack button cannot give the second confirmation an unverified malware scan needs.
    await reply(d, job.responseUrl, ephemeral(refusal?.kind === 'unverified-scan'
      ? 'Not done: the malware scan of at least one proposed point is unverified, and approving it needs an explicit second confirmation that Slack buttons cannot give. Use your personal approval page (link in your e-mail). Nothing was changed.'
      : `Not done: ${(e as Error).message}. Nothing was changed.`));
    metrics.addMetric('SlackDecisionsRefused', MetricUnit.Count, 1);
    return { outcome: 'refused', reason: (e as Error).message };
  }
  if (result.duplicate) {
    await reply(d, job.responseUrl, ephemeral('Your decision was already recorded. Nothing was changed.'));
    return { outcome: 'duplicate', status: result.status };
  }
  metrics.addMetric(job.decision === 'approve' ? 'Approvals' : 'Rejections', MetricUnit.Count, 1);
  await replaceMessage(d, request, result, job.responseUrl);
  return { outcome: 'decided', status: result.status };
}

/** The channel message, replaced with the request's new state (who decided what, how many approvals are still needed). */
async function replaceMessage(d: SlackDecideDeps, request: ApprovalRequest, result: DecideResult, responseUrl: string | undefined): Promise<void> {
  const incident = await d.incidents.getIncident(request.incidentId);
  if (!incident) return;
  const r = withoutToken(result.request);
  const nameOf = (id: string) => d.index.personById.get(id)?.name ?? id;
  await reply(d, responseUrl, replaceWith(renderApprovalMessage(approvalCard(r, incident, d.index), {
    status: result.status, approvalsNeeded: result.approvalsNeeded,
    decisions: r.decisions.map((x) => ({ personId: x.personId, name: nameOf(x.personId), decision: x.decision, at: x.at, channel: x.channel, ...(x.reason ? { reason: x.reason } : {}) })),
  })));
}

/** Posting back is best effort: the decision stands whether or not Slack shows it. */
async function reply(d: SlackDecideDeps, responseUrl: string | undefined, message: Record<string, unknown>): Promise<void> {
  try {
    await respondToSlack(responseUrl, message, d.slackTransport);
  } catch (e) {
    logger.warn('could not update the Slack message', { error: (e as Error).name, reason: (e as Error).message });
  }
}
