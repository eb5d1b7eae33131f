import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../domain/shared/index.ts';
import {
  isSlackResponseUrl, parseSlackInteraction, signSlackJob, slackSignature, SLACK_ACTIONS, verifySlackJob, verifySlackRequest, type SlackDecisionJob,
} from '../../functions/shared/adapters/slack/index.ts';
import { loadSharedFixture } from '../helpers/fixtures.ts';
import { slackBody, slackClick } from '../approvals/helpers.ts';

interface SigningVector { signing_secret: string; timestamp: string; body: string; expected_signature: string; headers: Record<string, string>; replay_window_seconds_in_sdk: number }
const vector = loadSharedFixture<SigningVector>('slack/slack_signing_vector.json');
const at = (timestamp: string, plusSeconds = 0) => (Number(timestamp) + plusSeconds) * 1000;

describe('slackSignature', () => {
  it('reproduces the signature of Slack\'s documented worked example', () => {
    // Act
    const signature = slackSignature(vector.signing_secret, vector.timestamp, vector.body);
    // Assess
    expect(signature).toBe(vector.expected_signature);
    expect(vector.headers['X-Slack-Signature']).toBe(vector.expected_signature);
  });

  it('refuses to sign with an empty secret instead of producing a guessable MAC', () => {
    expect(() => slackSignature('', vector.timestamp, vector.body)).toThrow(/empty/);
  });
});

