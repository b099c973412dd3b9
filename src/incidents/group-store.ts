/**
 * Groups in D1, for the API: the service's IncidentGroups object upserts a group (two members or
 * more) and the member index after each change; `GET /v1/incidents` reads them beside the
 * incidents they hold.
 */
import { inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { incidentGroupMembers, incidentGroups } from "../db/schema";
import { groupExplanation, groupMembers, servicesOf, type IncidentGroup } from "./grouping";

/** The public JSON of a group. */
export function toApiGroup(g: IncidentGroup) {
  return {
    id: g.id,
    service: g.service,
    /** Every member's service (more than one when the group is an origin's: see `origin`). */
    services: servicesOf(g),
    /** The proxied origin host its members share, or null when grouped per service. */
    origin: g.origin ?? null,
    status: g.status,
    severity: g.severity,
    origin_down: g.origin_down,
    opened_at: g.opened_at,
    resolved_at: g.resolved_at,
    explanation: groupExplanation(g),
    members: groupMembers(g),
  };
}
export type ApiGroup = ReturnType<typeof toApiGroup>;

/** Upserts groups and their member index in one batch (idempotent: a retry writes the same rows). */
export async function publishGroups(db: D1Database, groups: readonly IncidentGroup[], now: number): Promise<void> {
  const d = drizzle(db);
  const statements = groups.flatMap((g) => {
    const api = toApiGroup(g);
    const row = {
      id: g.id,
      service: g.service,
      status: g.status,
      severity: g.severity,
      originDown: g.origin_down,
      openedAt: g.opened_at,
      resolvedAt: g.resolved_at,
      explanation: api.explanation,
      members: JSON.stringify(api.members),
      updatedAt: now,
    };
    const { id: _id, ...update } = row;
    return [
      d.insert(incidentGroups).values(row).onConflictDoUpdate({ target: incidentGroups.id, set: update }),
      ...g.members.map((m) =>
        d
          .insert(incidentGroupMembers)
          .values({ incidentId: m.incident_id, groupId: g.id })
          .onConflictDoUpdate({ target: incidentGroupMembers.incidentId, set: { groupId: g.id } }),
      ),
    ];
  });
  const [first, ...rest] = statements;
  if (first) await d.batch([first, ...rest]);
}

type GroupRow = typeof incidentGroups.$inferSelect;

/** Members as D1 holds them (rows written before origin groups carry neither `service` nor `origin`). */
type StoredMember = Omit<ApiGroup["members"][number], "service" | "origin"> & {
  service?: string;
  origin?: string | null;
};

function fromRow(r: GroupRow): ApiGroup {
  // The services and origin are kept in the members' JSON (no column of their own).
  const members = (JSON.parse(r.members) as StoredMember[]).map((m) => ({
    ...m,
    service: m.service ?? r.service,
    origin: m.origin ?? null,
  }));
  return {
    id: r.id,
    service: r.service,
    services: [...new Set([r.service, ...members.map((m) => m.service)])],
    origin: members.find((m) => m.origin !== null)?.origin ?? null,
    status: r.status as ApiGroup["status"],
    severity: r.severity as ApiGroup["severity"],
    origin_down: r.originDown,
    opened_at: r.openedAt,
    resolved_at: r.resolvedAt,
    explanation: r.explanation,
    members,
  };
}

/** The groups of the given incidents: incident id -> group id, and the groups themselves. */
export async function groupsOf(
  db: D1Database,
  incidentIds: readonly string[],
): Promise<{ byIncident: Map<string, string>; groups: ApiGroup[] }> {
  const byIncident = new Map<string, string>();
  if (incidentIds.length === 0) return { byIncident, groups: [] };
  const d = drizzle(db);
  // D1 binds at most 100 parameters per statement.
  for (let i = 0; i < incidentIds.length; i += 90) {
    const rows = await d
      .select()
      .from(incidentGroupMembers)
      .where(inArray(incidentGroupMembers.incidentId, incidentIds.slice(i, i + 90)))
      .all();
    for (const r of rows) byIncident.set(r.incidentId, r.groupId);
  }
  const ids = [...new Set(byIncident.values())];
  const groups: ApiGroup[] = [];
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await d
      .select()
      .from(incidentGroups)
      .where(inArray(incidentGroups.id, ids.slice(i, i + 90)))
      .all();
    groups.push(...rows.map(fromRow));
  }
  groups.sort((a, b) => b.opened_at - a.opened_at || (a.id < b.id ? 1 : -1));
  return { byIncident, groups };
}
