/**
 * The SQL of the aggregation (see aggregate.ts for the design): the hour grouped by endpoint and
 * latency bucket (each endpoint's Apdex counted with its own T in the same pass), the day merged
 * from its hours, the hours of records that arrived since the last run, and the upsert. Synthetic
 * probe results (`source = 'probe'`) are not traffic: the hour statement leaves them out, as the
 * detector does.
 */
import { DEFAULT_DETECTION, resolveDetection, type DetectionSettings } from "../detect/config";
import { LatencySketch, MIN_VALUE } from "../detect/sketch";
import { MAX_BYTES, MAX_LATENCY_MS, sqlClamp, sqlPastBounds } from "../ingest/bounds";

export type Granularity = "hour" | "day";

/** One endpoint's figures over a bucket of time, as the hour and day statements return them. */
export interface GroupedRow {
  service: string;
  method: string;
  route: string;
  count: number;
  s2: number;
  s3: number;
  s4: number;
  s5: number;
  silent: number;
  inconsistent: number;
  bytes: number;
  latency_sum: number;
  max_ms: number;
  satisfied: number;
  tolerating: number;
  /** Values counted in the sketch's zero bucket. */
  zero: number;
  /** `[[bucket index, count], ...]` as JSON text. */
  buckets: string;
  /** Rows whose latency or byte counts were past the ingest bounds and counted at them (hours only). */
  clamped?: number;
  /** The Apdex T `satisfied` and `tolerating` were counted with (hours only: a day sums its hours). */
  apdex_t_ms?: number;
}

/** A `summaries` row, snake_case as in D1. */
export interface SummaryRow {
  granularity: Granularity;
  service: string;
  method: string;
  route: string;
  bucket_start: number;
  count: number;
  status_2xx: number;
  status_3xx: number;
  status_4xx: number;
  status_5xx: number;
  silent_failures: number;
  inconsistent: number;
  bytes: number;
  latency_sum: number;
  p50_ms: number | null;
  p90_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  apdex_satisfied: number;
  apdex_tolerating: number;
  apdex_t_ms: number;
  error_budget_consumed: number | null;
  sketch: string;
  updated_at: number;
}

const LATENCY = sqlClamp("latency_ms", MAX_LATENCY_MS);
const BYTES = `${sqlClamp("request_bytes", MAX_BYTES)} + ${sqlClamp("response_bytes", MAX_BYTES)}`;
const PAST_BOUNDS = [
  sqlPastBounds("latency_ms", MAX_LATENCY_MS),
  sqlPastBounds("request_bytes", MAX_BYTES),
  sqlPastBounds("response_bytes", MAX_BYTES),
].join(" OR ");

/**
 * One hour of every endpoint, in one pass over the hour's rows (`hourStatement` builds and binds
 * it). Binds: the overriding Apdex T values (a JSON array), MIN_VALUE, ln γ, the default T, from,
 * to (exclusive). The innermost select reads the hour through the primary key and gives each row
 * its endpoint's T: `overrides` is a CASE over the services and endpoints whose T is not the
 * default (their names as SQL literals, yielding an index into the bound T values), so the lookup
 * costs a few comparisons and no table read. Its `LIMIT -1` keeps it a subquery of its own, so
 * the lookup runs once per row rather than once per use of `t`. The middle GROUP BY makes
 * (endpoint, bucket) groups, at most about a thousand per endpoint whatever the traffic; the
 * outer one sums them per endpoint and lists the buckets. Latencies at or below MIN_VALUE have a
 * NULL index: the sketch's zero bucket. Latencies and byte counts are clamped to the ingest bounds
 * (src/ingest/bounds.ts) and summed as floats with total(): a row stored before the bounds, or
 * written straight into D1, can neither overflow the hour nor make it infinite; `clamped` counts
 * such rows. (The Apdex comparisons and the bucket index read the raw value: past the bounds
 * they land where the clamped value would, and the clamp is not paid twice.) Every figure is
 * weighted (a sampled row stands for `weight` records): counts are sums of weights, rounded (the
 * weights of a sample group add up to its true count, see src/storage/sampling.ts), and sketch
 * buckets hold weighted, possibly fractional, counts.
 */
