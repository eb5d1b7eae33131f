import { describe, expect, it } from 'vitest';
import { ApprovalExpiredError, ConflictError, ForbiddenError, NotFoundError, TransientError, ValidationError } from '../../domain/shared/index.ts';
import {
  contentSecurityPolicy, domainErrorsAsHttp, escapeHtml, HttpError, jsonDepth, MAX_BODY_BYTES, MAX_JSON_DEPTH, parseJsonBody, rawBody,
  SECURITY_HEADERS, statusFor,
} from '../../functions/shared/edge/index.ts';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

describe('edge: HTML escaping', () => {
  it('escapes the five characters that can break out of text or an attribute, and prints nothing for null', () => {
    // Act
    const out = escapeHtml(`<a href="x" title='y'>&</a>`);

    // Assess
    expect(out).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect([escapeHtml(null), escapeHtml(undefined), escapeHtml(3)]).toEqual(['', '', '3']);
  });
});

describe('edge: content-security headers', () => {
  it('keeps the Lambda pages\' headers as they were (framing refused, same-origin referrer for the Origin check)', () => {
    expect(SECURITY_HEADERS).toEqual({
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
    });
  });

  it('refuses forms, framing and <base> unless a page allows a form target', () => {
    expect(contentSecurityPolicy({ style: "'unsafe-inline'" })).toBe("default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'");
  });
});

describe('edge: JSON bodies', () => {
  const refusal = (fn: () => unknown) => {
    try { fn(); } catch (e) { return e instanceof HttpError ? [e.status, e.message] : ['not an HttpError', String(e)]; }
    return ['accepted'];
  };

  it.each([
    ['sent as text/plain', '{}', 'text/plain', 415, /application\/json.*text\/plain/],
    ['without a content type', '{}', undefined, 415, /no content-type/],
    ['empty', ' ', 'application/json', 400, /empty/],
    ['not JSON', '{"a":', 'application/json', 400, /not valid JSON/],
    ['an array where an object is wanted', '[1]', 'application/json', 400, /JSON object/],
    ['nested too deep', `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`, 'application/json', 400, /nests deeper than 32 levels/],
    ['over the size limit', JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES) }), 'application/json', 413, /larger than 16384 bytes/],
  ])('refuses a body %s with a 4xx naming what is wrong', (_what, body, type, status, mentions) => {
    // Act
    const [got, message] = refusal(() => parseJsonBody(body, type, { object: true }));

    // Assess
    expect(got).toBe(status);
    expect(message).toMatch(mentions);
  });

  it('accepts JSON with parameters on the media type, and an empty body where one is allowed', () => {
    expect(parseJsonBody('{"a":[1,{"b":"]]]"}]}', 'Application/JSON; charset=utf-8', { object: true })).toEqual({ a: [1, { b: ']]]' }] });
    expect(parseJsonBody('', 'application/json', { ifEmpty: null })).toBeNull();
  });

  it('counts nesting outside strings only', () => {
    expect([jsonDepth('{"a":"[[[[\\"{{"}'), jsonDepth('[[],[[]]]'), jsonDepth('1')]).toEqual([1, 3, 0]);
  });

  it('refuses an API Gateway body over the limit, base64 or not', () => {
    const big = 'x'.repeat(MAX_BODY_BYTES + 1);
    const event = (body: string, isBase64Encoded: boolean) => ({ body, isBase64Encoded }) as APIGatewayProxyEventV2;
    expect(refusal(() => rawBody(event(big, false)))[0]).toBe(413);
    expect(refusal(() => rawBody(event(Buffer.from(big).toString('base64'), true)))[0]).toBe(413);
    expect(rawBody(event(Buffer.from('a=1').toString('base64'), true))).toBe('a=1');
  });
});

describe('edge: domain errors as HTTP statuses', () => {
  it.each([
    [new ValidationError('x', []), 400], [new ForbiddenError('x'), 403], [new NotFoundError('x'), 404], [new ConflictError('x'), 409],
    [new ApprovalExpiredError('x'), 410], [new HttpError(415, 'x'), 415], [new TransientError('x'), 500], [new Error('x'), 500],
  ])('%s answers %i', (e, status) => {
    expect(statusFor(e)).toBe(status);
  });

  it('matches errors by name only when asked (errors that crossed an invocation)', () => {
    const foreign = Object.assign(new Error('gone'), { name: 'NotFoundError' });
    expect([statusFor(foreign), statusFor(foreign, { byName: true }), statusFor({ name: 'constructor' }, { byName: true })]).toEqual([500, 404, 500]);
  });

  it('turns a domain error into an HttpError and rethrows anything else', async () => {
    await expect(domainErrorsAsHttp(async () => { throw new ConflictError('taken'); })).rejects.toMatchObject({ name: 'HttpError', status: 409, message: 'taken' });
    const other = new TransientError('later');
    await expect(domainErrorsAsHttp(async () => { throw other; })).rejects.toBe(other);
  });
});
