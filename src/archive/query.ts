/**
 * The pure half of `GET /v1/archive/logs`: its query, its cursor, the archive's key layout read
 * back, and the same row filters as `GET /v1/logs` applied in memory (the SQL of
 * query/logs-query.ts, rewritten as a predicate: SQLite's LIKE is case-insensitive for ASCII, so
 * `q` is too).
 */
import * as z from "zod";
import { epochOrIso, logFilters } from "../query/logs-query";
import type { RawLog } from "../retention/archive";
import { DAY_MS, HOUR_MS } from "../lib/time";

const MIB = 1024 * 1024;

/** Query of `GET /v1/archive/logs`: the filters of `/v1/logs`, a required service and start, and the per-call bounds. */
export const archiveQuery = logFilters.omit({ limit: true, cursor: true, service: true, from: true }).extend({
  service: z.string().min(1).max(64),
  from: epochOrIso,
  limit: z.coerce.number().int().min(1).max(10_000).default(1000).describe("most records returned by this call"),
  max_objects: z.coerce.number().int().min(1).max(100).default(20).describe("most archive objects opened by this call"),
  max_bytes: z.coerce
    .number()
    .int()
    .min(1)
    .max(32 * MIB)
    .default(8 * MIB)
    .describe("most compressed bytes read by this call (the first object is always read)"),
  cursor: z
    .string()
    .max(1000)
    .optional()
    .describe("`next_cursor` of the previous call's last line, with the same filters"),
});
export type ArchiveQuery = z.output<typeof archiveQuery>;

/** Where a read goes on: the object key to start at (or a day prefix) and the lines of it already read. */
export interface ArchivePosition {
  key: string;
  line: number;
}

/** The cursor: a position, base64url-encoded JSON. */
export function encodeArchiveCursor(p: ArchivePosition): string {
  const bytes = new TextEncoder().encode(JSON.stringify({ k: p.key, l: p.line }));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Decodes a cursor of this service, or null when it is not one of ours. */
export function decodeArchiveCursor(cursor: string, service: string): ArchivePosition | null {
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
    if (typeof value !== "object" || value === null) return null;
    const { k, l } = value as { k?: unknown; l?: unknown };
    if (typeof k !== "string" || typeof l !== "number" || !Number.isSafeInteger(l) || l < 0) return null;
    if (!k.startsWith(servicePrefix(service)) || keyDay(k, service) === null) return null;
    return { key: k, line: l };
  } catch {
    return null;
  }
}

/** `raw/<service>/`: every object of one service. */
export function servicePrefix(service: string): string {
  return `raw/${service}/`;
}

/** `raw/<service>/<YYYY>/<MM>/<DD>/`: every object of one service and UTC day. */
export function dayPrefix(service: string, dayStart: number): string {
  const iso = new Date(dayStart).toISOString();
  return `${servicePrefix(service)}${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/`;
}

const KEY_TAIL = /^(\d{4})\/(\d{2})\/(\d{2})\/(?:(\d{2})(?:\.(\d+))?(?:\.([^/.]+))?\.ndjson\.gz)?$/;

function tail(key: string, service: string): RegExpExecArray | null {
  const prefix = servicePrefix(service);
  return key.startsWith(prefix) ? KEY_TAIL.exec(key.slice(prefix.length)) : null;
}

/** The UTC day start of a key or day prefix of this service, or null when it is not one. */
export function keyDay(key: string, service: string): number | null {
  const m = tail(key, service);
  if (!m) return null;
  const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isFinite(day) ? day : null;
}

/** The UTC hour start of an object key of this service, or null when the key is not an hour object. */
export function keyHour(key: string, service: string): number | null {
  const m = tail(key, service);
  const day = keyDay(key, service);
  if (!m || day === null || m[4] === undefined) return null;
  return day + Number(m[4]) * HOUR_MS;
}

/**
 * Read order of two keys (or day prefixes) of this service: by hour, then the hour object before
 * its parts, parts by first seq (numerically), then by their unique suffix: the order they were
 * written in. A day prefix comes before every object of its day.
 */
export function compareKeys(a: string, b: string, service: string): number {
  const ka = orderKey(a, service);
  const kb = orderKey(b, service);
  for (let i = 0; i < ka.length; i++) {
    const x = ka[i] ?? 0;
    const y = kb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function orderKey(key: string, service: string): [number, number, number, string] {
  const m = tail(key, service);
  const day = keyDay(key, service) ?? 0;
  if (!m || m[4] === undefined) return [day, -1, -1, ""];
  return [day, Number(m[4]), m[5] === undefined ? -1 : Number(m[5]), m[6] ?? ""];
}

/** The UTC day starts from the day of `from` to the day of `to`, ascending (lazily: a range may be long). */
export function* daysBetween(from: number, to: number): Generator<number> {
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day <= to; day += DAY_MS) yield day;
}

/** Latest time a range may name (the end of year 9999), so that every key of it can be formatted. */
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** True when an hour object may hold records in [from, to]. */
export function hourOverlaps(hourStart: number, from: number, to: number): boolean {
  return hourStart <= to && hourStart + HOUR_MS > from;
}

/** The filters of `GET /v1/logs` on one row (service, method, route, status or class, time range, latency, error text). */
export function matchesLogFilters(
  row: RawLog,
  f: Omit<ArchiveQuery, "limit" | "max_objects" | "max_bytes" | "cursor">,
  to: number,
): boolean {
  if (row.service !== f.service) return false;
  if (f.method !== undefined && row.method !== f.method) return false;
  if (f.route !== undefined && row.route !== f.route) return false;
  if (f.status !== undefined) {
    const wanted = Number(f.status[0]);
    if (/xx$/i.test(f.status) ? Math.floor(row.status / 100) !== wanted : row.status !== Number(f.status)) return false;
  }
  if (row.timestamp < f.from || row.timestamp > to) return false;
  if (f.min_latency_ms !== undefined && !(row.latencyMs >= f.min_latency_ms)) return false;
  if (f.q !== undefined && (row.error === null || !asciiLower(row.error).includes(asciiLower(f.q)))) return false;
  return true;
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
}
