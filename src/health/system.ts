/**
 * `GET /v1/health/system`: the system's status rolled up from its services, each rolled up from
 * its endpoints (the worst health and severity win), with the open and recent incidents and the
 * total of events processed.
 */
import { desc, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { endpointHealth, incidents } from "../db/schema";
import { rollup } from "../detect/health";
import type { Health } from "../detect/types";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { toApiIncident } from "../incidents/api-incident";
import { systemHealthSchema } from "./schemas";

const RECENT_ISSUES = 10;

export const systemHealthApp = new Hono<AppEnv>();

defineRoute(
  systemHealthApp,
  {
    method: "GET",
    path: "/system",
    key: "read",
    tag: "Endpoints",
    summary: "System status rolled up from services and endpoints",
    responses: { 200: { description: "status", schema: systemHealthSchema } },
  },
  async (c) => {
    const d = drizzle(c.env.DB);
    const [rows, open, recent, openCount] = await d.batch([
      d
        .select({
          service: endpointHealth.service,
          health: endpointHealth.health,
          severity_score: endpointHealth.severityScore,
          events: endpointHealth.eventsProcessed,
          evaluated_at: endpointHealth.evaluatedAt,
        })
        .from(endpointHealth),
      d
        .select()
        .from(incidents)
        .where(eq(incidents.status, "open"))
        .orderBy(desc(incidents.openedAt))
        .limit(RECENT_ISSUES),
      d
        .select()
        .from(incidents)
        .where(eq(incidents.status, "resolved"))
        .orderBy(desc(incidents.openedAt))
        .limit(RECENT_ISSUES),
      d
        .select({ n: sql<number>`count(*)` })
        .from(incidents)
        .where(eq(incidents.status, "open")),
    ]);
    const byService = new Map<string, { health: Health; severity_score: number }[]>();
    for (const r of rows) {
      const list = byService.get(r.service) ?? [];
      list.push({ health: r.health as Health, severity_score: r.severity_score });
      byService.set(r.service, list);
    }
    const services = [...byService.entries()]
      .map(([service, list]) => ({ service, endpoints: list.length, ...rollup(list) }))
      .sort((a, b) => b.severity_score - a.severity_score || a.service.localeCompare(b.service));
    const system = rollup(services);
    return c.json({
      status: system.health,
      severity_score: system.severity_score,
      health_score: system.health_score,
      endpoints: {
        total: rows.length,
        ...rollup(rows.map((r) => ({ health: r.health as Health, severity_score: r.severity_score }))).counts,
      },
      services,
      open_incidents: openCount[0]?.n ?? 0,
      recent_issues: [...open, ...recent].slice(0, RECENT_ISSUES).map(toApiIncident),
      events_processed: rows.reduce((sum, r) => sum + r.events, 0),
      evaluated_at: rows.reduce<number | null>(
        (max, r) => (max === null || r.evaluated_at > max ? r.evaluated_at : max),
        null,
      ),
    });
  },
);
