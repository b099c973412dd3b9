/**
 * The endpoint Durable Object's event-time windows: one row per minute for the last 6 hours and
 * one per hour for the last 3 days (of event time, behind the newest record), each with its
 * counts and a latency sketch. Memory is bounded whatever the traffic: at most 360 + 72 rows, and
 * each sketch at most SKETCH_MAX_BUCKETS buckets. Snapshots for the detectors are read from here.
 *
 * Write-behind: records change the buckets in memory (`dirty`), and `persist()` writes the
 * changed buckets later (the endpoint object does it about once a minute, with a mark of which
 * buffer chunks the stored buckets hold; on wake it adds the newer chunks again). A hand-off then
 * writes no window row: with a row per bucket written per hand-off, the minute and hour rows
 * were two of the object's rows billed per hand-off. Every read sees the buckets in memory.
 */
import { LatencySketch, type SketchData } from "../detect/sketch";
import { addRecordsInPlace, mergeBreakdowns, parseBreakdown, type Breakdown } from "../breakdown/top-k";
import type { Snapshot } from "../detect/types";
import { boundedLatency } from "../ingest/bounds";
import {
  countByBucket,
  HOUR_HORIZON_MS,
  HOUR_MS,
  MINUTE_HORIZON_MS,
  MINUTE_MS,
  type BucketCounts,
  type WindowRecord,
} from "./minute-counts";
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

