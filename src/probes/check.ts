/**
 * One synthetic probe: a request from the edge to the service's configured origin (never
 * anywhere else: the URL is built like the proxy's, scheme, host and port from the origin), its
 * verdict, and the log record it becomes.
 *
 * Conventions: the probe's `timeout_ms` bounds the whole exchange, head and body. A probe that
 * gets no response head (unreachable, or timed out) is recorded with status 599 and the reason in
 * `error` (a stored record needs a status in 100..599, and 599 cannot be mistaken for anything
 * an origin answered). A body that breaks off or times out keeps the origin's status but fails
 * the probe, with an `error`. Bodies are read up to 1 MiB (then cancelled); `expected_body` is
 * looked for in that part.
 */
import { normaliseRecord, type LogRecord } from "../ingest/record";
import { INSPECT_MAX_BYTES, inspectBody } from "../proxy/inspect";
import { originUrl } from "../proxy/target";
import type { ProbeSettings, ServiceConfig } from "../services/config";
import { errorMessage } from "../lib/errors";

export const PROBE_USER_AGENT = "edge-monitor-probe";
/** Status recorded when the origin gave no response head. */
export const NO_ANSWER_STATUS = 599;
export const PROBE_BODY_MAX_BYTES = 1024 * 1024;
export const BODY_MISMATCH = "expected body not found";

export interface ProbeResult {
  service: string;
  probe: string;
  method: string;
  /** Path and query, relative to the service's origin. */
  path: string;
  ok: boolean;
  status: number;
  startedAt: number;
  latencyMs: number;
  ttfbMs: number | null;
  responseBytes: number;
  responseEmpty: boolean;
  inconsistent: boolean;
  error: string | null;
  requestId: string;
}

/** The probe's verdict on an answer (pure): ok when the status is the expected one and, if set, the body holds `expected_body`. */
export function judgeProbe(
  probe: Pick<ProbeSettings, "expected_status" | "expected_body">,
  status: number,
  bodyText: string,
): { ok: boolean; inconsistent: boolean; error: string | null } {
  if (status !== probe.expected_status) {
    return { ok: false, inconsistent: false, error: `expected status ${probe.expected_status}, got ${status}` };
  }
  if (probe.expected_body !== undefined && !bodyText.includes(probe.expected_body)) {
    // The status says fine, the body says otherwise: the same disagreement the proxy flags.
    return { ok: false, inconsistent: true, error: BODY_MISMATCH };
  }
  return { ok: true, inconsistent: false, error: null };
}

function reasonOf(err: unknown, signal: AbortSignal, timeoutMs: number, what: string): string {
  const timedOut = signal.aborted || (err instanceof Error && err.name === "TimeoutError");
  if (timedOut) return `no ${what} within ${timeoutMs} ms`;
  return `the origin ${what === "answer" ? "could not be reached" : "broke off the response"}: ${errorMessage(err)}`;
}

interface ReadBody {
  head: Uint8Array;
  text: string;
  bytes: number;
}

