/**
 * The windows the breakdown API answers for, and the answers' shape: up to 6 hours are merged
 * from minute buckets, longer windows (up to 3 days) from hour buckets, both ending with the
 * bucket of the endpoint's newest event time. Pure.
 */
import * as z from "zod";
import { tableView, type Breakdown, type Dimension, type GroupView } from "./top-k";
import { HOUR_MS, MINUTE_MS } from "../lib/time";

/** `window` values accepted by the breakdown API, in ms. */
export const BREAKDOWN_WINDOWS = {
  "5m": 5 * MINUTE_MS,
  "15m": 15 * MINUTE_MS,
  "1h": HOUR_MS,
  "6h": 6 * HOUR_MS,
  "24h": 24 * HOUR_MS,
  "72h": 72 * HOUR_MS,
} as const;
export type BreakdownWindow = keyof typeof BREAKDOWN_WINDOWS;

export const breakdownQuery = z.object({
  window: z.enum(Object.keys(BREAKDOWN_WINDOWS) as [BreakdownWindow, ...BreakdownWindow[]]).default("1h"),
});

/** Which buckets a window reads: its grain and [from, to) of bucket starts. */
export function breakdownRange(windowMs: number, watermark: number): { grain: number; from: number; to: number } {
  const grain = windowMs <= 6 * HOUR_MS ? MINUTE_MS : HOUR_MS;
  const to = Math.floor(watermark / grain) * grain + grain;
  return { grain, from: to - windowMs, to };
}

export interface DimensionView {
  top: GroupView[];
  other: GroupView;
  total: GroupView;
}

/** What `GET /v1/endpoints/.../breakdown` answers. */
export interface BreakdownView {
  window: string;
  /** Event-time range the buckets cover (null: the endpoint has no records yet). */
  from: number | null;
  to: number | null;
  consumers: DimensionView;
  locations: DimensionView;
}

/** A merged breakdown as the API answers it. */
export function breakdownView(window: string, range: { from: number; to: number } | null, b: Breakdown): BreakdownView {
  return {
    window,
    from: range?.from ?? null,
    to: range?.to ?? null,
    consumers: tableView(b.consumer),
    locations: tableView(b.region),
  };
}

/** One bucket of one named group (`GET /v1/summaries?consumer=` / `?region=`). */
export interface GroupBucket {
  bucket_start: number;
  group: GroupView;
}

/**
 * The buckets where `name` is among the top groups of `dimension` (a bucket where it fell into
 * "other", or did not appear, is absent). Its figures are a lower bound (see top-k.ts).
 */
export function groupBuckets(
  buckets: readonly { start: number; breakdown: Breakdown }[],
  dimension: Dimension,
  name: string,
): GroupBucket[] {
  const out: GroupBucket[] = [];
  for (const b of buckets) {
    const group = tableView(b.breakdown[dimension]).top.find((g) => g.name === name);
    if (group) out.push({ bucket_start: b.start, group });
  }
  return out;
}
