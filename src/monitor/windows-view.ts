/**
 * Snapshots of the endpoint's windows for a run of consecutive minutes, computed from one read of
 * the window rows. Evaluating a backfill closes many minutes per hand-off (25 for a 500-record
 * batch at 20 records a minute); reading the 6-hour window from SQLite once per minute made
 * evaluation the longest synchronous stretch of the endpoint object, and the single workerd
 * thread was busy for seconds. Pure: the rows and a sketch lookup are given.
 */
import { LatencySketch } from "../detect/sketch";
import { emptyTotals, type LatencySample, type Snapshot, type Totals } from "../detect/types";
import { HOUR_HORIZON_MS, HOUR_MS, MINUTE_MS } from "./minute-counts";

/** Requests a latency percentile needs; fewer in 5 minutes and the window widens to 15, then 30. */
export const LATENCY_MIN_SAMPLES = 50;
/** The minute windows of a snapshot, by name and length in minutes (the longest bounds the read). */
export const SPANS = [
  ["minute", 1],
  ["w5", 5],
  ["w15", 15],
  ["w30", 30],
  ["w60", 60],
  ["w360", 360],
] as const;
/** The longest minute window, in minutes; the latency windows, shortest first. */
export const LONGEST_SPAN_MINUTES = 360;
export const LATENCY_SPANS = [5, 15, 30] as const;

/** One window row's counts, as stored. */
export interface WindowRow {
  start: number;
  count: number;
  status_4xx: number;
  status_429: number;
  status_5xx: number;
  silent_failures: number;
  inconsistent: number;
  slow: number;
  bytes: number;
}

const toTotals = (r: WindowRow): Totals => ({
  count: r.count,
  status_4xx: r.status_4xx,
  status_429: r.status_429,
  status_5xx: r.status_5xx,
  silent: r.silent_failures,
  inconsistent: r.inconsistent,
  slow: r.slow,
  bytes: r.bytes,
});

function addTotals(into: Totals, t: Totals): void {
  into.count += t.count;
  into.status_4xx += t.status_4xx;
  into.status_429 += t.status_429;
  into.status_5xx += t.status_5xx;
  into.silent += t.silent;
  into.inconsistent += t.inconsistent;
  into.slow += t.slow;
  into.bytes += t.bytes;
}

/** The end (exclusive) of the hour that holds `minute`: the 3-day window ends there. */
export const hourEndOf = (minute: number): number => Math.floor(minute / HOUR_MS) * HOUR_MS + HOUR_MS;

export class WindowsView {
  private readonly minutes: { start: number; totals: Totals }[];
  private readonly hours: { start: number; totals: Totals }[];

  /**
   * `minuteRows` must hold every minute row a snapshot of the covered minutes reads (the 360
   * minutes up to each), `hourRows` every hour row of their 3-day windows; `sketchAt` gives the
   * minute sketch starting at `start` (null when there is none).
   */
  constructor(
    minuteRows: readonly WindowRow[],
    hourRows: readonly WindowRow[],
    private readonly sketchAt: (start: number) => LatencySketch | null,
    private readonly sketchMaxBuckets: number,
  ) {
    this.minutes = minuteRows.map((r) => ({ start: r.start, totals: toTotals(r) })).sort((a, b) => a.start - b.start);
    this.hours = hourRows.map((r) => ({ start: r.start, totals: toTotals(r) }));
  }

  /** The snapshot of the windows that end with the minute starting at `minute`. */
  snapshot(minute: number, minLatencySamples = LATENCY_MIN_SAMPLES): Snapshot {
    const end = minute + MINUTE_MS;
    const windows = {
      minute: emptyTotals(),
      w5: emptyTotals(),
      w15: emptyTotals(),
      w30: emptyTotals(),
      w60: emptyTotals(),
      w360: emptyTotals(),
    };
    const from = end - LONGEST_SPAN_MINUTES * MINUTE_MS;
    for (const r of this.minutes) {
      if (r.start < from) continue;
      if (r.start >= end) break;
      for (const [name, span] of SPANS) if (r.start >= end - span * MINUTE_MS) addTotals(windows[name], r.totals);
    }
    const w3d = emptyTotals();
    const hourEnd = hourEndOf(minute);
    for (const r of this.hours) if (r.start >= hourEnd - HOUR_HORIZON_MS && r.start < hourEnd) addTotals(w3d, r.totals);
    let latency: LatencySample | null = null;
    for (const span of LATENCY_SPANS) {
      const count = span === 5 ? windows.w5.count : span === 15 ? windows.w15.count : windows.w30.count;
      if (count < minLatencySamples) continue;
      const sketch = new LatencySketch(undefined, this.sketchMaxBuckets);
      for (let start = end - span * MINUTE_MS; start < end; start += MINUTE_MS) {
        const s = this.sketchAt(start);
        if (s) sketch.merge(s);
      }
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
}
