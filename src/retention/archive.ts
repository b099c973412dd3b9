/**
 * The raw-log archive: rows grouped per service and UTC hour, written to R2 as gzip NDJSON, one
 * stored row (SQL column names) per line.
 *
 * An object is never overwritten: every put is conditional (`If-None-Match: *`). The first write
 * of an hour takes `raw/<service>/<YYYY>/<MM>/<DD>/<HH>.ndjson.gz`; a later write of the same hour
 * (the rest of the hour at the cutoff, a chunk boundary, a re-run after a crash, a concurrent run)
 * takes a part key named by its first timestamp, `<HH>.<timestamp>.ndjson.gz`, and, should that exist too, a
 * unique one. Listing the hour's prefix finds every part; nothing archived is lost.
 */
import { getTableColumns } from "drizzle-orm";
import { requestLogs } from "../db/schema";
import { HOUR_MS } from "../lib/time";

export type RawLog = typeof requestLogs.$inferSelect;

/** Rows of one service and one UTC hour, in the order read. */
export interface ArchiveGroup {
  service: string;
  hourStart: number;
  rows: RawLog[];
}

// Stored columns only: the generated `status_class` is derived from `status`, and leaving it out
// keeps a line insertable into the same table.
const COLUMNS = Object.entries(getTableColumns(requestLogs))
  .filter(([, column]) => !column.generated)
  .map(([prop, column]) => [prop as keyof RawLog, column.name] as const);

/** Groups rows by (service, UTC hour of the event time). */
export function groupByServiceHour(rows: readonly RawLog[]): ArchiveGroup[] {
  const groups = new Map<string, ArchiveGroup>();
  for (const row of rows) {
    const hourStart = Math.floor(row.timestamp / HOUR_MS) * HOUR_MS;
    const id = `${row.service}\n${hourStart}`;
    const group = groups.get(id);
    if (group) group.rows.push(row);
    else groups.set(id, { service: row.service, hourStart, rows: [row] });
  }
  return [...groups.values()];
}

/** `raw/<service>/<YYYY>/<MM>/<DD>/<HH>`: the prefix of every object of one service and hour. */
export function hourPrefix(service: string, hourStart: number): string {
  const iso = new Date(hourStart).toISOString(); // 2026-07-01T13:00:00.000Z
  return `raw/${service}/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}`;
}

/** The keys a group tries in turn: the hour object, a part named by its first timestamp, a unique part. */
export function archiveKeys(group: ArchiveGroup, unique: string): string[] {
  const prefix = hourPrefix(group.service, group.hourStart);
  const first = group.rows[0]?.timestamp ?? 0;
  return [`${prefix}.ndjson.gz`, `${prefix}.${first}.ndjson.gz`, `${prefix}.${first}.${unique}.ndjson.gz`];
}

/** The rows as NDJSON, each line an object keyed by the SQL column names. */
export function toNdjson(rows: readonly RawLog[]): string {
  let out = "";
  for (const row of rows) {
    const line: Record<string, unknown> = {};
    for (const [prop, name] of COLUMNS) line[name] = row[prop];
    out += `${JSON.stringify(line)}\n`;
  }
  return out;
}

/**
 * One archived line back as a row: the SQL column names mapped to their properties, unknown
 * fields ignored, missing ones null, `status_class` derived. Null when the line is not a stored
 * row (no numeric timestamp and status, no service, method or route). A line without a numeric
 * `weight` (archived before rows had one) reads with weight 1.
 */
export function fromStoredLine(value: unknown): RawLog | null {
  if (typeof value !== "object" || value === null) return null;
  const line = value as Record<string, unknown>;
  const row: Record<string, unknown> = {};
  for (const [prop, name] of COLUMNS) row[prop] = line[name] ?? null;
  const { timestamp, status, service, method, route } = row;
  if (typeof timestamp !== "number" || typeof status !== "number") return null;
  if (typeof row.weight !== "number") row.weight = 1;
  if (typeof service !== "string" || typeof method !== "string" || typeof route !== "string") return null;
  row.statusClass = Math.floor(status / 100);
  return row as RawLog;
}

/**
 * Gzips text. The result is buffered, not streamed to R2: a put needs a known length, and the
 * same bytes may be put again under a part key.
 */
export async function gzip(text: string): Promise<ArrayBuffer> {
  const compressed = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(compressed).arrayBuffer();
}

/** Writes one group to the bucket without overwriting anything; returns its key, throws when a put fails. */
export async function writeGroup(bucket: R2Bucket, group: ArchiveGroup): Promise<string> {
  const body = await gzip(toNdjson(group.rows));
  const keys = archiveKeys(group, crypto.randomUUID());
  for (const key of keys) {
    const written = await bucket.put(key, body, {
      onlyIf: new Headers({ "If-None-Match": "*" }),
      // A .gz file, not a gzip-encoded NDJSON response: downloads keep the bytes as archived.
      httpMetadata: { contentType: "application/gzip" },
      customMetadata: { service: group.service, hour_start: String(group.hourStart), rows: String(group.rows.length) },
    });
    if (written) return key;
  }
  throw new Error(`every archive key of ${keys[0]} exists already`);
}
