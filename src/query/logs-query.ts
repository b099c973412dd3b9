/**
 * The log query: filters, newest-first order and keyset paging on the table's primary key
 * (timestamp, record_key). A service filter first looks up the span of hours in which the service
 * has rows (`log_service_hours`, a small table) and reads only that span of the raw table, which
 * has no service index: a service with no rows reads nothing. Built with drizzle so that the
 * route and the query-plan tests run the very same SQL.
 */
import { and, asc, desc, eq, gte, lt, lte, sql, type SQL } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import * as z from "zod";
import { logServiceHours, requestLogs } from "../db/schema";
import { endpointFilterFields } from "../http/filters";
import { HOUR_MS } from "../lib/time";

export const epochOrIso = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = typeof value === "number" || /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: "custom", message: "must be ISO 8601 or epoch milliseconds" });
    return z.NEVER;
  }
  return ms;
});

/** Query-string filters of `GET /v1/logs`. */
export const logFilters = z.object({
  ...endpointFilterFields,
  status: z
    .string()
    .regex(/^([1-5]\d\d|[1-5]xx)$/i, "must be a status such as 503 or a class such as 5xx")
    .optional(),
  from: epochOrIso.optional(),
  to: epochOrIso.optional(),
  min_latency_ms: z.coerce.number().nonnegative().optional(),
  q: z.string().min(1).max(200).optional(),
  /** Exact consumer and region (location: the proxy's Cloudflare colo) of the records. */
  consumer: z.string().min(1).max(128).optional(),
  region: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(2000).optional(),
});
export type LogFilters = z.output<typeof logFilters>;

/** How to read `weight` (the `sampling` field of a page). */
export const SAMPLING_NOTE =
  "Every record that is not a plain success (status >= 400, silent failure, inconsistent, error text, probe, slower than the endpoint's latency objective) is stored with weight 1; plain successes of a sampled service are a sample, each row standing for `weight` records: sum the weights to count requests.";

/** Where a page ends: the primary key of its last row. */
export interface LogCursor {
  timestamp: number;
  key: string;
}

const toBase64Url = (text: string) => btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** Keyset cursor: the (timestamp, record_key) of the last row of a page, as base64url JSON. */
export function encodeCursor(timestamp: number, key: string): string {
  return toBase64Url(String.fromCharCode(...new TextEncoder().encode(JSON.stringify([timestamp, key]))));
}

/** Decodes a cursor, or returns null when it is not one of ours. */
export function decodeCursor(cursor: string): LogCursor | null {
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const parsed: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    if (!Array.isArray(parsed) || parsed.length !== 2) return null;
    const [timestamp, key] = parsed as unknown[];
    if (typeof timestamp !== "number" || !Number.isSafeInteger(timestamp) || typeof key !== "string") return null;
    return { timestamp, key };
  } catch {
    return null;
  }
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/** A time span [from, to) in epoch ms. */
export interface TimeSpan {
  from: number;
  to: number;
}

/**
 * The two lookups of `serviceSpan`: the service's first and last hour with rows within the
 * filters' range (from, to, cursor), each one key read of `log_service_hours`.
 */
export function serviceSpanQueries(db: DrizzleD1Database, service: string, f: LogFilters, cursor: LogCursor | null) {
  const h = logServiceHours;
  const last = Math.min(f.to ?? Number.MAX_SAFE_INTEGER, cursor?.timestamp ?? Number.MAX_SAFE_INTEGER);
  const where = and(
    eq(h.service, service),
    gte(h.hour, Math.floor((f.from ?? Number.MIN_SAFE_INTEGER) / HOUR_MS)),
    lte(h.hour, Math.floor(last / HOUR_MS)),
  );
  const first = db.select({ hour: h.hour }).from(h).where(where).orderBy(asc(h.hour)).limit(1);
  const newest = db.select({ hour: h.hour }).from(h).where(where).orderBy(desc(h.hour)).limit(1);
  return [first, newest] as const;
}

/**
 * The span of time in which `service` has raw rows within the filters' range, to be added to the
 * page query; null when it has none there (the answer is an empty page, and the raw table is not read).
 */
export async function serviceSpan(
  db: DrizzleD1Database,
  service: string,
  f: LogFilters,
  cursor: LogCursor | null,
): Promise<TimeSpan | null> {
  const [[first], [newest]] = await db.batch(serviceSpanQueries(db, service, f, cursor));
  if (!first || !newest) return null;
  return { from: first.hour * HOUR_MS, to: (newest.hour + 1) * HOUR_MS };
}

/** The WHERE conditions of a filter set (cursor already decoded), within `span` if given. */
export function logConditions(f: LogFilters, cursor: LogCursor | null, span?: TimeSpan): SQL | undefined {
  const t = requestLogs;
  const conditions: (SQL | undefined)[] = [];
  if (span) conditions.push(gte(t.timestamp, span.from), lt(t.timestamp, span.to));
  if (f.service) conditions.push(eq(t.service, f.service));
  if (f.method) conditions.push(eq(t.method, f.method));
  if (f.route) conditions.push(eq(t.route, f.route));
  if (f.status) {
    if (/xx$/i.test(f.status)) {
      conditions.push(eq(t.statusClass, Number(f.status[0])));
    } else {
      conditions.push(eq(t.status, Number(f.status)));
    }
  }
  if (f.from !== undefined) conditions.push(gte(t.timestamp, f.from));
  if (f.to !== undefined) conditions.push(lte(t.timestamp, f.to));
  if (f.min_latency_ms !== undefined) conditions.push(gte(t.latencyMs, f.min_latency_ms));
  if (f.consumer !== undefined) conditions.push(eq(t.consumer, f.consumer));
  if (f.region !== undefined) conditions.push(eq(t.region, f.region));
  if (f.q) conditions.push(sql`${t.error} LIKE ${`%${escapeLike(f.q)}%`} ESCAPE '\\'`);
  if (cursor) conditions.push(sql`(${t.timestamp}, ${t.recordKey}) < (${cursor.timestamp}, ${cursor.key})`);
  return and(...conditions);
}

/** The page query: newest first, one row more than the limit to know whether a next page exists. */
export function buildLogsQuery(db: DrizzleD1Database, f: LogFilters, cursor: LogCursor | null, span?: TimeSpan) {
  return db
    .select()
    .from(requestLogs)
    .where(logConditions(f, cursor, span))
    .orderBy(desc(requestLogs.timestamp), desc(requestLogs.recordKey))
    .limit(f.limit + 1);
}

type LogRow = typeof requestLogs.$inferSelect;

/** A stored row in the public JSON shape (snake_case, epoch ms plus ISO time). */
export function toApiLog(row: LogRow) {
  return {
    log_id: row.recordKey,
    id: row.clientId,
    timestamp: row.timestamp,
    time: new Date(row.timestamp).toISOString(),
    received_at: row.receivedAt,
    service: row.service,
    method: row.method,
    route: row.route,
    path: row.path,
    status: row.status,
    latency_ms: row.latencyMs,
    ttfb_ms: row.ttfbMs,
    request_bytes: row.requestBytes,
    response_bytes: row.responseBytes,
    error: row.error,
    response_empty: row.responseEmpty,
    inconsistent: row.inconsistent,
    request_id: row.requestId,
    client_ip: row.clientIp,
    user_agent: row.userAgent,
    consumer: row.consumer,
    region: row.region,
    attributes: row.attributes ? (JSON.parse(row.attributes) as Record<string, string | number | boolean>) : null,
    source: row.source,
    weight: row.weight,
  };
}
