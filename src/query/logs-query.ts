/**
 * The log query: filters, newest-first order and keyset paging on (timestamp, seq). Built with
 * drizzle so that the route and the query-plan test run the very same SQL.
 */
import { and, desc, eq, gte, lte, sql, type SQL } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import * as z from "zod";
import { requestLogs } from "../db/schema";
import { endpointFilterFields } from "../http/filters";

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
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(200).optional(),
});
export type LogFilters = z.output<typeof logFilters>;

/** Keyset cursor: the (timestamp, seq) of the last row of a page, base64url encoded. */
export function encodeCursor(timestamp: number, seq: number): string {
  return btoa(`${timestamp}:${seq}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes a cursor, or returns null when it is not one of ours. */
export function decodeCursor(cursor: string): { timestamp: number; seq: number } | null {
  try {
    const text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const match = /^(\d+):(\d+)$/.exec(text);
    if (!match) return null;
    return { timestamp: Number(match[1]), seq: Number(match[2]) };
  } catch {
    return null;
  }
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/** The WHERE conditions of a filter set (cursor already decoded). */
export function logConditions(f: LogFilters, cursor: { timestamp: number; seq: number } | null): SQL | undefined {
  const t = requestLogs;
  const conditions: (SQL | undefined)[] = [];
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
  if (f.q) conditions.push(sql`${t.error} LIKE ${`%${escapeLike(f.q)}%`} ESCAPE '\\'`);
  if (cursor) conditions.push(sql`(${t.timestamp}, ${t.seq}) < (${cursor.timestamp}, ${cursor.seq})`);
  return and(...conditions);
}

/** The page query: newest first, one row more than the limit to know whether a next page exists. */
export function buildLogsQuery(db: DrizzleD1Database, f: LogFilters, cursor: { timestamp: number; seq: number } | null) {
  return db
    .select()
    .from(requestLogs)
    .where(logConditions(f, cursor))
    .orderBy(desc(requestLogs.timestamp), desc(requestLogs.seq))
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
  };
}
