/**
 * The endpoint Durable Object's event-time windows: one row per minute for the last 6 hours and
 * one per hour for the last 3 days (of event time, behind the newest record), each with its
 * counts and a latency sketch. Memory is bounded whatever the traffic: at most 360 + 72 rows, and
 * each sketch at most SKETCH_MAX_BUCKETS buckets. Snapshots for the detectors are read from here.
 */
import { LatencySketch } from "../detect/sketch";
import { addRecordsInPlace, mergeBreakdowns, parseBreakdown, type Breakdown } from "../breakdown/top-k";
import type { Snapshot } from "../detect/types";
import { boundedLatency } from "../ingest/bounds";
import { countByBucket, HOUR_HORIZON_MS, HOUR_MS, MINUTE_HORIZON_MS, MINUTE_MS, type BucketCounts, type WindowRecord } from "./minute-counts";
import { hourEndOf, LATENCY_MIN_SAMPLES, LATENCY_SPANS, LONGEST_SPAN_MINUTES, WindowsView } from "./windows-view";

export const SKETCH_MAX_BUCKETS = 1024;
export { LATENCY_MIN_SAMPLES } from "./windows-view";

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

const UPSERT = `INSERT INTO windows
  (grain, start, count, status_2xx, status_3xx, status_4xx, status_5xx, silent_failures, inconsistent, slow, latency_sum, latency_max, bytes, sketch, breakdown)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (grain, start) DO UPDATE SET
    count = count + excluded.count,
    status_2xx = status_2xx + excluded.status_2xx,
    status_3xx = status_3xx + excluded.status_3xx,
    status_4xx = status_4xx + excluded.status_4xx,
    status_5xx = status_5xx + excluded.status_5xx,
    silent_failures = silent_failures + excluded.silent_failures,
    inconsistent = inconsistent + excluded.inconsistent,
    slow = slow + excluded.slow,
    latency_sum = latency_sum + excluded.latency_sum,
    latency_max = max(latency_max, excluded.latency_max),
    bytes = bytes + excluded.bytes,
    sketch = excluded.sketch,
    breakdown = excluded.breakdown`;

type Row = {
  start: number;
  count: number;
  status_2xx: number;
  status_3xx: number;
  status_4xx: number;
  status_5xx: number;
  silent_failures: number;
  inconsistent: number;
  slow: number;
  latency_sum: number;
  latency_max: number;
  bytes: number;
};

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

/** The records of the bucket starting at `start` (the same test as countByBucket's, latencies clamped alike). */
function recordsIn(records: readonly WindowRecord[], start: number, grain: number): WindowRecord[] {
  return records
    .filter((r) => Math.floor(r.timestamp / grain) * grain === start)
    .map((r) => ({ ...r, latency_ms: boundedLatency(r.latency_ms) }));
}

export class EndpointWindows {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Adds records to their minute and hour buckets, relative to `watermark` (the newest event
   * time): minute buckets take the last 6 hours, hour buckets the last 3 days; older records
   * are counted as late. Returns the late count. Call inside a transaction.
   */
  add(records: readonly WindowRecord[], watermark: number, slowMs: number): number {
    const minutes = countByBucket(records, MINUTE_MS, watermark - MINUTE_HORIZON_MS, slowMs);
    const hours = countByBucket(records, HOUR_MS, watermark - HOUR_HORIZON_MS, slowMs);
    for (const b of minutes.buckets) this.upsert(MINUTE_MS, b, recordsIn(records, b.start, MINUTE_MS));
    for (const b of hours.buckets) this.upsert(HOUR_MS, b, recordsIn(records, b.start, HOUR_MS));
    return hours.older;
  }

  private upsert(grain: number, b: BucketCounts, records: readonly WindowRecord[]): void {
    const stored = this.sql.exec<{ sketch: string; breakdown: string | null }>("SELECT sketch, breakdown FROM windows WHERE grain = ? AND start = ?", grain, b.start).toArray()[0];
    const sketch = stored ? LatencySketch.fromJSON(JSON.parse(stored.sketch), SKETCH_MAX_BUCKETS) : new LatencySketch(undefined, SKETCH_MAX_BUCKETS);
    for (const v of b.latencies) sketch.add(v);
    const breakdown = addRecordsInPlace(parseBreakdown(stored?.breakdown ?? null), records);
    this.sql.exec(
      UPSERT,
      grain,
      b.start,
      b.count,
      b.status_2xx,
      b.status_3xx,
      b.status_4xx,
      b.status_5xx,
      b.silent_failures,
      b.inconsistent,
      b.slow,
      b.latency_sum,
      b.latency_max,
      b.bytes,
      JSON.stringify(sketch.toJSON()),
      JSON.stringify(breakdown),
    );
  }

