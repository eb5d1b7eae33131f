/**
 * Response headers of everything served over HTTP (the Lambdas' pages and the local server):
 * one place for the content-security set, so no page can drift from it.
 */
export const HTML_CONTENT_TYPE = 'text/html; charset=utf-8';

/**
 * A Content-Security-Policy that allows nothing by default; styles, images and form targets are
 * named by the caller. Framing and `<base>` are always refused.
 */
export function contentSecurityPolicy(allow: { style: string; img?: string; formAction?: string }): string {
  return [
    "default-src 'none'",
    `style-src ${allow.style}`,
    ...(allow.img ? [`img-src ${allow.img}`] : []),
    `form-action ${allow.formAction ?? "'none'"}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * The content-security headers of a page: its CSP, no MIME sniffing, no framing, no caching,
 * and no referrer (`same-origin` only where a same-origin form post must carry its Origin).
 */
export function securityHeaders(csp: string, options: { referrer?: 'no-referrer' | 'same-origin' } = {}): Record<string, string> {
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': options.referrer ?? 'no-referrer',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  };
}

/**
 * The security headers every HTML response carries, whatever its CSP (the approval pages, the
 * console, the evidence export, every error page): the list a test holds each HTML route to.
 */
export const HTML_SECURITY_HEADERS = ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'cache-control', 'x-frame-options'] as const;

/** The headers of an HTML response: its content type and securityHeaders(csp). Every HTML response is built from this. */
export function htmlHeaders(csp: string, options: { referrer?: 'no-referrer' | 'same-origin' } = {}): Record<string, string> {
  return { 'content-type': HTML_CONTENT_TYPE, ...securityHeaders(csp, options) };
}

/**
 * What every Lambda HTTP response carries (the approval pages and the Slack endpoint). The
 * page URL carries the personal link's signature: the referrer never leaves the site, but stays
 * `same-origin` because the decision form's post is checked by its Origin, which browsers
 * withhold (`Origin: null`) under `no-referrer`.
 */
const APPROVAL_PAGE_CSP = contentSecurityPolicy({ style: "'unsafe-inline'", img: "'self' data:", formAction: "'self'" });
export const SECURITY_HEADERS: Record<string, string> = securityHeaders(APPROVAL_PAGE_CSP, { referrer: 'same-origin' });
/** An approval page (or its error page) as a Lambda answers it. */
export const APPROVAL_PAGE_HEADERS: Record<string, string> = htmlHeaders(APPROVAL_PAGE_CSP, { referrer: 'same-origin' });

/** A JSON answer: never cached, never sniffed as something else. */
export const JSON_HEADERS: Record<string, string> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};
