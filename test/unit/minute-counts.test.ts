import { describe, expect, it } from "vitest";
import { MAX_BYTES, MAX_LATENCY_MS } from "../../src/ingest/bounds";
import type { LogRecord } from "../../src/ingest/record";
import {
  HOUR_HORIZON_MS,
  HOUR_MS,
  MINUTE_HORIZON_MS,
  MINUTE_MS,
  countByBucket,
  flushBackoffMs,
} from "../../src/monitor/minute-counts";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const T0 = Date.UTC(2026, 0, 1, 11, 30, 0);
/** A `since` far enough back that nothing in these tests is older. */
const SINCE = NOW - MINUTE_HORIZON_MS;

let seq = 0;
function record(overrides: Partial<LogRecord> = {}): LogRecord {
  seq++;
  return {
    key: `g:${seq}`,
    timestamp: T0,
    received_at: NOW,
    service: "svc",
    method: "GET",
    route: "/x",
    path: "/x",
    status: 200,
    latency_ms: 10,
    ttfb_ms: null,
    request_bytes: null,
    response_bytes: null,
    error: null,
    response_empty: false,
    inconsistent: false,
    id: null,
    request_id: null,
    client_ip: null,
    user_agent: null,
    consumer: null,
    region: null,
    attributes: null,
    source: "ingest",
    ...overrides,
  };
}

const byMinute = (records: LogRecord[], slowMs?: number) => countByBucket(records, MINUTE_MS, SINCE, slowMs);

