/**
 * Isolation of what the path-prefixed proxy (`/proxy/<service>/…`) serves on the monitor's own
 * hostname, where the dashboard lives too. Without it a proxied page would run on the
 * dashboard's origin: read the signed-in tab's key, register a service worker over the whole
 * origin, set cookies for the monitor's host. So every such response carries a sandboxing CSP
 * without `allow-same-origin` (the browser gives the document an opaque origin: no storage,
 * cookies or service workers of the monitor's origin, and the dashboard is cross-origin to it),
 * headers that would change state of the whole origin are dropped, the monitor's cookies are not
 * sent on, and a service worker script is never served. A service's own hostname (host routing)
 * is its own origin and stays byte-faithful: none of this applies there. Pure.
 */

/**
 * The sandbox of proxied documents: scripts, forms, popups, dialogs and downloads work, but
 * without `allow-same-origin` the page has an opaque origin, and popups it opens stay sandboxed
 * (no `allow-popups-to-escape-sandbox`), so it cannot open an unsandboxed page of the monitor.
 */
export const PROXY_SANDBOX_CSP = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads";

/**
 * Response headers that act on the monitor's whole origin (or host), not on the one response:
 * cookies, the widened service-worker scope, wiping the origin's storage, HSTS and alternative
 * services for the host, network-error reporting of every later request to the origin, and
 * client hints the browser would keep sending to the origin.
 */
export const ORIGIN_WIDE_RESPONSE_HEADERS = [
  "set-cookie",
  "set-cookie2",
  "service-worker-allowed",
  "clear-site-data",
  "strict-transport-security",
  "alt-svc",
  "nel",
  "report-to",
  "accept-ch",
  "critical-ch",
] as const;

/** Request headers that belong to the monitor's origin, not to the service: its cookies. */
export const MONITOR_REQUEST_HEADERS = ["cookie"] as const;

/** True when the browser is fetching a service worker's script (it sends `Service-Worker: script`). */
export function isServiceWorkerScript(headers: Headers): boolean {
  return (headers.get("service-worker") ?? "").trim().toLowerCase() === "script";
}

/** The origin's response headers as served on the monitor's hostname: origin-wide ones dropped, the sandbox added. */
export function isolateResponseHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of ORIGIN_WIDE_RESPONSE_HEADERS) out.delete(name);
  // Appended: an origin's own policy still applies (several policies are all enforced).
  out.append("content-security-policy", PROXY_SANDBOX_CSP);
  return out;
}

/** The headers sent on to the origin from the monitor's hostname: without the monitor's cookies. */
export function isolateRequestHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of MONITOR_REQUEST_HEADERS) out.delete(name);
  return out;
}
