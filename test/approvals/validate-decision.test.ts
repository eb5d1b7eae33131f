import { describe, expect, it } from 'vitest';
import {
  decideApproval, describeRefusal, refusalError, refusalOf, validateDecision, validateView, type ApprovalRequest, type DecisionAttempt, type DecisionRefusal,
} from '../../domain/approvals/index.ts';
import { ApprovalExpiredError, ConflictError, ForbiddenError, ValidationError } from '../../domain/shared/index.ts';
import { thrown } from '../contract/contract-fixtures.ts';
import { approvalWorld, auditSince, openRequest, T0, type World } from './helpers.ts';

/**
 * The one decision validator (domain/approvals/validate.ts): every refusal it knows, typed, and
 * the order in which it judges an attempt (what was asked ▶ the request ▶ the deadline ▶ the
 * person ▶ the points ▶ earlier decisions). payments: deciders alice and bob, quorum 2,
 * self-approval forbidden; carol is an analyst.
 */
async function pending(): Promise<{ w: World; r: ApprovalRequest }> {
  const w = await approvalWorld();
  return { w, r: await openRequest(w, { timeoutSeconds: 600 }) };
}

const judge = (w: World, r: ApprovalRequest, attempt: Partial<DecisionAttempt> = {}, nowMs = T0) =>
  validateDecision(r, { personId: 'alice', decision: 'approve', ...attempt }, { index: w.index, nowMs });

const refusalIn = (verdict: ReturnType<typeof validateDecision>): DecisionRefusal['kind'] | 'accepted' => (verdict.ok ? 'accepted' : verdict.refusal.kind);

/** A request whose chosen points were never scanned, in recovery mode (payments scans before a recovery launch). */
const unscanned = (r: ApprovalRequest): ApprovalRequest => ({ ...r, proposal: { ...r.proposal!, mode: 'recovery' } });

describe('validateDecision: each refusal', () => {
  it.each<[string, (r: ApprovalRequest) => ApprovalRequest, Partial<DecisionAttempt>, DecisionRefusal]>([
    ['a rejection without a reason (blank counts as none)', (r) => r, { decision: 'reject', reason: '   ' }, { kind: 'reason-required' }],
    ['an older cutoff on a failback', (r) => { const { proposal: _p, ...rest } = r; return { ...rest, purpose: 'failback' }; }, { groupCutoffs: { payments: '2024-05-01T07:00:00.000Z' } }, { kind: 'cutoff-on-failback', group: 'payments' }],
    ['a cutoff for a group the request does not have', (r) => r, { groupCutoffs: { ledger: '2024-05-01T07:00:00.000Z' } }, { kind: 'cutoff-unknown-group', group: 'ledger' }],
    ['a cutoff that is no timestamp', (r) => r, { groupCutoffs: { payments: 'yesterday' } }, { kind: 'cutoff-malformed', group: 'payments' }],
    ['a cutoff later than the proposed one', (r) => r, { groupCutoffs: { payments: '2024-05-01T09:59:00.000Z' } }, { kind: 'cutoff-later', group: 'payments', proposed: expect.any(String) as unknown as string }],
    ['a preview of a failback', (r) => { const { proposal: _p, ...rest } = r; return { ...rest, purpose: 'failback' }; }, { step: 'preview' }, { kind: 'preview-of-failback' }],
    ['an approval that could not take effect (workflow gone)', (r) => ({ ...r, status: 'approved', undelivered: 'the workflow is gone' }), {}, { kind: 'undelivered', why: 'the workflow is gone' }],
    ['a superseded request', (r) => ({ ...r, status: 'superseded', closedReason: 'earlier evidence' }), {}, { kind: 'superseded', closedReason: 'earlier evidence' }],
    ['a request closed as expired', (r) => ({ ...r, status: 'expired' }), {}, { kind: 'closed' }],
    ['a request already rejected by somebody else', (r) => ({ ...r, status: 'rejected' }), {}, { kind: 'already-final', status: 'rejected' }],
    ['a pending request past its deadline', (r) => ({ ...r, expiresAt: new Date(T0 - 1).toISOString() }), {}, { kind: 'expired', expiresAt: new Date(T0 - 1).toISOString() }],
    ['a person who is no decider of every group', (r) => r, { personId: 'carol' }, { kind: 'not-eligible', personId: 'carol', groups: ['payments'] }],
    ['the requester approving where self-approval is forbidden', (r) => ({ ...r, requestedBy: 'alice' }), {}, { kind: 'self-approval', personId: 'alice', purpose: 'failover' }],
    ['an approval of unverified points without the second confirmation', unscanned, {}, { kind: 'unverified-scan', machines: expect.any(Array) as unknown as string[] }],
    ['a decider changing their mind', (r) => ({ ...r, decisions: [{ personId: 'alice', decision: 'approve', at: '2024-05-01T09:51:00.000Z', channel: 'web', source: 'x' }] }), { decision: 'reject', reason: 'no' }, { kind: 'already-decided', personId: 'alice', previous: 'approve' }],
  ])('refuses %s', async (_what, shape, attempt, expected) => {
    // Prepare
    const { w, r } = await pending();
    // Act
    const verdict = judge(w, shape(r), attempt);
    // Assess
    expect(verdict).toEqual({ ok: false, refusal: expected });
  });

  it('accepts an eligible approval, a reasoned rejection, an earlier cutoff and a confirmed unverified scan', async () => {
    const { w, r } = await pending();
    expect(judge(w, r)).toEqual({ ok: true, action: 'decide', unverified: [] });
    expect(judge(w, r, { personId: 'bob', decision: 'reject', reason: 'pentest' })).toEqual({ ok: true, action: 'decide', unverified: [] });
    expect(judge(w, r, { groupCutoffs: { payments: '2024-05-01T07:00:00.000Z' } })).toMatchObject({ ok: true, action: 'decide' });
    const confirmed = judge(w, unscanned(r), { confirmUnverified: true });
    expect(confirmed).toMatchObject({ ok: true, action: 'decide' });
    expect(confirmed.ok && confirmed.action === 'decide' && confirmed.unverified.length).toBeGreaterThan(0);
  });

  it('calls a repeat of the same decision a duplicate, pending or final, and a preview of an approval a preview', async () => {
    const { w, r } = await pending();
    const mine = { ...r, decisions: [{ personId: 'alice', decision: 'approve' as const, at: '2024-05-01T09:51:00.000Z', channel: 'web' as const, source: 'x' }] };
    expect(judge(w, mine)).toEqual({ ok: true, action: 'duplicate' });
    expect(judge(w, { ...mine, status: 'approved' })).toEqual({ ok: true, action: 'duplicate' });
    expect(judge(w, r, { step: 'preview', groupCutoffs: { payments: '2024-05-01T07:00:00.000Z' } })).toEqual({ ok: true, action: 'preview' });
    // Only an approval is previewed: a rejection sent with step=preview is judged as a decision.
    expect(judge(w, r, { step: 'preview', decision: 'reject', reason: 'no' })).toMatchObject({ ok: true, action: 'decide' });
  });
});

