/**
 * Shapes the endpoint data into chart columns. An endpoint object keeps minute buckets for 6 hours
 * and hour buckets for 3 days (`GET /v1/endpoints/...` → `series`); older hours come from the
 * hourly summaries in D1 (`GET /v1/summaries`). Short ranges read minutes, long ones hours, with
 * the object's hours preferred where both exist (they are complete up to the last record; a
 * summary is written up to 5 minutes after its hour by the aggregation job). Missing buckets after
 * the first known one are filled as empty ones, so a traffic stop shows as zero requests and rates
 * show a gap; buckets before it are no data (a gap, not zero), and the bucket still in progress is
 * left out of the traffic line (its count is not final). Pure.
 */
import type { Deploy, Incident, MaintenanceWindow, Summary, WindowBucket } from "../../src/api-types";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export type RangeKey = "1h" | "6h" | "24h" | "7d";

export const RANGES: Record<RangeKey, { ms: number; step: number; label: string }> = {
  "1h": { ms: HOUR, step: MINUTE, label: "1 h" },
  "6h": { ms: 6 * HOUR, step: MINUTE, label: "6 h" },
  "24h": { ms: 24 * HOUR, step: HOUR, label: "24 h" },
  "7d": { ms: 7 * 24 * HOUR, step: HOUR, label: "7 d" },
};

/** The range of a `range=` query value (default 6 h). */
export function parseRange(value: string | undefined): RangeKey {
  return value !== undefined && value in RANGES ? (value as RangeKey) : "6h";
}

/** One bucket, whatever its source. */
export interface Point {
  t: number;
  count: number;
  s4xx: number;
  s5xx: number;
  silent: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Before the first bucket known: no data (drawn as a gap), not zero requests. */
  noData?: boolean;
  /** The bucket still in progress at `now`: its count is not final. */
  open?: boolean;
}

export function fromWindow(b: WindowBucket): Point {
  return {
    t: b.start,
    count: b.count,
    s4xx: b.status_4xx,
    s5xx: b.status_5xx,
    silent: b.silent_failures,
    p50: b.p50_ms,
    p95: b.p95_ms,
    p99: b.p99_ms,
  };
}

export function fromSummary(s: Summary): Point {
  return {
    t: s.bucket_start,
    count: s.count,
    s4xx: s.status_4xx,
    s5xx: s.status_5xx,
    silent: s.silent_failures,
    p50: s.p50_ms,
    p95: s.p95_ms,
    p99: s.p99_ms,
  };
}

/** Hourly points: the object's hours where it has them, summaries for the hours before. */
export function mergeHourly(hours: WindowBucket[], summaries: Summary[]): Point[] {
  const byStart = new Map<number, Point>();
  for (const s of summaries) if (s.granularity === "hour") byStart.set(s.bucket_start, fromSummary(s));
  for (const h of hours) byStart.set(h.start, fromWindow(h));
  return [...byStart.values()].sort((a, b) => a.t - b.t);
}

/**
 * The window a range shows: the `ms` before now, or before the endpoint's newest record when that
 * is older than the range (a replay of old traffic, an endpoint that went quiet long ago).
 */
export function rangeWindow(
  range: RangeKey,
  now: number,
  watermark: number | null,
): { from: number; to: number; stale: boolean } {
  const { ms, step } = RANGES[range];
  const stale = watermark !== null && watermark < now - ms;
  const end = stale ? watermark : now;
  const to = Math.floor(end / step) * step + step;
  return { from: to - ms, to, stale };
}

/**
 * The points of [from, to) on a grid of `step`: missing buckets after the first known one filled
 * as empty, those before it marked `noData`, and with `now`, the bucket in progress marked `open`.
 */
export function onGrid(points: Point[], from: number, to: number, step: number, now?: number): Point[] {
  const byStart = new Map(points.map((p) => [p.t, p]));
  const first = points.reduce((min, p) => (p.count > 0 && p.t < min ? p.t : min), Infinity);
  const out: Point[] = [];
  for (let t = Math.ceil(from / step) * step; t < to; t += step) {
    const p = byStart.get(t) ?? { t, count: 0, s4xx: 0, s5xx: 0, silent: 0, p50: null, p95: null, p99: null };
    const flags = {
      ...(t < first ? { noData: true } : {}),
      ...(now !== undefined && t <= now && now < t + step ? { open: true } : {}),
    };
    out.push(Object.keys(flags).length > 0 ? { ...p, ...flags } : p);
  }
  return out;
}