describe("countByBucket", () => {
  it("keeps the horizons of the SLO windows", () => {
    expect(MINUTE_HORIZON_MS).toBe(6 * 60 * 60 * 1000);
    expect(HOUR_HORIZON_MS).toBe(72 * 60 * 60 * 1000);
    expect(HOUR_MS).toBe(60 * MINUTE_MS);
  });

  it("returns no buckets for no records", () => {
    expect(byMinute([])).toEqual({ buckets: [], older: 0 });
  });

  it("counts one record in its minute", () => {
    const { buckets, older } = byMinute([
      record({ timestamp: T0 + 12_345, latency_ms: 7, request_bytes: 3, response_bytes: 5 }),
    ]);
    expect(older).toBe(0);
    expect(buckets).toEqual([
      {
        start: T0,
        count: 1,
        status_2xx: 1,
        status_3xx: 0,
        status_4xx: 0,
        status_429: 0,
        status_5xx: 0,
        silent_failures: 0,
        inconsistent: 0,
        slow: 0,
        latency_sum: 7,
        latency_max: 7,
        bytes: 8,
        latencies: [7],
      },
    ]);
  });

  it("groups by the event-time minute, floor of the timestamp", () => {
    const { buckets } = byMinute([
      record({ timestamp: T0 }),
      record({ timestamp: T0 + MINUTE_MS - 1 }),
      record({ timestamp: T0 + MINUTE_MS }),
      record({ timestamp: T0 - 1 }),
    ]);
    expect(buckets.map((b) => [b.start, b.count])).toEqual([
      [T0 - MINUTE_MS, 1],
      [T0, 2],
      [T0 + MINUTE_MS, 1],
    ]);
  });

  it("groups by the hour with hour buckets", () => {
    const hour = Date.UTC(2026, 0, 1, 11, 0, 0);
    const { buckets } = countByBucket(
      [
        record({ timestamp: hour }),
        record({ timestamp: hour + 59 * MINUTE_MS + 59_999, status: 503 }),
        record({ timestamp: hour + HOUR_MS }),
        record({ timestamp: hour - 1 }),
      ],
      HOUR_MS,
      NOW - HOUR_HORIZON_MS,
    );
    expect(buckets.map((b) => [b.start, b.count, b.status_5xx])).toEqual([
      [hour - HOUR_MS, 1, 0],
      [hour, 2, 1],
      [hour + HOUR_MS, 1, 0],
    ]);
  });

  it("sorts buckets by start whatever the input order", () => {
    const { buckets } = byMinute([
      record({ timestamp: T0 + 5 * MINUTE_MS }),
      record({ timestamp: T0 }),
      record({ timestamp: T0 + 2 * MINUTE_MS }),
    ]);
    expect(buckets.map((b) => b.start)).toEqual([T0, T0 + 2 * MINUTE_MS, T0 + 5 * MINUTE_MS]);
  });

  it("uses event time, not the receive time", () => {
    const { buckets } = byMinute([record({ timestamp: T0, received_at: NOW })]);
    expect(buckets[0]?.start).toBe(T0);
  });

  it("counts status classes, including their boundaries", () => {
    const statuses = [200, 204, 299, 300, 304, 399, 400, 404, 499, 500, 503, 599];
    const { buckets } = byMinute(statuses.map((status) => record({ status })));
    expect(buckets).toHaveLength(1);
    expect(buckets[0]).toMatchObject({ count: 12, status_2xx: 3, status_3xx: 3, status_4xx: 3, status_5xx: 3 });
  });

  it("counts 429s apart, as a part of the 4xx", () => {
    const { buckets } = byMinute([429, 429, 404, 400, 503, 200].map((status) => record({ status })));
    expect(buckets[0]).toMatchObject({ count: 6, status_4xx: 4, status_429: 2, status_5xx: 1 });
  });

  it("counts 1xx records in the total only", () => {
    const { buckets } = byMinute([record({ status: 101 }), record({ status: 200 })]);
    expect(buckets[0]).toMatchObject({ count: 2, status_2xx: 1, status_3xx: 0, status_4xx: 0, status_5xx: 0 });
  });

  it("counts silent failures: empty responses with a 2xx status only", () => {
    const { buckets } = byMinute([
      record({ status: 200, response_empty: true }),
      record({ status: 204, response_empty: true }),
      record({ status: 200, response_empty: false }),
      record({ status: 304, response_empty: true }),
      record({ status: 500, response_empty: true }),
      record({ status: 101, response_empty: true }),
    ]);
    expect(buckets[0]?.silent_failures).toBe(2);
  });

  it("counts inconsistent responses whatever their status", () => {
    const { buckets } = byMinute([
      record({ status: 200, inconsistent: true }),
      record({ status: 500, inconsistent: true }),
      record({ status: 200, inconsistent: false }),
    ]);
    expect(buckets[0]).toMatchObject({ count: 3, inconsistent: 2 });
  });

  it("counts as slow only latencies strictly above slowMs", () => {
    const { buckets } = byMinute(
      [999, 1000, 1000.5, 1001, 5000].map((latency_ms) => record({ latency_ms })),
      1000,
    );
    expect(buckets[0]?.slow).toBe(3);
  });

  it("counts nothing as slow without a slowMs", () => {
    const { buckets } = byMinute([record({ latency_ms: 600_000 })]);
    expect(buckets[0]?.slow).toBe(0);
  });

  it("sums and maxes latency per minute and collects every latency", () => {
    const { buckets } = byMinute([
      record({ timestamp: T0, latency_ms: 10 }),
      record({ timestamp: T0 + 1, latency_ms: 250.5 }),
      record({ timestamp: T0 + 2, latency_ms: 0 }),
      record({ timestamp: T0 + MINUTE_MS, latency_ms: 3 }),
    ]);
    expect(buckets[0]).toMatchObject({ latency_sum: 260.5, latency_max: 250.5, latencies: [10, 250.5, 0] });
    expect(buckets[1]).toMatchObject({ latency_sum: 3, latency_max: 3, latencies: [3] });
  });

  it("sums request and response bytes, treating null as 0", () => {
    const { buckets } = byMinute([
      record({ request_bytes: 100, response_bytes: 2000 }),
      record({ request_bytes: null, response_bytes: 50 }),
      record({ request_bytes: 7, response_bytes: null }),
      record({ request_bytes: null, response_bytes: null }),
    ]);
    expect(buckets[0]?.bytes).toBe(2157);
  });

  it("counts records before `since` as older and leaves them out of the buckets", () => {
    const { buckets, older } = byMinute([
      record({ timestamp: SINCE - 1, status: 500 }),
      record({ timestamp: NOW - 24 * HOUR_MS }),
      record({ timestamp: T0, status: 200 }),
    ]);
    expect(older).toBe(2);
    expect(buckets).toHaveLength(1);
    expect(buckets[0]).toMatchObject({ start: T0, count: 1, status_5xx: 0 });
  });

  it("still buckets a record exactly at `since`", () => {
    const { buckets, older } = byMinute([record({ timestamp: SINCE })]);
    expect(older).toBe(0);
    expect(buckets.map((b) => b.start)).toEqual([SINCE]);
  });

  it("returns only an older count when every record is older", () => {
    expect(byMinute([record({ timestamp: 0 }), record({ timestamp: 1 })])).toEqual({ buckets: [], older: 2 });
  });

  it("buckets records in the future", () => {
    const { buckets, older } = byMinute([record({ timestamp: NOW + 2 * MINUTE_MS + 5 })]);
    expect(older).toBe(0);
    expect(buckets[0]?.start).toBe(NOW + 2 * MINUTE_MS);
  });

  it("does not mutate its input", () => {
    const records = [record({ timestamp: T0, latency_ms: 2000 }), record({ timestamp: 0 })];
    const copy = structuredClone(records);
    byMinute(records, 1000);
    expect(records).toEqual(copy);
  });
});

