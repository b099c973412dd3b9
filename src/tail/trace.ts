/**
 * Trace items of a Tail Worker → ingest records. Pure: the producing Worker's fetch invocations
 * become records like any client's (the same normalisation and redaction); other invocations
 * (cron, queue, alarm, RPC...) are not HTTP traffic and are only counted.
 *
 * Workers delivers the request already redacted: sensitive headers, and URL runs that look like
 * ids or secrets replaced with `REDACTED`. The monitor keeps that default rather than asking for
 * the unredacted request, and counts a `REDACTED` segment as an id in the route template.
 */
import { normaliseRecord, type LogRecord, type NormaliseContext } from "../ingest/record";
import { templateRoute } from "../ingest/route-template";
import { errorMessage } from "../lib/errors";

/** Outcomes of an invocation that did not complete: counted as a 500 whatever status was sent. */
export const FAILED_OUTCOMES = new Set(["exception", "exceededCpu", "exceededMemory", "canceled", "scriptNotFound"]);

const REDACTED_BY_WORKERS = "REDACTED";

export type TailItemResult = { kind: "record"; input: Record<string, unknown> } | { kind: "skipped"; event: string };

/** The kind of a non-fetch event, for the skipped counters. */
function eventKind(event: NonNullable<TraceItem["event"]>): string {
  if ("cron" in event) return "scheduled";
  if ("queue" in event) return "queue";
  if ("scheduledTime" in event) return "alarm";
  if ("rpcMethod" in event) return "rpc";
  if ("mailFrom" in event) return "email";
  if ("consumedEvents" in event) return "tail";
  if ("getWebSocketEvent" in event) return "websocket";
  return "other";
}

/** Path (with query) of the request URL, and its pathname. */
function pathOf(url: string): { path: string; pathname: string } {
  try {
    const u = new URL(url);
    return { path: `${u.pathname}${u.search}`, pathname: u.pathname };
  } catch {
    const path = url.startsWith("/") ? url : "/";
    return { path, pathname: path.split("?")[0] ?? "/" };
  }
}

/** Route template as ingest derives it, with Workers' own `REDACTED` runs counted as ids. */
export function tailRoute(pathname: string): string {
  return templateRoute(pathname)
    .split("/")
    .map((s) => (s.includes(REDACTED_BY_WORKERS) ? ":id" : s))
    .join("/");
}

/**
 * Wall time of the invocation: `wallTime`, else the span from the event to its last log or
 * exception (older runtimes have no `wallTime`; local workerd reports 0).
 */
export function latencyOf(item: TraceItem): number {
  if (typeof item.wallTime === "number" && Number.isFinite(item.wallTime) && item.wallTime > 0) return item.wallTime;
  const start = item.eventTimestamp;
  if (start === null) return 0;
  const times = [...item.logs, ...item.exceptions, ...(item.diagnosticsChannelEvents ?? [])].map((e) => e.timestamp);
  const end = Math.max(start, ...times.filter((t) => Number.isFinite(t)));
  return end - start;
}

/** The `error` text of a failed invocation: its outcome and first exception. */
function errorOf(item: TraceItem): string {
  const exception = item.exceptions[0];
  const outcome = FAILED_OUTCOMES.has(item.outcome) ? item.outcome : "no response";
  return exception ? `${outcome}: ${exception.name}: ${exception.message}` : outcome;
}

/** One trace item as an ingest input, or the kind of event it is when it is not a fetch. */
export function traceItemInput(item: TraceItem, now: number): TailItemResult {
  const event = item.event;
  if (event === null) return { kind: "skipped", event: "none" };
  if (!("request" in event)) return { kind: "skipped", event: eventKind(event) };
  const { request, response } = event;
  const { path, pathname } = pathOf(request.url);
  const status = response === undefined || FAILED_OUTCOMES.has(item.outcome) ? null : response.status;
  const failed = status === null;
  const headers = request.headers ?? {};
  const cf: unknown = request.cf;
  const colo = typeof cf === "object" && cf !== null && "colo" in cf ? cf.colo : undefined;
  const attributes: Record<string, string | number | boolean> = { outcome: item.outcome, cpu_time_ms: item.cpuTime };
  if (failed && response) attributes.response_status = response.status;
  if (item.entrypoint) attributes.entrypoint = item.entrypoint;
  if (item.scriptVersion?.id) attributes.script_version = item.scriptVersion.id;
  return {
    kind: "record",
    input: {
      timestamp: item.eventTimestamp ?? now,
      service: item.scriptName ?? undefined,
      method: request.method,
      path: path.slice(0, 2048),
      route: tailRoute(pathname),
      status: status ?? 500,
      latency_ms: latencyOf(item),
      error: failed ? errorOf(item) : null,
      request_id: (headers["x-request-id"] ?? headers["cf-ray"])?.slice(0, 128) ?? null,
      user_agent: headers["user-agent"] ?? null,
      region: typeof colo === "string" ? colo.slice(0, 64) : null,
      attributes,
    },
  };
}

export interface TailBatch {
  records: LogRecord[];
  rejected: { index: number; errors: string[] }[];
  /** Non-fetch events by kind (`scheduled`, `queue`, `alarm`...). */
  skipped: Record<string, number>;
}

/** Every trace item of one `tail()` call, as normalised records (`source: "tail"`). */
export function traceItemsToRecords(items: readonly TraceItem[], ctx: NormaliseContext): TailBatch {
  const batch: TailBatch = { records: [], rejected: [], skipped: {} };
  items.forEach((item, index) => {
    let result: TailItemResult;
    try {
      result = traceItemInput(item, ctx.now);
    } catch (err) {
      // An item of an unexpected shape must not cost the others.
      batch.rejected.push({ index, errors: [`unreadable trace item: ${errorMessage(err)}`] });
      return;
    }
    if (result.kind === "skipped") {
      batch.skipped[result.event] = (batch.skipped[result.event] ?? 0) + 1;
      return;
    }
    const normalised = normaliseRecord(result.input, ctx);
    if (normalised.ok) batch.records.push({ ...normalised.record, source: "tail" });
    else batch.rejected.push({ index, errors: normalised.errors });
  });
  return batch;
}
