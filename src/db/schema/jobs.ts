/** D1 tables of the background jobs: summaries, job runs, control switches, probe runs. */
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

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
