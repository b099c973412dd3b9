import { describe, expect, it } from "vitest";
import { addCounts, countsFrom, CostMeter, zeroCounts } from "../../src/cost/counts";
import { d1MaxBytes, d1SizeReport } from "../../src/cost/d1-size";
import { DEFAULT_PRICES, pricesFrom } from "../../src/cost/prices";
import { costReport } from "../../src/cost/report";
import { requestKind } from "../../src/cost/worker";

describe("costReport", () => {
  it("gives units and dollars per million records, computed by hand", () => {
    const counts = {
      ...zeroCounts(),
      worker_requests: 2_000,
      do_requests: 4_000,
      do_rows_written: 30_000,
      d1_rows_written: 14_000,
      d1_rows_read: 50_000,
      r2_class_a: 10,
    };
    const r = costReport(counts, 1_000, DEFAULT_PRICES, 2e9);
    // 14,000 D1 rows for 1,000 records: 14 rows per record, 14 million per million records, $14.
    expect(r.lines.d1_rows_written).toEqual({ per_million_records: 14_000_000, usd_per_million_records: 14 });
    // 2 Worker requests per record at $0.30/M: $0.60 per million records.
    expect(r.lines.workers_requests.usd_per_million_records).toBeCloseTo(0.6, 9);
    expect(r.lines.do_requests.usd_per_million_records).toBeCloseTo(0.6, 9);
    expect(r.lines.do_rows_written.usd_per_million_records).toBeCloseTo(30, 9);
    expect(r.lines.d1_rows_read.usd_per_million_records).toBeCloseTo(0.05, 9);
    expect(r.lines.r2_class_a.usd_per_million_records).toBeCloseTo(0.045, 9);
    expect(r.usd_per_million_records).toBeCloseTo(14 + 0.6 + 0.6 + 30 + 0.05 + 0.045, 6);
    // 2 GB at $0.75/GB-month.
    expect(r.d1_storage_usd_per_month).toBeCloseTo(1.5, 9);
  });

  it("has no total before the first record", () => {
    const r = costReport({ ...zeroCounts(), d1_rows_written: 5 }, 0, DEFAULT_PRICES, null);
    expect(r.usd_per_million_records).toBeNull();
    expect(r.lines.d1_rows_written.per_million_records).toBe(0);
    expect(r.d1_storage_usd_per_month).toBeNull();
  });
});

describe("prices", () => {
  it("are the defaults without a setting, overridden field by field with one", () => {
    expect(pricesFrom(undefined).prices).toEqual(DEFAULT_PRICES);
    const p = pricesFrom('{"d1_rows_written_per_million": 0.5}');
    expect(p.source).toBe("COST_PRICES");
    expect(p.prices.d1_rows_written_per_million).toBe(0.5);
    expect(p.prices.workers_requests_per_million).toBe(DEFAULT_PRICES.workers_requests_per_million);
  });

  it("fall back to the defaults and say why on a bad setting", () => {
    expect(pricesFrom("{").errors).toEqual(["COST_PRICES is not JSON"]);
    const unknown = pricesFrom('{"d1_rows_writen_per_million": 1}');
    expect(unknown.prices).toEqual(DEFAULT_PRICES);
    expect(unknown.errors.length).toBeGreaterThan(0);
    expect(pricesFrom('{"r2_class_a_per_million": -1}').errors.length).toBeGreaterThan(0);
  });
});

describe("D1 size report", () => {
  it("is ok below 80%, high from 80% and full at the budget", () => {
    expect(d1SizeReport(7.19e9, 9e9, 0).state).toBe("ok");
    expect(d1SizeReport(7.2e9, 9e9, 0).state).toBe("high");
    expect(d1SizeReport(9e9, 9e9, 0)).toMatchObject({ state: "full", share: 1 });
    expect(d1SizeReport(null, 9e9, null)).toMatchObject({ state: "unknown", bytes: null, share: null });
  });

  it("reads D1_MAX_BYTES, defaulting to 9 GB", () => {
    expect(d1MaxBytes(undefined)).toBe(9e9);
    expect(d1MaxBytes("")).toBe(9e9);
    expect(d1MaxBytes("abc")).toBe(9e9);
    expect(d1MaxBytes("-5")).toBe(9e9);
    expect(d1MaxBytes("1000")).toBe(1000);
  });
});

describe("counts", () => {
  it("add field by field and read untrusted JSON safely", () => {
    expect(addCounts({ d1_rows_written: 2 }, { d1_rows_written: 3, do_requests: 1 })).toMatchObject({
      d1_rows_written: 5,
      do_requests: 1,
      r2_class_a: 0,
    });
    expect(countsFrom({ d1_rows_written: "7", do_rows_written: -1, r2_class_b: 4 })).toMatchObject({
      d1_rows_written: 0,
      do_rows_written: 0,
      r2_class_b: 4,
    });
    expect(countsFrom(null)).toEqual(zeroCounts());
  });

  it("take rows and size from D1 meta, and count a statement without meta as unmetered", () => {
    const m = new CostMeter();
    m.addD1Meta({ rows_written: 7, rows_read: 3, size_after: 4096 }, 1000);
    m.addD1Meta(undefined);
    expect(m.counts).toMatchObject({
      d1_rows_written: 7,
      d1_rows_read: 3,
      d1_statements_metered: 1,
      d1_statements_unmetered: 1,
    });
    expect([m.d1SizeBytes, m.d1SizeAt]).toEqual([4096, 1000]);
  });

  it("name ingest and OTLP requests by path", () => {
    expect(requestKind("POST", "/v1/logs")).toBe("ingest_requests");
    expect(requestKind("GET", "/v1/logs")).toBeNull();
    expect(requestKind("POST", "/v1/otlp/v1/traces")).toBe("otlp_requests");
    expect(requestKind("GET", "/health")).toBeNull();
  });
});