describe('verifySlackRequest', () => {
  const request = { timestamp: vector.timestamp, signature: vector.expected_signature, rawBody: vector.body };

  it('accepts the documented request at the time it was signed', () => {
    expect(verifySlackRequest(vector.signing_secret, request, at(vector.timestamp))).toEqual({ ok: true });
  });

  it('accepts it up to the end of the five-minute window', () => {
    expect(vector.replay_window_seconds_in_sdk).toBe(300);
    expect(verifySlackRequest(vector.signing_secret, request, at(vector.timestamp, 300))).toEqual({ ok: true });
  });

  it('refuses it as stale one second after the window, and today', () => {
    expect(verifySlackRequest(vector.signing_secret, request, at(vector.timestamp, 301))).toEqual({ ok: false, reason: 'stale' });
    expect(verifySlackRequest(vector.signing_secret, request, Date.now())).toEqual({ ok: false, reason: 'stale' });
  });

  it('refuses a timestamp more than five minutes in the future', () => {
    expect(verifySlackRequest(vector.signing_secret, request, at(vector.timestamp, -301))).toEqual({ ok: false, reason: 'stale' });
  });

  it('refuses an altered body (the SDK\'s "------" case)', () => {
    expect(verifySlackRequest(vector.signing_secret, { ...request, rawBody: `${vector.body}------` }, at(vector.timestamp))).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a signature made with another secret, a truncated one, and one with the wrong version prefix', () => {
    const now = at(vector.timestamp);
    const other = slackSignature('another-secret', vector.timestamp, vector.body);
    expect(verifySlackRequest(vector.signing_secret, { ...request, signature: other }, now)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifySlackRequest(vector.signing_secret, { ...request, signature: vector.expected_signature.slice(0, -1) }, now)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifySlackRequest(vector.signing_secret, { ...request, signature: vector.expected_signature.replace('v0=', 'v1=') }, now)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a timestamp the signature was not made for', () => {
    const shifted = String(Number(vector.timestamp) + 1);
    expect(verifySlackRequest(vector.signing_secret, { ...request, timestamp: shifted }, at(vector.timestamp))).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses missing headers and a malformed timestamp before computing anything', () => {
    const now = at(vector.timestamp);
    expect(verifySlackRequest(vector.signing_secret, { ...request, signature: undefined }, now)).toEqual({ ok: false, reason: 'missing-headers' });
    expect(verifySlackRequest(vector.signing_secret, { ...request, timestamp: undefined }, now)).toEqual({ ok: false, reason: 'missing-headers' });
    expect(verifySlackRequest(vector.signing_secret, { ...request, timestamp: '1531420618.5' }, now)).toEqual({ ok: false, reason: 'malformed-timestamp' });
  });
});

describe('parseSlackInteraction', () => {
  it('reads a click on the Approve button from Slack\'s documented block_actions sample', () => {
    // Prepare
    const body = slackBody(slackClick({ approvalId: 'Zm9vYmFyYmF6cXV4cXV1eA', userId: 'W111', decision: 'approve' }));
    // Act
    const click = parseSlackInteraction(body);
    // Assess
    expect(click).toEqual({
      approvalId: 'Zm9vYmFyYmF6cXV4cXV1eA', decision: 'approve', slackUserId: 'W111', teamId: 'T111', userName: 'primary-owner',
      responseUrl: 'https://hooks.slack.com/actions/T111/111/random-value', actionTs: '1596530385.194939',
    });
  });

  it('reads Reject, and keeps nothing of the payload\'s verification token', () => {
    const click = parseSlackInteraction(slackBody(slackClick({ approvalId: 'abc', userId: 'U0BOB00001', decision: 'reject' })));
    expect(click?.decision).toBe('reject');
    expect(JSON.stringify(click)).not.toContain('verification_token');
  });

  it('ignores interactions with other buttons (Slack\'s docs sample) and other interaction types', () => {
    const docs = loadSharedFixture<Record<string, unknown>>('slack/slack_docs_block_actions_button_click.json');
    expect(parseSlackInteraction(slackBody(docs))).toBeNull();
    expect(parseSlackInteraction(slackBody({ ...docs, type: 'view_submission' }))).toBeNull();
    const home = loadSharedFixture<Record<string, unknown>>('slack/java-slack-sdk_block_actions_home_view_with_confirm.json');
    expect(parseSlackInteraction(slackBody(home))).toBeNull();
  });

  it('drops a response_url that is not one of Slack\'s hosts over https', () => {
    const click = parseSlackInteraction(slackBody(slackClick({ approvalId: 'abc', userId: 'W111', decision: 'approve', responseUrl: 'https://attacker.example/hook' })));
    expect(click).not.toBeNull();
    expect(click!.responseUrl).toBeUndefined();
  });

  it('refuses a body without a payload, a payload that is not JSON, and a button value that is not an approval id', () => {
    expect(() => parseSlackInteraction('token=x&team_id=T1')).toThrow(ValidationError);
    expect(() => parseSlackInteraction('payload=%7Bnot-json')).toThrow(ValidationError);
    const bad = slackClick({ approvalId: '../../etc/passwd', userId: 'W111', decision: 'approve' });
    expect(() => parseSlackInteraction(slackBody(bad))).toThrow(/approval id/);
  });

  it('names both button action ids distinctly', () => {
    expect(SLACK_ACTIONS.approve).not.toBe(SLACK_ACTIONS.reject);
  });
});

describe('isSlackResponseUrl', () => {
  it.each([
    ['https://hooks.slack.com/actions/T1/2/x', true],
    ['https://hooks.slack-gov.com/actions/T1/2/x', true],
    ['http://hooks.slack.com/actions/T1/2/x', false],
    ['https://hooks.slack.com.attacker.example/x', false],
    ['https://user:pw@hooks.slack.com/x', false],
    ['https://hooks.slack.com:8443/x', false],
    ['javascript:alert(1)', false],
    ['not a url', false],
  ])('%s → %s', (url, expected) => {
    expect(isSlackResponseUrl(url)).toBe(expected);
  });
});

describe('signSlackJob / verifySlackJob', () => {
  const job: SlackDecisionJob = {
    approvalId: 'Zm9vYmFyYmF6cXV4cXV1eA', decision: 'approve', slackUserId: 'U0BOB00001', teamId: 'T111',
    responseUrl: 'https://hooks.slack.com/actions/T111/111/x', sourceIp: '3.5.140.2', receivedAt: 1_714_557_000_000,
  };

  it('accepts the job it signed within five minutes', () => {
    const mac = signSlackJob('secret', job);
    expect(verifySlackJob('secret', job, mac, job.receivedAt + 299_000)).toEqual({ ok: true });
  });

  it('refuses a job with any field changed (another person, another decision, another request)', () => {
    const mac = signSlackJob('secret', job);
    for (const changed of [{ ...job, slackUserId: 'U0ALICE001' }, { ...job, decision: 'reject' as const }, { ...job, approvalId: 'other' }, { ...job, receivedAt: job.receivedAt + 1 }]) {
      expect(verifySlackJob('secret', changed, mac, job.receivedAt)).toEqual({ ok: false, reason: 'bad-signature' });
    }
  });

  it('refuses a job MACed with another secret and a job older than five minutes', () => {
    expect(verifySlackJob('secret', job, signSlackJob('other', job), job.receivedAt)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifySlackJob('secret', job, signSlackJob('secret', job), job.receivedAt + 301_000)).toEqual({ ok: false, reason: 'stale' });
  });

  it('is never a valid Slack request signature for the same secret', () => {
    const mac = signSlackJob(vector.signing_secret, job);
    expect(verifySlackRequest(vector.signing_secret, { timestamp: vector.timestamp, signature: mac, rawBody: vector.body }, at(vector.timestamp)).ok).toBe(false);
  });
});