  /** The consumers and locations of the buckets of `grain` in [from, to), merged (top K plus "other"). */
  breakdown(grain: number, from: number, to: number): Breakdown {
    const rows = this.sql
      .exec<{ breakdown: string | null }>("SELECT breakdown FROM windows WHERE grain = ? AND start >= ? AND start < ?", grain, from, to)
      .toArray();
    return mergeBreakdowns(rows.map((r) => parseBreakdown(r.breakdown)));
  }

  /** Each bucket's breakdown of `grain` in [from, to), oldest first (for per-bucket answers). */
  breakdownBuckets(grain: number, from: number, to: number): { start: number; breakdown: Breakdown }[] {
    return this.sql
      .exec<{ start: number; breakdown: string | null }>("SELECT start, breakdown FROM windows WHERE grain = ? AND start >= ? AND start < ? ORDER BY start", grain, from, to)
      .toArray()
      .map((r) => ({ start: r.start, breakdown: parseBreakdown(r.breakdown) }));
  }

  /** Drops buckets past the horizons behind `watermark`. */
  prune(watermark: number): void {
    this.sql.exec("DELETE FROM windows WHERE grain = ? AND start < ?", MINUTE_MS, watermark - MINUTE_HORIZON_MS - MINUTE_MS);
    this.sql.exec("DELETE FROM windows WHERE grain = ? AND start < ?", HOUR_MS, watermark - HOUR_HORIZON_MS - HOUR_MS);
  }

  clear(): void {
    this.sql.exec("DELETE FROM windows");
  }

  private rows(grain: number, from: number, to: number): Row[] {
    return this.sql
      .exec<Row>(
        `SELECT start, count, status_2xx, status_3xx, status_4xx, status_5xx, silent_failures, inconsistent, slow, latency_sum, latency_max, bytes
         FROM windows WHERE grain = ? AND start >= ? AND start < ? ORDER BY start`,
        grain,
        from,
        to,
      )
      .toArray();
  }

  /**
   * The windows as of now, for snapshots of the minutes `first`..`last`: their rows are read once
   * (not once per minute), and each minute sketch is parsed at most once, when a latency window
   * needs it. Valid until the windows change.
   */
  view(first: number, last: number): WindowsView {
    const end = last + MINUTE_MS;
    const minuteRows = this.rows(MINUTE_MS, first + MINUTE_MS - LONGEST_SPAN_MINUTES * MINUTE_MS, end);
    const hourRows = this.rows(HOUR_MS, hourEndOf(first) - HOUR_HORIZON_MS, hourEndOf(last));
    const longestLatency = LATENCY_SPANS[LATENCY_SPANS.length - 1] ?? 0;
    let stored: Map<number, string> | null = null;
    const parsed = new Map<number, LatencySketch | null>();
    const sketchAt = (start: number): LatencySketch | null => {
      const known = parsed.get(start);
      if (known !== undefined) return known;
      stored ??= new Map(
        this.sql
          .exec<{ start: number; sketch: string }>("SELECT start, sketch FROM windows WHERE grain = ? AND start >= ? AND start < ?", MINUTE_MS, first + MINUTE_MS - longestLatency * MINUTE_MS, end)
          .toArray()
          .map((r) => [r.start, r.sketch]),
      );
      const text = stored.get(start);
      const sketch = text === undefined ? null : LatencySketch.fromJSON(JSON.parse(text), SKETCH_MAX_BUCKETS);
      parsed.set(start, sketch);
      return sketch;
    };
    return new WindowsView(minuteRows, hourRows, sketchAt, SKETCH_MAX_BUCKETS);
  }

  /** The snapshot of the windows that end with the minute starting at `minute`. */
  snapshot(minute: number, minLatencySamples = LATENCY_MIN_SAMPLES): Snapshot {
    return this.view(minute, minute).snapshot(minute, minLatencySamples);
  }

  /** Buckets of `grain` between `from` and `to` as time-series points. */
  series(grain: number, from: number, to: number): SeriesPoint[] {
    const rows = this.sql
      .exec<Row & { sketch: string }>(
        `SELECT start, count, status_4xx, status_5xx, silent_failures, inconsistent, latency_sum, latency_max, sketch
         FROM windows WHERE grain = ? AND start >= ? AND start < ? ORDER BY start`,
        grain,
        from,
        to,
      )
      .toArray();
    return rows.map((r) => {
      const sketch = LatencySketch.fromJSON(JSON.parse(r.sketch), SKETCH_MAX_BUCKETS);
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
    });
  }
}
