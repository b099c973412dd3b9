/**
 * The shapes of incident grouping (grouping.ts has the rules): what a member's endpoint object
 * says about its incident, a group as its Durable Object keeps it, the route of a member's own
 * alert (and its flat form for RPC), and the settings from the environment.
 */
import { config } from "../config";

export type Severity = "WARNING" | "CRITICAL";

/** What a member's endpoint object tells the group about its incident. */
export interface MemberInput {
  incident_id: string;
  service: string;
  method: string;
  route: string;
  severity: Severity;
  status: "open" | "resolved";
  opened_at: number;
  resolved_at: number | null;
  /** Kinds of the incident's signals (probe_failed, error_rate_threshold ...). */
  signal_kinds: string[];
  /** The host of the service's proxied origin; null for a service without one (ingest only). */
  origin?: string | null;
}

/** A member as its group keeps it. */
export interface GroupMember extends MemberInput {
  joined_at: number;
  /** Its own opening alert went out (it was alone when its grace ended). */
  alerted_alone: boolean;
}

/** A group as its Durable Object keeps it (JSON in its SQLite). */
export interface IncidentGroup {
  id: string;
  /** The first member's service. */
  service: string;
  /** Every member's service, first member's first. */
  services?: string[];
  /** The proxied origin host its members share; null (or absent, groups stored before) when grouped per service. */
  origin?: string | null;
  status: "open" | "resolved";
  /** The earliest member's `opened_at` (event time): later members must open within the window of it. */
  opened_at: number;
  resolved_at: number | null;
  /** Wall clock: the first member's alert waits until then for others. */
  hold_until: number;
  severity: Severity;
  origin_down: boolean;
  /** Who carries the group's alerts: nobody yet, the first member's own alert, or the group's. */
  alert: "none" | "lead" | "group";
  /** The PagerDuty dedup key of the group's alerts (the first member's incident id once it alerted alone). */
  dedup_key: string;
  members: GroupMember[];
  updated_at: number;
}

/** The alerts of an incident (or a group) that grouping decides on. */
export type AlertChange =
  "incident.opened" | "incident.escalated" | "incident.resolved" | "incident.updated" | "incident.reminder";

/** What the member's endpoint object does with one of its own alerts. */
export type Route = { kind: "send" } | { kind: "skip"; reason: string } | { kind: "wait"; until: number };

/** A route as one flat object (what crosses the Durable Object RPC boundary). */
export interface RouteWire {
  kind: Route["kind"];
  reason: string | null;
  until: number | null;
}

/** The route as one flat object. */
export function toWire(r: Route): RouteWire {
  return { kind: r.kind, reason: r.kind === "skip" ? r.reason : null, until: r.kind === "wait" ? r.until : null };
}

/** The route back from its flat form. */
export function fromWire(w: RouteWire): Route {
  if (w.kind === "skip") return { kind: "skip", reason: w.reason ?? "grouped" };
  if (w.kind === "wait" && w.until !== null) return { kind: "wait", until: w.until };
  return { kind: "send" };
}

/** How grouping is tuned: the window members must open within of each other, and the first alert's grace. */
export interface GroupSettings {
  windowMs: number;
  graceMs: number;
}

/** The settings from INCIDENT_GROUP_WINDOW_MINUTES (0: no grouping) and INCIDENT_GROUP_GRACE_SECONDS. */
export function groupSettings(env: {
  INCIDENT_GROUP_WINDOW_MINUTES?: string;
  INCIDENT_GROUP_GRACE_SECONDS?: string;
}): GroupSettings {
  return {
    windowMs: config(env).INCIDENT_GROUP_WINDOW_MINUTES * 60_000,
    graceMs: config(env).INCIDENT_GROUP_GRACE_SECONDS * 1000,
  };
}
