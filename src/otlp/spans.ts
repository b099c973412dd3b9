/**
 * OTLP/HTTP JSON traces → ingest records. Pure. Only server spans (kind 2) describe a request
 * the service answered; client and internal spans are skipped without counting as rejected, so
 * an SDK can export everything here. A server span is mapped through the HTTP semantic
 * conventions (current names first, the pre-1.21 ones as fallback) and then validated and
 * normalised like any record of `POST /v1/logs`.
 */
import * as z from "zod";
import { normaliseRecord, type LogRecord, type NormaliseContext } from "../ingest/record";

type Scalar = string | number | boolean;

// proto3 JSON: any field may be absent or null; enums may be numbers or their names.
const keyValues = z.array(z.object({ key: z.string(), value: z.unknown() })).nullish();
const nanos = z.union([
  z.string().regex(/^\d{1,20}$/, "must be nanoseconds as a string of digits"),
  z.number().int().nonnegative(),
]);
const enumValue = z.union([z.number().int(), z.string()]).nullish();

/** A span, as far as the monitor reads it. */
export const otlpSpan = z.object({
  traceId: z.string().nullish(),
  spanId: z.string().nullish(),
  kind: enumValue,
  startTimeUnixNano: nanos,
  endTimeUnixNano: nanos,
  attributes: keyValues,
  events: z.array(z.object({ name: z.string().nullish(), attributes: keyValues })).nullish(),
  status: z.object({ code: enumValue, message: z.string().nullish() }).nullish(),
});
export type OtlpSpan = z.infer<typeof otlpSpan>;

/** `ExportTraceServiceRequest`; spans are checked one by one so one bad span does not refuse the rest. */
export const exportTraceRequest = z.object({
  resourceSpans: z
    .array(
      z.object({
        resource: z.object({ attributes: keyValues }).nullish(),
        scopeSpans: z.array(z.object({ spans: z.array(z.unknown()).nullish() })).nullish(),
      }),
    )
    .nullish(),
});
export type ExportTraceRequest = z.infer<typeof exportTraceRequest>;

const SERVER = new Set<unknown>([2, "SPAN_KIND_SERVER"]);
const STATUS_ERROR = new Set<unknown>([2, "STATUS_CODE_ERROR"]);

/** An OTLP `AnyValue` as a scalar (`intValue` is a string in OTLP JSON); arrays, maps and bytes are not read. */
export function anyValue(value: unknown): Scalar | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.stringValue === "string") return v.stringValue;
  if (typeof v.boolValue === "boolean") return v.boolValue;
  for (const n of [v.intValue, v.doubleValue]) {
    const num = typeof n === "string" && n.trim() !== "" ? Number(n) : n;
    if (typeof num === "number" && Number.isFinite(num)) return num;
  }
  return undefined;
}

/** Attributes as a map of scalars. */
export function attributeMap(list: { key: string; value?: unknown }[] | null | undefined): Map<string, Scalar> {
  const map = new Map<string, Scalar>();
  for (const { key, value } of list ?? []) {
    const scalar = anyValue(value);
    if (scalar !== undefined) map.set(key, scalar);
  }
  return map;
}

function first(attrs: Map<string, Scalar>, ...keys: string[]): Scalar | undefined {
  for (const key of keys) if (attrs.has(key)) return attrs.get(key);
  return undefined;
}

