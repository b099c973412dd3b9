/**
 * The reverse proxy: forwards a request to its service's origin and streams the answer back
 * unchanged but for hop-by-hop headers, while measuring it. The record is handed off in
 * `waitUntil` once the response body ended (or the client went away), so monitoring never
 * delays the client.
 */
import { config } from "../config";
import { countProxied } from "../cost/worker";
import type { Context } from "hono";
import { errorBody } from "../http/errors";
import type { AppEnv } from "../http/types";
import { switches } from "../control/switches";
import { coalesceHandOff } from "../ingest/coalescer";
import { redactEmailsSetting } from "../ingest/privacy-settings";
import type { ServiceConfig } from "../services/config";
import { downstreamHeaders, isWebSocketUpgrade, upstreamHeaders } from "./headers";
import { inspectBody } from "./inspect";
import { isolateRequestHeaders, isolateResponseHeaders } from "./isolation";
import { countingStream, meteredBody } from "./meter";
import { exchangeRecord, originVersion, requestConsumer, type Exchange } from "./record";
import { originUrl } from "./target";

class OriginTimeout extends Error {}

function contentLength(headers: Headers): number | undefined {
  const value = headers.get("content-length");
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Proxies the current request to `service`, `path`/`search` relative to its origin; `publicBase`
 * is where the client sees it. `isolated`: served on the monitor's own hostname (path-prefixed),
 * so the response is sandboxed and origin-wide headers dropped (isolation.ts).
 */
export async function proxyRequest(
  c: Context<AppEnv>,
  service: ServiceConfig,
  target: { path: string; search: string },
  publicBase: URL,
  isolated: boolean,
): Promise<Response> {
  countProxied();
  const req = c.req.raw;
  const requestId = c.get("requestId");
  const incoming = new URL(req.url);
  const url = originUrl(service.origin, target.path, target.search);
  if (!url) {
    return c.json(
      errorBody("invalid_path", "the path holds dot segments or backslashes", { request_id: requestId }),
      400,
    );
  }
  const startedAt = Date.now();
  const webSocket = isWebSocketUpgrade(req.headers);
  const forwarded = upstreamHeaders(req.headers, {
    clientIp: req.headers.get("cf-connecting-ip"),
    incoming,
    requestId,
  });
  const headers = isolated ? isolateRequestHeaders(forwarded) : forwarded;
  const requestCounter = { bytes: 0 };
  const declaredLength = contentLength(req.headers);
  // The origin's time to answer is counted from the end of the request body: a slow upload to a
  // healthy origin is not a timeout.
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const armTimeout = () => {
    timer ??= setTimeout(() => abort.abort(new OriginTimeout()), service.timeout_ms);
  };
  const body =
    req.body && req.method !== "GET" && req.method !== "HEAD"
      ? req.body.pipeThrough(countingStream(requestCounter, declaredLength, armTimeout))
      : null;
  if (!body) {
    // A GET or HEAD with a body: the body is not sent, so neither is its framing.
    headers.delete("content-length");
    headers.delete("transfer-encoding");
    armTimeout();
  }

  const exchange: Exchange = {
    service,
    method: req.method,
    path: `${target.path}${target.search}`,
    startedAt,
    endedAt: startedAt,
    ttfbMs: null,
    status: 0,
    requestBytes: body ? null : 0,
    responseBytes: 0,
    responseEmpty: false,
    inconsistent: false,
    requestId,
    clientIp: req.headers.get("cf-connecting-ip"),
    userAgent: req.headers.get("user-agent"),
    region: typeof req.cf?.colo === "string" ? req.cf.colo : null,
    consumer: requestConsumer(req.headers, config(c.env).PROXY_CONSUMER_HEADER ?? undefined),
    error: null,
    clientDisconnected: false,
    redactEmails: redactEmailsSetting(c.env),
  };
  // Recorded after the exchange, in waitUntil; concurrent requests' records share hand-offs.
  const record = async (x: Exchange): Promise<void> => {
    // The operator's proxy_recording switch (cached per isolate); read after the answer, never before.
    if (!(await switches(c.env.DB)).proxy_recording) return;
    const rec = exchangeRecord({ ...x, requestBytes: body ? requestCounter.bytes : 0 });
    if (rec) await coalesceHandOff(c.env, [rec]);
  };

  const disarm = () => {
    if (timer !== null) clearTimeout(timer);
  };
  let upstream: Response;
  try {
    upstream = await fetch(url, { method: req.method, headers, body, redirect: "manual", signal: abort.signal });
  } catch (err) {
    disarm();
    const timedOut = err instanceof OriginTimeout || abort.signal.reason instanceof OriginTimeout;
    const status = timedOut ? 504 : 502;
    const message = timedOut
      ? `the origin did not answer within ${service.timeout_ms} ms`
      : "the origin could not be reached";
    c.executionCtx.waitUntil(record({ ...exchange, status, endedAt: Date.now(), error: message }));
    return c.json(
      errorBody(timedOut ? "origin_timeout" : "origin_unreachable", message, {
        request_id: requestId,
        service: service.name,
      }),
      status,
    );
  }
  // Only the wait for the response head is bounded: a long download or an event stream goes on.
  disarm();
  const ttfbMs = Date.now() - startedAt;
  const answered: Exchange = {
    ...exchange,
    status: upstream.status,
    ttfbMs,
    version: originVersion(upstream.headers, config(c.env).PROXY_VERSION_HEADER ?? undefined),
  };
  const passed = downstreamHeaders(upstream.headers, {
    requestId,
    originBase: new URL(service.origin),
    publicBase,
    upstreamUrl: url,
    webSocket,
  });
  const responseHeaders = isolated ? isolateResponseHeaders(passed) : passed;

  if (upstream.webSocket) {
    c.executionCtx.waitUntil(record({ ...answered, endedAt: Date.now() }));
    return new Response(null, { status: 101, webSocket: upstream.webSocket, headers: responseHeaders });
  }
  if (!upstream.body) {
    const verdict = inspectBody({
      status: upstream.status,
      method: req.method,
      contentType: null,
      body: new Uint8Array(),
      totalBytes: 0,
    });
    c.executionCtx.waitUntil(record({ ...answered, endedAt: Date.now(), responseEmpty: verdict.responseEmpty }));
    return new Response(null, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
  }

  let clientBody: ReadableStream<Uint8Array> | null = null;
  const finished = new Promise<Exchange>((resolve) => {
    clientBody = meteredBody(
      upstream.body as ReadableStream<Uint8Array>,
      (m) => {
        const verdict = inspectBody({
          status: upstream.status,
          method: req.method,
          contentType: upstream.headers.get("content-type"),
          body: m.head,
          totalBytes: m.bytes,
        });
        resolve({
          ...answered,
          endedAt: m.endedAt,
          responseBytes: m.bytes,
          responseEmpty: verdict.responseEmpty && !m.cancelled && m.originError === null,
          inconsistent: verdict.inconsistent,
          clientDisconnected: m.cancelled,
          error: m.originError === null ? null : `the origin broke off the response: ${m.originError}`,
        });
      },
      // With Content-Encoding the bytes seen here are decoded, so the origin's length does not apply.
      { expectedLength: upstream.headers.has("content-encoding") ? undefined : contentLength(upstream.headers) },
    );
  });
  c.executionCtx.waitUntil(finished.then(record));
  return new Response(clientBody, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: responseHeaders,
  });
}
