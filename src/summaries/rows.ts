/**
 * Summary rows from grouped figures (percentiles, Apdex, error budget) and their upserts in as
 * few statements as D1's bound-string limit allows. Pure but for the prepared statements.
 */
import { LatencySketch } from "../detect/sketch";
import type { Granularity, GroupedRow, SummaryRow } from "./sql";

/**
 * A summary row from an hour's or a day's grouped figures: percentiles from its sketch, the Apdex
 * counts of its T, its error budget. Throws a RangeError when a required figure is not finite
 * (stored rows that hold infinities): the caller skips that endpoint and records it.
 */
export function toSummaryRow(
  granularity: Granularity,
  bucketStart: number,
  r: GroupedRow,
  apdex: { t: number; satisfied: number; tolerating: number },
  availability: number,
  now: number,
): SummaryRow {
  const sketch = LatencySketch.fromBuckets(JSON.parse(r.buckets) as [number, number][], {
    zeroCount: r.zero,
    max: r.max_ms,
  });
  const [p50, p90, p95, p99] = [0.5, 0.9, 0.95, 0.99].map((q) => sketch.quantile(q));
  const row: SummaryRow = {
    granularity,
    service: r.service,
    method: r.method,
    route: r.route,
    bucket_start: bucketStart,
    count: r.count,
    status_2xx: r.s2,
    status_3xx: r.s3,
    status_4xx: r.s4,
    status_5xx: r.s5,
    silent_failures: r.silent,
    inconsistent: r.inconsistent,
    bytes: r.bytes,
    latency_sum: r.latency_sum,
    p50_ms: p50 ?? null,
    p90_ms: p90 ?? null,
    p95_ms: p95 ?? null,
    p99_ms: p99 ?? null,
    max_ms: r.max_ms,
    apdex_satisfied: apdex.satisfied,
    apdex_tolerating: apdex.tolerating,
    apdex_t_ms: apdex.t,
    // The share of the bucket's error budget the 5xx used: 1 means all of it.
    error_budget_consumed: r.count > 0 ? r.s5 / r.count / (1 - availability) : null,
    sketch: JSON.stringify(sketch.toJSON()),
    updated_at: now,
  };
  const bad = REQUIRED_NUMBERS.filter((c) => !Number.isFinite(row[c]));
  if (bad.length > 0) throw new RangeError(`not a finite number: ${bad.join(", ")}`);
  return row;
}

/** The NOT NULL numeric columns: a non-finite value would reach D1 as null and fail the whole upsert. */
const REQUIRED_NUMBERS = [
  "bucket_start",
  "count",
  "status_2xx",
  "status_3xx",
  "status_4xx",
  "status_5xx",
  "silent_failures",
  "inconsistent",
  "bytes",
  "latency_sum",
  "apdex_satisfied",
  "apdex_tolerating",
  "apdex_t_ms",
  "updated_at",
] as const satisfies readonly (keyof SummaryRow)[];

const COLUMNS: (keyof SummaryRow)[] = [
  "granularity",
  "service",
  "method",
  "route",
  "bucket_start",
  "count",
  "status_2xx",
  "status_3xx",
  "status_4xx",
  "status_5xx",
  "silent_failures",
  "inconsistent",
  "bytes",
  "latency_sum",
  "p50_ms",
  "p90_ms",
  "p95_ms",
  "p99_ms",
  "max_ms",
  "apdex_satisfied",
  "apdex_tolerating",
  "apdex_t_ms",
  "error_budget_consumed",
  "sketch",
  "updated_at",
];
const KEY: (keyof SummaryRow)[] = ["granularity", "service", "method", "route", "bucket_start"];

/** Rows travel as one bound JSON array of positional rows (D1 allows 100 bound values, and a bound string up to 2 MB). */
// A bucket's count only grows (records arrive, retention never recomputes an hour it pruned): a
// row is never replaced by one with a smaller count, so the exact row an endpoint object wrote at
// the D1 cap (src/monitor/capped-summaries.ts) is not undone by the cron's recount of fewer raw rows.
const UPSERT_SQL = `
INSERT INTO summaries (${COLUMNS.join(", ")})
SELECT ${COLUMNS.map((_, i) => `value ->> ${i}`).join(", ")} FROM json_each(?) WHERE true
ON CONFLICT (${KEY.join(", ")}) DO UPDATE SET
${COLUMNS.filter((c) => !KEY.includes(c))
  .map((c) => `${c} = excluded.${c}`)
  .join(",\n")}
WHERE excluded.count >= summaries.count`;

const MAX_STATEMENT_BYTES = 768 * 1024;
const encoder = new TextEncoder();

/** The upsert of `rows`, split so that each bound JSON array stays well under D1's limit. */
export function upsertStatements(db: D1Database, rows: SummaryRow[]): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  let chunk: string[] = [];
  let bytes = 0;
  const flush = () => {
    if (chunk.length === 0) return;
    statements.push(db.prepare(UPSERT_SQL).bind(`[${chunk.join(",")}]`));
    chunk = [];
    bytes = 0;
  };
  for (const row of rows) {
    const json = JSON.stringify(COLUMNS.map((c) => row[c]));
    const size = encoder.encode(json).byteLength + 1;
    if (bytes + size > MAX_STATEMENT_BYTES) flush();
    chunk.push(json);
    bytes += size;
  }
  flush();
  return statements;
}
