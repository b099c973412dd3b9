/**
 * `GET /v1/incidents` (filters `service`, `method`, `route`, `status`, `severity`, `from`/`to` on
 * `opened_at`, `limit` up to 1,000; newest first) and `GET /v1/incidents/:id`, read from D1 where
 * the endpoint objects publish them, with the incident groups they belong to (`group_id`, and
 * `groups` with their members); `POST /v1/incidents/:id/summarize` (admin) asks Workers AI
 * for the incident's summary now and answers the incident with it.
 */
import { and, desc, eq, gte, lte, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import * as z from "zod";
import { summarizeIncident } from "../ai/summarize";
import { endpointObject } from "../monitor/endpoint-object";
import { incidents } from "../db/schema";
import { endpointFilterFields } from "../http/filters";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { defineRoute } from "../http/route";
import { epochOrIso } from "../query/logs-query";
import { groupsOf } from "./group-store";
import { toApiIncident, type IncidentRow } from "./api-incident";
import { incidentListSchema, incidentSchema } from "./schemas";

export const incidentFilters = z.object({
  ...endpointFilterFields,
  status: z.enum(["open", "resolved"]).optional(),
  severity: z
    .string()
    .transform((s) => s.toUpperCase())
    .pipe(z.enum(["WARNING", "CRITICAL"]))
    .optional(),
  from: epochOrIso.optional(),
  to: epochOrIso.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const INCIDENT_ID = /^inc_[a-z0-9_]{1,40}$/;
const incidentParams = z.object({ id: z.string().regex(INCIDENT_ID) });
const noIncident = (raw: Record<string, string>) =>
  new ApiError(404, "incident_not_found", `no incident ${(raw.id ?? "").slice(0, 60)}`);

export const incidentsApp = new Hono<AppEnv>();

defineRoute(
  incidentsApp,
  {
    method: "GET",
    path: "/",
    key: "read",
    tag: "Incidents",
    summary: "Incidents, newest first",
    request: { query: incidentFilters },
    responses: { 200: { description: "incidents", schema: incidentListSchema } },
  },
  async (c, { query: f }) => {
    const t = incidents;
    const conditions: SQL[] = [];
    if (f.service !== undefined) conditions.push(eq(t.service, f.service));
    if (f.method !== undefined) conditions.push(eq(t.method, f.method));
    if (f.route !== undefined) conditions.push(eq(t.route, f.route));
    if (f.status !== undefined) conditions.push(eq(t.status, f.status));
    if (f.severity !== undefined) conditions.push(eq(t.severity, f.severity));
    if (f.from !== undefined) conditions.push(gte(t.openedAt, f.from));
    if (f.to !== undefined) conditions.push(lte(t.openedAt, f.to));
    const rows = await drizzle(c.env.DB)
      .select()
      .from(t)
      .where(and(...conditions))
      .orderBy(desc(t.openedAt), desc(t.id))
      .limit(f.limit)
      .all();
    // Groups (endpoints of a service that went bad together): `group_id` on each member, and the groups with their members.
    const { byIncident, groups } = await groupsOf(
      c.env.DB,
      rows.map((r) => r.id),
    );
    return c.json({
      incidents: rows.map((r) => ({ ...toApiIncident(r), group_id: byIncident.get(r.id) ?? null })),
      groups,
    });
  },
);

defineRoute(
  incidentsApp,
  {
    method: "GET",
    path: "/:id",
    key: "read",
    tag: "Incidents",
    summary: "One incident",
    request: { params: incidentParams, invalidParams: noIncident },
    responses: {
      200: { description: "the incident, with its group", schema: incidentSchema },
      404: { description: "no such incident" },
    },
  },
  async (c, { params }) => {
    const row = await loadIncident(c.env.DB, params.id);
    const { byIncident, groups } = await groupsOf(c.env.DB, [row.id]);
    return c.json({ ...toApiIncident(row), group_id: byIncident.get(row.id) ?? null, group: groups[0] ?? null });
  },
);

defineRoute(
  incidentsApp,
  {
    method: "POST",
    path: "/:id/summarize",
    key: "admin",
    tag: "Incidents",
    summary: "Ask Workers AI for the incident's summary now",
    request: { params: incidentParams, invalidParams: noIncident },
    responses: {
      200: { description: "the incident with its ai_* fields", schema: incidentSchema },
      404: { description: "no such incident" },
    },
  },
  async (c, { params }) => {
    const row = await loadIncident(c.env.DB, params.id);
    // The outcome (ok, unavailable, failed, timeout, invalid) is stored on the incident and shown in its ai_* fields.
    const outcome = await summarizeIncident(c.env, row.id);
    if (outcome.status === "ok") {
      // A summary that arrives after the first alert follows it as an update (never in this request: the object's alarm sends it).
      await endpointObject(c.env, row).announceUpdate(row.id);
    }
    return c.json(toApiIncident(await loadIncident(c.env.DB, row.id)));
  },
);

async function loadIncident(db: D1Database, id: string): Promise<IncidentRow> {
  if (!INCIDENT_ID.test(id)) throw new ApiError(404, "incident_not_found", `no incident ${id.slice(0, 60)}`);
  const row = await drizzle(db).select().from(incidents).where(eq(incidents.id, id)).get();
  if (!row) throw new ApiError(404, "incident_not_found", `no incident ${id}`);
  return row;
}
