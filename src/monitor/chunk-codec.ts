/**
 * What a buffer chunk holds, as text in the endpoint object's SQLite: counter increments, and the
 * window fields of the records it holds (stored rows are positional LogRows; a record the proxy
 * sampled out keeps a short tuple in `skipped`) for the windows' replay on wake. Pure.
 */
import type { LogRecord } from "../ingest/record";
import type { WindowRecord } from "./minute-counts";

/** Counters that keep their maximum instead of a sum. */
export const MAX_COUNTERS: ReadonlySet<string> = new Set(["last_event_at"]);

export type Counts = Record<string, number>;

/** Adds `b` into `a` (sums, or the maximum for MAX_COUNTERS). */
export function addCountsInto(a: Counts, b: Counts, sign = 1): void {
  for (const [name, n] of Object.entries(b)) {
    if (MAX_COUNTERS.has(name)) a[name] = sign > 0 ? Math.max(a[name] ?? 0, n) : (a[name] ?? 0);
    else a[name] = (a[name] ?? 0) + sign * n;
  }
}

/** A sampled-out record in `skipped`: its key, then the fields the windows need. */
export type SkippedTuple = [
  string,
  number,
  number,
  number,
  0 | 1,
  0 | 1,
  number | null,
  number | null,
  string,
  string | null,
  string | null,
  string | null,
];

/** The tuple a sampled-out record keeps in its chunk. */
export function skippedTuple(r: LogRecord): SkippedTuple {
  return [
    r.key,
    r.timestamp,
    r.status,
    r.latency_ms,
    r.response_empty ? 1 : 0,
    r.inconsistent ? 1 : 0,
    r.request_bytes,
    r.response_bytes,
    r.source,
    r.error,
    r.consumer,
    r.region,
  ];
}

/** The key of a `skipped` entry (a bare key in chunks written before the tuples). */
export const skippedKey = (e: string | unknown[]): string => (typeof e === "string" ? e : String(e[0]));

/** A stored row (positional, LOG_COLUMNS order) as the windows take it. */
export function windowRecordOfRow(row: unknown[]): WindowRecord {
  return {
    timestamp: Number(row[1]),
    status: Number(row[7]),
    latency_ms: Number(row[8]),
    request_bytes: row[10] === null ? null : Number(row[10]),
    response_bytes: row[11] === null ? null : Number(row[11]),
    error: (row[12] as string | null) ?? null,
    response_empty: row[13] === 1,
    consumer: (row[18] as string | null) ?? null,
    region: (row[19] as string | null) ?? null,
    source: row[21] as LogRecord["source"],
    inconsistent: row[22] === 1,
  };
}

/** A `skipped` tuple as the windows take it. */
export function windowRecordOfTuple(t: unknown[]): WindowRecord {
  return {
    timestamp: Number(t[1]),
    status: Number(t[2]),
    latency_ms: Number(t[3]),
    response_empty: t[4] === 1,
    inconsistent: t[5] === 1,
    request_bytes: t[6] === null ? null : Number(t[6]),
    response_bytes: t[7] === null ? null : Number(t[7]),
    source: t[8] as LogRecord["source"],
    error: (t[9] as string | null) ?? null,
    consumer: (t[10] as string | null) ?? null,
    region: (t[11] as string | null) ?? null,
  };
}
