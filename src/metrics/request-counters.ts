/**
 * Monotonic request counters of one endpoint, for `GET /metrics`. They are kept by the endpoint
 * Durable Object, the one place that sees every record of its endpoint: added in the same
 * transaction that commits a hand-off (so a record is counted exactly once, a re-sent duplicate
 * never, and neither a detection failure nor a re-evaluation replay changes them), and published
 * with the endpoint's state to `endpoint_health.metrics`. Window counts cannot serve here: they
 * are pruned after hours, and Prometheus needs counters that only grow. Pure.
 */
import type { LogRecord } from "../ingest/record";
import { isSilentFailure } from "../monitor/minute-counts";

/** Upper bounds (ms, inclusive) of the cumulative latency buckets; +Inf is the total. */
export const LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

export const STATUS_CLASSES = ["2xx", "3xx", "4xx", "5xx", "other"] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** The fields of a record the counters need. */
export type CountedRecord = Pick<LogRecord, "status" | "latency_ms" | "response_empty" | "source">;

/** What an endpoint publishes (the JSON of `endpoint_health.metrics`). */
export interface RequestMetrics {
  requests: Record<StatusClass, number>;
  silent_failures: number;
  /** Cumulative: `latency_buckets[i]` counts requests of at most LATENCY_BOUNDS_MS[i] ms. */
  latency_buckets: number[];
  /** Every request counted (the +Inf bucket): the sum of `requests`. */
  latency_count: number;
  latency_sum_ms: number;
}

/** The class of an HTTP status: 2xx to 5xx, anything else (1xx) is "other". */
export function statusClass(status: number): StatusClass {
  if (status >= 200 && status < 300) return "2xx";
  if (status >= 300 && status < 400) return "3xx";
  if (status >= 400 && status < 500) return "4xx";
  if (status >= 500 && status < 600) return "5xx";
  return "other";
}

const statusCounter = (c: StatusClass): string => `status_${c}`;
const bucketCounter = (le: number): string => `latency_le_${le}`;
const SUM_COUNTER = "latency_sum_ms";
const SILENT_COUNTER = "silent_failures";

/** Names of the object's `counters` rows that hold the request metrics. */
export const REQUEST_COUNTER_NAMES: readonly string[] = [
  ...STATUS_CLASSES.map(statusCounter),
  SILENT_COUNTER,
  ...LATENCY_BOUNDS_MS.map(bucketCounter),
  SUM_COUNTER,
];

/**
 * Increments of the object's counters for freshly committed records. Synthetic probes are left
 * out: they are not traffic (the detector judges them on their own).
 */
export function requestIncrements(records: readonly CountedRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (name: string, n: number) => (out[name] = (out[name] ?? 0) + n);
  for (const r of records) {
    if (r.source === "probe") continue;
    add(statusCounter(statusClass(r.status)), 1);
    if (isSilentFailure(r)) add(SILENT_COUNTER, 1);
    // Cumulative buckets: a request counts in its own bucket and every wider one.
    for (const le of LATENCY_BOUNDS_MS) if (r.latency_ms <= le) add(bucketCounter(le), 1);
    add(SUM_COUNTER, r.latency_ms);
  }
  return out;
}

/** The published form of the counters read from the object (missing names are 0). */
export function requestMetricsFrom(counters: Readonly<Record<string, number>>): RequestMetrics {
  const get = (name: string) => counters[name] ?? 0;
  const requests = Object.fromEntries(STATUS_CLASSES.map((c) => [c, get(statusCounter(c))])) as Record<
    StatusClass,
    number
  >;
  return {
    requests,
    silent_failures: get(SILENT_COUNTER),
    latency_buckets: LATENCY_BOUNDS_MS.map((le) => get(bucketCounter(le))),
    latency_count: STATUS_CLASSES.reduce((n, c) => n + requests[c], 0),
    latency_sum_ms: get(SUM_COUNTER),
  };
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

/** Reads `endpoint_health.metrics`; null when absent or not of the expected shape (never throws). */
export function parseRequestMetrics(json: string | null): RequestMetrics | null {
  if (json === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const m = v as Partial<RequestMetrics>;
  const requests = m.requests;
  if (typeof requests !== "object" || requests === null || !STATUS_CLASSES.every((c) => isCount(requests[c])))
    return null;
  if (!isCount(m.silent_failures) || !isCount(m.latency_count) || !isCount(m.latency_sum_ms)) return null;
  if (
    !Array.isArray(m.latency_buckets) ||
    m.latency_buckets.length !== LATENCY_BOUNDS_MS.length ||
    !m.latency_buckets.every(isCount)
  )
    return null;
  return {
    requests,
    silent_failures: m.silent_failures,
    latency_buckets: m.latency_buckets,
    latency_count: m.latency_count,
    latency_sum_ms: m.latency_sum_ms,
  };
}
