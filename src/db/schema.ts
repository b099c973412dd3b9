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

/**
 * Raw request logs (fact table): the evidence and a weighted sample of plain successes
 * (src/storage/sampling.ts). Lean on purpose, since every index costs a row written per insert
 * and per retention delete: a WITHOUT ROWID table keyed by (timestamp, record_key), so the time
 * range of the summaries, the retention and an unfiltered newest-first page is a key range, and
 * one secondary index for a service's newest-first page. The record key in the primary key makes
 * a re-sent flush a no-op (ON CONFLICT DO NOTHING). drizzle cannot say WITHOUT ROWID: migration
 * 0009 is written by hand (its snapshot is drizzle-kit's). `weight` is how many records of the endpoint the row stands
 * for (1 unless sampled).
 */
export const requestLogs = sqliteTable(
  "request_logs",
  {
    recordKey: text("record_key").notNull(),
    timestamp: integer("timestamp").notNull(),
    receivedAt: integer("received_at").notNull(),
    service: text("service").notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    path: text("path").notNull(),
    status: integer("status").notNull(),
    /** 1..5 for 1xx..5xx (virtual: costs no byte and no write). */
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
    weight: real("weight").notNull().default(1),
  },
  // No secondary index (migration 0010): each stored row is one D1 row written on insert and one
  // on delete; a service filter scans the time range (query times: docs/operations.md "Raw logs in
  // D1: sampling and the lean table"; rows and bytes: bench/README.md "Capacity and cost").
  (t) => [primaryKey({ columns: [t.timestamp, t.recordKey] })],
);

/**
 * The hours of event time that received raw rows, with the sequence number of the last flush
 * that wrote into each (a counter, one up per flush): the summaries' late-record watermark, now
 * that the raw table has no rowid. One row written per flush and hour.
 */
export const logHours = sqliteTable("log_hours", {
  hour: integer("hour").primaryKey(),
  seq: integer("seq").notNull(),
});

/**
 * The hours of event time in which each service has raw rows (one row per service and hour, written
 * by the flush that first stores a row there, and dropped by retention once no raw row is left in
 * it). `GET /v1/logs?service=` reads only the span of the service's hours instead of the whole
 * table (the raw table has no service index since migration 0010); an unknown service reads
 * nothing. WITHOUT ROWID in migration 0012 (hand-edited: drizzle cannot say it).
 */
export const logServiceHours = sqliteTable(
  "log_service_hours",
  {
    service: text("service").notNull(),
    hour: integer("hour").notNull(),
  },
  (t) => [primaryKey({ columns: [t.service, t.hour] })],
);

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
 * Summaries per endpoint and hour (`granularity` "hour") or UTC day ("day"), computed by the
 * aggregation cron from the raw logs (hours) and from the hours (days). Percentiles come from the
 * merged latency sketch kept in `sketch` (JSON), never from averages of averages.
 */
export const summaries = sqliteTable(
  "summaries",
  {
    granularity: text("granularity").notNull(),
    service: text("service").notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    bucketStart: integer("bucket_start").notNull(),
    count: integer("count").notNull(),
    status2xx: integer("status_2xx").notNull(),
    status3xx: integer("status_3xx").notNull(),
    status4xx: integer("status_4xx").notNull(),
    status5xx: integer("status_5xx").notNull(),
    silentFailures: integer("silent_failures").notNull(),
    inconsistent: integer("inconsistent").notNull(),
    bytes: integer("bytes").notNull(),
    latencySum: real("latency_sum").notNull(),
    p50Ms: real("p50_ms"),
    p90Ms: real("p90_ms"),
    p95Ms: real("p95_ms"),
    p99Ms: real("p99_ms"),
    maxMs: real("max_ms"),
    /** Apdex counts (satisfied: latency <= T and no 5xx; tolerating: <= 4T) and T itself. */
    apdexSatisfied: integer("apdex_satisfied").notNull(),
    apdexTolerating: integer("apdex_tolerating").notNull(),
    apdexTMs: real("apdex_t_ms").notNull(),
    /** Share of the bucket's error budget (availability SLO) the 5xx consumed: 1 = all of it. */
    errorBudgetConsumed: real("error_budget_consumed"),
    sketch: text("sketch").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.granularity, t.service, t.method, t.route, t.bucketStart] }),
    index("summaries_service_time").on(t.service, t.granularity, t.bucketStart),
    index("summaries_time").on(t.granularity, t.bucketStart),
  ],
);