/** Reads up to PROBE_BODY_MAX_BYTES of a body, giving up when `signal` aborts (whether or not the runtime aborts the stream itself). */
async function readBody(body: ReadableStream<Uint8Array>, signal: AbortSignal, keepText: boolean): Promise<ReadBody> {
  const reader = body.getReader();
  const aborted = new Promise<never>((_, reject) => {
    // The signal's reason (a TimeoutError or AbortError DOMException) is passed on unchanged.
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
  });
  aborted.catch(() => undefined);
  const decoder = new TextDecoder();
  const head = new Uint8Array(INSPECT_MAX_BYTES);
  let headBytes = 0;
  let bytes = 0;
  let text = "";
  try {
    while (bytes < PROBE_BODY_MAX_BYTES) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      const chunk = value.subarray(0, PROBE_BODY_MAX_BYTES - bytes);
      if (headBytes < head.byteLength) {
        const part = chunk.subarray(0, head.byteLength - headBytes);
        head.set(part, headBytes);
        headBytes += part.byteLength;
      }
      if (keepText) text += decoder.decode(chunk, { stream: true });
      bytes += chunk.byteLength;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return { head: head.subarray(0, headBytes), text: keepText ? text + decoder.decode() : "", bytes };
}

/** Runs one probe against `service`'s origin. Never throws: a failure is a result. */
export async function runProbe(service: ServiceConfig, probe: ProbeSettings): Promise<ProbeResult> {
  const q = probe.path.indexOf("?");
  const pathname = q === -1 ? probe.path : probe.path.slice(0, q);
  const search = q === -1 ? "" : probe.path.slice(q);
  const requestId = crypto.randomUUID();
  const startedAt = Date.now();
  const result: ProbeResult = {
    service: service.name,
    probe: probe.name,
    method: probe.method,
    path: probe.path,
    ok: false,
    status: NO_ANSWER_STATUS,
    startedAt,
    latencyMs: 0,
    ttfbMs: null,
    responseBytes: 0,
    responseEmpty: false,
    inconsistent: false,
    error: null,
    requestId,
  };
  const url = originUrl(service.origin, pathname, search);
  if (!url) return { ...result, error: "the probe path does not stay below the origin" };

  const signal = AbortSignal.timeout(probe.timeout_ms);
  let res: Response;
  try {
    // No credentials of any kind: only what identifies the probe.
    res = await fetch(url, {
      method: probe.method,
      headers: { "user-agent": PROBE_USER_AGENT, "x-request-id": requestId, accept: "*/*" },
      redirect: "manual",
      signal,
    });
  } catch (err) {
    return { ...result, latencyMs: Date.now() - startedAt, error: reasonOf(err, signal, probe.timeout_ms, "answer") };
  }
  const answered = { ...result, status: res.status, ttfbMs: Date.now() - startedAt };
  let body: ReadBody = { head: new Uint8Array(), text: "", bytes: 0 };
  if (res.body) {
    try {
      body = await readBody(res.body as ReadableStream<Uint8Array>, signal, probe.expected_body !== undefined);
    } catch (err) {
      return {
        ...answered,
        latencyMs: Date.now() - startedAt,
        error: reasonOf(err, signal, probe.timeout_ms, "complete answer"),
      };
    }
  }
  const latencyMs = Date.now() - startedAt;
  const verdict = judgeProbe(probe, res.status, body.text);
  const seen = inspectBody({
    status: res.status,
    method: probe.method,
    contentType: res.headers.get("content-type"),
    body: body.head,
    totalBytes: body.bytes,
  });
  return {
    ...answered,
    ok: verdict.ok,
    latencyMs,
    responseBytes: body.bytes,
    responseEmpty: seen.responseEmpty,
    inconsistent: verdict.inconsistent || seen.inconsistent,
    error: verdict.error,
  };
}

const RETENTION_FOR_LIVE_RECORDS = 24 * 60 * 60 * 1000;

/**
 * The log record of a probe result, through the same normalisation as ingested and proxied
 * records (route templated from the path, so it lands on the endpoint real traffic uses),
 * with `source: "probe"` and the probe's name and verdict as attributes.
 */
export function probeRecord(
  r: ProbeResult,
  now: number = r.startedAt + r.latencyMs,
  redactEmails = true,
): LogRecord | null {
  const result = normaliseRecord(
    {
      timestamp: r.startedAt,
      service: r.service,
      method: r.method,
      path: r.path,
      status: r.status,
      latency_ms: r.latencyMs,
      ttfb_ms: r.ttfbMs,
      request_bytes: 0,
      response_bytes: r.responseBytes,
      response_empty: r.responseEmpty,
      inconsistent: r.inconsistent,
      error: r.error,
      request_id: r.requestId,
      user_agent: PROBE_USER_AGENT,
      attributes: { probe: r.probe, probe_ok: r.ok },
    },
    { now, retentionMs: RETENTION_FOR_LIVE_RECORDS, newKey: () => crypto.randomUUID(), redactEmails },
  );
  return result.ok ? { ...result.record, source: "probe" } : null;
}
