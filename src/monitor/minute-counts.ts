/**
 * Counts of a batch of records per bucket of event time (a minute or an hour), computed before
 * they are added to the endpoint Durable Object's windows. Pure.
 */
import { boundedBytes, boundedLatency } from "../ingest/bounds";
import type { LogRecord } from "../ingest/record";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
/** How far behind the newest event time minute buckets are kept (the 6-hour SLO window). */
export const MINUTE_HORIZON_MS = 6 * HOUR_MS;
/** How far behind the newest event time hour buckets are kept (the 3-day SLO window); older records are late. */
export const HOUR_HORIZON_MS = 72 * HOUR_MS;

/** The fields of a record the windows need (log rows re-read from D1 have them too). */
export type WindowRecord = Pick<
  LogRecord,
  "timestamp" | "status" | "latency_ms" | "response_empty" | "inconsistent" | "request_bytes" | "response_bytes"
> &
  Partial<Pick<LogRecord, "source" | "error" | "consumer" | "region">>;

export interface BucketCounts {
  start: number;
  count: number;
  status_2xx: number;
  status_3xx: number;
  status_4xx: number;
  /** 429s, also counted in `status_4xx`. */
  status_429: number;
  status_5xx: number;
  silent_failures: number;
  inconsistent: number;
  /** Requests slower than the latency SLO's threshold. */
  slow: number;
  latency_sum: number;
  latency_max: number;
  bytes: number;
  /** Every latency, for the bucket's sketch. */
  latencies: number[];
}

/** A silent failure: a 2xx that returned an empty body. */
export function isSilentFailure(r: Pick<LogRecord, "status" | "response_empty">): boolean {
  return r.response_empty && r.status >= 200 && r.status < 300;
}

/**
 * Groups records by their event-time bucket of `bucketMs`; records before `since` are left out
 * and only counted. `slowMs` is the latency SLO's threshold. Latencies and byte counts are
 * clamped to the ingest bounds, so no stored row can make a window sum infinite or overflow.
 */
export function countByBucket(
  records: readonly WindowRecord[],
  bucketMs: number,
  since: number,
  slowMs = Number.POSITIVE_INFINITY,
): { buckets: BucketCounts[]; older: number } {
  const byStart = new Map<number, BucketCounts>();
  let older = 0;
  for (const r of records) {
    if (r.timestamp < since) {
      older++;
      continue;
    }
    const start = Math.floor(r.timestamp / bucketMs) * bucketMs;
    let b = byStart.get(start);
    if (!b) {
      b = {
        start,
        count: 0,
        status_2xx: 0,
        status_3xx: 0,
        status_4xx: 0,
        status_429: 0,
        status_5xx: 0,
        silent_failures: 0,
        inconsistent: 0,
        slow: 0,
        latency_sum: 0,
        latency_max: 0,
        bytes: 0,
        latencies: [],
      };
      byStart.set(start, b);
    }
    b.count++;
    if (r.status >= 500) b.status_5xx++;
    else if (r.status >= 400) b.status_4xx++;
    else if (r.status >= 300) b.status_3xx++;
    else if (r.status >= 200) b.status_2xx++;
    if (r.status === 429) b.status_429++;
    if (isSilentFailure(r)) b.silent_failures++;
    if (r.inconsistent) b.inconsistent++;
    // Clamped to the ingest bounds: rows re-read from D1 may predate them (see ingest/bounds.ts).
    const latency = boundedLatency(r.latency_ms);
    if (latency > slowMs) b.slow++;
    b.latency_sum += latency;
    b.latency_max = Math.max(b.latency_max, latency);
    b.bytes += (boundedBytes(r.request_bytes) ?? 0) + (boundedBytes(r.response_bytes) ?? 0);
    b.latencies.push(latency);
  }
  return { buckets: [...byStart.values()].sort((a, b) => a.start - b.start), older };
}

/** Exponential backoff with ±25% jitter for D1 flush retries: about 1 s, 2 s, 4 s ... never over 60 s. */
export function flushBackoffMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(60_000, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.min(60_000, Math.round(base * (0.75 + random() * 0.5)));
}
