/**
 * The outbox's tables and its way in: which incident changes become alert events
 * (`announceChange`), and the hooks an outbox's owner gives it. See outbox.ts for the design.
 */
import type { Incident } from "../detect/incident";
import type { AlertEvent, ApiIncident } from "./payloads";

export const OUTBOX_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS alert_events (
     event_id TEXT PRIMARY KEY,
     incident_id TEXT NOT NULL,
     event TEXT NOT NULL,
     severity TEXT NOT NULL,
     service TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     fanned_out INTEGER NOT NULL DEFAULT 0
   )`,
  `CREATE TABLE IF NOT EXISTS alert_outbox (
     message_id TEXT PRIMARY KEY,
     event_id TEXT NOT NULL,
     incident_id TEXT NOT NULL,
     event TEXT NOT NULL,
     channel_id TEXT NOT NULL,
     attempt INTEGER NOT NULL DEFAULT 0,
     next_at INTEGER NOT NULL,
     status TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     sent_at INTEGER
   )`,
  `CREATE INDEX IF NOT EXISTS alert_outbox_due ON alert_outbox (next_at) WHERE status = 'pending'`,
  `CREATE INDEX IF NOT EXISTS alert_outbox_incident ON alert_outbox (incident_id, channel_id)`,
  // An event whose fan-out waits (the grace of a possible incident group) until `until`.
  `CREATE TABLE IF NOT EXISTS alert_holds (event_id TEXT PRIMARY KEY, until INTEGER NOT NULL)`,
];

/** What to do with an event before fanning it out (incident groups): send, skip with a reason, or wait. */
export type EventRoute = { kind: "send" } | { kind: "skip"; reason: string } | { kind: "wait"; until: number };

export interface OutboxHooks {
  /** Decides an event before its fan-out (default: send). A failure sends: an alert is never lost to it. */
  route?: (
    e: { incident_id: string; event: AlertEvent; severity: string; service: string },
    now: number,
  ) => Promise<EventRoute>;
  /** The incident a message carries (default: the incident's D1 row as the API shows it; null: not there yet). */
  load?: (incidentId: string) => Promise<ApiIncident | null>;
}

/**
 * An event's `service` may list several services (a group behind one origin): the channels of any
 * of them match. Service names cannot hold a comma (A-Z a-z 0-9 . _ -).
 */
export const SERVICE_LIST_SEPARATOR = ",";

/** Alerts are only sent for changes this recent in event time: a backfill of old traffic does not page anyone. */
export const ANNOUNCE_WITHIN_MS = 30 * 60_000;
/** How long the first alert of an incident waits for its AI summary. */
export const AI_ALERT_WAIT_MS = 8_000;

/** A re-opened incident (bad again soon after its resolution) is announced as an update of the same incident. */
const EVENTS = {
  opened: "incident.opened",
  escalated: "incident.escalated",
  resolved: "incident.resolved",
  reopened: "incident.updated",
} as const;

/** The part of the outbox `announceChange` writes to. */
export interface Announcer {
  wasAnnounced(incidentId: string): boolean;
  enqueue(
    e: { incident_id: string; event: AlertEvent; severity: string; service: string; round?: number },
    now: number,
  ): void;
}

/** Records an incident change in the outbox, unless it happened long ago in event time (a replay). */
export function announceChange(
  outbox: Announcer,
  incident: Pick<Incident, "id" | "last_event_at" | "severity" | "service" | "reopened_count">,
  change: keyof typeof EVENTS,
  now: number,
): void {
  // An incident whose opening was announced always gets its escalation and resolution, however late.
  const recent = now - incident.last_event_at <= ANNOUNCE_WITHIN_MS;
  if (!recent && !(change !== "opened" && outbox.wasAnnounced(incident.id))) return;
  // After a re-open the incident escalates and resolves again: those are new events, not duplicates.
  const round = incident.reopened_count ?? 0;
  outbox.enqueue(
    {
      incident_id: incident.id,
      event: EVENTS[change],
      severity: incident.severity,
      service: incident.service,
      ...(round > 0 && change !== "opened" ? { round } : {}),
    },
    now,
  );
}