describe('validateDecision: the order of refusals', () => {
  it('judges what was asked first: reason ▶ cutoffs ▶ preview, before the request, the person and the points', async () => {
    // Prepare: a request that is closed, past its deadline, asked by the person, with unverified points
    const { w, r } = await pending();
    const everythingWrong: ApprovalRequest = { ...unscanned(r), status: 'expired', requestedBy: 'carol', expiresAt: new Date(T0 - 1).toISOString() };
    // Act + Assess
    expect(refusalIn(judge(w, everythingWrong, { personId: 'carol', decision: 'reject', groupCutoffs: { payments: '2099-01-01T00:00:00.000Z' } }))).toBe('reason-required');
    expect(refusalIn(judge(w, everythingWrong, { personId: 'carol', groupCutoffs: { payments: '2099-01-01T00:00:00.000Z' } }))).toBe('cutoff-later');
    expect(refusalIn(judge(w, everythingWrong, { personId: 'carol' }))).toBe('closed');
  });

  it('checks the cutoffs in the order given, each for failback ▶ group ▶ timestamp ▶ later', async () => {
    const { w, r } = await pending();
    expect(refusalIn(judge(w, r, { groupCutoffs: { payments: 'soon', ledger: '2024-05-01T07:00:00.000Z' } }))).toBe('cutoff-malformed');
    expect(refusalIn(judge(w, r, { groupCutoffs: { ledger: 'soon', payments: 'soon' } }))).toBe('cutoff-unknown-group');
    const { proposal: _p, ...failback } = r;
    expect(refusalIn(judge(w, { ...failback, purpose: 'failback' }, { step: 'preview', groupCutoffs: { ledger: 'soon' } }))).toBe('cutoff-on-failback');
  });

  it('judges a closed request by its state: undelivered ▶ duplicate ▶ superseded ▶ closed ▶ final', async () => {
    const { w, r } = await pending();
    const mine = [{ personId: 'alice', decision: 'approve' as const, at: '2024-05-01T09:51:00.000Z', channel: 'web' as const, source: 'x' }];
    expect(refusalIn(judge(w, { ...r, status: 'approved', undelivered: 'gone', decisions: mine }))).toBe('undelivered');
    expect(refusalIn(judge(w, { ...r, status: 'superseded', decisions: mine }))).toBe('accepted'); // the same decision again: a duplicate
    expect(refusalIn(judge(w, { ...r, status: 'superseded', expiresAt: new Date(T0 - 1).toISOString() }, { personId: 'carol' }))).toBe('superseded');
  });

  it('judges a pending request: deadline ▶ eligibility ▶ self-approval ▶ unverified points ▶ earlier decision', async () => {
    const { w, r } = await pending();
    const late = new Date(T0 - 1).toISOString();
    const mine = [{ personId: 'alice', decision: 'reject' as const, at: '2024-05-01T09:51:00.000Z', channel: 'web' as const, source: 'x', reason: 'no' }];
    const worst: ApprovalRequest = { ...unscanned(r), requestedBy: 'alice', decisions: mine };
    expect(refusalIn(judge(w, { ...worst, expiresAt: late }, { personId: 'carol' }))).toBe('expired');
    expect(refusalIn(judge(w, worst, { personId: 'carol' }))).toBe('not-eligible');
    expect(refusalIn(judge(w, worst))).toBe('self-approval');
    expect(refusalIn(judge(w, { ...worst, requestedBy: 'bob', decisions: [] }))).toBe('unverified-scan');
    expect(refusalIn(judge(w, { ...worst, requestedBy: 'bob' }))).toBe('already-decided'); // decided before: no second scan confirmation asked
  });
});