function text(value: Scalar | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

function count(value: Scalar | undefined): number | undefined {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Whether a span (not yet validated) is a server span. */
export function isServerSpan(span: unknown): boolean {
  return span !== null && typeof span === "object" && SERVER.has((span as { kind?: unknown }).kind);
}

/** Path and query of the request: `url.path` + `url.query`, else `http.target`, else the path of `url.full`. */
function pathOf(attrs: Map<string, Scalar>): string | undefined {
  const path = text(attrs.get("url.path"));
  if (path !== undefined) {
    const query = text(attrs.get("url.query"));
    return query ? `${path}?${query}` : path;
  }
  const target = text(attrs.get("http.target"));
  if (target !== undefined) return target;
  const full = text(first(attrs, "url.full", "http.url"));
  if (full === undefined) return undefined;
  try {
    const u = new URL(full);
    return `${u.pathname}${u.search}`;
  } catch {
    return undefined;
  }
}

/** The `error` of a span: its first `exception` event, else the message of an ERROR status. */
function errorOf(span: OtlpSpan): string | undefined {
  const exception = span.events?.find((e) => e.name === "exception");
  if (exception) {
    const a = attributeMap(exception.attributes);
    const described = [text(a.get("exception.type")), text(a.get("exception.message"))].filter(Boolean).join(": ");
    if (described) return described;
  }
  if (STATUS_ERROR.has(span.status?.code)) return span.status?.message || "span status ERROR";
  return undefined;
}

const NS_PER_MS = 1_000_000n;

/** A validated server span as an ingest input, or why it cannot be one. */
export function spanInput(
  span: OtlpSpan,
  resource: Map<string, Scalar>,
): { input: Record<string, unknown> } | { errors: string[] } {
  const attrs = attributeMap(span.attributes);
  const errors: string[] = [];
  const service = text(resource.get("service.name"));
  if (service === undefined) errors.push("service.name: missing from the resource attributes");
  const methodValue = text(first(attrs, "http.request.method", "http.method"));
  if (methodValue === undefined) errors.push("http.request.method: missing (not an HTTP server span)");
  const route = text(attrs.get("http.route"));
  const path = pathOf(attrs) ?? route;
  if (path === undefined) errors.push("url.path: missing (and no http.route)");
  const start = BigInt(span.startTimeUnixNano);
  const end = BigInt(span.endTimeUnixNano);
  if (end < start) errors.push("endTimeUnixNano: before startTimeUnixNano");
  const statusValue = first(attrs, "http.response.status_code", "http.status_code");
  const error = errorOf(span);
  let status: unknown =
    typeof statusValue === "string" && /^\d+$/.test(statusValue) ? Number(statusValue) : statusValue;
  // No answer was recorded but the span failed: the request failed as a 5xx would.
  if (status === undefined && STATUS_ERROR.has(span.status?.code)) status = 500;
  if (status === undefined) errors.push("http.response.status_code: missing");
  if (errors.length > 0) return { errors };

  const traceId = span.traceId && /^[0-9a-f]{32}$/i.test(span.traceId) ? span.traceId.toLowerCase() : undefined;
  const spanId = span.spanId && /^[0-9a-f]{16}$/i.test(span.spanId) ? span.spanId.toLowerCase() : undefined;
  const attributes: Record<string, Scalar> = {};
  if (traceId) attributes.trace_id = traceId;
  if (spanId) attributes.span_id = spanId;
  return {
    input: {
      timestamp: Number(start / NS_PER_MS),
      service,
      // `_OTHER` is the conventions' name for a method outside the known set.
      method: methodValue === "_OTHER" ? "OTHER" : methodValue,
      path: path?.slice(0, 2048),
      route,
      status,
      latency_ms: Number(end - start) / 1e6,
      // Exporters resend a batch they could not deliver: the span id stores each span once.
      id: traceId && spanId ? `${traceId}-${spanId}` : undefined,
      request_bytes: count(attrs.get("http.request.body.size")),
      response_bytes: count(first(attrs, "http.response.body.size", "http.response_content_length")),
      error,
      user_agent: text(first(attrs, "user_agent.original", "http.user_agent")),
      client_ip: text(first(attrs, "client.address", "http.client_ip"))?.slice(0, 64),
      region: text(first(resource, "cloud.region"))?.slice(0, 64),
      attributes,
    },
  };
}

export interface SpanBatch {
  records: LogRecord[];
  /** Refused server spans, each named by its place in the request. */
  rejected: { span: string; errors: string[] }[];
  /** Spans of other kinds (client, internal, producer, consumer), not requests. */
  skipped: number;
}

/** Total number of spans in a request. */
export function countSpans(request: ExportTraceRequest): number {
  let n = 0;
  for (const rs of request.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  return n;
}

/** Every server span of an export request as a normalised record (`source: "otlp"`). */
export function spansToRecords(request: ExportTraceRequest, ctx: NormaliseContext): SpanBatch {
  const batch: SpanBatch = { records: [], rejected: [], skipped: 0 };
  (request.resourceSpans ?? []).forEach((rs, i) => {
    const resource = attributeMap(rs.resource?.attributes);
    (rs.scopeSpans ?? []).forEach((ss, j) => {
      (ss.spans ?? []).forEach((raw, k) => {
        if (!isServerSpan(raw)) {
          batch.skipped++;
          return;
        }
        const where = `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`;
        const parsed = otlpSpan.safeParse(raw);
        if (!parsed.success) {
          batch.rejected.push({
            span: where,
            errors: parsed.error.issues.map((e) => `${e.path.map(String).join(".") || "span"}: ${e.message}`),
          });
          return;
        }
        const mapped = spanInput(parsed.data, resource);
        if ("errors" in mapped) {
          batch.rejected.push({ span: where, errors: mapped.errors });
          return;
        }
        const normalised = normaliseRecord(mapped.input, ctx);
        if (normalised.ok) batch.records.push({ ...normalised.record, source: "otlp" });
        else batch.rejected.push({ span: where, errors: normalised.errors });
      });
    });
  });
  return batch;
}

const MAX_ERROR_MESSAGE_SPANS = 10;

/** OTLP's `partialSuccess.errorMessage`: the first refused spans and their reasons. */
export function partialSuccessMessage(rejected: SpanBatch["rejected"]): string {
  const shown = rejected.slice(0, MAX_ERROR_MESSAGE_SPANS).map((r) => `${r.span}: ${r.errors.join(", ")}`);
  const more = rejected.length > shown.length ? `; and ${rejected.length - shown.length} more` : "";
  return `${rejected.length} span(s) rejected: ${shown.join("; ")}${more}`;
}
