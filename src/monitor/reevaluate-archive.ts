/**
 * Re-evaluation's archive source: the endpoint's records read from the service's hour objects in
 * R2. An hour's objects (the hour object and its parts) may overlap in time and, after a crash
 * between an archive put and its D1 delete, hold a row twice; so each hour is gathered (only the
 * endpoint's rows, only the fields the windows need), deduplicated by record key and sorted by
 * (timestamp, record key) before it is replayed. Objects hold one hour each, so hours replay in order.
 */
import { listDay, gunzipLines, parseLine } from "../archive/read";
import { daysBetween } from "../archive/query";
import type { Endpoint } from "../detect/incident";
import type { WindowRecord } from "./minute-counts";

const HOUR_MS = 3_600_000;
/** Records handed to the replay at once (an hour is gathered whole, then sliced). */
const PAGE_ROWS = 5000;

type Keyed = WindowRecord & { key: string };

/** The endpoint's archived records from `from` on (hours up to `end`), in (timestamp, record key) order, page by page. */
export async function* archivePages(
  bucket: R2Bucket,
  endpoint: Endpoint,
  from: number,
  end: number,
): AsyncGenerator<WindowRecord[]> {
  for (const day of daysBetween(from, end)) {
    const { objects } = await listDay(bucket, endpoint.service, day);
    const hours = new Map<number, string[]>();
    for (const o of objects) {
      if (o.hourStart + HOUR_MS <= from) continue;
      const keys = hours.get(o.hourStart);
      if (keys) keys.push(o.key);
      else hours.set(o.hourStart, [o.key]);
    }
    for (const keys of hours.values()) {
      const hour = await readHour(bucket, keys, endpoint, from);
      for (let i = 0; i < hour.length; i += PAGE_ROWS) yield hour.slice(i, i + PAGE_ROWS);
    }
  }
}

async function readHour(bucket: R2Bucket, keys: readonly string[], endpoint: Endpoint, from: number): Promise<Keyed[]> {
  const seen = new Set<string>();
  const out: Keyed[] = [];
  for (const key of keys) {
    const object = await bucket.get(key);
    if (!object) continue;
    for await (const line of gunzipLines(object.body as ReadableStream<Uint8Array>)) {
      const row = parseLine(line);
      if (!row || row.method !== endpoint.method || row.route !== endpoint.route || row.timestamp < from) continue;
      if (row.recordKey) {
        if (seen.has(row.recordKey)) continue;
        seen.add(row.recordKey);
      }
      out.push({
        key: row.recordKey,
        timestamp: row.timestamp,
        status: row.status,
        latency_ms: row.latencyMs,
        response_empty: Boolean(row.responseEmpty),
        inconsistent: Boolean(row.inconsistent),
        request_bytes: row.requestBytes,
        response_bytes: row.responseBytes,
        source: row.source === "probe" ? "probe" : undefined,
        error: row.error,
        consumer: row.consumer,
        region: row.region,
      });
    }
  }
  return out.sort((a, b) => a.timestamp - b.timestamp || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