describe("flushBackoffMs", () => {
  const mid = () => 0.5;

  it("doubles from 1 s with no jitter at the midpoint", () => {
    expect([1, 2, 3, 4, 5, 6].map((f) => flushBackoffMs(f, mid))).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000]);
  });

  it("caps the base delay at 60 s", () => {
    expect(flushBackoffMs(7, mid)).toBe(60_000);
    expect(flushBackoffMs(20, mid)).toBe(60_000);
    expect(flushBackoffMs(10_000, mid)).toBe(60_000);
  });

  it("treats zero or negative failures as the first retry", () => {
    expect(flushBackoffMs(0, mid)).toBe(1000);
    expect(flushBackoffMs(-5, mid)).toBe(1000);
  });

  it("applies jitter between 75% and 125% of the base", () => {
    expect(flushBackoffMs(1, () => 0)).toBe(750);
    expect(flushBackoffMs(1, () => 0.999999)).toBe(1250);
    expect(flushBackoffMs(3, () => 0)).toBe(3000);
    expect(flushBackoffMs(3, () => 0.25)).toBe(3500);
    expect(flushBackoffMs(20, () => 0)).toBe(45_000);
    expect(flushBackoffMs(20, () => 0.999999)).toBe(60_000); // jitter never lifts it past the cap
  });

  it("stays within its bounds with the default random source", () => {
    // Nominal delays written out: 1 s doubling per failure, capped at 60 s.
    const nominal = [1000, 1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000];
    for (let failures = 0; failures <= 12; failures++) {
      const base = nominal[failures] ?? 60_000;
      for (let i = 0; i < 50; i++) {
        const ms = flushBackoffMs(failures);
        expect(Number.isInteger(ms)).toBe(true);
        expect(ms).toBeGreaterThanOrEqual(base * 0.75);
        expect(ms).toBeLessThanOrEqual(Math.min(60_000, base * 1.25));
      }
    }
  });

  it("never decreases as failures grow, for the same jitter", () => {
    for (const r of [0, 0.3, 0.999]) {
      const delays = Array.from({ length: 12 }, (_, i) => flushBackoffMs(i + 1, () => r));
      for (let i = 1; i < delays.length; i++) {
        expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] ?? 0);
      }
    }
  });
});

describe("countByBucket over values past the ingest bounds (rows re-read from D1 that predate them)", () => {
  it("counts latencies and byte counts at their bounds, so a bucket's sums stay finite", () => {
    const records = [
      record({ latency_ms: 1.79e308, request_bytes: 2 ** 53 - 1 }),
      record({ latency_ms: 1.79e308, response_bytes: 2 ** 62 }),
      record({ latency_ms: Number.POSITIVE_INFINITY }),
      record({ latency_ms: -5, request_bytes: -1 }),
      record({ latency_ms: 30, request_bytes: 10, response_bytes: 20 }),
    ];
    const [b] = countByBucket(records, MINUTE_MS, SINCE, 1000).buckets;
    expect(b?.count).toBe(5);
    expect(b?.latency_sum).toBe(3 * MAX_LATENCY_MS + 30);
    expect(b?.latency_max).toBe(MAX_LATENCY_MS);
    expect(b?.bytes).toBe(2 * MAX_BYTES + 30);
    expect(b?.slow).toBe(3);
    expect(b?.latencies).toEqual([MAX_LATENCY_MS, MAX_LATENCY_MS, MAX_LATENCY_MS, 0, 30]);
  });
});
