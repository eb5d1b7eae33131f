import { describe, expect, it } from 'vitest';
import { approvalCard, approvalSummary, claimsFrom, decideApproval, decideFromCli, effectiveStatus, eligibility, expireApprovals, isApprovalNotification, requestApproval, revokeLinks, verifyLink, type ApprovalNotification, type ApprovalRequest, type DecideInput } from '../../domain/approvals/index.ts';
import { ApprovalExpiredError, ConflictError, ForbiddenError, ValidationError } from '../../domain/shared/index.ts';
import { thrown } from '../contract/contract-fixtures.ts';
import type { RunMachine } from '../../domain/failover/index.ts';
import { approvalInventory, approvalWorld, auditSince, LINK_SECRET, newTaskToken, openRequest, PUBLIC_BASE_URL, T0, type World } from './helpers.ts';

const decide = (w: World, input: Partial<DecideInput> & Pick<DecideInput, 'approvalId' | 'personId' | 'decision'>) =>
  decideApproval(w)({ channel: 'web', source: '203.0.113.7', ...input });

/** The request and the workflow must be exactly as before a refused attempt. */
async function expectUnchanged(w: World, before: ApprovalRequest, callsBefore: number) {
  expect(await w.approvals.getApproval(before.approvalId)).toEqual(before);
  expect(w.workflows.calls).toHaveLength(callsBefore);
}

