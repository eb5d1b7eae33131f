import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Per-decider approval links. A link names the approval request, the person it was sent to
 * and an expiry, signed with a server secret (HMAC-SHA256): a forwarded link is still
 * attributable to the person it was sent to, expires, and can be revoked by rotating the
 * secret. It never carries the Step Functions task token.
 */
export interface LinkClaims {
  approvalId: string;
  personId: string;
  /** Expiry, epoch seconds. */
  exp: number;
}

const mac = (secret: string, purpose: string, c: LinkClaims) =>
  createHmac('sha256', secret).update(`${purpose}\n${c.approvalId}\n${c.personId}\n${c.exp}`).digest('base64url');

export function signLink(secret: string, claims: LinkClaims): string {
  return mac(secret, 'cleanpoint-link-v1', claims);
}

/** The CSRF token of the decision form: bound to the request and the decider, not reusable elsewhere. */
export function csrfToken(secret: string, claims: LinkClaims): string {
  return mac(secret, 'cleanpoint-csrf-v1', claims);
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type LinkCheck = { ok: true } | { ok: false; reason: 'bad-signature' | 'expired' | 'malformed' };

export function verifyLink(secret: string, claims: LinkClaims, signature: string, nowMs: number): LinkCheck {
  if (!claims.approvalId || !claims.personId || !Number.isInteger(claims.exp) || !signature) return { ok: false, reason: 'malformed' };
  if (!safeEqual(signLink(secret, claims), signature)) return { ok: false, reason: 'bad-signature' };
  if (claims.exp * 1000 < nowMs) return { ok: false, reason: 'expired' };
  return { ok: true };
}

export function linkQuery(secret: string, claims: LinkClaims): string {
  const p = new URLSearchParams({ p: claims.personId, e: String(claims.exp), s: signLink(secret, claims) });
  return p.toString();
}
