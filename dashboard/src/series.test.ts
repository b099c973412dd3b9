import { describe, expect, it } from "vitest";
import {
  deployMarkers,
  fromWindow,
  HOUR,
  incidentSpans,
  maintenanceBands,
  mergeHourly,
  MINUTE,
  onGrid,
  parseRange,
  rangeWindow,
  sparkline,
  toColumns,
  totals,
} from "./series";
import type { Summary, WindowBucket } from "../../src/api-types";

const T0 = Date.UTC(2026, 10, 30, 0, 0);

function bucket(start: number, count: number, extra: Partial<WindowBucket> = {}): WindowBucket {
  return {
    start,
    count,
    status_4xx: 0,
    status_5xx: 0,
    silent_failures: 0,
    p50_ms: 80,
    p95_ms: 100,
    p99_ms: 120,
    ...extra,
  };
}

function summary(start: number, count: number): Summary {
  return {
    service: "s",
    method: "GET",
    route: "/",
    granularity: "hour",
    bucket_start: start,
    count,
    status_2xx: count - 3,
    status_3xx: 0,
    status_4xx: 1,
    status_5xx: 2,
    silent_failures: 0,
    inconsistent: 0,
    bytes: null,
    avg_ms: null,
    p50_ms: 70,
    p90_ms: null,
    p95_ms: 90,
    p99_ms: 110,
    max_ms: null,
    apdex: null,
    apdex_t_ms: null,
  };
}