// A bucket as it is in memory (whole values): an upsert, one row written (INSERT OR REPLACE of an
// existing key would be two).
const UPSERT = `INSERT INTO windows
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

const COLUMNS =
  "start, count, status_2xx, status_3xx, status_4xx, status_429, status_5xx, silent_failures, inconsistent, slow, latency_sum, latency_max, bytes";

type Row = {
  start: number;
  count: number;
  status_2xx: number;
  status_3xx: number;
  status_4xx: number;
  status_429: number;
  status_5xx: number;
  silent_failures: number;
  inconsistent: number;
  slow: number;
  latency_sum: number;
  latency_max: number;
  bytes: number;
};

/** An hour bucket: its counts and its latency sketch (the D1-cap summaries are written from it). */
export type HourWindow = Row & { sketch: LatencySketch };

/** A bucket changed in memory and not yet persisted: its counts, its sketch and breakdown parsed. */
interface DirtyBucket {
  grain: number;
  row: Row;
  sketch: LatencySketch;
  breakdown: Breakdown;
}

type StoredRow = Row & { sketch: string; breakdown: string | null };

const ZERO_ROW = (start: number): Row => ({
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
});

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
  /** Buckets changed since the last `persist()`, by `${grain}:${start}`. */
  private readonly dirty = new Map<string, DirtyBucket>();

  constructor(private readonly sql: SqlStorage) {}

  /**
   * Adds records to their minute and hour buckets, relative to `watermark` (the newest event
   * time): minute buckets take the last 6 hours, hour buckets the last 3 days; older records
   * are counted as late. Returns the late count. Changes memory only (see `persist`).
   */
  add(records: readonly WindowRecord[], watermark: number, slowMs: number): number {
    const minutes = countByBucket(records, MINUTE_MS, watermark - MINUTE_HORIZON_MS, slowMs);
    const hours = countByBucket(records, HOUR_MS, watermark - HOUR_HORIZON_MS, slowMs);
    for (const b of minutes.buckets) this.addTo(MINUTE_MS, b, recordsIn(records, b.start, MINUTE_MS));
    for (const b of hours.buckets) this.addTo(HOUR_MS, b, recordsIn(records, b.start, HOUR_MS));
    return hours.older;
  }

  private addTo(grain: number, b: BucketCounts, records: readonly WindowRecord[]): void {
    const bucket = this.bucket(grain, b.start);
    const r = bucket.row;
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
    for (const v of b.latencies) bucket.sketch.add(v);
    addRecordsInPlace(bucket.breakdown, records);
  }

  /** The bucket in memory, loaded from its row (or new) the first time it changes. */
  private bucket(grain: number, start: number): DirtyBucket {
    const key = `${grain}:${start}`;
    const known = this.dirty.get(key);
    if (known) return known;
    const stored = this.sql
      .exec<StoredRow>(`SELECT ${COLUMNS}, sketch, breakdown FROM windows WHERE grain = ? AND start = ?`, grain, start)
      .toArray()[0];
    const bucket: DirtyBucket = stored
      ? {
          grain,
          row: rowOf(stored),
          sketch: LatencySketch.fromJSON(JSON.parse(stored.sketch) as SketchData, SKETCH_MAX_BUCKETS),
          breakdown: parseBreakdown(stored.breakdown),
        }
      : {
          grain,
          row: ZERO_ROW(start),
          sketch: new LatencySketch(undefined, SKETCH_MAX_BUCKETS),
          breakdown: parseBreakdown(null),
        };
    this.dirty.set(key, bucket);
    return bucket;
  }

  /** The hour bucket starting at `start`, with its sketch (null: none in the windows). */
  hour(start: number): HourWindow | null {
    const changed = this.dirty.get(`${HOUR_MS}:${start}`);
    if (changed) return { ...changed.row, sketch: changed.sketch };
    const stored = this.sql
      .exec<StoredRow>(
        `SELECT ${COLUMNS}, sketch, breakdown FROM windows WHERE grain = ? AND start = ?`,
        HOUR_MS,
        start,
      )
      .toArray()[0];
    return stored
      ? {
          ...rowOf(stored),
          sketch: LatencySketch.fromJSON(JSON.parse(stored.sketch) as SketchData, SKETCH_MAX_BUCKETS),
        }
      : null;
  }

  /** Whether buckets changed since the last `persist()`. */
  changed(): boolean {
    return this.dirty.size > 0;
  }

  /** How many buckets changed since the last `persist()`. */
  changedCount(): number {
    return this.dirty.size;
  }

  /** Writes the changed buckets (one row each) and forgets them. Call inside a transaction. */
  persist(): number {
    let written = 0;
    for (const b of this.dirty.values()) {
      const r = b.row;
      this.sql.exec(
        UPSERT,
        b.grain,
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
        JSON.stringify(b.sketch.toJSON()),
        JSON.stringify(b.breakdown),
      );
      written++;
    }
    this.dirty.clear();
    return written;
  }

  /** The changed buckets of `grain` in [from, to), by start. */
  private dirtyIn(grain: number, from: number, to: number): Map<number, DirtyBucket> {
    const out = new Map<number, DirtyBucket>();
    for (const b of this.dirty.values())
      if (b.grain === grain && b.row.start >= from && b.row.start < to) out.set(b.row.start, b);
    return out;
  }

  /** The consumers and locations of the buckets of `grain` in [from, to), merged (top K plus "other"). */
  breakdown(grain: number, from: number, to: number): Breakdown {
    return mergeBreakdowns(this.breakdownBuckets(grain, from, to).map((b) => b.breakdown));
  }

  /** Each bucket's breakdown of `grain` in [from, to), oldest first (for per-bucket answers). */
  breakdownBuckets(grain: number, from: number, to: number): { start: number; breakdown: Breakdown }[] {
    const dirty = this.dirtyIn(grain, from, to);
    const stored = this.sql
      .exec<{ start: number; breakdown: string | null }>(
        "SELECT start, breakdown FROM windows WHERE grain = ? AND start >= ? AND start < ? ORDER BY start",
        grain,
        from,
        to,
      )
      .toArray()
      .filter((r) => !dirty.has(r.start))
      .map((r) => ({ start: r.start, breakdown: parseBreakdown(r.breakdown) }));
    const changed = [...dirty.values()].map((b) => ({ start: b.row.start, breakdown: structuredClone(b.breakdown) }));
    return [...stored, ...changed].sort((a, b) => a.start - b.start);
  }

  /** Drops buckets past the horizons behind `watermark`. */
  prune(watermark: number): void {
    const minuteCut = watermark - MINUTE_HORIZON_MS - MINUTE_MS;
    const hourCut = watermark - HOUR_HORIZON_MS - HOUR_MS;
    this.sql.exec("DELETE FROM windows WHERE grain = ? AND start < ?", MINUTE_MS, minuteCut);
    this.sql.exec("DELETE FROM windows WHERE grain = ? AND start < ?", HOUR_MS, hourCut);
    for (const [key, b] of this.dirty)
      if (b.row.start < (b.grain === MINUTE_MS ? minuteCut : hourCut)) this.dirty.delete(key);
  }

  clear(): void {
    this.sql.exec("DELETE FROM windows");
    this.dirty.clear();
  }

  private rows(grain: number, from: number, to: number): Row[] {
    const dirty = this.dirtyIn(grain, from, to);
    const stored = this.sql
      .exec<Row>(
        `SELECT ${COLUMNS} FROM windows WHERE grain = ? AND start >= ? AND start < ? ORDER BY start`,
        grain,
        from,
        to,
      )
      .toArray()
      .filter((r) => !dirty.has(r.start));
    if (dirty.size === 0) return stored;
    return [...stored, ...[...dirty.values()].map((b) => ({ ...b.row }))].sort((a, b) => a.start - b.start);
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
      const changed = this.dirty.get(`${MINUTE_MS}:${start}`);
      if (changed) {
        parsed.set(start, changed.sketch);
        return changed.sketch;
      }
      stored ??= new Map(
        this.sql
          .exec<{ start: number; sketch: string }>(
            "SELECT start, sketch FROM windows WHERE grain = ? AND start >= ? AND start < ?",
            MINUTE_MS,
            first + MINUTE_MS - longestLatency * MINUTE_MS,
            end,
          )
          .toArray()
          .map((r) => [r.start, r.sketch]),
      );
      const text = stored.get(start);
      const sketch =
        text === undefined ? null : LatencySketch.fromJSON(JSON.parse(text) as SketchData, SKETCH_MAX_BUCKETS);
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
    const dirty = this.dirtyIn(grain, from, to);
    const stored = this.sql
      .exec<StoredRow>(
        `SELECT ${COLUMNS}, sketch, breakdown FROM windows WHERE grain = ? AND start >= ? AND start < ? ORDER BY start`,
        grain,
        from,
        to,
      )
      .toArray()
      .filter((r) => !dirty.has(r.start))
      .map((r) => ({
        row: rowOf(r),
        sketch: LatencySketch.fromJSON(JSON.parse(r.sketch) as SketchData, SKETCH_MAX_BUCKETS),
      }));
    const all = [...stored, ...[...dirty.values()].map((b) => ({ row: b.row, sketch: b.sketch }))].sort(
      (a, b) => a.row.start - b.row.start,
    );
    return all.map(({ row: r, sketch }) => ({
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
    }));
  }
}

/** The counts of a stored row (without its sketch and breakdown). */
function rowOf(r: StoredRow): Row {
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