/** Chart columns (uPlot's layout: x in seconds, then one array per series; null is a gap). */
export interface Columns {
  x: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  rate5xx: (number | null)[];
  rate4xx: (number | null)[];
  silentRate: (number | null)[];
  /** null: no data yet, or the bucket in progress (left out rather than drawn as a drop). */
  rpm: (number | null)[];
}

/** Columns of points spaced `step` ms apart: requests per minute, rates in percent. */
export function toColumns(points: Point[], step: number): Columns {
  const perMinute = MINUTE / step;
  const pct = (n: number, d: number) => (d > 0 ? (100 * n) / d : null);
  return {
    x: points.map((p) => p.t / 1000),
    p50: points.map((p) => (p.count > 0 ? p.p50 : null)),
    p95: points.map((p) => (p.count > 0 ? p.p95 : null)),
    p99: points.map((p) => (p.count > 0 ? p.p99 : null)),
    rate5xx: points.map((p) => pct(p.s5xx, p.count)),
    rate4xx: points.map((p) => pct(p.s4xx, p.count)),
    silentRate: points.map((p) => pct(p.silent, p.count)),
    rpm: points.map((p) => (p.noData || p.open ? null : p.count * perMinute)),
  };
}

/** Totals over points: requests, 5xx, 4xx, silent failures. */
export function totals(points: Point[]): { requests: number; s5xx: number; s4xx: number; silent: number } {
  return points.reduce(
    (acc, p) => ({
      requests: acc.requests + p.count,
      s5xx: acc.s5xx + p.s5xx,
      s4xx: acc.s4xx + p.s4xx,
      silent: acc.silent + p.silent,
    }),
    {
      requests: 0,
      s5xx: 0,
      s4xx: 0,
      silent: 0,
    },
  );
}

/** An incident's span on a chart, clipped to [from, to): open ones run to `to`. */
export interface Span {
  id: string;
  start: number;
  end: number;
  severity: string;
  open: boolean;
}

export function incidentSpans(
  incidents: Pick<Incident, "id" | "opened_at" | "resolved_at" | "severity" | "status">[],
  from: number,
  to: number,
): Span[] {
  return incidents
    .map((i) => ({
      id: i.id,
      start: i.opened_at,
      end: i.resolved_at ?? to,
      severity: i.severity,
      open: i.status === "open",
    }))
    .filter((s) => s.end >= from && s.start < to)
    .map((s) => ({ ...s, start: Math.max(s.start, from), end: Math.min(s.end, to) }))
    .sort((a, b) => a.start - b.start);
}

/** The last `n` values of a sparkline (requests per bucket), oldest first, zero-filled. */
export function sparkline(
  points: Point[],
  now: number,
  n: number,
  step = MINUTE,
): { requests: number[]; errors: number[] } {
  const to = Math.floor(now / step) * step + step;
  const grid = onGrid(points, to - n * step, to, step);
  return { requests: grid.map((p) => p.count), errors: grid.map((p) => p.s5xx) };
}

/** A maintenance window's band on a chart, clipped to [from, to). */
export interface WindowBand {
  start: number;
  end: number;
  label: string;
}

/** The windows covering the endpoint (its service, all endpoints or this one) within [from, to). */
export function maintenanceBands(
  windows: MaintenanceWindow[],
  e: { service: string; method: string; route: string },
  from: number,
  to: number,
): WindowBand[] {
  return windows
    .filter(
      (w) =>
        w.service === e.service &&
        (w.endpoints === null || w.endpoints.some((x) => x.method === e.method && x.route === e.route)),
    )
    .filter((w) => w.ends_at > from && w.starts_at < to)
    .map((w) => ({
      start: Math.max(w.starts_at, from),
      end: Math.min(w.ends_at, to),
      label: w.reason ? `maintenance: ${w.reason}` : "maintenance",
    }))
    .sort((a, b) => a.start - b.start);
}

/** A deploy's marker on a chart. */
export interface Marker {
  at: number;
  label: string;
}

/** The deploys of the service within [from, to), oldest first. */
export function deployMarkers(deploys: Deploy[], service: string, from: number, to: number): Marker[] {
  return deploys
    .filter((d) => d.service === service && d.at >= from && d.at < to)
    .map((d) => ({ at: d.at, label: d.version }))
    .sort((a, b) => a.at - b.at);
}
