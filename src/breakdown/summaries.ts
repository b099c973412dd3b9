/**
 * `GET /v1/summaries?consumer=` and `?region=`: the `summaries` table has no consumer or location
 * dimension, so these hourly summaries are served from the endpoint objects' per-hour breakdowns
 * (top 20 consumers and locations per hour, kept 3 days of event time): the matching endpoints
 * are read from `endpoint_health` (at most MAX_ENDPOINTS) and each object answers the hours where
 * the name is among its top groups. A name that fell into "other" in an hour has no row for it.
 */
import { and, asc, eq, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { endpointHealth } from "../db/schema";
import { ApiError } from "../http/errors";
import { endpointObject } from "../monitor/endpoint-object";
import type { Dimension } from "./top-k";

/** Endpoints one filtered request may fan out to. */
export const MAX_ENDPOINTS = 50;

export interface BreakdownFilters {
  service?: string;
  method?: string;
  route?: string;
  granularity: "hour" | "day";
  consumer?: string;
  region?: string;
  limit: number;
}

/** One summary row from a breakdown, in the public snake_case shape. */
export interface BreakdownSummary {
  service: string;
  method: string;
  route: string;
  bucket_start: number;
  granularity: "hour";
  consumer: string | null;
  region: string | null;
  count: number;
  status_5xx: number;
  silent_failures: number;
  error_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
}

/** Summaries of one consumer or one location, per endpoint and hour, from the endpoint objects. */
export async function breakdownSummaries(
  env: Env,
  f: BreakdownFilters,
  from: number,
  to: number,
): Promise<{ summaries: BreakdownSummary[]; next_cursor: null; source: "endpoint_breakdown"; truncated: boolean }> {
  if (f.consumer !== undefined && f.region !== undefined) {
    throw new ApiError(400, "invalid_request", "invalid query", [
      "consumer, region: filter by one of them (the breakdowns are kept per dimension)",
    ]);
  }
  if (f.granularity !== "hour") {
    throw new ApiError(400, "invalid_request", "invalid query", [
      "granularity: summaries by consumer or region are hourly only",
    ]);
  }
  const dimension: Dimension = f.consumer !== undefined ? "consumer" : "region";
  const name = f.consumer ?? f.region ?? "";
  const t = endpointHealth;
  const conditions: SQL[] = [];
  if (f.service !== undefined) conditions.push(eq(t.service, f.service));
  if (f.method !== undefined) conditions.push(eq(t.method, f.method));
  if (f.route !== undefined) conditions.push(eq(t.route, f.route));
  const endpoints = await drizzle(env.DB)
    .select({ service: t.service, method: t.method, route: t.route })
    .from(t)
    .where(and(...conditions))
    .orderBy(asc(t.service), asc(t.method), asc(t.route))
    .limit(MAX_ENDPOINTS + 1)
    .all();
  if (endpoints.length > MAX_ENDPOINTS) {
    throw new ApiError(400, "invalid_request", "invalid query", [
      `service: more than ${MAX_ENDPOINTS} endpoints match; narrow with service, method or route to filter by ${dimension}`,
    ]);
  }
  const first = Math.floor(from / 3_600_000) * 3_600_000;
  const perEndpoint = await Promise.all(
    endpoints.map(async (e) => ({
      e,
      buckets: await endpointObject(env, e).groupHours(dimension, name, first, to + 1),
    })),
  );
  const rows: BreakdownSummary[] = perEndpoint.flatMap(({ e, buckets }) =>
    buckets.map((b) => ({
      service: e.service,
      method: e.method,
      route: e.route,
      bucket_start: b.bucket_start,
      granularity: "hour" as const,
      consumer: dimension === "consumer" ? name : null,
      region: dimension === "region" ? name : null,
      count: b.group.requests,
      status_5xx: b.group.status_5xx,
      silent_failures: b.group.silent_failures,
      error_rate: b.group.error_rate,
      p50_ms: b.group.p50_ms,
      p95_ms: b.group.p95_ms,
    })),
  );
  rows.sort(
    (a, b) =>
      a.bucket_start - b.bucket_start ||
      (a.service < b.service ? -1 : a.service > b.service ? 1 : 0) ||
      (a.method < b.method ? -1 : 1) ||
      (a.route < b.route ? -1 : 1),
  );
  return {
    summaries: rows.slice(0, f.limit),
    next_cursor: null,
    source: "endpoint_breakdown",
    truncated: rows.length > f.limit,
  };
}
