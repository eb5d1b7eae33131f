import { describe, expect, it } from 'vitest';
import { claimsFrom, csrfToken, linkGeneration, linkQuery, signLink, verifyLink, type LinkClaims } from '../../domain/approvals/index.ts';

const SECRET = 'link-secret-for-tests';
const NOW = Date.parse('2024-05-01T10:00:00.000Z');
const claims: LinkClaims = { approvalId: 'Zm9vYmFyYmF6cXV4cXV1eA', personId: 'alice', exp: NOW / 1000 + 3600, gen: 0 };

describe('verifyLink', () => {
  it('accepts the link it signed until it expires', () => {
    const s = signLink(SECRET, claims);
    expect(verifyLink(SECRET, claims, s, NOW)).toEqual({ ok: true });
    expect(verifyLink(SECRET, claims, s, claims.exp * 1000)).toEqual({ ok: true });
  });

  it('refuses it as expired a second after its expiry', () => {
    expect(verifyLink(SECRET, claims, signLink(SECRET, claims), claims.exp * 1000 + 1000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a link altered in any claim: another person, a later expiry, another request, another generation', () => {
    const s = signLink(SECRET, claims);
    for (const altered of [
      { ...claims, personId: 'bob' }, { ...claims, exp: claims.exp + 86_400 }, { ...claims, approvalId: 'another-request-id' }, { ...claims, gen: 1 },
    ]) {
      expect(verifyLink(SECRET, altered, s, NOW, altered.gen)).toEqual({ ok: false, reason: 'bad-signature' });
    }
  });

  it('refuses a forged signature and one made with another secret', () => {
    expect(verifyLink(SECRET, claims, 'A'.repeat(43), NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyLink(SECRET, claims, signLink('another-secret', claims), NOW)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a link of an earlier generation once the person\'s links were revoked', () => {
    const s = signLink(SECRET, claims);
    expect(verifyLink(SECRET, claims, s, NOW, 1)).toEqual({ ok: false, reason: 'revoked' });
    const fresh = { ...claims, gen: 1 };
    expect(verifyLink(SECRET, fresh, signLink(SECRET, fresh), NOW, 1)).toEqual({ ok: true });
  });

  it('refuses malformed claims before computing a MAC (ids with separators, non-integer expiry, huge signature)', () => {
    const s = signLink(SECRET, claims);
    expect(verifyLink(SECRET, { ...claims, personId: 'alice\n1' }, s, NOW).ok).toBe(false);
    expect(verifyLink(SECRET, { ...claims, personId: '' }, s, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyLink(SECRET, { ...claims, exp: Number.NaN }, s, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyLink(SECRET, { ...claims, gen: -1 }, s, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyLink(SECRET, claims, 'x'.repeat(500), NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyLink(SECRET, claims, '', NOW)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('csrfToken', () => {
  it('differs from the link signature and is bound to request, person, expiry and generation', () => {
    const token = csrfToken(SECRET, claims);
    expect(token).not.toBe(signLink(SECRET, claims));
    expect(new Set([
      token, csrfToken(SECRET, { ...claims, personId: 'bob' }), csrfToken(SECRET, { ...claims, approvalId: 'other' }),
      csrfToken(SECRET, { ...claims, exp: claims.exp + 1 }), csrfToken(SECRET, { ...claims, gen: 1 }),
    ]).size).toBe(5);
  });
});

describe('linkQuery / claimsFrom', () => {
  it('round-trips a personal link through its query string', () => {
    const query = Object.fromEntries(new URLSearchParams(linkQuery(SECRET, claims)));
    expect(Object.keys(query).sort()).toEqual(['e', 'g', 'p', 's']);
    const back = claimsFrom(claims.approvalId, query);
    expect(back.claims).toEqual(claims);
    expect(verifyLink(SECRET, back.claims, back.signature, NOW)).toEqual({ ok: true });
  });

  it('reads a missing generation as 0 and a non-numeric one as malformed', () => {
    expect(claimsFrom('a', { p: 'alice', e: '10', s: 'x' }).claims.gen).toBe(0);
    expect(claimsFrom('a', { p: 'alice', e: '10', g: '1e3', s: 'x' }).claims.gen).toBeNaN();
  });

  it('linkGeneration defaults to 0 and reads the stored counter', () => {
    expect(linkGeneration({}, 'alice')).toBe(0);
    expect(linkGeneration({ linkGenerations: { alice: 2 } }, 'alice')).toBe(2);
  });
});