export function hourSql(overrides: string): string {
  return `
SELECT service, method, route,
  round(sum(n)) AS count, round(sum(s2)) AS s2, round(sum(s3)) AS s3, round(sum(s4)) AS s4, round(sum(s5)) AS s5,
  round(sum(silent)) AS silent, round(sum(inc)) AS inconsistent, total(bytes) AS bytes,
  total(lat) AS latency_sum, max(max(top), 0) AS max_ms, round(sum(sat)) AS satisfied, round(sum(tol)) AS tolerating,
  max(t) AS apdex_t_ms,
  coalesce(sum(n) FILTER (WHERE idx IS NULL), 0) AS zero,
  coalesce(json_group_array(json_array(idx, n)) FILTER (WHERE idx IS NOT NULL), '[]') AS buckets,
  sum(clamped) AS clamped
FROM (
  SELECT service, method, route, idx, max(t) AS t,
    total(weight) AS n,
    total(weight * (status BETWEEN 200 AND 299)) AS s2,
    total(weight * (status BETWEEN 300 AND 399)) AS s3,
    total(weight * (status BETWEEN 400 AND 499)) AS s4,
    total(weight * (status >= 500)) AS s5,
    total(weight * ((status BETWEEN 200 AND 299) AND response_empty IS TRUE)) AS silent,
    total(weight * (inconsistent IS TRUE)) AS inc,
    total(weight * (${BYTES})) AS bytes,
    total(weight * ${LATENCY}) AS lat,
    min(max(latency_ms), ${MAX_LATENCY_MS}) AS top,
    total(weight * (status < 500 AND latency_ms <= t)) AS sat,
    total(weight * (status < 500 AND latency_ms > t AND latency_ms <= 4 * t)) AS tol,
    sum(${PAST_BOUNDS}) AS clamped
  FROM (
    SELECT service, method, route, status, latency_ms, request_bytes, response_bytes, response_empty, inconsistent, weight,
      coalesce(? ->> (${overrides}), ?) AS t,
      CASE WHEN latency_ms > ? THEN CAST(ceil(ln(min(latency_ms, ${MAX_LATENCY_MS})) / ?) AS INTEGER) END AS idx
    FROM request_logs
    WHERE timestamp >= ? AND timestamp < ? AND source <> 'probe'
    LIMIT -1
  )
  GROUP BY service, method, route, idx
)
GROUP BY service, method, route`;
}

/** An SQL string literal (quotes doubled). */
const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * The Apdex T of every service and endpoint whose T is not the default, resolved as the detector
 * resolves settings: the CASE expression that gives a row's index into `values` (NULL: the
 * default T), and those values. A name holding a NUL character cannot be a stored service or
 * route (and would end the SQL text early): it is left out.
 */
export function apdexOverrides(settings: Map<string, DetectionSettings>): { sql: string; values: number[] } {
  const values: number[] = [];
  const services: string[] = [];
  for (const [service, s] of settings) {
    if (service.includes("\0")) continue;
    const serviceT = resolveDetection(s, "", "").apdex_t_ms;
    const endpoints: string[] = [];
    for (const key of Object.keys(s.endpoints ?? {})) {
      const space = key.indexOf(" ");
      const method = key.slice(0, space);
      const route = key.slice(space + 1);
      const t = resolveDetection(s, method, route).apdex_t_ms;
      if (t === serviceT || key.includes("\0")) continue;
      endpoints.push(`WHEN method = ${literal(method)} AND route = ${literal(route)} THEN ${values.push(t) - 1}`);
    }
    const fallback = serviceT === DEFAULT_DETECTION.apdex_t_ms ? "NULL" : String(values.push(serviceT) - 1);
    if (endpoints.length === 0 && fallback === "NULL") continue;
    services.push(
      `WHEN ${literal(service)} THEN ${endpoints.length > 0 ? `CASE ${endpoints.join(" ")} ELSE ${fallback} END` : fallback}`,
    );
  }
  return { sql: services.length > 0 ? `CASE service ${services.join(" ")} END` : "NULL", values };
}

