/**
 * The Prometheus text exposition (format 0.0.4) of the monitor's figures. Pure: the route reads
 * D1 and the isolate's ingest counters, this renders them. Every family gets its HELP and TYPE
 * lines and its samples together; label values are escaped as the format requires (backslash,
 * double quote, line feed). Latency is exposed in seconds, the Prometheus base unit (`promtool
 * check metrics` refuses `_ms` names); the buckets are the object's millisecond bounds / 1000.
 */
import { LATENCY_BOUNDS_MS, STATUS_CLASSES, type RequestMetrics } from "./request-counters";

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One endpoint as read from `endpoint_health`. */
export interface EndpointMetricsRow {
  service: string;
  method: string;
  route: string;
  health: string;
  health_score: number;
  severity_score: number;
  backlog: number;
  /** Null until the endpoint's object published its counters. */
  metrics: RequestMetrics | null;
}

export interface MetricsInput {
  endpoints: readonly EndpointMetricsRow[];
  /** Endpoints left out by the cap. */
  omitted: number;
  /** The cap, for the HELP text. */
  maxEndpoints: number;
  /** Open incidents per service (services without any may be absent). */
  openIncidents: ReadonlyMap<string, number>;
  ingest: { accepted: number; rejected: number; dropped: number };
}

const HEALTH_VALUE: Record<string, number> = { NORMAL: 0, WARNING: 1, CRITICAL: 2 };

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value as the format writes it (Go float syntax, with +Inf, -Inf and NaN). */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
}

/** Label pairs rendered once (`a="x",b="y"`), so that an endpoint's labels are escaped once for all its samples. */
function labels(...pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",");
}

const joinLabels = (...parts: string[]): string => parts.filter((p) => p !== "").join(",");

/** Collects the samples of metric families, then writes each family as one block. */
class Exposition {
  private readonly blocks: string[][] = [];

  family(
    name: string,
    type: "counter" | "gauge" | "histogram",
    help: string,
  ): (labelText: string, value: number, suffix?: string) => void {
    const lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
    this.blocks.push(lines);
    return (labelText, value, suffix = "") =>
      lines.push(`${name}${suffix}${labelText === "" ? "" : `{${labelText}}`} ${formatValue(value)}`);
  }

  toString(): string {
    return this.blocks.map((b) => b.join("\n")).join("\n") + "\n";
  }
}

/** Renders the whole exposition. */
export function renderMetrics(input: MetricsInput): string {
  const out = new Exposition();
  const cap = `at most ${input.maxEndpoints} endpoints, ordered by service, method, route`;
  const requests = out.family(
    "edge_monitor_requests_total",
    "counter",
    `Requests per endpoint and status class (2xx..5xx, other), counted by the endpoint's Durable Object at ingest; probes excluded (${cap}).`,
  );
  const duration = out.family(
    "edge_monitor_request_duration_seconds",
    "histogram",
    `Request latency per endpoint as reported in the logs, in seconds (${cap}).`,
  );
  const silent = out.family(
    "edge_monitor_silent_failures_total",
    "counter",
    "2xx responses with an empty body per endpoint.",
  );
  const health = out.family(
    "edge_monitor_endpoint_health",
    "gauge",
    "Endpoint health at its last evaluated minute: 0 normal, 1 warning, 2 critical.",
  );
  const healthScore = out.family(
    "edge_monitor_endpoint_health_score",
    "gauge",
    "Endpoint health score at its last evaluated minute (100 is healthy).",
  );
  const severity = out.family(
    "edge_monitor_endpoint_severity_score",
    "gauge",
    "Endpoint severity score at its last evaluated minute (0 is none).",
  );
  const backlog = out.family(
    "edge_monitor_backlog_records",
    "gauge",
    "Records buffered in the endpoint's Durable Object and not yet written to D1, when it last published.",
  );
  for (const e of input.endpoints) {
    const id = labels(["service", e.service], ["method", e.method], ["route", e.route]);
    const m = e.metrics;
    if (m) {
      for (const c of STATUS_CLASSES) requests(joinLabels(id, labels(["status_class", c])), m.requests[c]);
      LATENCY_BOUNDS_MS.forEach((le, i) =>
        duration(joinLabels(id, labels(["le", String(le / 1000)])), m.latency_buckets[i] ?? 0, "_bucket"),
      );
      duration(joinLabels(id, labels(["le", "+Inf"])), m.latency_count, "_bucket");
      duration(id, m.latency_sum_ms / 1000, "_sum");
      duration(id, m.latency_count, "_count");
      silent(id, m.silent_failures);
    }
    const h = HEALTH_VALUE[e.health];
    if (h !== undefined) health(id, h);
    healthScore(id, e.health_score);
    severity(id, e.severity_score);
    backlog(id, e.backlog);
  }
  const open = out.family("edge_monitor_open_incidents", "gauge", "Open incidents per service.");
  const services = new Set([...input.endpoints.map((e) => e.service), ...input.openIncidents.keys()]);
  for (const s of [...services].sort()) open(labels(["service", s]), input.openIncidents.get(s) ?? 0);
  out.family(
    "edge_monitor_endpoints_omitted",
    "gauge",
    `Endpoints left out of this exposition by its cap (${cap}).`,
  )("", input.omitted);
  const ingest = out.family(
    "edge_monitor_ingest_records_total",
    "counter",
    "Records at POST /v1/logs by outcome, counted by the Worker isolate that answered this scrape since it started: per isolate, reset when it is recycled.",
  );
  for (const outcome of ["accepted", "rejected", "dropped"] as const)
    ingest(labels(["outcome", outcome]), input.ingest[outcome]);
  return out.toString();
}