describe('requestApproval', () => {
  it('creates a request with a 128-bit random id and an expiry equal to the workflow\'s wait, keeping the token server side', async () => {
    // Prepare
    const w = await approvalWorld();
    // Act
    const r = await openRequest(w, { timeoutSeconds: 5400, taskToken: 'TOKEN-abc/123+==' });
    // Assess
    expect(Buffer.from(r.approvalId, 'base64url')).toHaveLength(16);
    expect(r.expiresAt).toBe(new Date(T0 + 5400_000).toISOString());
    expect(r.taskToken).toBe('TOKEN-abc/123+==');
    expect(JSON.stringify(w.notifier.sent)).not.toContain('TOKEN-abc');
    expect((await w.incidents.getIncident(w.incident.incidentId))?.status).toBe('awaiting-approval');
    expect((await w.audit.list(w.incident.incidentId)).map((a) => a.type)).toEqual(['approval.requested']);
  });

  it('sends every eligible decider a personal signed link and the channel one shared message without any link', async () => {
    // Prepare
    const w = await approvalWorld();
    // Act
    const r = await openRequest(w);
    // Assess
    const personal = w.notifier.sent.filter((n) => isApprovalNotification(n) && n.audience === 'person');
    expect(personal.map((n) => n.recipients)).toEqual([['alice'], ['bob']]);
    for (const n of personal) {
      const url = new URL(n.links![0]!.url);
      expect(url.origin + url.pathname).toBe(`${PUBLIC_BASE_URL}/approvals/${r.approvalId}`);
      const { claims, signature } = claimsFrom(r.approvalId, Object.fromEntries(url.searchParams));
      expect(claims.personId).toBe(n.recipients![0]);
      expect(verifyLink(LINK_SECRET, claims, signature, T0)).toEqual({ ok: true });
    }
    const shared = w.notifier.sent.filter((n) => isApprovalNotification(n) && n.audience === 'channel');
    expect(shared).toHaveLength(1);
    expect(shared[0]!.links ?? []).toEqual([]);
    expect(shared[0]!.text).not.toMatch(/https?:\/\//);
  });

  it('shows the finding, groups, machines, suspected start, each point with its data loss and older points, blockers, mode and RTO', async () => {
    // Prepare
    const w = await approvalWorld();
    // Act
    await openRequest(w);
    // Assess
    const card = (w.notifier.sent.find(isApprovalNotification) as ApprovalNotification).approval;
    expect(card.finding.type).toBe(w.incident.assessment.finding.type);
    expect(card.groups).toEqual(['payments']);
    expect(card.machinesHit).toEqual(w.incident.machines);
    expect(card.suspectedSince).toBe(w.incident.suspectedSince);
    expect(card.machines.map((m) => [m.machineId, m.capturedAt, typeof m.lossMinutes, m.olderPoints.length])).toEqual([
      ['payments-db', '2024-05-01T08:00:00.000Z', 'number', 1],
      ['payments-api', '2024-05-01T08:00:00.000Z', 'number', 1],
      ['payments-web', '2024-05-01T07:00:00.000Z', 'number', 0],
    ]);
    expect(card.mode).toBe('test');
    expect(card.estimatedRtoMinutes).toBeGreaterThan(0);
    expect(card.deciders.map((d) => d.name)).toEqual(['Alice Martin', 'Bob Chen']);
  });

  it('makes only the deciders of every affected group eligible', async () => {
    // Prepare
    const w = await approvalWorld({ groups: ['payments', 'ledger'] });
    // Act
    const r = await openRequest(w);
    // Assess: alice decides payments only, dave ledger only; bob decides both
    expect(r.eligibleDeciders).toEqual(['bob']);
    expect(r.quorum).toBe(2);
    expect(eligibility(w.index, ['ledger'], false)).toEqual({ deciders: ['bob', 'dave'], quorum: 1 });
  });

  it('raises an alarm when nobody may decide or the quorum cannot be reached (requester barred from approving)', async () => {
    // Prepare
    const w = await approvalWorld({ groups: ['payments', 'ledger'] });
    // Act
    await openRequest(w);
    const requested = await approvalWorld();
    await openRequest(requested, { requestedBy: 'alice' });
    // Assess
    expect(w.notifier.sent.find((n) => n.kind === 'alarm')?.subject).toMatch(/cannot reach its quorum/);
    expect(requested.notifier.sent.find((n) => n.kind === 'alarm')?.text).toMatch(/only 1 eligible decider\(s\) may approve \(alice asked for it\)/);
  });

  it('on escalation also asks the escalation contacts and expires the request it supersedes', async () => {
    // Prepare
    const w = await approvalWorld();
    const first = await openRequest(w);
    // Act
    const second = await openRequest(w, { escalation: true });
    // Assess
    expect(second.eligibleDeciders).toEqual(['alice', 'bob', 'erin']);
    expect((await w.approvals.getApproval(first.approvalId))?.status).toBe('expired');
    expect(w.notifier.sent.filter((n) => n.kind === 'escalation' && n.subject.startsWith('[ESCALATED]')).length).toBe(4);
    const audit = await w.audit.list(w.incident.incidentId);
    expect(audit.map((a) => a.type)).toEqual(['approval.requested', 'approval.expired', 'approval.escalated']);
  });

  it('audits a failed e-mail and still asks the other deciders', async () => {
    // Prepare
    const w = await approvalWorld();
    w.notifier.failFor = (n) => n.recipients?.[0] === 'alice';
    // Act
    const r = await openRequest(w);
    // Assess
    expect(w.notifier.sent.some((n) => n.recipients?.[0] === 'bob')).toBe(true);
    const failed = (await w.audit.list(w.incident.incidentId)).find((a) => a.type === 'approval.notify-failed');
    expect(failed?.data).toMatchObject({ approvalId: r.approvalId, to: 'alice' });
  });

  it('fails when no notification at all could be sent', async () => {
    const w = await approvalWorld();
    w.notifier.failFor = () => true;
    expect((await thrown(() => openRequest(w))).message).toMatch(/no notification/);
  });
});

describe('requestApproval for a failback', () => {
  const PRIMARY = { subnetId: 'subnet-0123456789abcdef0', securityGroupIds: ['sg-0123456789abcdef0'] };

  /** A recovered payments incident: two machines ready in the recovery network, one that never became ready. */
  async function recoveredWorld(): Promise<World> {
    const inventory = approvalInventory();
    inventory.groups.find((g) => g.name === 'payments')!.networks!.primary = PRIMARY;
    const w = await approvalWorld({ inventory });
    await w.incidents.updateIncident(w.incident.incidentId, 1, { status: 'recovered' });
    const id = w.incident.incidentId;
    const machine = (machineId: string, wave: number, instanceId?: string): RunMachine => ({
      runId: id, machineId, group: 'payments', wave, mode: 'recovery', pointId: `rp-${machineId}`, capturedAt: '2024-05-01T08:00:00.000Z', lossMinutes: 20,
      snapshots: [], instanceType: 'm6i.large', fallbackInstanceTypes: [], network: null,
      ...(instanceId ? { instanceId, readyAt: '2024-05-01T09:40:00.000Z' } : {}),
    });
    await w.runs.createRun(
      { runId: id, kind: 'incident', incidentId: id, mode: 'recovery', createdAt: '2024-05-01T09:30:00.000Z', decidedAt: '2024-05-01T09:30:00.000Z', waves: [{ wave: 1, machines: ['payments-db'] }, { wave: 2, machines: ['payments-api', 'payments-web'] }] },
      [machine('payments-db', 1, 'i-0123456789abcdef1'), machine('payments-api', 2, 'i-0123456789abcdef2'), machine('payments-web', 2)],
    );
    return w;
  }

  it('asks the deciders of every group about the recovered machines, with no restore points, and leaves the incident as it is', async () => {
    // Prepare
    const w = await recoveredWorld();
    // Act
    const out = await requestApproval({ ...w, publicBaseUrl: PUBLIC_BASE_URL, linkSecret: LINK_SECRET })({
      incidentId: w.incident.incidentId, taskToken: newTaskToken(), timeoutSeconds: 3600, purpose: 'failback', requestedBy: 'carol',
    });
    // Assess
    const r = (await w.approvals.getApproval(out.approvalId))!;
    expect(r).toMatchObject({ purpose: 'failback', requestedBy: 'carol', eligibleDeciders: ['alice', 'bob'], quorum: 2 });
    expect(r.proposal).toBeUndefined();
    expect(r.failback).toEqual({
      machines: [
        { machineId: 'payments-db', group: 'payments', wave: 1, recoveryInstanceId: 'i-0123456789abcdef1', primarySubnetId: PRIMARY.subnetId },
        { machineId: 'payments-api', group: 'payments', wave: 2, recoveryInstanceId: 'i-0123456789abcdef2', primarySubnetId: PRIMARY.subnetId },
      ],
      waves: 2,
    });
    expect((await w.incidents.getIncident(w.incident.incidentId))?.status).toBe('recovered');
    const personal = w.notifier.sent.filter((n) => isApprovalNotification(n) && n.audience === 'person') as ApprovalNotification[];
    expect(personal.map((n) => n.recipients)).toEqual([['alice'], ['bob']]);
    expect(personal[0]!.subject).toBe('Approve the failback of payments to the primary environment?');
    expect(personal[0]!.approval).toMatchObject({ purpose: 'failback', machines: [], blockers: [] });
    expect(personal[0]!.text).toMatch(/payments-db now i-0123456789abcdef1/);
    expect((await w.audit.list(w.incident.incidentId)).at(-1)).toMatchObject({ type: 'approval.requested', data: { purpose: 'failback', requestedBy: 'carol' } });
    const card = approvalCard(r, (await w.incidents.getIncident(w.incident.incidentId))!, w.index);
    expect(approvalSummary(card).join('\n')).toMatch(/launch the primaries/);
  });

  it('does not let the person who asked for the failback approve it; another decider\'s rejection ends the wait with ApprovalRejected', async () => {
    // Prepare
    const w = await recoveredWorld();
    const out = await requestApproval({ ...w, publicBaseUrl: PUBLIC_BASE_URL, linkSecret: LINK_SECRET })({
      incidentId: w.incident.incidentId, taskToken: newTaskToken(), timeoutSeconds: 3600, purpose: 'failback', requestedBy: 'alice',
    });
    // Act
    const error = await thrown(() => decide(w, { approvalId: out.approvalId, personId: 'alice', decision: 'approve' }));
    const rejected = await decide(w, { approvalId: out.approvalId, personId: 'bob', decision: 'reject', reason: 'not yet' });
    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toMatch(/asked for this failback/);
    expect(rejected.status).toBe('rejected');
    expect(w.workflows.calls).toEqual([{ op: 'failure', token: expect.any(String), payload: { error: 'ApprovalRejected', cause: 'rejected by bob: not yet' } }]);
  });
});

describe('decideApproval', () => {
  it('counts distinct approvals until the quorum, then resumes the workflow once with the final selection', async () => {
    // Prepare
    const w = await approvalWorld();
    const r = await openRequest(w);
    // Act
    const first = await decide(w, { approvalId: r.approvalId, personId: 'alice', decision: 'approve', groupCutoffs: { payments: '2024-05-01T07:30:00.000Z' } });
    const second = await decide(w, { approvalId: r.approvalId, personId: 'bob', decision: 'approve', channel: 'slack', source: 'slack:T1/U0BOB00001 via 3.5.140.2' });
    // Assess
    expect([first.status, first.approvalsNeeded]).toEqual(['pending', 1]);
    expect([second.status, second.approvalsNeeded]).toEqual(['approved', 0]);
    expect(w.workflows.calls).toEqual([{
      op: 'success', token: r.taskToken,
      payload: { approved: true, approvalId: r.approvalId, decidedAt: second.request.decisions[1]!.at, decidedBy: ['alice', 'bob'], groupCutoffs: { payments: '2024-05-01T07:30:00.000Z' } },
    }]);
    expect(second.request.deliveredAt).toBeDefined();
    const audit = await auditSince(w, 1);
    expect(audit.map((a) => [a.type, a.actor, a.data['channel'], a.data['source']])).toEqual([
      ['decision.approved', 'alice', 'web', '203.0.113.7'],
      ['decision.approved', 'bob', 'slack', 'slack:T1/U0BOB00001 via 3.5.140.2'],
    ]);
  });

  it('ends the wait with SendTaskFailure(ApprovalRejected) and the reason on a rejection', async () => {
    // Prepare
    const w = await approvalWorld();
    const r = await openRequest(w);
    // Act
    const out = await decide(w, { approvalId: r.approvalId, personId: 'bob', decision: 'reject', reason: 'planned pentest' });
    // Assess
    expect(out.status).toBe('rejected');
    expect(w.workflows.calls).toEqual([{ op: 'failure', token: r.taskToken, payload: { error: 'ApprovalRejected', cause: 'rejected by bob: planned pentest' } }]);
  });

  it('treats a double click as one decision: nothing changes, nothing is resent, the repeat is audited', async () => {
    // Prepare
    const w = await approvalWorld();
    const r = await openRequest(w);
    await decide(w, { approvalId: r.approvalId, personId: 'alice', decision: 'approve' });
    const before = (await w.approvals.getApproval(r.approvalId))!;
    const auditBefore = (await w.audit.list(w.incident.incidentId)).length;
    // Act
    const again = await decide(w, { approvalId: r.approvalId, personId: 'alice', decision: 'approve' });
    // Assess
    expect(again.duplicate).toBe(true);
    await expectUnchanged(w, before, 0);
    expect((await auditSince(w, auditBefore)).map((a) => [a.type, a.actor, a.data['outcome']])).toEqual([['decision.duplicate', 'alice', 'already recorded; nothing changed']]);
  });

  it('refuses a second decider once the outcome is final, without resending anything', async () => {
    // Prepare
    const w = await approvalWorld();
    const r = await openRequest(w);
    await decide(w, { approvalId: r.approvalId, personId: 'alice', decision: 'reject', reason: 'not needed' });
    const before = (await w.approvals.getApproval(r.approvalId))!;
    const auditBefore = (await w.audit.list(w.incident.incidentId)).length;
    // Act
    const error = await thrown(() => decide(w, { approvalId: r.approvalId, personId: 'bob', decision: 'approve' }));
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    await expectUnchanged(w, before, 1);
    expect((await auditSince(w, auditBefore)).map((a) => [a.type, a.actor, a.data['outcome']])).toEqual([['approval.refused', 'bob', 'the request is already rejected; nothing was changed']]);
  });

  it('refuses a decision after the deadline and leaves the request and the workflow alone', async () => {
    // Prepare
    const w = await approvalWorld();
    const r = await openRequest(w, { timeoutSeconds: 600 });
    w.clock.advance(600_001);
    const auditBefore = (await w.audit.list(w.incident.incidentId)).length;
    // Act
    const error = await thrown(() => decide(w, { approvalId: r.approvalId, personId: 'alice', decision: 'approve' }));
    // Assess
    expect(error).toBeInstanceOf(ApprovalExpiredError);
    await expectUnchanged(w, r, 0);
    expect((await auditSince(w, auditBefore))[0]).toMatchObject({ type: 'approval.refused', actor: 'alice', data: { outcome: `the request expired at ${r.expiresAt}` } });
    expect(effectiveStatus(r, w.clock.now())).toBe('expired');
  });

  it('refuses a request superseded by an escalation as expired', async () => {
    const w = await approvalWorld();
    const first = await openRequest(w);
    await openRequest(w, { escalation: true });
    const error = await thrown(() => decide(w, { approvalId: first.approvalId, personId: 'alice', decision: 'approve' }));
    expect(error).toBeInstanceOf(ApprovalExpiredError);
  });

  it.each([
    ['an analyst who is no decider', 'carol'],
    ['a decider of another group only', 'dave'],
    ['somebody unknown', 'mallory'],
  ])('refuses %s', async (_what, personId) => {
    // Prepare
    const w = await approvalWorld();
    const r = await openRequest(w);
    // Act
    const error = await thrown(() => decide(w, { approvalId: r.approvalId, personId, decision: 'approve' }));
    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toBe(`${personId} is not a decider for every affected group (payments)`);
    await expectUnchanged(w, r, 0);
    expect((await auditSince(w, 1)).map((a) => [a.type, a.actor])).toEqual([['approval.refused', personId]]);
  });

  it('does not let the person who asked for the failover approve it, but lets them reject it', async () => {
    // Prepare
    const w = await approvalWorld();
    const r = await openRequest(w, { requestedBy: 'alice' });
    // Act
    const error = await thrown(() => decide(w, { approvalId: r.approvalId, personId: 'alice', decision: 'approve' }));
    const rejected = await decide(w, { approvalId: r.approvalId, personId: 'alice', decision: 'reject', reason: 'changed my mind' });
    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toMatch(/asked for this failover/);
    expect(rejected.status).toBe('rejected');
  });

  it('repairs a delivery lost in a crash on the next attempt, exactly once', async () => {
    // Prepare: approved and stored, but the workflow was never told
    const w = await approvalWorld();
    const r = await openRequest(w);
    await w.approvals.updateApproval(r.approvalId, r.version, { status: 'approved', decisions: [{ personId: 'alice', decision: 'approve', at: '2024-05-01T09:55:00.000Z', channel: 'web', source: 'x' }] });
    // Act
    await decide(w, { approvalId: r.approvalId, personId: 'alice', decision: 'approve' });
    await decide(w, { approvalId: r.approvalId, personId: 'alice', decision: 'approve' });
    // Assess
    expect(w.workflows.calls.map((c) => c.op)).toEqual(['success']);
  });
});

describe('decideFromCli', () => {
  it('decides with channel cli and reports the public view of the request, never the token', async () => {
    // Prepare
    const w = await approvalWorld();
    const r = await openRequest(w);
    // Act
    const out = await decideFromCli(w)({ approvalId: r.approvalId, as: 'bob', decision: 'approve', source: 'cli:ops@laptop' });
    // Assess
    expect(out).toMatchObject({ approvalId: r.approvalId, status: 'pending', duplicate: false, approvalsNeeded: 1 });
    expect(out.decisions[0]).toMatchObject({ personId: 'bob', channel: 'cli', source: 'cli:ops@laptop' });
    expect(JSON.stringify(out)).not.toContain(r.taskToken);
  });

  it('refuses a rejection without a reason, audited, before touching the request', async () => {
    // Prepare
    const w = await approvalWorld();
    const r = await openRequest(w);
    // Act
    const error = await thrown(() => decideFromCli(w)({ approvalId: r.approvalId, as: 'bob', decision: 'reject', reason: '  ', source: 'cli:ops@laptop' }));
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    await expectUnchanged(w, r, 0);
    expect((await auditSince(w, 1))[0]).toMatchObject({ type: 'approval.refused', actor: 'bob', data: { channel: 'cli', source: 'cli:ops@laptop' } });
  });

  it('refuses a non-decider like every other channel', async () => {
    const w = await approvalWorld();
    const r = await openRequest(w);
    expect(await thrown(() => decideFromCli(w)({ approvalId: r.approvalId, as: 'carol', decision: 'approve', source: 'cli:x@y' }))).toBeInstanceOf(ForbiddenError);
  });
});

describe('revokeLinks', () => {
  it('withdraws every link a person holds, audits it and sends a fresh one that works', async () => {
    // Prepare
    const w = await approvalWorld();
    const r = await openRequest(w);
    const old = new URL((w.notifier.sent.find((n) => n.recipients?.[0] === 'alice')!).links![0]!.url);
    // Act
    const out = await revokeLinks({ ...w, reissue: { notifier: w.notifier, publicBaseUrl: PUBLIC_BASE_URL, linkSecret: LINK_SECRET, index: w.index, incidents: w.incidents } })({
      approvalId: r.approvalId, personId: 'alice', by: 'ops', channel: 'cli', source: 'cli:ops@laptop', reason: 'link forwarded to a mailing list', reissue: true,
    });
    // Assess
    const stored = (await w.approvals.getApproval(r.approvalId))!;
    expect(out).toEqual({ generation: 1, reissued: true });
    expect(stored.linkGenerations).toEqual({ alice: 1 });
    const oldLink = claimsFrom(r.approvalId, Object.fromEntries(old.searchParams));
    expect(verifyLink(LINK_SECRET, oldLink.claims, oldLink.signature, T0, 1)).toEqual({ ok: false, reason: 'revoked' });
    const fresh = new URL(w.notifier.sent.at(-1)!.links![0]!.url);
    const freshLink = claimsFrom(r.approvalId, Object.fromEntries(fresh.searchParams));
    expect(verifyLink(LINK_SECRET, freshLink.claims, freshLink.signature, T0, 1)).toEqual({ ok: true });
    expect((await auditSince(w, 1))[0]).toMatchObject({ type: 'approval.links-revoked', actor: 'ops', data: { personId: 'alice', generation: 1, reason: 'link forwarded to a mailing list' } });
    // Bob's link is untouched, and revoking changes nobody's right to decide
    expect(stored.eligibleDeciders).toEqual(r.eligibleDeciders);
  });

  it('sends no fresh link for a request that is over', async () => {
    const w = await approvalWorld();
    const r = await openRequest(w, { timeoutSeconds: 60 });
    w.clock.advance(61_000);
    const sentBefore = w.notifier.sent.length;
    const out = await revokeLinks({ ...w, reissue: { notifier: w.notifier, publicBaseUrl: PUBLIC_BASE_URL, linkSecret: LINK_SECRET, index: w.index, incidents: w.incidents } })({
      approvalId: r.approvalId, personId: 'alice', by: 'ops', channel: 'cli', source: 'cli', reissue: true,
    });
    expect(out).toEqual({ generation: 1, reissued: false });
    expect(w.notifier.sent).toHaveLength(sentBefore);
  });
});

describe('expireApprovals', () => {
  it('expires the pending requests of an incident once, audited', async () => {
    const w = await approvalWorld();
    const r = await openRequest(w);
    expect(await expireApprovals(w)(w.incident.incidentId, 'the workflow ended as expired')).toEqual([r.approvalId]);
    expect(await expireApprovals(w)(w.incident.incidentId, 'again')).toEqual([]);
    expect((await auditSince(w, 1)).map((a) => a.type)).toEqual(['approval.expired']);
  });
});
