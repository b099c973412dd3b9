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
 * The table's schema, statements and row codec are in window-rows.ts.
 */
import type { LatencySketch } from "../detect/sketch";
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
import {
  addBucketCounts,
  COUNT_COLUMNS,
  countsOf,
  emptySketch,
  SELECT_BUCKET,
  SELECT_BUCKETS_IN,
  seriesPoint,
  SKETCH_MAX_BUCKETS,
  sketchOf,
  UPSERT_WINDOW,
  upsertValues,
  zeroCounts,
  type HourWindow,
  type SeriesPoint,
  type StoredWindowRow,
  type WindowCounts,
} from "./window-rows";

/** A bucket changed in memory and not yet persisted: its counts, its sketch and breakdown parsed. */
interface DirtyBucket {
  grain: number;
  row: WindowCounts;
  sketch: LatencySketch;
  breakdown: Breakdown;
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
    addBucketCounts(bucket.row, b);
    for (const v of b.latencies) bucket.sketch.add(v);
    addRecordsInPlace(bucket.breakdown, records);
  }

  /** The bucket in memory, loaded from its row (or new) the first time it changes. */
  private bucket(grain: number, start: number): DirtyBucket {
    const key = `${grain}:${start}`;
    const known = this.dirty.get(key);
    if (known) return known;
    const stored = this.sql.exec<StoredWindowRow>(SELECT_BUCKET, grain, start).toArray()[0];
    const bucket: DirtyBucket = stored
      ? { grain, row: countsOf(stored), sketch: sketchOf(stored.sketch), breakdown: parseBreakdown(stored.breakdown) }
      : { grain, row: zeroCounts(start), sketch: emptySketch(), breakdown: parseBreakdown(null) };
    this.dirty.set(key, bucket);
    return bucket;
  }

  /** The hour bucket starting at `start`, with its sketch (null: none in the windows). */
  hour(start: number): HourWindow | null {
    const changed = this.dirty.get(`${HOUR_MS}:${start}`);
    if (changed) return { ...changed.row, sketch: changed.sketch };
    const stored = this.sql.exec<StoredWindowRow>(SELECT_BUCKET, HOUR_MS, start).toArray()[0];
    return stored ? { ...countsOf(stored), sketch: sketchOf(stored.sketch) } : null;
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
      this.sql.exec(UPSERT_WINDOW, b.grain, ...upsertValues(b.row, b.sketch, b.breakdown));
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

  private rows(grain: number, from: number, to: number): WindowCounts[] {
    const dirty = this.dirtyIn(grain, from, to);
    const stored = this.sql
      .exec<WindowCounts>(
        `SELECT ${COUNT_COLUMNS} FROM windows WHERE grain = ? AND start >= ? AND start < ? ORDER BY start`,
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
      const sketch = text === undefined ? null : sketchOf(text);
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
      .exec<StoredWindowRow>(SELECT_BUCKETS_IN, grain, from, to)
      .toArray()
      .filter((r) => !dirty.has(r.start))
      .map((r) => ({ row: countsOf(r), sketch: sketchOf(r.sketch) }));
    const changed = [...dirty.values()].map((b) => ({ row: b.row, sketch: b.sketch }));
    return [...stored, ...changed].sort((a, b) => a.row.start - b.row.start).map((b) => seriesPoint(b.row, b.sketch));
  }
}
