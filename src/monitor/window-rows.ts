/**
 * The `windows` table of the endpoint object (see windows.ts): its schema and migrations, its SQL
 * statements, and the codec between a row and a bucket's counts, sketch and time-series point.
 * Pure but for the two migration steps, which take the object's SQL.
 */
import { LatencySketch, type SketchData } from "../detect/sketch";
import type { BucketCounts } from "./minute-counts";

/** Buckets a window's latency sketch keeps at most (memory stays bounded whatever the traffic). */
export const SKETCH_MAX_BUCKETS = 1024;

export const WINDOW_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS windows (
     grain INTEGER NOT NULL,
     start INTEGER NOT NULL,
     count INTEGER NOT NULL,
     status_2xx INTEGER NOT NULL,
     status_3xx INTEGER NOT NULL,
     status_4xx INTEGER NOT NULL,
     status_5xx INTEGER NOT NULL,
     silent_failures INTEGER NOT NULL,
     inconsistent INTEGER NOT NULL,
     slow INTEGER NOT NULL,
     latency_sum REAL NOT NULL,
     latency_max REAL NOT NULL,
     bytes INTEGER NOT NULL,
     sketch TEXT NOT NULL,
     breakdown TEXT,
     PRIMARY KEY (grain, start)
   ) WITHOUT ROWID`,
  // The per-minute table of the first schema, replaced by `windows`.
  `DROP TABLE IF EXISTS minute_buckets`,
];

/**
 * The 429s of a bucket (a subset of its 4xx), for surges that a rate limiter turns away (schema
 * step 5): added when missing; rows written before it count none.
 */
export function addStatus429(sql: SqlStorage): void {
  const columns = sql.exec<{ name: string }>("PRAGMA table_info(windows)").toArray();
  if (!columns.some((c) => c.name === "status_429"))
    sql.exec("ALTER TABLE windows ADD COLUMN status_429 INTEGER NOT NULL DEFAULT 0");
}

/**
 * Objects created before the breakdown (src/breakdown) get its column: the consumers and
 * locations of a bucket live in the bucket's own row, so they cost no extra row written.
 */
export function migrateWindows(sql: SqlStorage): void {
  try {
    sql.exec("SELECT breakdown FROM windows LIMIT 0");
  } catch {
    sql.exec("ALTER TABLE windows ADD COLUMN breakdown TEXT");
  }
}

/**
 * A bucket as it is in memory (whole values): an upsert, one row written (INSERT OR REPLACE of an
 * existing key would be two). Binds: grain, then the values of `upsertValues`.
 */
export const UPSERT_WINDOW = `INSERT INTO windows
  (grain, start, count, status_2xx, status_3xx, status_4xx, status_429, status_5xx, silent_failures, inconsistent, slow, latency_sum, latency_max, bytes, sketch, breakdown)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (grain, start) DO UPDATE SET
    count = excluded.count,
    status_2xx = excluded.status_2xx,
    status_3xx = excluded.status_3xx,
    status_4xx = excluded.status_4xx,
    status_429 = excluded.status_429,
    status_5xx = excluded.status_5xx,
    silent_failures = excluded.silent_failures,
    inconsistent = excluded.inconsistent,
    slow = excluded.slow,
    latency_sum = excluded.latency_sum,
    latency_max = excluded.latency_max,
    bytes = excluded.bytes,
    sketch = excluded.sketch,
    breakdown = excluded.breakdown`;

/** The count columns of a window row, in `WindowCounts` order. */
export const COUNT_COLUMNS =
  "start, count, status_2xx, status_3xx, status_4xx, status_429, status_5xx, silent_failures, inconsistent, slow, latency_sum, latency_max, bytes";

/** One bucket of `grain` starting at `start`, with its sketch and breakdown (binds: grain, start). */
export const SELECT_BUCKET = `SELECT ${COUNT_COLUMNS}, sketch, breakdown FROM windows WHERE grain = ? AND start = ?`;

/** The buckets of `grain` in [from, to), oldest first, with their sketches and breakdowns (binds: grain, from, to). */
export const SELECT_BUCKETS_IN = `SELECT ${COUNT_COLUMNS}, sketch, breakdown FROM windows WHERE grain = ? AND start >= ? AND start < ? ORDER BY start`;

/**
 * The counts of a window row: a bucket's counts without its latencies (those go into the row's
 * sketch). A mapped type, not an interface: SqlStorage's row type wants an index signature.
 */
export type WindowCounts = Omit<BucketCounts, "latencies">;

/** A window row as stored: its counts, its sketch and breakdown as JSON text. */
export type StoredWindowRow = WindowCounts & { sketch: string; breakdown: string | null };

/** An hour bucket: its counts and its latency sketch (the D1-cap summaries are written from it). */
export type HourWindow = WindowCounts & { sketch: LatencySketch };

/** One bucket as a time-series point: counts and latency percentiles. */
export interface SeriesPoint {
  start: number;
  count: number;
  status_4xx: number;
  status_5xx: number;
  silent_failures: number;
  inconsistent: number;
  latency_avg_ms: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number;
}

/** The counts of an empty bucket starting at `start`. */
export function zeroCounts(start: number): WindowCounts {
  return {
    start,
    count: 0,
    status_2xx: 0,
    status_3xx: 0,
    status_4xx: 0,
    status_429: 0,
    status_5xx: 0,
    silent_failures: 0,
    inconsistent: 0,
    slow: 0,
    latency_sum: 0,
    latency_max: 0,
    bytes: 0,
  };
}

/** The counts of a stored row (without its sketch and breakdown). */
export function countsOf(r: WindowCounts): WindowCounts {
  return {
    start: r.start,
    count: r.count,
    status_2xx: r.status_2xx,
    status_3xx: r.status_3xx,
    status_4xx: r.status_4xx,
    status_429: r.status_429,
    status_5xx: r.status_5xx,
    silent_failures: r.silent_failures,
    inconsistent: r.inconsistent,
    slow: r.slow,
    latency_sum: r.latency_sum,
    latency_max: r.latency_max,
    bytes: r.bytes,
  };
}

/** Adds a batch's counts of one bucket into the bucket's counts `r` (in place). */
export function addBucketCounts(r: WindowCounts, b: BucketCounts): void {
  r.count += b.count;
  r.status_2xx += b.status_2xx;
  r.status_3xx += b.status_3xx;
  r.status_4xx += b.status_4xx;
  r.status_429 += b.status_429;
  r.status_5xx += b.status_5xx;
  r.silent_failures += b.silent_failures;
  r.inconsistent += b.inconsistent;
  r.slow += b.slow;
  r.latency_sum += b.latency_sum;
  r.latency_max = Math.max(r.latency_max, b.latency_max);
  r.bytes += b.bytes;
}

/** The values UPSERT_WINDOW binds after the grain, for a bucket's counts, sketch and breakdown. */
export function upsertValues(r: WindowCounts, sketch: LatencySketch, breakdown: unknown): unknown[] {
  return [
    r.start,
    r.count,
    r.status_2xx,
    r.status_3xx,
    r.status_4xx,
    r.status_429,
    r.status_5xx,
    r.silent_failures,
    r.inconsistent,
    r.slow,
    r.latency_sum,
    r.latency_max,
    r.bytes,
    JSON.stringify(sketch.toJSON()),
    JSON.stringify(breakdown),
  ];
}

/** A stored sketch, parsed (bounded to SKETCH_MAX_BUCKETS). */
export function sketchOf(text: string): LatencySketch {
  return LatencySketch.fromJSON(JSON.parse(text) as SketchData, SKETCH_MAX_BUCKETS);
}

/** A new, empty sketch of a bucket. */
export function emptySketch(): LatencySketch {
  return new LatencySketch(undefined, SKETCH_MAX_BUCKETS);
}

/** A bucket as a time-series point. */
export function seriesPoint(r: WindowCounts, sketch: LatencySketch): SeriesPoint {
  return {
    start: r.start,
    count: r.count,
    status_4xx: r.status_4xx,
    status_5xx: r.status_5xx,
    silent_failures: r.silent_failures,
    inconsistent: r.inconsistent,
    latency_avg_ms: r.count > 0 ? r.latency_sum / r.count : 0,
    p50_ms: sketch.quantile(0.5),
    p95_ms: sketch.quantile(0.95),
    p99_ms: sketch.quantile(0.99),
    max_ms: r.latency_max,
  };
}
