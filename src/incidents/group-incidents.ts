/**
 * What an IncidentGroups object (group-object.ts) reads of its members' incidents in D1: which
 * open members are resolved there (the endpoint objects publish their incidents before alerting),
 * and the lead incident a group alert carries.
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { ApiIncident } from "../alerts/alert-message";
import { incidents } from "../db/schema";
import { toApiIncident } from "./api-incident";
import { toApiGroup } from "./group-store";
import type { IncidentGroup } from "./group-types";

/** The incidents of `ids` that D1 shows resolved, with their resolution time. */
export async function resolvedIncidents(
  db: D1Database,
  ids: readonly string[],
): Promise<{ id: string; resolved_at: number | null }[]> {
  const rows = await db
    .prepare(
      "SELECT id, resolved_at FROM incidents WHERE status = 'resolved' AND id IN (SELECT value FROM json_each(?))",
    )
    .bind(JSON.stringify(ids))
    .all<{ id: string; resolved_at: number | null }>();
  return rows.results;
}

/** What a group alert carries: the first member's incident with the group's state and members. */
export async function groupAlertIncident(db: D1Database, g: IncidentGroup): Promise<ApiIncident | null> {
  const lead = g.members[0];
  if (!lead) return null;
  const row = await drizzle(db).select().from(incidents).where(eq(incidents.id, lead.incident_id)).get();
  if (!row) return null;
  const api = toApiGroup(g);
  return {
    ...toApiIncident(row),
    severity: g.severity,
    status: g.status,
    resolved_at: g.resolved_at,
    explanation: api.explanation,
    group: { ...api, dedup_id: g.dedup_key || g.id },
  };
}
