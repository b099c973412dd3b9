/**
 * The shapes of a range analysis (`POST /v1/analysis`): the figures it compares, the facts it
 * reads (incidents, health) and the findings it reports. Types and two key helpers only.
 */
import type { DetectionConfig } from "../detect/config";

export type FindingSeverity = "INFO" | "WARNING" | "CRITICAL";
export type FindingKind =
  "incident" | "endpoint_health" | "error_rate" | "latency_p95" | "silent_failures" | "inconsistencies" | "traffic";

export interface Finding {
  kind: FindingKind;
  service: string;
  method: string;
  route: string;
  metric: string;
  unit: "ratio" | "ms" | "per_minute" | "score" | null;
  before: number | null;
  after: number | null;
  /** after − before, in the metric's unit (null when either is unknown). */
  change: number | null;
  severity: FindingSeverity;
  text: string;
  incident_id: string | null;
}

/** One endpoint's totals over one period, from the hourly summaries. */
export interface PeriodFigures {
  service: string;
  method: string;
  route: string;
  count: number;
  status_5xx: number;
  silent: number;
  inconsistent: number;
  p95_ms: number | null;
  /** Share of requests slower than the latency SLO's threshold. */
  slow_share: number | null;
}

export interface IncidentFact {
  id: string;
  service: string;
  method: string;
  route: string;
  severity: string;
  status: string;
  opened_at: number;
  resolved_at: number | null;
  explanation: string;
}

export interface HealthFact {
  service: string;
  method: string;
  route: string;
  health: string;
  health_score: number;
}

export interface AnalysisInput {
  before: PeriodFigures[];
  after: PeriodFigures[];
  beforeMinutes: number;
  afterMinutes: number;
  incidents: IncidentFact[];
  health: HealthFact[];
  config?: DetectionConfig;
}

/** The key of an endpoint in maps and sort order: service, method and route. */
export const endpointKey = (e: { service: string; method: string; route: string }): string =>
  `${e.service} ${e.method} ${e.route}`;
/** How an endpoint is named in a finding's text. */
export const labelOf = (e: { service: string; method: string; route: string }): string =>
  `${e.service} ${e.method} ${e.route}`;
