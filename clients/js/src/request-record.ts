/**
 * The record the Hono middleware sends for one request: built from what the app's request and
 * response already carry (headers only, never the body, so nothing is buffered or delayed) and
 * redacted with the monitor's own rules before it leaves the app. Pure: the caller passes the
 * clock readings. The rules are the monitor's own modules in `src/redact/` (pure and
 * import-free but for each other), bundled into the package by its
 * build rather than copied, so the client and the server cannot drift apart; an app that bundles
 * it pulls in neither zod nor the monitor's bindings.
 */
import { scrubText, type ScrubOptions } from "../../../src/redact/index.js";
import { redactRequestPath } from "../../../src/redact/index.js";
import { errorText } from "./answer.js";

/** One record as `POST /v1/logs` takes it (a subset of `LogRecordInput`). */
export interface MonitorRecord {
  timestamp: number;
  service: string;
  method: string;
  route?: string;
  path: string;
  status: number;
  latency_ms: number;
  request_bytes?: number;
  response_bytes?: number;
  response_empty?: boolean;
  request_id?: string;
  error?: string;
  /** Unique per record: the monitor stores a record sent twice (a retry) once. */
  id?: string;
}

/** What the record needs of a set of headers: `Headers`, or a Node request or response wrapped by `nodeHeaders`. */
export interface HeaderReader {
  get(name: string): string | null;
}

/** What the middleware knows about one finished request. */
export interface RequestFacts {
  service: string;
  method: string;
  url: string;
  /** Hono's matched route pattern, or "" when none. */
  route: string;
  status: number;
  startedAt: number;
  endedAt: number;
  requestHeaders: HeaderReader;
  responseHeaders: HeaderReader;
  /** False when the response has no body stream at all. */
  responseHasBody: boolean;
  error?: unknown;
  /** The record's id (`crypto.randomUUID()`), when the sender gives one. */
  id?: string;
  /** Redact email addresses in path, query, request id and error (default true). */
  redactEmails?: boolean;
}

// The limits of the ingest schema (src/ingest/record.ts): a record over them would be rejected.
const PATH_MAX = 2048;
const ROUTE_MAX = 256;
const REQUEST_ID_MAX = 128;
const ERROR_MAX = 1000;
const METHOD = /^[A-Za-z]{1,16}$/;
export const SERVICE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A Content-Length header as a byte count, or undefined when absent or malformed. */
export function contentLength(headers: HeaderReader): number | undefined {
  const value = headers.get("Content-Length");
  if (value === null || !/^\d{1,15}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/**
 * Path and query of a URL as the monitor stores it: secret-shaped segments, URL userinfo,
 * sensitive query values and (unless `options.emails` is false) emails redacted.
 */
export function redactedPath(url: string, options: ScrubOptions = { emails: true }): string {
  let pathAndQuery: string;
  if (url.startsWith("/")) {
    // Already a path (Node's `req.url`): no URL to parse, and no exception thrown per request.
    pathAndQuery = url;
  } else {
    try {
      const u = new URL(url);
      pathAndQuery = `${u.pathname}${u.search}`;
    } catch {
      pathAndQuery = `/${url}`;
    }
  }
  // Only what can be kept is redacted (plus a margin, so a secret across the cut is still seen whole).
  return redactRequestPath(pathAndQuery.slice(0, PATH_MAX + 512), options).slice(0, PATH_MAX);
}

/** A 2xx that should have had a body and has none (a silent failure, as the proxy counts it). */
function isEmptySuccess(f: RequestFacts, responseBytes: number | undefined): boolean {
  const bodyless = f.method.toUpperCase() === "HEAD" || f.status === 204 || f.status === 205;
  return f.status >= 200 && f.status < 300 && !bodyless && (!f.responseHasBody || responseBytes === 0);
}

/** The redacted record of a finished request, or null when its status is not an HTTP status. */
export function buildRecord(f: RequestFacts): MonitorRecord | null {
  if (!Number.isInteger(f.status) || f.status < 100 || f.status > 599) return null;
  const responseBytes = contentLength(f.responseHeaders);
  const requestBytes = contentLength(f.requestHeaders);
  const requestId = f.requestHeaders.get("X-Request-ID")?.trim();
  const scrub: ScrubOptions = { emails: f.redactEmails ?? true };
  const record: MonitorRecord = {
    timestamp: f.startedAt,
    service: f.service,
    method: METHOD.test(f.method) ? f.method.toUpperCase() : "OTHER",
    path: redactedPath(f.url, scrub),
    status: f.status,
    latency_ms: Math.max(0, f.endedAt - f.startedAt),
  };
  // Hono's patterns (`/orders/:id`, `/api/*`) are code, not data: kept as written.
  if (f.id !== undefined) record.id = f.id;
  if (f.route.startsWith("/")) record.route = f.route.slice(0, ROUTE_MAX);
  if (requestBytes !== undefined) record.request_bytes = requestBytes;
  if (responseBytes !== undefined) record.response_bytes = responseBytes;
  if (isEmptySuccess(f, responseBytes)) record.response_empty = true;
  if (requestId) record.request_id = scrubText(requestId, scrub).slice(0, REQUEST_ID_MAX);
  if (f.error !== undefined) {
    const message = f.error instanceof Error ? `${f.error.name}: ${f.error.message}` : errorText(f.error);
    record.error = scrubText(message.slice(0, ERROR_MAX + 200), scrub).slice(0, ERROR_MAX);
  }
  return record;
}
