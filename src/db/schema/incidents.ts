/** D1 tables of detection results: incidents, endpoint health, detection settings, incident groups. */
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Incidents, written by the endpoint Durable Objects (which own their state machine) and read by
 * the API. Times are event times except `updated_at`. `signals` holds each signal's evidence and
 * `figures` the endpoint's key figures at open and now, both as JSON (with the incident's timeline of
 * changes and its re-open count, kept there rather than in new columns).
 */
export const incidents = sqliteTable(
  "incidents",
  {
    id: text("id").primaryKey(),
    service: text("service").notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    severity: text("severity").notNull(),
    status: text("status").notNull(),
    openedAt: integer("opened_at").notNull(),
    escalatedAt: integer("escalated_at"),
    resolvedAt: integer("resolved_at"),
    lastEventAt: integer("last_event_at").notNull(),
    severityScore: real("severity_score").notNull(),
    healthScore: integer("health_score").notNull(),
    action: text("action").notNull(),
    signals: text("signals").notNull(),
    figures: text("figures").notNull(),
    explanation: text("explanation").notNull(),
    updatedAt: integer("updated_at").notNull(),
    /**
     * The AI summary (JSON: summary, likely_causes, suggested_actions, confidence) and how it
     * went: ok, unavailable (no AI binding), failed, timeout, invalid. Written only by the
     * summarizer, never by the endpoint objects, and never read to decide anything.
     */
    aiSummary: text("ai_summary"),
    aiModel: text("ai_model"),
    aiStatus: text("ai_status"),
    aiError: text("ai_error"),
    aiUpdatedAt: integer("ai_updated_at"),
    /**
     * The incident opened inside a maintenance window (`maintenance_id`): recorded, not alerted
     * while the window lasts; `maintenance_released_at` is when it was still open at the window's
     * end and alerted then.
     */
    inMaintenance: integer("in_maintenance", { mode: "boolean" }).notNull().default(false),
    maintenanceId: text("maintenance_id"),
    maintenanceReleasedAt: integer("maintenance_released_at"),
    /** The deploy of the service the incident started shortly after (JSON: id, version, at, description), or null. */
    deploy: text("deploy"),
  },
  (t) => [
    index("incidents_opened").on(t.openedAt),
    index("incidents_status_opened").on(t.status, t.openedAt),
    index("incidents_service_opened").on(t.service, t.openedAt),
  ],
);

/** The latest evaluated state of each endpoint (health, scores, figures, active signals), one row each. */
export const endpointHealth = sqliteTable(
  "endpoint_health",
  {
    service: text("service").notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    health: text("health").notNull(),
    severityScore: real("severity_score").notNull(),
    healthScore: integer("health_score").notNull(),
    action: text("action").notNull(),
    signals: text("signals").notNull(),
    figures: text("figures").notNull(),
    baselines: text("baselines").notNull(),
    openIncidentId: text("open_incident_id"),
    evaluatedAt: integer("evaluated_at").notNull(),
    eventsProcessed: integer("events_processed").notNull(),
    /** Records buffered in the endpoint object and not yet in D1, when it last published. */
    backlog: integer("backlog").notNull().default(0),
    /**
     * The object's monotonic request counters (JSON, see src/metrics/request-counters.ts): requests
     * per status class, silent failures, cumulative latency buckets and sum, for `GET /metrics`.
     * Null until the object republishes after this column was added.
     */
    metrics: text("metrics"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.service, t.method, t.route] })],
);

/** Detection settings (SLOs, thresholds, per-endpoint overrides) per service, as validated JSON. */
export const detectionSettings = sqliteTable("detection_settings", {
  service: text("service").primaryKey(),
  config: text("config").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Grouped incidents: endpoints of one service that went bad within INCIDENT_GROUP_WINDOW_MINUTES,
 * published by the service's IncidentGroups object (src/incidents/group-object.ts). `members` is
 * the JSON list the API shows; `incident_group_members` finds an incident's group.
 */
export const incidentGroups = sqliteTable(
  "incident_groups",
  {
    id: text("id").primaryKey(),
    service: text("service").notNull(),
    status: text("status").notNull(),
    severity: text("severity").notNull(),
    originDown: integer("origin_down", { mode: "boolean" }).notNull().default(false),
    openedAt: integer("opened_at").notNull(),
    resolvedAt: integer("resolved_at"),
    explanation: text("explanation").notNull(),
    members: text("members").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("incident_groups_service_opened").on(t.service, t.openedAt),
    index("incident_groups_opened").on(t.openedAt),
  ],
);

export const incidentGroupMembers = sqliteTable(
  "incident_group_members",
  {
    incidentId: text("incident_id").primaryKey(),
    groupId: text("group_id").notNull(),
  },
  (t) => [index("incident_group_members_group").on(t.groupId)],
);
