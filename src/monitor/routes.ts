/**
 * `GET /v1/endpoints`: every evaluated endpoint with its health, scores, recommended action, key
 * figures and active signals (filters `service`, `health`), from the rows the endpoint objects
 * publish to D1. `GET /v1/endpoints/:service/:method/:route`: one endpoint's counters, backlog,
 * windows as time series, baselines, active signals and recent incidents, read from its Durable
 * Object; `.../breakdown?window=1h` its top consumers and locations (src/breakdown). The route is URL-encoded (`/orders/:id` -> `%2Forders%2F%3Aid`).
 */
import { and, asc, eq, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import * as z from "zod";
import { endpointHealth } from "../db/schema";
import type { Signal } from "../detect/types";
import type { AppEnv } from "../http/types";
import { endpointParams } from "../http/filters";
import { defineRoute } from "../http/route";
import { endpointObject } from "./endpoint-object";
import { breakdownQuery } from "../breakdown/window";
import { breakdownSchema, endpointDetailSchema, endpointListSchema } from "./schemas";

export const listQuery = z.object({
  service: z.string().min(1).max(64).optional(),
  health: z
    .string()
    .transform((h) => h.toUpperCase())
    .pipe(z.enum(["NORMAL", "WARNING", "CRITICAL"]))
    .optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
});

type HealthRow = typeof endpointHealth.$inferSelect;

/** The traffic surge among an endpoint's signals (null: none): requests/min over 5 minutes against the usual. */
function surgeOf(signals: readonly Signal[]): {
  requests_per_minute: number;
  usual_per_minute: number | null;
  ratio: number | null;
  with_trouble: boolean;
  rate_limited: { share: number; usual: number } | null;
} | null {
  const s = signals.find((x) => x.kind === "traffic_surge");
  if (!s) return null;
  return {
    requests_per_minute: s.observed,
    usual_per_minute: s.baseline,
    ratio: s.baseline ? Math.round((s.observed / s.baseline) * 10) / 10 : null,
    with_trouble: s.level === "warning",
    rate_limited: s.rate_limited ?? null,
  };
}

export function toApiEndpoint(r: HealthRow) {
  const baselines = JSON.parse(r.baselines) as { objective?: { slower_than_default_objective?: boolean } };
  return {
    service: r.service,
    method: r.method,
    route: r.route,
    health: r.health,
    severity_score: r.severityScore,
    health_score: r.healthScore,
    action: r.action,
    figures: JSON.parse(r.figures) as unknown,
    signals: JSON.parse(r.signals) as unknown[],
    baselines,
    slower_than_default_objective: baselines.objective?.slower_than_default_objective === true,
    surge: surgeOf(JSON.parse(r.signals) as Signal[]),
    open_incident_id: r.openIncidentId,
    evaluated_at: r.evaluatedAt,
    events_processed: r.eventsProcessed,
    updated_at: r.updatedAt,
  };
}

export const endpointsApp = new Hono<AppEnv>();

defineRoute(
  endpointsApp,
  {
    method: "GET",
    path: "/",
    key: "read",
    tag: "Endpoints",
    summary: "Every evaluated endpoint with health, scores, action, figures and signals",
    request: { query: listQuery },
    responses: { 200: { description: "endpoints", schema: endpointListSchema } },
  },
  async (c, { query: q }) => {
    const t = endpointHealth;
    const conditions: SQL[] = [];
    if (q.service !== undefined) conditions.push(eq(t.service, q.service));
    if (q.health !== undefined) conditions.push(eq(t.health, q.health));
    const rows = await drizzle(c.env.DB)
      .select()
      .from(t)
      .where(and(...conditions))
      .orderBy(asc(t.service), asc(t.route), asc(t.method))
      .limit(q.limit)
      .all();
    return c.json({ endpoints: rows.map(toApiEndpoint) });
  },
);

defineRoute(
  endpointsApp,
  {
    method: "GET",
    path: "/:service/:method/:route/breakdown",
    key: "read",
    tag: "Endpoints",
    summary: "One endpoint's top consumers and top locations (top 20 plus other) over a window of event time",
    description:
      "Requests, 5xx, silent failures, error rate and p50/p95 per consumer and per location (the `region` of the records: the proxy's Cloudflare colo). Windows up to 6h are merged from minute buckets, 24h and 72h from hour buckets.",
    request: { params: endpointParams, query: breakdownQuery, what: "endpoint" },
    responses: { 200: { description: "the breakdown", schema: breakdownSchema } },
  },
  async (c, { params, query: { window } }) => {
    const view = await endpointObject(c.env, params).breakdown(window);
    return c.json({ service: params.service, method: params.method, route: params.route, ...view });
  },
);

defineRoute(
  endpointsApp,
  {
    method: "GET",
    path: "/:service/:method/:route",
    key: "read",
    tag: "Endpoints",
    summary: "One endpoint object: counters, windows as series, baselines, signals, incidents",
    description: "The route is URL-encoded: `/orders/:id` → `%2Forders%2F%3Aid`.",
    request: { params: endpointParams, what: "endpoint" },
    responses: { 200: { description: "the endpoint's detail", schema: endpointDetailSchema } },
  },
  async (c, { params }) => {
    const detail = await endpointObject(c.env, params).detail();
    // An endpoint that never received a record answers with zero counters under its own name.
    return c.json({ ...detail, service: params.service, method: params.method, route: params.route });
  },
);