describe('refusalError / describeRefusal / refusalOf', () => {
  it.each<[DecisionRefusal, new (...args: never[]) => Error, string]>([
    [{ kind: 'reason-required' }, ValidationError, 'decision: reason: a rejection needs a reason'],
    [{ kind: 'cutoff-later', group: 'payments', proposed: 'x' }, ValidationError, 'decision: cutoff:payments: may only move the cutoff earlier'],
    [{ kind: 'preview-of-failback' }, ValidationError, 'decision: step: a failback has no restore points to preview'],
    [{ kind: 'undelivered', why: 'gone' }, ConflictError, 'gone; start a new failover if it is still needed'],
    [{ kind: 'superseded', closedReason: 'earlier evidence' }, ConflictError, "superseded by a newer proposal (earlier evidence); use the newer request's link"],
    [{ kind: 'closed' }, ApprovalExpiredError, 'the request expired without a decision'],
    [{ kind: 'already-final', status: 'approved' }, ConflictError, 'the request is already approved; nothing was changed'],
    [{ kind: 'expired', expiresAt: '2024-05-01T10:00:00.000Z' }, ApprovalExpiredError, 'the request expired at 2024-05-01T10:00:00.000Z'],
    [{ kind: 'not-eligible', personId: 'carol', groups: ['payments'] }, ForbiddenError, 'carol is not a decider for every affected group (payments)'],
    [{ kind: 'self-approval', personId: 'alice', purpose: 'failback' }, ForbiddenError, 'alice asked for this failback and may not approve it'],
    [{ kind: 'already-decided', personId: 'alice', previous: 'reject' }, ConflictError, 'alice already decided reject'],
  ])('throws %o as its error, carrying the typed refusal', (refusal, type, message) => {
    const error = refusalError(refusal);
    expect(error).toBeInstanceOf(type);
    expect(error.message).toBe(message);
    expect(refusalOf(error)).toEqual(refusal);
    expect(Object.keys(error)).not.toContain('refusal');
  });

  it('names the channel\'s own inputs, and audits the asked-for refusals in one phrase for every channel', () => {
    expect(refusalError({ kind: 'reason-required' }, { form: 'approvals reject', reason: '--reason' }).message).toBe('approvals reject: --reason: a rejection needs a reason');
    expect(refusalError({ kind: 'cutoff-later', group: 'payments', proposed: 'x' }, { form: 'decision form' }).message).toBe('decision form: cutoff:payments: may only move the cutoff earlier');
    expect(describeRefusal({ kind: 'reason-required' })).toBe('a rejection without a reason');
    expect(describeRefusal({ kind: 'cutoff-later', group: 'payments', proposed: 'x' })).toBe('invalid cutoff cutoff:payments: may only move the cutoff earlier');
    expect(describeRefusal({ kind: 'not-eligible', personId: 'carol', groups: ['payments'] })).toBe('carol is not a decider for every affected group (payments)');
    expect(refusalOf(new Error('other'))).toBeNull();
  });

  it('refuses through decideApproval exactly as it judges: audited once, thrown typed, nothing changed', async () => {
    // Prepare
    const { w, r } = await pending();
    // Act
    const error = await thrown(() => decideApproval(w)({ approvalId: r.approvalId, personId: 'bob', decision: 'reject', channel: 'slack', source: 'slack:T1/U1', reason: ' ' }));
    // Assess
    expect(refusalOf(error)).toEqual({ kind: 'reason-required' });
    expect(await w.approvals.getApproval(r.approvalId)).toEqual(r);
    expect((await auditSince(w, 1)).map((a) => [a.type, a.actor, a.data['outcome']])).toEqual([['approval.refused', 'bob', 'a rejection without a reason']]);
  });
});

describe('validateView', () => {
  it('refuses to open a superseded request, and opens any other', async () => {
    const { r } = await pending();
    expect(validateView({ ...r, status: 'superseded', closedReason: 'earlier evidence' })).toEqual({ kind: 'superseded', closedReason: 'earlier evidence' });
    for (const status of ['pending', 'approved', 'rejected', 'expired'] as const) expect(validateView({ ...r, status })).toBeNull();
  });
});
