import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ApprovalRequest } from './approval.ts';

/**
 * Per-decider approval links. A link names the approval request, the person it was sent to,
 * an expiry and the person's link generation, signed with a server secret (HMAC-SHA256):
 * - a forwarded link still acts as (and is audited as) the person it was sent to;
 * - it expires with the request;
 * - it can be revoked for one person (bump the generation, see `revokeLinks`) or for
 *   everybody (rotate the secret);
 * - it never carries the Step Functions task token.
 * The MAC input is a JSON array, so no choice of field values can make two different claims
 * sign the same bytes.
 */
export interface LinkClaims {
  approvalId: string;
  personId: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /** The person's link generation when the link was issued (absent: 0, i.e. never revoked). */
  gen?: number;
}

const ID = /^[A-Za-z0-9._-]{1,128}$/;
const MAX_SIGNATURE_CHARS = 128;

function mac(secret: string, purpose: string, c: LinkClaims): string {
  if (!secret) throw new Error('the link-signing secret is empty');
  return createHmac('sha256', secret).update(JSON.stringify([purpose, c.approvalId, c.personId, c.exp, c.gen ?? 0])).digest('base64url');
}

export function signLink(secret: string, claims: LinkClaims): string {
  return mac(secret, 'cleanpoint-link-v2', claims);
}

/**
 * The CSRF token of the decision form: bound to the request, the decider, the link's expiry
 * and generation, so it is useless for any other request, person or revoked link.
 */
export function csrfToken(secret: string, claims: LinkClaims): string {
  return mac(secret, 'cleanpoint-csrf-v2', claims);
}

/** Constant-time comparison (the length is not secret: every MAC here has the same length). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type LinkRefusal = 'malformed' | 'bad-signature' | 'revoked' | 'expired';
export type LinkCheck = { ok: true } | { ok: false; reason: LinkRefusal };

/**
 * Checks, in order: well-formed claims, the signature (a link altered in any field, or made
 * for another request, fails here), the generation (revoked), the expiry.
 */
export function verifyLink(secret: string, claims: LinkClaims, signature: string, nowMs: number, currentGeneration = 0): LinkCheck {
  const { approvalId, personId, exp } = claims;
  const gen = claims.gen ?? 0;
  if (!ID.test(approvalId) || !ID.test(personId) || !Number.isSafeInteger(exp) || !Number.isSafeInteger(gen) || gen < 0 ||
    !signature || signature.length > MAX_SIGNATURE_CHARS) {
    return { ok: false, reason: 'malformed' };
  }
  if (!safeEqual(signLink(secret, claims), signature)) return { ok: false, reason: 'bad-signature' };
  if (gen !== currentGeneration) return { ok: false, reason: 'revoked' };
  if (exp * 1000 < nowMs) return { ok: false, reason: 'expired' };
  return { ok: true };
}

/** Query string of a personal link: p (person), e (expiry), g (generation), s (signature). */
export function linkQuery(secret: string, claims: LinkClaims): string {
  return new URLSearchParams({ p: claims.personId, e: String(claims.exp), g: String(claims.gen ?? 0), s: signLink(secret, claims) }).toString();
}

/** Claims and signature as they arrive in a query string or form (missing `g` means generation 0). */
export function claimsFrom(approvalId: string, fields: Record<string, string | undefined>): { claims: LinkClaims; signature: string } {
  const num = (v: string | undefined, fallback: number) => (v === undefined || v === '' ? fallback : /^\d{1,15}$/.test(v) ? Number(v) : NaN);
  return {
    claims: { approvalId, personId: fields['p'] ?? '', exp: num(fields['e'], NaN), gen: num(fields['g'], 0) },
    signature: fields['s'] ?? '',
  };
}

/** The generation a person's links must carry to be valid for this request. */
export function linkGeneration(request: { linkGenerations?: Record<string, number> | undefined }, personId: string): number {
  return request.linkGenerations?.[personId] ?? 0;
}

/** A decider's personal link to the approval page (signed, expiring with the request, revocable). */
export function personalLink(
  publicBaseUrl: string, linkSecret: string,
  request: Pick<ApprovalRequest, 'approvalId' | 'expiresAt' | 'linkGenerations'>, personId: string,
): string {
  const exp = Math.floor(Date.parse(request.expiresAt) / 1000);
  const query = linkQuery(linkSecret, { approvalId: request.approvalId, personId, exp, gen: linkGeneration(request, personId) });
  return `${publicBaseUrl.replace(/\/+$/, '')}/approvals/${request.approvalId}?${query}`;
}

