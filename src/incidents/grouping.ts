/**
 * Grouped incidents, as pure functions. When two or more endpoints of a service go bad within
 * INCIDENT_GROUP_WINDOW_MINUTES of each other (incident `opened_at`, event time), one service
 * group holds their incidents, so that an origin outage pages once per channel instead of once
 * per endpoint. The first member's own alert waits INCIDENT_GROUP_GRACE_SECONDS (wall clock) for a
 * second one; past that it goes out alone, and a member that arrives later turns it into the
 * group (the group's alerts keep the first alert's PagerDuty dedup key, so no second page).
 *
 * Endpoints of services proxied to the same origin host group together (one object per
 * `origin:<host>`, see groupKey): an origin outage pages once whichever services sit behind it.
 * Services without an origin (ingest only) group per service.
 *
 * Only the alerts of members are suppressed: their opening, escalation, update and reminder
 * alerts are carried by the group's; the group's resolution is always sent, when its last
 * member resolves (those rules are group-alerts.ts). The per-key Durable Object (group-object.ts)
 * applies them one call at a time, which is what makes the decisions race-free across endpoint
 * objects.
 */
import type { GroupMember, GroupSettings, IncidentGroup, MemberInput, Severity } from "./group-types";

export { DEFAULT_GROUP_GRACE_SECONDS, DEFAULT_GROUP_WINDOW_MINUTES } from "../config";
export { fromWire, groupSettings, toWire } from "./group-types";
export type {
  AlertChange,
  GroupMember,
  GroupSettings,
  IncidentGroup,
  MemberInput,
  Route,
  RouteWire,
  Severity,
} from "./group-types";

/** Signals that say requests themselves fail or stop (as opposed to a probe's view). */
const TRAFFIC_FAILURE = new Set([
  "error_rate_threshold",
  "error_rate_baseline",
  "availability_burn_page",
  "traffic_stop",
  "traffic_drop",
  "silent_failures",
]);

/** The worst severity of the members. */
export function worstSeverity(members: readonly Pick<GroupMember, "severity">[]): Severity {
  return members.some((m) => m.severity === "CRITICAL") ? "CRITICAL" : "WARNING";
}

/** Probes failing together with traffic: the origin itself is down, not one endpoint. */
export function originDown(members: readonly Pick<GroupMember, "signal_kinds">[]): boolean {
  const kinds = members.flatMap((m) => m.signal_kinds);
  return kinds.includes("probe_failed") && kinds.some((k) => TRAFFIC_FAILURE.has(k));
}

/**
 * Which group object an endpoint's incidents go to: `origin:<host>` for a service proxied to an
 * origin (every service behind that host shares it), the service's name otherwise (a service
 * name cannot hold ':', so the two never collide).
 */
export function groupKey(service: string, originHost: string | null | undefined): string {
  return originHost ? `origin:${originHost}` : service;
}

/** The host (with its port, lower case) of an origin URL; null when there is none or it does not parse. */
export function originHost(origin: string | null | undefined): string | null {
  if (!origin) return null;
  try {
    return new URL(origin).host.toLowerCase() || null;
  } catch {
    return null;
  }
}

/** Whether a member belongs with the group's key: the same origin host, or (neither has one) the same service. */
function sameKey(
  g: Pick<IncidentGroup, "service" | "origin">,
  member: Pick<MemberInput, "service" | "origin">,
): boolean {
  return groupKey(g.service, g.origin) === groupKey(member.service, member.origin);
}

/** The group's services, first member's first. */
export function servicesOf(g: Pick<IncidentGroup, "service" | "members">): string[] {
  return [...new Set([g.service, ...g.members.map((m) => m.service)])];
}

/** Whether the group has more than one member (a group of one is an ordinary incident). */
export const isGrouped = (g: Pick<IncidentGroup, "members">): boolean => g.members.length >= 2;

/** The open group of the member's origin (or service) that `member` falls into (opened within the window of it), or null. */
export function findGroup(
  groups: readonly IncidentGroup[],
  member: MemberInput,
  s: GroupSettings,
): IncidentGroup | null {
  return (
    groups.find(
      (g) => g.status === "open" && sameKey(g, member) && Math.abs(member.opened_at - g.opened_at) <= s.windowMs,
    ) ?? null
  );
}

/** The group's fields that follow from its members. */
function settle(g: IncidentGroup, now: number): IncidentGroup {
  const open = g.members.some((m) => m.status === "open");
  return {
    ...g,
    services: servicesOf(g),
    origin: g.origin ?? null,
    severity: worstSeverity(g.members),
    origin_down: originDown(g.members),
    opened_at: Math.min(...g.members.map((m) => m.opened_at)),
    status: open ? "open" : "resolved",
    resolved_at: open ? null : Math.max(...g.members.map((m) => m.resolved_at ?? now)),
    updated_at: now,
  };
}

/** A new group with `member` as its first member. */
export function newGroup(member: MemberInput, now: number, s: GroupSettings): IncidentGroup {
  return settle(
    {
      id: `grp_${member.incident_id.replace(/^inc_/, "")}`.slice(0, 44),
      service: member.service,
      services: [member.service],
      origin: member.origin ?? null,
      status: "open",
      opened_at: member.opened_at,
      resolved_at: null,
      hold_until: now + s.graceMs,
      severity: member.severity,
      origin_down: false,
      alert: "none",
      dedup_key: "",
      members: [{ ...member, joined_at: now, alerted_alone: false }],
      updated_at: now,
    },
    now,
  );
}

/** The group with `member`'s latest state (added when new). */
export function withMember(g: IncidentGroup, member: MemberInput, now: number): IncidentGroup {
  const known = g.members.find((m) => m.incident_id === member.incident_id);
  const members = known
    ? g.members.map((m) =>
        m.incident_id === member.incident_id
          ? { ...m, ...member, signal_kinds: [...new Set([...m.signal_kinds, ...member.signal_kinds])] }
          : m,
      )
    : [...g.members, { ...member, joined_at: now, alerted_alone: false }];
  const next = settle({ ...g, members }, now);
  return { ...next, dedup_key: next.dedup_key || next.id };
}

/** The group's members as the API and the alerts list them. */
export function groupMembers(g: IncidentGroup) {
  return g.members.map((m) => ({
    incident_id: m.incident_id,
    service: m.service,
    method: m.method,
    route: m.route,
    severity: m.severity,
    status: m.status,
    opened_at: m.opened_at,
    resolved_at: m.resolved_at,
    origin: m.origin ?? null,
  }));
}

/** One sentence on the group, for alerts and the API. */
export function groupExplanation(g: IncidentGroup): string {
  const open = g.members.filter((m) => m.status === "open").length;
  const services = servicesOf(g);
  const spans = services.length > 1;
  const names = g.members.map((m) => (spans ? `${m.service} ${m.method} ${m.route}` : `${m.method} ${m.route}`));
  const shown = names.length > 8 ? `${names.slice(0, 8).join(", ")} and ${names.length - 8} more` : names.join(", ");
  const span = Math.round((Math.max(...g.members.map((m) => m.opened_at)) - g.opened_at) / 60_000);
  const cause = g.origin_down ? " Probes fail together with traffic: the origin is down." : "";
  const state = g.status === "resolved" ? "all resolved" : `${open} still open`;
  const when = span === 0 ? "in the same minute" : `within ${span} min`;
  const of = spans ? `${services.join(", ")} (behind origin ${g.origin ?? "?"})` : g.service;
  return `${g.members.length} endpoints of ${of} went bad ${when} (${state}): ${shown}.${cause}`;
}