/** The hour [from, to) of every endpoint (see hourSql), each endpoint's Apdex counted with its T from `settings`. */
export function hourStatement(
  db: D1Database,
  settings: Map<string, DetectionSettings>,
  from: number,
  to: number,
): D1PreparedStatement {
  const overrides = apdexOverrides(settings);
  return db
    .prepare(hourSql(overrides.sql))
    .bind(
      JSON.stringify(overrides.values),
      DEFAULT_DETECTION.apdex_t_ms,
      MIN_VALUE,
      LatencySketch.logGammaOf(),
      from,
      to,
    );
}

/**
 * The latency buckets of stored sketches merged by index (`json_each` over each row's `$.b`),
 * per endpoint, from a CTE `hours` of summary rows. A sketch that is not valid JSON, or a pair
 * that is not an array, is left out rather than failing the statement for every endpoint.
 */
export const MERGED_BUCKETS_SQL = `
  SELECT service, method, route, json_group_array(json_array(idx, n)) AS buckets
  FROM (
    SELECT h.service, h.method, h.route, b.value ->> 0 AS idx, total(b.value ->> 1) AS n
    FROM hours h, json_each(CASE WHEN json_valid(h.sketch) THEN h.sketch ELSE '{}' END, '$.b') b
    WHERE b.type = 'array'
    GROUP BY h.service, h.method, h.route, idx
  )
  GROUP BY service, method, route`;

/** The zero count of a stored sketch, 0 when the sketch is not valid JSON. */
export const SKETCH_ZERO_SQL = "CASE WHEN json_valid(sketch) THEN sketch ->> '$.z' END";

/**
 * One UTC day of every endpoint from its hourly rows. Binds: from, to (exclusive). Sums are
 * total()s: floats that cannot overflow whatever the stored rows hold.
 */
export const DAY_SQL = `
WITH hours AS MATERIALIZED (
  SELECT * FROM summaries WHERE granularity = 'hour' AND bucket_start >= ? AND bucket_start < ?
), totals AS (
  SELECT service, method, route,
    total(count) AS count, total(status_2xx) AS s2, total(status_3xx) AS s3, total(status_4xx) AS s4,
    total(status_5xx) AS s5, total(silent_failures) AS silent, total(inconsistent) AS inconsistent,
    total(bytes) AS bytes, total(latency_sum) AS latency_sum, max(max_ms) AS max_ms,
    total(apdex_satisfied) AS satisfied, total(apdex_tolerating) AS tolerating,
    total(${SKETCH_ZERO_SQL}) AS zero
  FROM hours GROUP BY service, method, route
), merged AS (${MERGED_BUCKETS_SQL}
)
SELECT t.*, coalesce(m.buckets, '[]') AS buckets
FROM totals t LEFT JOIN merged m ON m.service = t.service AND m.method = t.method AND m.route = t.route`;

/**
 * Where a cron run starts: the newest flush sequence number in `log_hours` (the late-record
 * watermark of a first run) and the oldest timestamp (where a first catch-up starts; the first
 * entry of the primary key).
 */
export const START_SQL =
  "SELECT (SELECT max(seq) FROM log_hours) AS seq, (SELECT min(timestamp) FROM request_logs) AS oldest";

/**
 * The hours that received rows from flushes after a sequence-number watermark, in the order of
 * their last write, from `log_hours` (one row per hour of event time: a small table). Binds:
 * seq, limit. Every write of an hour gives it a new number, so `first` and `last` are both the
 * hour's newest and no two hours share one.
 */
export const LATE_HOURS_SQL = `
SELECT hour, seq AS first, seq AS last
FROM log_hours WHERE seq > ?
ORDER BY seq LIMIT ?`;

/** One hour of LATE_HOURS_SQL. */
export interface LateHourRow {
  hour: number;
  first: number;
  last: number;
}

/** The start of the oldest hour written after a sequence-number watermark (null: none). Binds: seq. */
export const UNSEEN_SQL = "SELECT min(hour) * 3600000 AS t FROM log_hours WHERE seq > ?";
