/**
 * D1 schema: the single source of truth for the SQL migrations in `migrations/`
 * (generated with `npm run db:generate`). Times are UTC epoch milliseconds.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Services (dimension table): every service seen in logs, and the ones configured through the
 * admin API with their origin and settings (`config` is the validated JSON of the service).
 */
export const services = sqliteTable("services", {
  name: text("name").primaryKey(),
  firstSeenAt: integer("first_seen_at").notNull(),
  config: text("config"),
  updatedAt: integer("updated_at"),
});

/** Raw request logs (fact table). */
export const requestLogs = sqliteTable(
  "request_logs",
  {
    seq: integer("seq").primaryKey(),
    recordKey: text("record_key").notNull().unique(),
    timestamp: integer("timestamp").notNull(),
    receivedAt: integer("received_at").notNull(),
    service: text("service").notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    path: text("path").notNull(),
    status: integer("status").notNull(),
    /** 1..5 for 1xx..5xx: a status-class filter is an equality on an index, read in time order. */
    statusClass: integer("status_class").generatedAlwaysAs(sql`status / 100`, { mode: "virtual" }),
    latencyMs: real("latency_ms").notNull(),
    ttfbMs: real("ttfb_ms"),
    requestBytes: integer("request_bytes"),
    responseBytes: integer("response_bytes"),
    error: text("error"),
    responseEmpty: integer("response_empty", { mode: "boolean" }).notNull().default(false),
    inconsistent: integer("inconsistent", { mode: "boolean" }).notNull().default(false),
    clientId: text("client_id"),
    requestId: text("request_id"),
    clientIp: text("client_ip"),
    userAgent: text("user_agent"),
    consumer: text("consumer"),
    region: text("region"),
    attributes: text("attributes"),
    source: text("source").notNull().default(sql`'ingest'`),
  },
  (t) => [
    // Every index ends in the timestamp (and, implicitly, seq) so that newest-first keyset
    // pages are read in index order without a sort.
    index("idx_logs_time").on(t.timestamp),
    index("idx_logs_status_time").on(t.status, t.timestamp),
    index("idx_logs_status_class_time").on(t.statusClass, t.timestamp),
    index("idx_logs_service_time").on(t.service, t.timestamp),
    index("idx_logs_service_route_method_time").on(t.service, t.route, t.method, t.timestamp),
  ],
);

/**
 * Incidents, written by the endpoint Durable Objects (which own their state machine) and read by
 * the API. Times are event times except `updated_at`. `signals` holds each signal's evidence and
 * `figures` the endpoint's key figures at open and now, both as JSON.
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
