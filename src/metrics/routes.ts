/**
 * `GET /metrics`: Prometheus text exposition of every endpoint's counters, latency histogram and
 * health (as each endpoint object last published them to `endpoint_health`), open incidents per
 * service, and this isolate's ingest counters. One D1 batch per scrape; cardinality is bounded by
 * exporting at most MAX_METRICS_ENDPOINTS endpoints in primary-key order (the rest are counted in
 * `edge_monitor_endpoints_omitted`). Behind the read key unless `METRICS_PUBLIC` is "true".
 */
import { asc, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { config } from "../config";
import { endpointHealth, incidents } from "../db/schema";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { ingestCounters } from "../ingest/counters";
import { CONTENT_TYPE, renderMetrics } from "./exposition";
import { parseRequestMetrics } from "./request-counters";

/** Endpoints exported per scrape: about 23 series each, so at most about 46,000 series. */
export const MAX_METRICS_ENDPOINTS = 2000;

export const metricsApp = new Hono<AppEnv>();

defineRoute(
  metricsApp,
  {
    method: "GET",
    path: "/",
    key: "read",
    tag: "Metrics",
    summary: "Prometheus text exposition",
    description: "Behind the read key unless METRICS_PUBLIC is true.",
    // Widened: the generated type is the literal of wrangler.toml, a deployment may set either.
    keyWaived: (env) => config(env).METRICS_PUBLIC,
    responses: { 200: { description: "metrics", contentType: "text/plain" } },
  },
  async (c) => {
    const d = drizzle(c.env.DB);
    const t = endpointHealth;
    const [rows, total, open] = await d.batch([
      d
        .select({
          service: t.service,
          method: t.method,
          route: t.route,
          health: t.health,
          health_score: t.healthScore,
          severity_score: t.severityScore,
          backlog: t.backlog,
          metrics: t.metrics,
        })
        .from(t)
        .orderBy(asc(t.service), asc(t.method), asc(t.route))
        .limit(MAX_METRICS_ENDPOINTS),
      d.select({ n: sql<number>`count(*)` }).from(t),
      d
        .select({ service: incidents.service, n: sql<number>`count(*)` })
        .from(incidents)
        .where(eq(incidents.status, "open"))
        .groupBy(incidents.service),
    ]);
    const body = renderMetrics({
      endpoints: rows.map((r) => ({ ...r, metrics: parseRequestMetrics(r.metrics) })),
      omitted: Math.max(0, (total[0]?.n ?? 0) - rows.length),
      maxEndpoints: MAX_METRICS_ENDPOINTS,
      openIncidents: new Map(open.map((o) => [o.service, o.n])),
      ingest: { accepted: ingestCounters.accepted, rejected: ingestCounters.rejected, dropped: ingestCounters.dropped },
    });
    return c.body(body, 200, { "Content-Type": CONTENT_TYPE, "Cache-Control": "no-store" });
  },
);
