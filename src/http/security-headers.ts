/**
 * Security headers of the dashboard (the static files served at /): a CSP that runs only the
 * build's own script and style files and talks only to this origin, no framing, no MIME
 * sniffing, no referrer, and its own browsing-context group so that a page it did not open
 * (a proxied page's popup, say) holds no handle on it. `/docs` sets its own (hash-based) CSP. Pure.
 */

/**
 * The dashboard's CSP. Scripts and styles only from this origin (the Vite build has no inline
 * script or style; uPlot sets styles through the CSSOM, which CSP allows), the favicon is a data:
 * URL, the API is this origin, and the page opens no worker, plugin, frame or form target.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "worker-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers set on every dashboard response (HTML and assets alike). */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": DASHBOARD_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/**
 * The dashboard's headers as a Cloudflare Pages `_headers` file for every path (the dashboard
 * build writes it into dashboard/dist): on Pages the worker does not answer, so Pages must send
 * them. `apiOrigin` (VITE_API_BASE: the API on another origin) is allowed in `connect-src`.
 */
export function pagesHeadersFile(apiOrigin: string | null = null): string {
  const origin = apiOrigin ? new URL(apiOrigin).origin : null;
  const headers = { ...DASHBOARD_HEADERS };
  if (origin)
    headers["Content-Security-Policy"] = DASHBOARD_CSP.replace("connect-src 'self'", `connect-src 'self' ${origin}`);
  return `/*\n${Object.entries(headers)
    .map(([name, value]) => `  ${name}: ${value}`)
    .join("\n")}\n`;
}

/** `response` with the dashboard's security headers (a copy: a fetched response's headers are immutable). */
export function withDashboardHeaders(response: Response): Response {
  const out = new Response(response.body, response);
  for (const [name, value] of Object.entries(DASHBOARD_HEADERS)) out.headers.set(name, value);
  return out;
}
