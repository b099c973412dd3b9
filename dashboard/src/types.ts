/** The shapes of the monitor's API answers the dashboard reads (snake_case, as the API sends them). */

export type Health = "NORMAL" | "WARNING" | "CRITICAL";

export interface Figures {
  requests_per_minute?: number | null;
  error_rate?: number | null;
  client_error_rate?: number | null;
  silent_failure_rate?: number | null;
  p50_ms?: number | null;
  p95_ms?: number | null;
  p99_ms?: number | null;
  availability_burn_1h?: number | null;
  latency_burn_1h?: number | null;
}

export interface Band {
  value: number;
  low: number;
  high: number;
  n: number;
}

export interface Baselines {
  p95_ms?: Band | null;
  p50_ms?: Band | null;
  requests_per_minute?: Band | null;
  error_rate?: number | null;
  silent_failure_rate?: number | null;
  client_error_rate?: number | null;
  objective?: { latency_ms: number | null; p95_ms: number | null; learning: boolean; slower_than_default_objective: boolean };
}

export interface Signal {
  kind: string;
  family: string;
  level: string;
  observed: number | null;
  peak?: number | null;
  baseline: number | null;
  threshold: number | null;
  unit: string;
  window: string;
  first_event_at?: number;
  last_event_at?: number;
  /** `consumer_objective` only: the named consumer and which of its objectives. */
  consumer?: string;
  objective?: string;
}

export interface EndpointRow {
  service: string;
  method: string;
  route: string;
  health: Health;
  severity_score: number;
  health_score: number;
  action: string;
  figures: Figures;
  signals: Signal[];
  baselines: Baselines;
  open_incident_id: string | null;
  evaluated_at: number;
  events_processed: number;
}

export interface AiSummary {
  summary: string;
  likely_causes: string[];
  suggested_actions: string[];
  confidence: number;
}

export interface Incident {
  id: string;
  service: string;
  method: string;
  route: string;
  severity: "WARNING" | "CRITICAL";
  status: "open" | "resolved";
  opened_at: number;
  escalated_at: number | null;
  resolved_at: number | null;
  last_event_at: number;
  severity_score: number;
  health_score: number;
  action: string;
  signals: Signal[];
  explanation: string;
  figures_at_open: Figures;
  figures: Figures;
  /** Each change in event time (re-opened incidents keep their id). */
  timeline?: { at: number; change: "opened" | "escalated" | "resolved" | "reopened"; severity: "WARNING" | "CRITICAL"; signals: string[] }[];
  reopened_count?: number;
  ai_summary?: AiSummary | null;
  ai_model?: string | null;
  ai_status?: string | null;
  ai_error?: string | null;
  in_maintenance?: boolean;
  maintenance_id?: string | null;
  maintenance_released_at?: number | null;
  deploy?: { id: string; version: string; at: number; description: string | null } | null;
  /** The incident's group (endpoints of its service that went bad together), or null. */
  group_id?: string | null;
  /** GET /v1/incidents/:id only: the incident's group with its members. */
  group?: IncidentGroup | null;
}

/** A group of `GET /v1/incidents` (`groups`). */
export interface IncidentGroup {
  id: string;
  service: string;
  /** Every member's service (several when the group is a proxied origin's). */
  services?: string[];
  /** The proxied origin host its members share, or null (grouped per service). */
  origin?: string | null;
  status: "open" | "resolved";
  severity: "WARNING" | "CRITICAL";
  origin_down: boolean;
  opened_at: number;
  resolved_at: number | null;
  explanation: string;
  members: { incident_id: string; service?: string; method: string; route: string; severity: string; status: string; opened_at: number; resolved_at: number | null }[];
}

/** `GET /v1/maintenance`. */
export interface MaintenanceWindow {
  id: string;
  service: string;
  endpoints: { method: string; route: string }[] | null;
  starts_at: number;
  ends_at: number;
  reason: string | null;
  active: boolean;
}

/** `GET /v1/deploys`. */
export interface Deploy {
  id: string;
  service: string;
  version: string;
  at: number;
  description: string | null;
  source: "api" | "records";
}

export interface SystemHealth {
  status: Health;
  severity_score: number;
  health_score: number;
  endpoints: { total: number; NORMAL: number; WARNING: number; CRITICAL: number };
  services: { service: string; endpoints: number; health: Health; severity_score: number; health_score: number }[];
  open_incidents: number;
  recent_issues: Incident[];
  events_processed: number;
  evaluated_at: number | null;
}

/** A minute or hour bucket of an endpoint object's windows (`series.minutes`, `series.hours`). */
export interface WindowBucket {
  start: number;
  count: number;
  status_4xx: number;
  status_5xx: number;
  silent_failures: number;
  inconsistent?: number;
  latency_avg_ms?: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms?: number | null;
}

export interface EndpointDetail {
  service: string;
  method: string;
  route: string;
  received: number;
  backlog: number;
  last_event_at: number | null;
  watermark: number | null;
  state: (Omit<EndpointRow, "events_processed"> & { evaluated_at: number }) | null;
  series: { minutes: WindowBucket[]; hours: WindowBucket[] };
  incidents: Incident[];
}

export interface Summary {
  service: string;
  method: string;
  route: string;
  granularity: "hour" | "day";
  bucket_start: number;
  count: number;
  status_4xx: number;
  status_5xx: number;
  silent_failures: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  error_budget_consumed?: number | null;
}

export interface LogRecord {
  log_id: string;
  id: string | null;
  timestamp: number;
  time: string;
  received_at: number;
  service: string;
  method: string;
  route: string;
  path: string;
  status: number;
  latency_ms: number;
  error: string | null;
  response_empty: boolean;
  source?: string;
  [field: string]: unknown;
}

export interface Delivery {
  message_id: string;
  channel_id: string;
  incident_id: string | null;
  event: string;
  attempt: number;
  at: number;
  status: string;
  response_code: number | null;
  error: string | null;
  duration_ms: number | null;
}

export interface Probe {
  name: string;
  method: string;
  path: string;
  expected_status: number;
  expected_body?: string;
  interval_seconds: number;
  timeout_ms: number;
}

export interface Service {
  name: string;
  origin: string;
  hostnames: string[];
  timeout_ms: number;
  recording: { enabled: boolean; sample_rate: number };
  probes: Probe[];
  source: "vars" | "api";
}

export interface Channel {
  id: string;
  type: "webhook" | "slack" | "pagerduty";
  name: string;
  url: string;
  has_secret: boolean;
  services: string[] | null;
  min_severity: "WARNING" | "CRITICAL";
  enabled: boolean;
}

export interface Slo {
  availability: number;
  latency_target: number;
  latency_ms: number;
}

export interface Switches {
  ingestion: boolean;
  proxy_recording: boolean;
  probes: boolean;
}
