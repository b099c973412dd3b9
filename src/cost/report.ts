/**
 * The cost report of GET /v1/stats (pure): counted work per million records ingested, and the
 * dollars it costs at list prices, line by line. Storage is a monthly price on bytes kept, not a
 * per-record price: it is reported as dollars per month for the current D1 size.
 */
import type { CostCounts } from "./counts";
import type { Prices } from "./prices";

export interface CostLine {
  /** Units per million records ingested (requests, rows or operations). */
  per_million_records: number;
  /** Dollars per million records ingested at the line's list price. */
  usd_per_million_records: number;
}

export interface CostReport {
  records: number;
  lines: Record<
    | "workers_requests"
    | "do_requests"
    | "do_rows_written"
    | "do_rows_read"
    | "d1_rows_written"
    | "d1_rows_read"
    | "r2_class_a"
    | "r2_class_b",
    CostLine
  >;
  /** Sum of the lines: dollars per million records ingested (null before the first record). */
  usd_per_million_records: number | null;
  /** D1 storage at its current size, per month. */
  d1_storage_usd_per_month: number | null;
}

const GB = 1e9;

/** Counted work and its price per million records; `records` 0 gives zero lines and a null total. */
export function costReport(counts: CostCounts, records: number, prices: Prices, d1Bytes: number | null): CostReport {
  const per = (units: number) => (records > 0 ? (units / records) * 1e6 : 0);
  const line = (units: number, pricePerMillion: number): CostLine => {
    const perMillion = per(units);
    return {
      per_million_records: round(perMillion),
      usd_per_million_records: round((perMillion / 1e6) * pricePerMillion),
    };
  };
  const lines: CostReport["lines"] = {
    workers_requests: line(counts.worker_requests, prices.workers_requests_per_million),
    do_requests: line(counts.do_requests, prices.do_requests_per_million),
    do_rows_written: line(counts.do_rows_written, prices.do_rows_written_per_million),
    do_rows_read: line(counts.do_rows_read, prices.do_rows_read_per_million),
    d1_rows_written: line(counts.d1_rows_written, prices.d1_rows_written_per_million),
    d1_rows_read: line(counts.d1_rows_read, prices.d1_rows_read_per_million),
    r2_class_a: line(counts.r2_class_a, prices.r2_class_a_per_million),
    r2_class_b: line(counts.r2_class_b, prices.r2_class_b_per_million),
  };
  const total = Object.values(lines).reduce((s, l) => s + l.usd_per_million_records, 0);
  return {
    records,
    lines,
    usd_per_million_records: records > 0 ? round(total) : null,
    d1_storage_usd_per_month: d1Bytes === null ? null : round((d1Bytes / GB) * prices.d1_storage_per_gb_month),
  };
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
