/**
 * Per-minute rolling counters on event time, computed from a batch of records before they are
 * added to the Durable Object's buckets. Pure.
 */
import type { LogRecord } from "../ingest/record";

export const MINUTE_MS = 60_000;
/** How far back (event time) records still update their minute bucket; older ones count as late. */
export const BUCKET_HORIZON_MS = 3 * 60 * 60 * 1000;

export interface MinuteCounts {
  minute: number;
  count: number;
  status_2xx: number;
  status_3xx: number;
  status_4xx: number;
  status_5xx: number;
  silent_failures: number;
  latency_sum: number;
  latency_max: number;
  bytes: number;
}

/** Groups records by their event-time minute; records older than the horizon are only counted as late. */
export function countByMinute(records: readonly LogRecord[], now: number): { buckets: MinuteCounts[]; late: number } {
  const byMinute = new Map<number, MinuteCounts>();
  let late = 0;
  for (const r of records) {
    if (r.timestamp < now - BUCKET_HORIZON_MS) {
      late++;
      continue;
    }
    const minute = Math.floor(r.timestamp / MINUTE_MS) * MINUTE_MS;
    let b = byMinute.get(minute);
    if (!b) {
      b = {
        minute,
        count: 0,
        status_2xx: 0,
        status_3xx: 0,
        status_4xx: 0,
        status_5xx: 0,
        silent_failures: 0,
        latency_sum: 0,
        latency_max: 0,
        bytes: 0,
      };
      byMinute.set(minute, b);
    }
    b.count++;
    if (r.status >= 500) b.status_5xx++;
    else if (r.status >= 400) b.status_4xx++;
    else if (r.status >= 300) b.status_3xx++;
    else if (r.status >= 200) b.status_2xx++;
    if (r.response_empty && r.status >= 200 && r.status < 300) b.silent_failures++;
    b.latency_sum += r.latency_ms;
    b.latency_max = Math.max(b.latency_max, r.latency_ms);
    b.bytes += (r.request_bytes ?? 0) + (r.response_bytes ?? 0);
  }
  return { buckets: [...byMinute.values()].sort((a, b) => a.minute - b.minute), late };
}

/** Exponential backoff with ±25% jitter for D1 flush retries: about 1 s, 2 s, 4 s ... never over 60 s. */
export function flushBackoffMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(60_000, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.min(60_000, Math.round(base * (0.75 + random() * 0.5)));
}
