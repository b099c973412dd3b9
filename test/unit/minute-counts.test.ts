import { describe, expect, it } from "vitest";
import type { LogRecord } from "../../src/ingest/record";
import { BUCKET_HORIZON_MS, MINUTE_MS, countByMinute, flushBackoffMs } from "../../src/monitor/minute-counts";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const T0 = Date.UTC(2026, 0, 1, 11, 30, 0);

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

describe("countByMinute", () => {
  it("returns no buckets for no records", () => {
    expect(countByMinute([], NOW)).toEqual({ buckets: [], late: 0 });
  });

  it("counts one record in its minute", () => {
    const { buckets, late } = countByMinute([record({ timestamp: T0 + 12_345, latency_ms: 7, request_bytes: 3, response_bytes: 5 })], NOW);
    expect(late).toBe(0);
    expect(buckets).toEqual([
      {
        minute: T0,
        count: 1,
        status_2xx: 1,
        status_3xx: 0,
        status_4xx: 0,
        status_5xx: 0,
        silent_failures: 0,
        latency_sum: 7,
        latency_max: 7,
        bytes: 8,
      },
    ]);
  });

  it("groups by the event-time minute, floor of the timestamp", () => {
    const { buckets } = countByMinute(
      [
        record({ timestamp: T0 }),
        record({ timestamp: T0 + MINUTE_MS - 1 }),
        record({ timestamp: T0 + MINUTE_MS }),
        record({ timestamp: T0 - 1 }),
      ],
      NOW,
    );
    expect(buckets.map((b) => [b.minute, b.count])).toEqual([
      [T0 - MINUTE_MS, 1],
      [T0, 2],
      [T0 + MINUTE_MS, 1],
    ]);
  });

  it("sorts buckets by minute whatever the input order", () => {
    const { buckets } = countByMinute(
      [
        record({ timestamp: T0 + 5 * MINUTE_MS }),
        record({ timestamp: T0 }),
        record({ timestamp: T0 + 2 * MINUTE_MS }),
      ],
      NOW,
    );
    expect(buckets.map((b) => b.minute)).toEqual([T0, T0 + 2 * MINUTE_MS, T0 + 5 * MINUTE_MS]);
  });

  it("uses event time, not the receive time", () => {
    const { buckets } = countByMinute([record({ timestamp: T0, received_at: NOW })], NOW);
    expect(buckets[0]?.minute).toBe(T0);
  });

  it("counts status classes, including their boundaries", () => {
    const statuses = [200, 204, 299, 300, 304, 399, 400, 404, 499, 500, 503, 599];
    const { buckets } = countByMinute(statuses.map((status) => record({ status })), NOW);
    expect(buckets).toHaveLength(1);
    expect(buckets[0]).toMatchObject({ count: 12, status_2xx: 3, status_3xx: 3, status_4xx: 3, status_5xx: 3 });
  });

  it("counts 1xx records in the total only", () => {
    const { buckets } = countByMinute([record({ status: 101 }), record({ status: 200 })], NOW);
    expect(buckets[0]).toMatchObject({ count: 2, status_2xx: 1, status_3xx: 0, status_4xx: 0, status_5xx: 0 });
  });

  it("counts silent failures: empty responses with a 2xx status only", () => {
    const { buckets } = countByMinute(
      [
        record({ status: 200, response_empty: true }),
        record({ status: 204, response_empty: true }),
        record({ status: 200, response_empty: false }),
        record({ status: 304, response_empty: true }),
        record({ status: 500, response_empty: true }),
        record({ status: 101, response_empty: true }),
      ],
      NOW,
    );
    expect(buckets[0]?.silent_failures).toBe(2);
  });

  it("sums and maxes latency per minute", () => {
    const { buckets } = countByMinute(
      [
        record({ timestamp: T0, latency_ms: 10 }),
        record({ timestamp: T0 + 1, latency_ms: 250.5 }),
        record({ timestamp: T0 + 2, latency_ms: 0 }),
        record({ timestamp: T0 + MINUTE_MS, latency_ms: 3 }),
      ],
      NOW,
    );
    expect(buckets[0]).toMatchObject({ latency_sum: 260.5, latency_max: 250.5 });
    expect(buckets[1]).toMatchObject({ latency_sum: 3, latency_max: 3 });
  });

  it("sums request and response bytes, treating null as 0", () => {
    const { buckets } = countByMinute(
      [
        record({ request_bytes: 100, response_bytes: 2000 }),
        record({ request_bytes: null, response_bytes: 50 }),
        record({ request_bytes: 7, response_bytes: null }),
        record({ request_bytes: null, response_bytes: null }),
      ],
      NOW,
    );
    expect(buckets[0]?.bytes).toBe(2157);
  });

  it("counts records older than the horizon as late and leaves them out of the buckets", () => {
    expect(BUCKET_HORIZON_MS).toBe(3 * 60 * 60 * 1000);
    const { buckets, late } = countByMinute(
      [
        record({ timestamp: NOW - BUCKET_HORIZON_MS - 1, status: 500 }),
        record({ timestamp: NOW - 24 * 60 * 60 * 1000 }),
        record({ timestamp: T0, status: 200 }),
      ],
      NOW,
    );
    expect(late).toBe(2);
    expect(buckets).toHaveLength(1);
    expect(buckets[0]).toMatchObject({ minute: T0, count: 1, status_5xx: 0 });
  });

  it("still buckets a record exactly at the horizon", () => {
    const { buckets, late } = countByMinute([record({ timestamp: NOW - BUCKET_HORIZON_MS })], NOW);
    expect(late).toBe(0);
    expect(buckets.map((b) => b.minute)).toEqual([NOW - BUCKET_HORIZON_MS]);
  });

  it("returns only a late count when every record is late", () => {
    expect(countByMinute([record({ timestamp: 0 }), record({ timestamp: 1 })], NOW)).toEqual({ buckets: [], late: 2 });
  });

  it("buckets records slightly in the future", () => {
    const { buckets, late } = countByMinute([record({ timestamp: NOW + 2 * MINUTE_MS + 5 })], NOW);
    expect(late).toBe(0);
    expect(buckets[0]?.minute).toBe(NOW + 2 * MINUTE_MS);
  });

  it("does not mutate its input", () => {
    const records = [record({ timestamp: T0 }), record({ timestamp: 0 })];
    const copy = structuredClone(records);
    countByMinute(records, NOW);
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
