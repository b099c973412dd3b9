/**
 * Header handling of the reverse proxy (RFC 9110 section 7.6.1): hop-by-hop headers never pass,
 * forwarding headers are set by us and never trusted from the client, and a redirect to the
 * origin is rewritten to point back through the monitor. Pure.
 */

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
  "trailer",
];

/** True when the request asks for a WebSocket upgrade. */
export function isWebSocketUpgrade(headers: Headers): boolean {
  return (headers.get("upgrade") ?? "").toLowerCase() === "websocket";
}

/** A copy of `headers` without hop-by-hop headers (and those `Connection` names); `Upgrade` kept for WebSockets. */
export function stripHopByHop(headers: Headers, keepUpgrade = false): Headers {
  const out = new Headers(headers);
  const named = (headers.get("connection") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h.length > 0);
  for (const name of [...HOP_BY_HOP, ...named]) {
    if (keepUpgrade && (name === "upgrade" || name === "connection")) continue;
    out.delete(name);
  }
  return out;
}

export interface ForwardContext {
  /** The client address as Cloudflare saw it (`CF-Connecting-IP`), if any. */
  clientIp: string | null;
  /** The URL the client called. */
  incoming: URL;
  requestId: string;
}

/** Headers sent to the origin: the client's end-to-end headers plus our forwarding headers. */
export function upstreamHeaders(client: Headers, ctx: ForwardContext): Headers {
  const webSocket = isWebSocketUpgrade(client);
  const out = stripHopByHop(client, webSocket);
  out.delete("host");
  for (const name of [...out.keys()]) {
    if (name.startsWith("cf-") || name.startsWith("x-forwarded-") || name === "forwarded" || name === "x-real-ip") {
      out.delete(name);
    }
  }
  if (ctx.clientIp) out.set("x-forwarded-for", ctx.clientIp);
  out.set("x-forwarded-proto", ctx.incoming.protocol.replace(":", ""));
  out.set("x-forwarded-host", ctx.incoming.host);
  out.set("x-request-id", ctx.requestId);
  return out;
}

/** Headers sent back to the client: the origin's end-to-end headers, our request id, a rewritten Location. */
export function downstreamHeaders(
  origin: Headers,
  ctx: { requestId: string; originBase: URL; publicBase: URL; upstreamUrl: URL; webSocket: boolean },
): Headers {
  const out = stripHopByHop(origin, ctx.webSocket);
  out.set("x-request-id", ctx.requestId);
  const location = out.get("location");
  if (location) out.set("location", rewriteLocation(location, ctx.upstreamUrl, ctx.originBase, ctx.publicBase));
  return out;
}

function basePath(url: URL): string {
  return url.pathname.replace(/\/+$/, "");
}

/**
 * A `Location` pointing at the origin (resolved against the URL the origin was called with, so
 * relative and scheme-relative ones count; same scheme/host/port, under the origin's base path)
 * becomes the same place under the public base, kept relative when it was; any other Location
 * is left as sent.
 */
export function rewriteLocation(location: string, upstreamUrl: URL, originBase: URL, publicBase: URL): string {
  let target: URL;
  try {
    target = new URL(location, upstreamUrl);
  } catch {
    return location;
  }
  if (target.origin !== originBase.origin) return location;
  const originPath = basePath(originBase);
  if (originPath && target.pathname !== originPath && !target.pathname.startsWith(`${originPath}/`)) return location;
  const rest = target.pathname.slice(originPath.length) || "/";
  const rewritten = new URL(publicBase.href);
  rewritten.pathname = `${basePath(publicBase)}${rest}`;
  rewritten.search = target.search;
  rewritten.hash = target.hash;
  const relative = !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith("//");
  return relative ? `${rewritten.pathname}${rewritten.search}${rewritten.hash}` : rewritten.href;
}
