import { describe, expect, it } from "vitest";
import { LatencySketch } from "../../src/detect/sketch";
import { HOUR_MS, MINUTE_MS } from "../../src/monitor/minute-counts";
import { WindowsView, type WindowRow } from "../../src/monitor/windows-view";

const T = Date.UTC(2026, 0, 2, 12, 0, 0);
const row = (start: number, count: number, status_5xx = 0): WindowRow => ({
  start,
  count,
  status_4xx: 0,
  status_429: 0,
  status_5xx,
  silent_failures: 0,
  inconsistent: 0,
  slow: 0,
  bytes: 0,
});

/** One sketch per minute holding `count` copies of `value`. */
function sketches(values: Map<number, [number, number]>): (start: number) => LatencySketch | null {
  return (start) => {
    const v = values.get(start);
    if (!v) return null;
    const s = new LatencySketch(undefined, 1024);
    s.add(v[0], v[1]);
    return s;
  };
}

describe("WindowsView", () => {
  it("sums each window that ends with the minute, from rows read once for many minutes", () => {
    // 400 minutes of 10 requests each (every 7th minute with 2 errors), ending at T.
    const minutes = Array.from({ length: 400 }, (_, i) => row(T - (399 - i) * MINUTE_MS, 10, i % 7 === 0 ? 2 : 0));
    const hours = Array.from({ length: 80 }, (_, i) =>
      row(Math.floor(T / HOUR_MS) * HOUR_MS - (79 - i) * HOUR_MS, 100),
    );
    const view = new WindowsView(minutes, hours, () => null, 1024);
    for (const minute of [T, T - 10 * MINUTE_MS]) {
      const s = view.snapshot(minute);
      expect(s.minute_start).toBe(minute);
      expect(s.minute.count).toBe(10);
      expect(s.w5.count).toBe(50);
      expect(s.w15.count).toBe(150);
      expect(s.w60.count).toBe(600);
      expect(s.w360.count).toBe(3600);
      // Errors: minutes whose index is a multiple of 7 among the 360 that end with `minute`.
      const last = 399 - (T - minute) / MINUTE_MS;
      let errors = 0;
      for (let i = last - 359; i <= last; i++) if (i % 7 === 0) errors += 2;
      expect(s.w360.status_5xx).toBe(errors);
      // The 3-day window: the 72 hours that end with the minute's hour.
      expect(s.w3d.count).toBe(72 * 100);
    }
    // A minute later than the rows: only what lies in each window counts.
    expect(view.snapshot(T + 3 * MINUTE_MS).w5.count).toBe(20);
  });

  it("takes latency from the shortest window with enough requests, merging its minute sketches", () => {
    const minutes = Array.from({ length: 30 }, (_, i) => row(T - (29 - i) * MINUTE_MS, 5));
    const values = new Map<number, [number, number]>(minutes.map((r, i) => [r.start, [i < 15 ? 500 : 20, 5]]));
    const view = new WindowsView(minutes, [], sketches(values), 1024);
    // 5 minutes hold 25 requests (< 50): the 15-minute window (75) is used, all at about 20 ms.
    const s = view.snapshot(T);
    expect(s.latency?.window_minutes).toBe(15);
    expect(s.latency?.count).toBe(75);
    expect(s.latency?.p99).toBeCloseTo(20, 0);
    // Needing 100 samples, the 30-minute window (150) is used: half of it at 500 ms.
    const wide = view.snapshot(T, 100);
    expect(wide.latency?.window_minutes).toBe(30);
    expect(wide.latency?.count).toBe(150);
    expect(wide.latency?.max).toBe(500);
    expect(view.snapshot(T, 1000).latency).toBeNull();
  });
});