/** Each background job's last run (one row per job), for `GET /v1/control/status` and catch-up cursors. */
export const jobRuns = sqliteTable("job_runs", {
  job: text("job").primaryKey(),
  lastStartedAt: integer("last_started_at"),
  lastFinishedAt: integer("last_finished_at"),
  lastDurationMs: integer("last_duration_ms"),
  lastRows: integer("last_rows"),
  lastError: text("last_error"),
  lastOkAt: integer("last_ok_at"),
  runs: integer("runs").notNull().default(0),
  failures: integer("failures").notNull().default(0),
  /** Job-specific progress (e.g. the last hour aggregated), as JSON. */
  cursor: text("cursor"),
});

/** Switches an operator can flip (ingestion, proxy_recording, probes); absent means on. */
export const controlSwitches = sqliteTable("control_switches", {
  name: text("name").primaryKey(),
  enabled: integer("enabled", { mode: "boolean" }).notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** The last run of each synthetic probe (service, probe name). */
export const probeRuns = sqliteTable(
  "probe_runs",
  {
    service: text("service").notNull(),
    probe: text("probe").notNull(),
    lastRunAt: integer("last_run_at").notNull(),
    lastOk: integer("last_ok", { mode: "boolean" }).notNull(),
    lastStatus: integer("last_status"),
    lastLatencyMs: real("last_latency_ms"),
    lastError: text("last_error"),
    consecutiveFailures: integer("consecutive_failures").notNull(),
  },
  (t) => [primaryKey({ columns: [t.service, t.probe] })],
);

/**
 * Alert channels (admin API): a signed webhook, a Slack incoming webhook or PagerDuty Events v2,
 * optionally filtered by service and minimum severity. `secret` is write-only: the API never
 * returns it (a webhook's `whsec_` signing secret, or PagerDuty's routing key).
 */
export const alertChannels = sqliteTable("alert_channels", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  name: text("name").notNull(),
  url: text("url").notNull(),
  secret: text("secret"),
  /** JSON array of service names; null: every service. */
  services: text("services"),
  minSeverity: text("min_severity").notNull(),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Every delivery attempt of an alert to a channel, for `GET /v1/alert-deliveries`. */
export const alertDeliveries = sqliteTable(
  "alert_deliveries",
  {
    seq: integer("seq").primaryKey(),
    /** The stable message id (the webhook-id): the same for every attempt of one message. */
    messageId: text("message_id").notNull(),
    channelId: text("channel_id").notNull(),
    incidentId: text("incident_id"),
    event: text("event").notNull(),
    attempt: integer("attempt").notNull(),
    at: integer("at").notNull(),
    /** delivered | failed (will retry) | gave_up | skipped (cooldown) */
    status: text("status").notNull(),
    responseCode: integer("response_code"),
    error: text("error"),
    durationMs: integer("duration_ms"),
  },
  (t) => [index("alert_deliveries_at").on(t.at), index("alert_deliveries_message").on(t.messageId), index("alert_deliveries_incident").on(t.incidentId, t.at)],
);

/**
 * Endpoints whose object holds quarantined records, and how many (as the object last published).
 * The rows themselves stay in each endpoint object's SQLite; this index is how
 * `GET /v1/control/quarantine` finds the objects to ask. A row with `records` 0 has been emptied.
 */
export const quarantinedEndpoints = sqliteTable(
  "quarantined_endpoints",
  {
    service: text("service").notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    records: integer("records").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.service, t.method, t.route] })],
);

/**
 * Maintenance windows and silences (admin API): a service, optionally only some of its endpoints
 * (JSON array of {method, route}; null: every endpoint), and a wall-clock range. Incidents that
 * open inside one are recorded and marked, not alerted.
 */
export const maintenanceWindows = sqliteTable(
  "maintenance_windows",
  {
    id: text("id").primaryKey(),
    service: text("service").notNull(),
    endpoints: text("endpoints"),
    startsAt: integer("starts_at").notNull(),
    endsAt: integer("ends_at").notNull(),
    reason: text("reason"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("maintenance_service_end").on(t.service, t.endsAt), index("maintenance_end").on(t.endsAt)],
);

/**
 * Deploy markers: `POST /v1/deploys`, or a new `version` seen on a service's records. One row per
 * (service, version): the first time it was seen.
 */
export const deploys = sqliteTable(
  "deploys",
  {
    id: text("id").primaryKey(),
    service: text("service").notNull(),
    version: text("version").notNull(),
    at: integer("at").notNull(),
    description: text("description"),
    /** api (POST /v1/deploys) or records (a new version on records). */
    source: text("source").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("deploys_service_at").on(t.service, t.at), index("deploys_at").on(t.at)],
);

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
  (t) => [index("incident_groups_service_opened").on(t.service, t.openedAt), index("incident_groups_opened").on(t.openedAt)],
);

export const incidentGroupMembers = sqliteTable(
  "incident_group_members",
  {
    incidentId: text("incident_id").primaryKey(),
    groupId: text("group_id").notNull(),
  },
  (t) => [index("incident_group_members_group").on(t.groupId)],
);
