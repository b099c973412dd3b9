/**
 * The endpoint object's read RPCs: counters and backlog (stats), detection detail, the
 * breakdown of consumers and locations, and time series from the windows. Reads only.
 */
import {
  BREAKDOWN_WINDOWS,
  breakdownRange,
  breakdownView,
  groupBuckets,
  type BreakdownView,
  type BreakdownWindow,
  type GroupBucket,
} from "../breakdown/window";
import { emptyBreakdown, type Dimension } from "../breakdown/top-k";
import { windowsCover, type SourcePlan } from "../timeseries/plan";
import { HOUR_MS } from "./minute-counts";
import type { MonitorContext } from "./monitor-context";
import { buildDetail, buildStats, type EndpointDetail, type EndpointStats } from "./stats";
import type { SeriesPoint } from "./window-rows";

/** How recent a successful flush must be for an object to vouch that D1 takes writes. */
const STORAGE_OK_EVIDENCE_MS = 60_000;

/** When D1 last took a flush (kept with the buffer's marks; `last_flush_at` in `meta` before). */
export function lastFlushAt(c: Pick<MonitorContext, "store" | "buffer">): number | null {
  const old = c.store.get("last_flush_at");
  return c.buffer.lastFlushAt() ?? (old === null ? null : Number(old));
}

/** What this object knows of D1's capacity (see IngestResult.storage). */
export function storageReport(c: Pick<MonitorContext, "store" | "buffer">, now: number): "ok" | "full" | undefined {
  if (c.store.get("storage_full_since") !== null) return "full";
  const lastFlush = lastFlushAt(c) ?? 0;
  return now - lastFlush <= STORAGE_OK_EVIDENCE_MS ? "ok" : undefined;
}

/** Counters, backlog and the last hour of minute buckets. */
export function stats(c: MonitorContext): EndpointStats {
  const { store, buffer } = c;
  return buildStats(c.windows, {
    service: store.get("service"),
    method: store.get("method"),
    route: store.get("route"),
    received: store.counter("received"),
    handoffs: store.counter("handoffs"),
    duplicates: store.counter("duplicates"),
    late: store.counter("late"),
    flushed: store.counter("flushed"),
    backlog: buffer.backlog(),
    archived: store.counter("archived"),
    archive_backlog: c.archive() ? buffer.archiveBacklog() : 0,
    archive_failures: store.counter("archive_failures"),
    consecutive_archive_failures: Number(store.get("consecutive_archive_failures") ?? 0),
    buffered_chunks: buffer.chunks(),
    flush_failures: store.counter("flush_failures"),
    quarantined: store.counter("quarantined"),
    in_quarantine: c.quarantine.count(),
    storage: store.get("storage_full_since") === null ? "ok" : "full",
    consecutive_flush_failures: Number(store.get("consecutive_flush_failures") ?? 0),
    last_flush_at: lastFlushAt(c),
    last_event_at: store.counter("last_event_at") || null,
  });
}

/** Stats plus detection: health, active signals, baselines, windows as time series, recent incidents. */
export function detail(c: MonitorContext): EndpointDetail {
  return buildDetail(stats(c), c.windows, c.detection);
}

/** The top consumers and locations over the last `window` of event time. */
export function breakdown(c: MonitorContext, window: BreakdownWindow): BreakdownView {
  const watermark = c.detection.watermark();
  if (watermark === null) return breakdownView(window, null, emptyBreakdown());
  const range = breakdownRange(BREAKDOWN_WINDOWS[window], watermark);
  return breakdownView(window, range, c.windows.breakdown(range.grain, range.from, range.to));
}

/** The hours in [from, to) where `name` is among the top groups of `dimension`. */
export function groupHours(
  c: MonitorContext,
  dimension: Dimension,
  name: string,
  from: number,
  to: number,
): GroupBucket[] {
  return groupBuckets(c.windows.breakdownBuckets(HOUR_MS, from, to), dimension, name);
}

/** The buckets of the first plan the windows cover, or none: index null. */
export function series(
  c: MonitorContext,
  plans: readonly SourcePlan[],
): { watermark: number | null; index: number | null; points: SeriesPoint[] } {
  const watermark = c.detection.watermark();
  const index = plans.findIndex((p) => windowsCover(p.grain, p.from, watermark));
  const plan = plans[index];
  return {
    watermark,
    index: plan ? index : null,
    points: plan ? c.windows.series(plan.grain, plan.from, plan.to) : [],
  };
}
