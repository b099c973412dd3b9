/**
 * `GET /v1/summaries` (hourly or daily summaries of each endpoint, from the aggregation job) and
 * `GET /v1/stats` (totals), both read key. They read the small `summaries` table only, never the
 * raw logs: a week of one service's hours is a range of the `summaries_service_time` index.
 * Pages are keyset pages in (bucket_start, service, method, route) order, as `GET /v1/logs`
 * pages: `next_cursor` is the key of the last summary, opaque, for the `cursor` parameter.
 */
import { and, asc, count, eq, gt, gte, lte, min, or, sql, type SQL } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { Hono } from "hono";
import * as z from "zod";
import { incidents, summaries } from "../db/schema";
import { ApiError } from "../http/errors";
import { endpointFilterFields } from "../http/filters";
import type { AppEnv } from "../http/types";
import { defineRoute } from "../http/route";
import { epochOrIso } from "../query/logs-query";
import { costStats } from "../cost/stats";
import { breakdownSummaries } from "../breakdown/summaries";
import { DAY_MS, HOUR_MS } from "../lib/time";
import { statsSchema, summariesPageSchema } from "./schemas";

/** Default range when `from` is absent: the last 24 hours of hours, the last 30 days of days. */
const DEFAULT_SPAN_MS = { hour: 24 * HOUR_MS, day: 30 * DAY_MS } as const;
const BUCKET_MS = { hour: HOUR_MS, day: DAY_MS } as const;

export const summaryFilters = z
  .object({
    ...endpointFilterFields,
    granularity: z.enum(["hour", "day"]).default("hour"),
    from: epochOrIso.optional(),
    to: epochOrIso.optional(),
    limit: z.coerce.number().int().min(1).max(5000).default(1000),
    cursor: z.string().max(2048).optional(),
    /** One consumer or one location (served from the endpoint objects' breakdowns: src/breakdown/summaries.ts). */
    consumer: z.string().min(1).max(128).optional(),
    region: z.string().min(1).max(64).optional(),
  })
  .refine((f) => f.from === undefined || f.to === undefined || f.from <= f.to, {
    message: "from must not be after to",
    path: ["from"],
  });

const s = summaries;
/** The public fields, in their order; the averages are computed by SQLite so that rows go out as they come. */
const columns = {
  service: s.service,
  method: s.method,
  route: s.route,
  bucket_start: s.bucketStart,
  granularity: s.granularity,
  count: s.count,
  status_2xx: s.status2xx,
  status_3xx: s.status3xx,
  status_4xx: s.status4xx,
  status_5xx: s.status5xx,
  silent_failures: s.silentFailures,
  inconsistent: s.inconsistent,
  bytes: s.bytes,
  avg_ms: sql<number | null>`${s.latencySum} / nullif(${s.count}, 0)`.as("avg_ms"),
  p50_ms: s.p50Ms,
  p90_ms: s.p90Ms,
  p95_ms: s.p95Ms,
  p99_ms: s.p99Ms,
  max_ms: s.maxMs,
  apdex: sql<number | null>`(${s.apdexSatisfied} + ${s.apdexTolerating} / 2.0) / nullif(${s.count}, 0)`.as("apdex"),
  apdex_t_ms: s.apdexTMs,
  error_budget_consumed: s.errorBudgetConsumed,
};

export type SummaryFilters = z.output<typeof summaryFilters>;

/** The key of a summary in page order: where the next page starts after. */
export interface SummaryKey {
  bucket_start: number;
  service: string;
  method: string;
  route: string;
}

/** Keyset cursor: the key of the last summary of a page, as base64url JSON (UTF-8). */
export function encodeSummaryCursor(k: SummaryKey): string {
  const bytes = new TextEncoder().encode(JSON.stringify([k.bucket_start, k.service, k.method, k.route]));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Decodes a cursor, or returns null when it is not one of ours. */
export function decodeSummaryCursor(cursor: string): SummaryKey | null {
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    if (!Array.isArray(value) || value.length !== 4) return null;
    const [bucketStart, service, method, route] = value as unknown[];
    if (
      !Number.isSafeInteger(bucketStart) ||
      typeof service !== "string" ||
      typeof method !== "string" ||
      typeof route !== "string"
    )
      return null;
    return { bucket_start: bucketStart as number, service, method, route };
  } catch {
    return null;
  }
}

/**
 * The page query, from the filters, the resolved range and the cursor (built here so a test can
 * check its plan): one row more than the limit, to know whether a next page exists.
 */
export function summariesQuery(
  db: DrizzleD1Database,
  f: SummaryFilters,
  from: number,
  to: number,
  after: SummaryKey | null = null,
) {
  const conditions: SQL[] = [
    eq(s.granularity, f.granularity),
    // Buckets overlapping [from, to]: the one holding `from` counts too.
    gte(s.bucketStart, from - BUCKET_MS[f.granularity] + 1),
    lte(s.bucketStart, to),
  ];
  if (f.service !== undefined) conditions.push(eq(s.service, f.service));
  if (f.method !== undefined) conditions.push(eq(s.method, f.method));
  if (f.route !== undefined) conditions.push(eq(s.route, f.route));
  if (after) {
    // The bucket bound alone narrows the index range; the rest orders within the bucket.
    conditions.push(gte(s.bucketStart, after.bucket_start));
    const within = sql`(${s.service}, ${s.method}, ${s.route}) > (${after.service}, ${after.method}, ${after.route})`;
    const key = or(gt(s.bucketStart, after.bucket_start), and(eq(s.bucketStart, after.bucket_start), within));
    if (key) conditions.push(key);
  }
  return db
    .select(columns)
    .from(s)
    .where(and(...conditions))
    .orderBy(asc(s.bucketStart), asc(s.service), asc(s.method), asc(s.route))
    .limit(f.limit + 1);
}

