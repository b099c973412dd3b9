/**
 * The endpoint Durable Object's event-time windows: one row per minute for the last 6 hours and
 * one per hour for the last 3 days (of event time, behind the newest record), each with its
 * counts and a latency sketch. Memory is bounded whatever the traffic: at most 360 + 72 rows, and
 * each sketch at most SKETCH_MAX_BUCKETS buckets. Snapshots for the detectors are read from here.
 */
import { LatencySketch } from "../detect/sketch";
import { emptyTotals, type LatencySample, type Snapshot, type Totals } from "../detect/types";
import { countByBucket, HOUR_HORIZON_MS, HOUR_MS, MINUTE_HORIZON_MS, MINUTE_MS, type BucketCounts, type WindowRecord } from "./minute-counts";

export const SKETCH_MAX_BUCKETS = 1024;
/** Requests a latency percentile needs; fewer in 5 minutes and the window widens to 15, then 30. */
export const LATENCY_MIN_SAMPLES = 50;

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
     PRIMARY KEY (grain, start)
   ) WITHOUT ROWID`,
  // The per-minute table of the first schema, replaced by `windows`.
  `DROP TABLE IF EXISTS minute_buckets`,
];

const UPSERT = `INSERT INTO windows
  (grain, start, count, status_2xx, status_3xx, status_4xx, status_5xx, silent_failures, inconsistent, slow, latency_sum, latency_max, bytes, sketch)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
    sketch = excluded.sketch`;

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

const toTotals = (r: Row): Totals => ({
  count: r.count,
  status_4xx: r.status_4xx,
  status_5xx: r.status_5xx,
  silent: r.silent_failures,
  inconsistent: r.inconsistent,
  slow: r.slow,
  bytes: r.bytes,
});

function addTotals(into: Totals, t: Totals): void {
  into.count += t.count;
  into.status_4xx += t.status_4xx;
  into.status_5xx += t.status_5xx;
  into.silent += t.silent;
  into.inconsistent += t.inconsistent;
  into.slow += t.slow;
  into.bytes += t.bytes;
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
    for (const b of minutes.buckets) this.upsert(MINUTE_MS, b);
    for (const b of hours.buckets) this.upsert(HOUR_MS, b);
    return hours.older;
  }

  private upsert(grain: number, b: BucketCounts): void {
    const stored = this.sql.exec<{ sketch: string }>("SELECT sketch FROM windows WHERE grain = ? AND start = ?", grain, b.start).toArray()[0];
    const sketch = stored ? LatencySketch.fromJSON(JSON.parse(stored.sketch), SKETCH_MAX_BUCKETS) : new LatencySketch(undefined, SKETCH_MAX_BUCKETS);
    for (const v of b.latencies) sketch.add(v);
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
    );
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

  private mergedSketch(from: number, to: number): LatencySketch {
    const merged = new LatencySketch(undefined, SKETCH_MAX_BUCKETS);
    for (const r of this.sql.exec<{ sketch: string }>("SELECT sketch FROM windows WHERE grain = ? AND start >= ? AND start < ?", MINUTE_MS, from, to)) {
      merged.merge(LatencySketch.fromJSON(JSON.parse(r.sketch), SKETCH_MAX_BUCKETS));
    }
    return merged;
  }

  /** The snapshot of the windows that end with the minute starting at `minute`. */
  snapshot(minute: number, minLatencySamples = LATENCY_MIN_SAMPLES): Snapshot {
    const end = minute + MINUTE_MS;
    const windows = { minute: emptyTotals(), w5: emptyTotals(), w15: emptyTotals(), w30: emptyTotals(), w60: emptyTotals(), w360: emptyTotals() };
    const spans = [
      ["minute", 1],
      ["w5", 5],
      ["w15", 15],
      ["w30", 30],
      ["w60", 60],
      ["w360", 360],
    ] as const;
    for (const r of this.rows(MINUTE_MS, end - 360 * MINUTE_MS, end)) {
      const t = toTotals(r);
      for (const [name, span] of spans) if (r.start >= end - span * MINUTE_MS) addTotals(windows[name], t);
    }
    const w3d = emptyTotals();
    const hourEnd = Math.floor(minute / HOUR_MS) * HOUR_MS + HOUR_MS;
    for (const r of this.rows(HOUR_MS, hourEnd - HOUR_HORIZON_MS, hourEnd)) addTotals(w3d, toTotals(r));
    let latency: LatencySample | null = null;
    for (const span of [5, 15, 30]) {
      const count = span === 5 ? windows.w5.count : span === 15 ? windows.w15.count : windows.w30.count;
      if (count < minLatencySamples) continue;
      const sketch = this.mergedSketch(end - span * MINUTE_MS, end);
      latency = {
        window_minutes: span,
        count: sketch.count,
        p50: sketch.quantile(0.5) ?? 0,
        p95: sketch.quantile(0.95) ?? 0,
        p99: sketch.quantile(0.99) ?? 0,
        max: sketch.max,
      };
      break;
    }
    return { minute_start: minute, ...windows, w3d, latency };
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
