/**
 * The origin URL of a proxied request, built so that nothing in the request can change where it
 * goes: the scheme, host and port always come from the service's configured origin, the client
 * only contributes a path and a query, and dot segments (also percent-encoded) are refused.
 * Pure.
 */

/** True when a path holds a `.` or `..` segment, raw or percent-encoded (`%2e`), or a backslash. */
export function hasDotSegment(path: string): boolean {
  return path.split("/").some((segment) => /^(\.|%2e){1,2}$/i.test(segment) || /%5c|\\/i.test(segment));
}

/** The origin URL for `path` (which must start with `/`) and `search` (with its `?`, or empty). */
export function originUrl(origin: string, path: string, search: string): URL | null {
  if (!path.startsWith("/") || hasDotSegment(path)) return null;
  const base = new URL(origin);
  const target = new URL(base.href);
  target.pathname = `${base.pathname.replace(/\/+$/, "")}${path}`;
  target.search = search;
  // Belt and braces: whatever the path held, the request stays on the configured origin.
  if (target.origin !== base.origin) return null;
  return target;
}

/**
 * The raw path and query of an incoming URL below a prefix (`/proxy/shop`), as the client sent
 * them (percent-encoding untouched). Null when the URL is not below the prefix.
 */
export function pathBelow(url: URL, prefix: string): { path: string; search: string } | null {
  const pathname = url.pathname;
  if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) return null;
  return { path: pathname.slice(prefix.length) || "/", search: url.search };
}
