import { createHash } from 'node:crypto';
import { contentSecurityPolicy, htmlHeaders } from '../../functions/shared/edge/index.ts';
import type { LocalResponse } from '../routes.ts';
import { e } from './html.ts';

/**
 * The console's shared page frame. Pages are complete server-rendered HTML: no scripts, no
 * external assets. The CSP allows exactly this one stylesheet (by hash) and nothing else;
 * charts are inline SVG styled by the same sheet and presentation attributes.
 */
const STYLE = `
:root{--ink:#1d2430;--muted:#5f6877;--line:#e3e6eb;--bg:#f4f5f7}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:var(--bg);color:var(--ink)}
header{background:#1d2430;color:#fff}
nav{max-width:1180px;margin:0 auto;padding:10px 24px;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
nav a{color:#cfd6e2;text-decoration:none;padding:4px 2px}
nav a[aria-current=page]{color:#fff;border-bottom:2px solid #6fb1ff}
nav .brand{font-weight:700;color:#fff;margin-right:8px}
nav .clock{margin-left:auto;color:#9aa6b8;font-size:13px}
main{max-width:1180px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:4px 0 6px} h2{font-size:17px;margin:0 0 10px}
.card{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:16px 20px;margin:14px 0}
.stats{display:flex;gap:14px;flex-wrap:wrap}
.stat{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:12px 18px;min-width:170px}
.stat b{display:block;font-size:26px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.ok{background:#dff5e3;color:#17602a}.badge.warn{background:#fff1cc;color:#7a5300}.badge.bad{background:#fde2e2;color:#8b1d1d}
.badge.info{background:#e3f0ff;color:#0b4f9c}.badge.muted{background:#eceef2;color:#5f6877}.badge.test{background:#5b2bd1;color:#fff;letter-spacing:.06em}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}
.muted{color:var(--muted);font-size:13px}
.warn-text{color:#8b1d1d}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f8fa;border:1px solid var(--line);border-radius:6px;padding:10px;margin:8px 0 0}
a{color:#0b5cc4}
ol.phases{list-style:none;display:flex;flex-wrap:wrap;gap:6px;padding:0;margin:6px 0 0}
ol.phases li{padding:4px 10px;border-radius:14px;background:#eceef2;color:var(--muted);font-size:13px}
ol.phases li.done{background:#dff5e3;color:#17602a}
ol.phases li.failed{background:#fde2e2;color:#8b1d1d}
ol.phases li+li::before{content:"▶ ";color:#9aa3b2}
ol.timeline{list-style:none;padding:0;margin:0}
ol.timeline li{display:grid;grid-template-columns:170px 110px 1fr;gap:10px;padding:6px 0;border-bottom:1px solid var(--line)}
ol.timeline .phase{font-weight:600;font-size:13px}
ul.skipped{margin:4px 0 0;padding-left:18px}
svg.chart{width:100%;height:auto;background:#fff}
svg.chart text{font:12px system-ui,sans-serif;fill:#1d2430}
svg.chart .axis{stroke:#c3c8d2}
svg.chart .tick{fill:#5f6877}
svg.chart .wait{fill:#d5dae3}
svg.chart .boot{fill:#2e8b57}
svg.chart .failed{fill:#c0392b}
svg.chart .objective{stroke:#8b1d1d;stroke-dasharray:5 4}
svg.chart .objective-label{fill:#8b1d1d}
`;

const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

export const CONSOLE_HEADERS: Record<string, string> = htmlHeaders(contentSecurityPolicy({ style: `'${STYLE_HASH}'`, img: "'self'" }));

const NAV: [string, string][] = [['/', 'Overview'], ['/machines', 'Machines'], ['/incidents', 'Incidents'], ['/drills', 'Drills'], ['/outbox', 'Outbox']];

export interface PageFrame {
  title: string;
  /** Which nav entry is current. */
  section?: string;
  /** Virtual time of the local runtime, shown in the header. */
  now?: string;
  /** Reload every N seconds (a failover in progress); a meta refresh needs no script. */
  refreshSeconds?: number;
}

export function page(frame: PageFrame, body: string, status = 200): LocalResponse {
  const nav = NAV.map(([href, label]) => `<a href="${href}"${frame.section === href ? ' aria-current="page"' : ''}>${label}</a>`).join('');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">${frame.refreshSeconds ? `<meta http-equiv="refresh" content="${frame.refreshSeconds}">` : ''}
<title>${e(frame.title)} · Cleanpoint console</title><style>${STYLE}</style></head>
<body><header><nav><span class="brand">Cleanpoint</span>${nav}${frame.now ? `<span class="clock">local · virtual time ${e(frame.now.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z'))}</span>` : ''}</nav></header>
<main>${body}</main></body></html>`;
  return { status, headers: { ...CONSOLE_HEADERS }, body: html };
}

export function errorPage(status: number, message: string, headers: Record<string, string> = {}): LocalResponse {
  const title = status === 404 ? 'Not found' : status === 405 ? 'Method not allowed' : status === 413 ? 'Request too large' : status >= 500 ? 'Something went wrong' : 'Request refused';
  const r = page({ title }, `<h1>${e(title)}</h1><div class="card" role="alert" data-status="${status}"><p>${e(message)}</p><p><a href="/">Back to the overview</a></p></div>`, status);
  return { ...r, headers: { ...r.headers, ...headers } };
}