export const summariesApp = new Hono<AppEnv>();

defineRoute(
  summariesApp,
  {
    method: "GET",
    path: "/",
    key: "read",
    tag: "Summaries",
    summary: "Hourly or daily summaries per endpoint, keyset pages",
    request: { query: summaryFilters },
    responses: { 200: { description: "a page", schema: summariesPageSchema } },
  },
  async (c, { query: f }) => {
    const to = f.to ?? Date.now();
    const from = f.from ?? to - DEFAULT_SPAN_MS[f.granularity];
    if (f.consumer !== undefined || f.region !== undefined) return c.json(await breakdownSummaries(c.env, f, from, to));
    const after = f.cursor === undefined ? null : decodeSummaryCursor(f.cursor);
    if (f.cursor !== undefined && after === null) {
      throw new ApiError(400, "invalid_request", "invalid query", ["cursor: not a cursor returned by this API"]);
    }
    // SQLite builds the page's JSON itself (one row back instead of one per summary): a week of
    // a service's hours is over a thousand rows, and row by row they cost more than the query.
    const inner = summariesQuery(drizzle(c.env.DB), f, from, to, after).toSQL();
    const fields = Object.keys(columns)
      .map((k) => `'${k}', "${k}"`)
      .join(", ");
    const row = await c.env.DB.prepare(
      `WITH p AS (${inner.sql})
     SELECT (SELECT json_group_array(json_object(${fields})) FROM (SELECT * FROM p LIMIT ?)) AS page,
            (SELECT count(*) FROM p) AS n,
            (SELECT json_array(bucket_start, service, method, route) FROM p LIMIT 1 OFFSET ?) AS last_key`,
    )
      .bind(...inner.params, f.limit, f.limit - 1)
      .first<{ page: string; n: number; last_key: string | null }>();
    let next: string | null = null;
    if (row && row.n > f.limit && row.last_key !== null) {
      const [bucket_start, service, method, route] = JSON.parse(row.last_key) as [number, string, string, string];
      next = encodeSummaryCursor({ bucket_start, service, method, route });
    }
    return c.body(
      `{"summaries":${row?.page ?? "[]"},"next_cursor":${next === null ? "null" : JSON.stringify(next)}}`,
      200,
      {
        "Content-Type": "application/json; charset=UTF-8",
      },
    );
  },
);

/**
 * Totals from the daily rows (total(): floats that cannot overflow whatever the rows hold), which are the sums of the hourly ones (written in the same run), so
 * the answer reads 24 times fewer rows than the hours would need.
 */
export const statsApp = new Hono<AppEnv>();

defineRoute(
  statsApp,
  {
    method: "GET",
    path: "/",
    key: "read",
    tag: "Summaries",
    summary: "Totals from the daily summaries and incident counts",
    responses: { 200: { description: "totals", schema: statsSchema } },
  },
  async (c) => {
    const d = drizzle(c.env.DB);
    const [perService, incidentCounts] = await d.batch([
      d
        .select({
          service: s.service,
          events: sql<number>`total(${s.count})`,
          status_2xx: sql<number>`total(${s.status2xx})`,
          status_3xx: sql<number>`total(${s.status3xx})`,
          status_4xx: sql<number>`total(${s.status4xx})`,
          status_5xx: sql<number>`total(${s.status5xx})`,
          silent_failures: sql<number>`total(${s.silentFailures})`,
          inconsistent: sql<number>`total(${s.inconsistent})`,
          since: min(s.bucketStart),
        })
        .from(s)
        .where(eq(s.granularity, "day"))
        .groupBy(s.service)
        .orderBy(asc(s.service)),
      d.select({ status: incidents.status, n: count() }).from(incidents).groupBy(incidents.status),
    ]);
    const total = (
      key: "events" | "status_2xx" | "status_3xx" | "status_4xx" | "status_5xx" | "silent_failures" | "inconsistent",
    ) => perService.reduce((sum, r) => sum + r[key], 0);
    const since = perService.reduce<number | null>(
      (m, r) => (r.since !== null && (m === null || r.since < m) ? r.since : m),
      null,
    );
    const incidentsBy = (status: string) => incidentCounts.find((r) => r.status === status)?.n ?? 0;
    return c.json({
      events_processed: total("events"),
      status: {
        "2xx": total("status_2xx"),
        "3xx": total("status_3xx"),
        "4xx": total("status_4xx"),
        "5xx": total("status_5xx"),
      },
      silent_failures: total("silent_failures"),
      inconsistent: total("inconsistent"),
      services: perService,
      incidents: { open: incidentsBy("open"), resolved: incidentsBy("resolved") },
      since,
      // The monitor's own billable work per million records and its list price (src/cost/stats.ts).
      cost: await costStats(c.env),
    });
  },
);