describe("series shaping", () => {
  it("reads a range, defaulting to 6 h", () => {
    expect(parseRange("7d")).toBe("7d");
    expect(parseRange("2w")).toBe("6h");
    expect(parseRange(undefined)).toBe("6h");
  });

  it("ends a range now, or at the newest record when that is older than the range", () => {
    const now = T0 + 10 * HOUR + 30_500;
    expect(rangeWindow("1h", now, now - MINUTE)).toEqual({
      from: T0 + 9 * HOUR + MINUTE,
      to: T0 + 10 * HOUR + MINUTE,
      stale: false,
    });
    const old = rangeWindow("1h", now, T0 + 2 * HOUR + 5 * MINUTE);
    expect(old).toEqual({ from: T0 + HOUR + 6 * MINUTE, to: T0 + 2 * HOUR + 6 * MINUTE, stale: true });
    expect(rangeWindow("24h", now, null)).toEqual({ from: T0 - 13 * HOUR, to: T0 + 11 * HOUR, stale: false });
  });

  it("fills missing buckets on the grid as empty ones", () => {
    const grid = onGrid([fromWindow(bucket(T0 + MINUTE, 10))], T0, T0 + 3 * MINUTE, MINUTE);
    expect(grid.map((p) => [p.t, p.count, p.p95])).toEqual([
      [T0, 0, null],
      [T0 + MINUTE, 10, 100],
      [T0 + 2 * MINUTE, 0, null],
    ]);
  });

  it("prefers the object's hours to summaries and uses summaries before them", () => {
    const merged = mergeHourly([bucket(T0 + HOUR, 60)], [summary(T0, 30), summary(T0 + HOUR, 55)]);
    expect(merged.map((p) => [p.t, p.count])).toEqual([
      [T0, 30],
      [T0 + HOUR, 60],
    ]);
    expect(mergeHourly([], [{ ...summary(T0, 1), granularity: "day" }])).toEqual([]);
  });

  it("turns buckets into columns: seconds on x, requests per minute, rates in percent, gaps where empty", () => {
    const points = [
      fromWindow(bucket(T0, 40, { status_5xx: 10, status_4xx: 2, silent_failures: 4 })),
      fromWindow(bucket(T0 + MINUTE, 0)),
    ];
    const cols = toColumns(points, MINUTE);
    expect(cols.x).toEqual([T0 / 1000, T0 / 1000 + 60]);
    expect(cols.rpm).toEqual([40, 0]);
    expect(cols.rate5xx).toEqual([25, null]);
    expect(cols.rate4xx).toEqual([5, null]);
    expect(cols.silentRate).toEqual([10, null]);
    expect(cols.p95).toEqual([100, null]);
    expect(toColumns([fromWindow(bucket(T0, 600))], HOUR).rpm).toEqual([10]);
  });

  it("totals requests and failures", () => {
    expect(
      totals([
        fromWindow(bucket(T0, 10, { status_5xx: 1 })),
        fromWindow(bucket(T0 + MINUTE, 5, { status_4xx: 2, silent_failures: 1 })),
      ]),
    ).toEqual({ requests: 15, s5xx: 1, s4xx: 2, silent: 1 });
  });

  it("clips incident spans to the range, open ones to its end", () => {
    const incidents = [
      {
        id: "a",
        opened_at: T0 - HOUR,
        resolved_at: T0 + 10 * MINUTE,
        severity: "WARNING" as const,
        status: "resolved" as const,
      },
      {
        id: "b",
        opened_at: T0 + 30 * MINUTE,
        resolved_at: null,
        severity: "CRITICAL" as const,
        status: "open" as const,
      },
      {
        id: "c",
        opened_at: T0 - 3 * HOUR,
        resolved_at: T0 - 2 * HOUR,
        severity: "WARNING" as const,
        status: "resolved" as const,
      },
    ];
    expect(incidentSpans(incidents, T0, T0 + HOUR)).toEqual([
      { id: "a", start: T0, end: T0 + 10 * MINUTE, severity: "WARNING", open: false },
      { id: "b", start: T0 + 30 * MINUTE, end: T0 + HOUR, severity: "CRITICAL", open: true },
    ]);
  });

  it("makes a zero-filled sparkline of the last n minutes", () => {
    const s = sparkline([fromWindow(bucket(T0 + 58 * MINUTE, 7, { status_5xx: 3 }))], T0 + 59 * MINUTE + 5000, 3);
    expect(s).toEqual({ requests: [0, 7, 0], errors: [0, 3, 0] });
  });

  it("draws minutes before the first record as a gap, a later stop as zero, and leaves the minute in progress out of the traffic line", () => {
    const points = [bucket(T0 + 2 * MINUTE, 30), bucket(T0 + 4 * MINUTE, 30), bucket(T0 + 5 * MINUTE, 3)].map(
      fromWindow,
    );
    const now = T0 + 5 * MINUTE + 6_000;
    const grid = onGrid(points, T0, T0 + 6 * MINUTE, MINUTE, now);
    expect(grid.map((p) => [p.noData ?? false, p.open ?? false])).toEqual([
      [true, false],
      [true, false],
      [false, false],
      [false, false],
      [false, false],
      [false, true],
    ]);
    // Before the first record: no data; the stop at minute 3: zero; the open minute 5 (3 requests so far): left out.
    expect(toColumns(grid, MINUTE).rpm).toEqual([null, null, 30, 0, 30, null]);
    // Without `now` (a range that ends before now) the last bucket is drawn.
    expect(toColumns(onGrid(points, T0, T0 + 6 * MINUTE, MINUTE), MINUTE).rpm.at(-1)).toBe(3);
    // No records at all: nothing but gaps.
    expect(toColumns(onGrid([], T0, T0 + 2 * MINUTE, MINUTE), MINUTE).rpm).toEqual([null, null]);
  });

  it("places maintenance windows of the endpoint and deploys of its service on the range", () => {
    const e = { service: "shop", method: "GET", route: "/orders/:id" };
    const w = (id: string, starts: number, ends: number, extra: Record<string, unknown> = {}) => ({
      id,
      service: "shop",
      endpoints: null,
      starts_at: starts,
      ends_at: ends,
      reason: null,
      created_at: starts,
      active: false,
      ...extra,
    });
    const bands = maintenanceBands(
      [
        w("a", T0 - HOUR, T0 + 10 * MINUTE, { reason: "db" }),
        w("b", T0 + 20 * MINUTE, T0 + 30 * MINUTE, { endpoints: [{ method: "POST", route: "/orders" }] }),
        w("c", T0 + 40 * MINUTE, T0 + 3 * HOUR),
        w("d", T0 + 5 * HOUR, T0 + 6 * HOUR),
        { ...w("e", T0, T0 + HOUR), service: "other" },
      ],
      e,
      T0,
      T0 + HOUR,
    );
    expect(bands).toEqual([
      { start: T0, end: T0 + 10 * MINUTE, label: "maintenance: db" },
      { start: T0 + 40 * MINUTE, end: T0 + HOUR, label: "maintenance" },
    ]);
    const d = (version: string, at: number, service = "shop") => ({
      id: version,
      service,
      version,
      at,
      description: null,
      source: "api" as const,
    });
    expect(
      deployMarkers(
        [d("v2", T0 + 30 * MINUTE), d("v1", T0 + MINUTE), d("v0", T0 - MINUTE), d("x", T0 + 2 * MINUTE, "other")],
        "shop",
        T0,
        T0 + HOUR,
      ),
    ).toEqual([
      { at: T0 + MINUTE, label: "v1" },
      { at: T0 + 30 * MINUTE, label: "v2" },
    ]);
  });
});
