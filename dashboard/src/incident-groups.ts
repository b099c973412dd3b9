/**
 * The incident list with groups folded: a group (endpoints of a service that went bad together,
 * `groups` of GET /v1/incidents) is one row at the place of its newest member, and its members
 * follow it, shown when the row is opened. Pure: the page builds the rows from what this returns.
 */
import type { Incident, IncidentGroup } from "../../src/api-types";

export type ListEntry =
  { kind: "incident"; incident: Incident } | { kind: "group"; group: IncidentGroup; members: Incident[] };

/** The list's rows: incidents outside groups as they are, each group once with its listed members. */
export function foldGroups(incidents: readonly Incident[], groups: readonly IncidentGroup[]): ListEntry[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const seen = new Set<string>();
  const out: ListEntry[] = [];
  for (const i of incidents) {
    const group = i.group_id ? byId.get(i.group_id) : undefined;
    if (!group) {
      out.push({ kind: "incident", incident: i });
      continue;
    }
    if (seen.has(group.id)) continue;
    seen.add(group.id);
    out.push({ kind: "group", group, members: incidents.filter((m) => m.group_id === group.id) });
  }
  return out;
}

/** The group row's label: service (or origin and services), how many endpoints, and "origin down" when probes fail with traffic. */
export function groupLabel(g: IncidentGroup): string {
  const down = g.origin_down ? " (origin down)" : "";
  const services = g.services ?? [g.service];
  if (services.length > 1)
    return `origin ${g.origin ?? "?"}: ${g.members.length} endpoints of ${services.join(", ")}${down}`;
  return `${g.service}: ${g.members.length} endpoints${down}`;
}
