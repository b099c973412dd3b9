/**
 * Which alerts a group and its members send, as pure functions (grouping.ts has the membership
 * rules): the group's own alerts as it changes, its opening once the grace is over, a member's own
 * alert (sent, skipped because the group's carries it, or held for the grace) and the group's
 * reminder. The per-key Durable Object (group-object.ts) applies them one call at a time.
 */
import type { AlertChange, IncidentGroup, Route, Severity } from "./group-types";
import { isGrouped, servicesOf } from "./grouping";

const RANK: Record<Severity, number> = { WARNING: 1, CRITICAL: 2 };

/** The group alert a change of the group calls for, if the group is announced at all. */
export function groupAlertFor(before: IncidentGroup | null, after: IncidentGroup): AlertChange | null {
  if (!isGrouped(after)) return null;
  if (after.alert === "none") return null;
  if (after.status === "resolved" && before?.status !== "resolved") return "incident.resolved";
  if (after.status === "resolved") return null;
  if (before && before.alert !== "none" && RANK[after.severity] > RANK[before.severity]) return "incident.escalated";
  // A member joined a group whose alert went out already: the group's alert is updated (no new page).
  if (before && after.members.length > before.members.length) return "incident.updated";
  return null;
}

/**
 * Whether the group's own opening alert is due: two members or more, nobody announced yet, the
 * grace over (also when the group resolved meanwhile: its members' alerts were skipped for it).
 */
export function groupOpenDue(g: IncidentGroup, now: number): boolean {
  return isGrouped(g) && g.alert === "none" && now >= g.hold_until;
}

/**
 * What the member's endpoint object does with its own alert `change`, and the group after it.
 * `g` already holds the member (see `withMember`).
 */
export function routeMemberAlert(
  g: IncidentGroup,
  incidentId: string,
  change: AlertChange,
  now: number,
): { route: Route; group: IncidentGroup } {
  const member = g.members.find((m) => m.incident_id === incidentId);
  if (!member) return { route: { kind: "send" }, group: g };
  if (!isGrouped(g)) {
    if (change !== "incident.opened") return { route: { kind: "send" }, group: g };
    if (now < g.hold_until) return { route: { kind: "wait", until: g.hold_until }, group: g };
    // Alone when the grace ended: it alerts as an ordinary incident, and carries the group's alerts from now on.
    const members = g.members.map((m) => (m.incident_id === incidentId ? { ...m, alerted_alone: true } : m));
    return { route: { kind: "send" }, group: { ...g, members, alert: "lead", dedup_key: incidentId } };
  }
  // A member that changes after its group resolved (re-opened) alerts on its own: nothing is lost.
  if (g.status === "resolved" && member.status === "open") return { route: { kind: "send" }, group: g };
  return {
    route: {
      kind: "skip",
      reason: `grouped into ${g.id} (${g.members.length} endpoints of ${servicesOf(g).join(", ")}): the group's alert carries it`,
    },
    group: g,
  };
}

/**
 * Whether a member's reminder (skipped: its group carries it) should remind of the group: an open
 * CRITICAL group whose alert went out, last alerted `minutes` ago or more (null: never by itself).
 */
export function groupReminderDue(g: IncidentGroup, lastAlertAt: number | null, minutes: number, now: number): boolean {
  if (minutes <= 0 || !isGrouped(g) || g.alert === "none" || g.status !== "open" || g.severity !== "CRITICAL")
    return false;
  return lastAlertAt === null || now - lastAlertAt >= minutes * 60_000;
}
