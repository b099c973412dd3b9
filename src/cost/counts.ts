/**
 * The monitor's billable work, counted where it happens (pure). Counts are cumulative and only
 * grow; each place that does billable work adds to a `CostCounts`, and the reports add them up.
 * D1 and Durable Object SQLite rows come from the platform's own metadata (`meta.rows_written`,
 * `cursor.rowsWritten`), never from an estimate of what a statement should write.
 */
import * as z from "zod";
import { shapeOf, storedNumber } from "../lib/stored-schema";

export interface CostCounts {
  /** Worker invocations (every HTTP request the worker answered, and cron runs). */
  worker_requests: number;
  /** Of which ingest requests (POST /v1/logs), proxied requests and OTLP requests. */
  ingest_requests: number;
  proxy_requests: number;
  otlp_requests: number;
  /** Durable Object requests: RPC calls (hand-offs and others) and alarm invocations. */
  do_requests: number;
  /** Durable Object SQLite rows written and read (cursor.rowsWritten/rowsRead), setAlarm counted as one row written. */
  do_rows_written: number;
  do_rows_read: number;
  /** D1 rows written and read, from D1's result meta (run/all/batch; not first()/raw(), which return no meta). */
  d1_rows_written: number;
  d1_rows_read: number;
  /** D1 statements whose meta was seen, and those sent without meta (first()/raw(): reads not counted). */
  d1_statements_metered: number;
  d1_statements_unmetered: number;
  /** R2 class A (put, list, multipart, delete is free but counted here as A conservatively) and class B (get, head). */
  r2_class_a: number;
  r2_class_b: number;
  /** Bytes put to R2 (the archive write-through's gzip objects). */
  r2_bytes_written: number;
}

export const COST_FIELDS = [
  "worker_requests",
  "ingest_requests",
  "proxy_requests",
  "otlp_requests",
  "do_requests",
  "do_rows_written",
  "do_rows_read",
  "d1_rows_written",
  "d1_rows_read",
  "d1_statements_metered",
  "d1_statements_unmetered",
  "r2_class_a",
  "r2_class_b",
  "r2_bytes_written",
] as const satisfies readonly (keyof CostCounts)[];

const count = storedNumber.optional();

/**
 * Counts as an endpoint object stored them with its last publish (`published.cost`, `cost` before):
 * each field optional (fields were added over time) and read by `countsFrom`, which takes what is
 * not a finite count (a null JSON wrote for NaN) as 0.
 */
export const StoredCountsSchema: z.ZodType<Partial<CostCounts>> = z.looseObject(
  shapeOf<Partial<CostCounts>>()({
    worker_requests: count,
    ingest_requests: count,
    proxy_requests: count,
    otlp_requests: count,
    do_requests: count,
    do_rows_written: count,
    do_rows_read: count,
    d1_rows_written: count,
    d1_rows_read: count,
    d1_statements_metered: count,
    d1_statements_unmetered: count,
    r2_class_a: count,
    r2_class_b: count,
    r2_bytes_written: count,
  }),
);

/** All counts at zero. */
export function zeroCounts(): CostCounts {
  return Object.fromEntries(COST_FIELDS.map((f) => [f, 0])) as unknown as CostCounts;
}

/** `a + b`, field by field (missing or non-numeric fields read as 0). */
export function addCounts(a: Partial<CostCounts>, b: Partial<CostCounts>): CostCounts {
  const out = zeroCounts();
  for (const f of COST_FIELDS) out[f] = num(a[f]) + num(b[f]);
  return out;
}

/** Reads counts from untrusted JSON (a published `metrics.cost`), keeping only finite non-negative numbers. */
export function countsFrom(value: unknown): CostCounts {
  const out = zeroCounts();
  if (typeof value !== "object" || value === null) return out;
  const record = value as Record<string, unknown>;
  for (const f of COST_FIELDS) out[f] = num(record[f]);
  return out;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0;
}

/** A mutable accumulator of counts, plus the newest D1 size seen (`meta.size_after`). */
export class CostMeter {
  counts: CostCounts = zeroCounts();
  /** Database bytes after the newest metered D1 statement, and when it was seen. */
  d1SizeBytes: number | null = null;
  d1SizeAt: number | null = null;

  add(increments: Partial<CostCounts>): void {
    this.counts = addCounts(this.counts, increments);
  }

  /** Records a D1 result's meta: rows written and read, and the database size after it. */
  addD1Meta(meta: Partial<D1Meta> | undefined, now = Date.now()): void {
    if (!meta) {
      this.add({ d1_statements_unmetered: 1 });
      return;
    }
    this.add({ d1_rows_written: num(meta.rows_written), d1_rows_read: num(meta.rows_read), d1_statements_metered: 1 });
    if (typeof meta.size_after === "number" && Number.isFinite(meta.size_after) && meta.size_after > 0) {
      this.d1SizeBytes = meta.size_after;
      this.d1SizeAt = now;
    }
  }
}
