/**
 * The shapes of the incident model: the endpoint an incident belongs to, the evidence it gathers
 * from signals, its timeline, and the incident itself as the state machine (src/detect/incident.ts)
 * steps it and the explanation (src/detect/explain.ts) reads it. Pure types.
 */
import type { Concentration } from "../breakdown/concentration";
import type { Assessment } from "./health";
import type { Figures, Signal } from "./types";

/** The endpoint an incident belongs to. */
export interface Endpoint {
  service: string;
  method: string;
  route: string;
}

/** One change of an incident, in event time. */
export interface TimelineEntry {
  at: number;
  change: "opened" | "escalated" | "resolved" | "reopened";
  severity: "WARNING" | "CRITICAL";
  /** Signal kinds active at the change (none for a resolution). */
  signals: Signal["kind"][];
}

export interface Evidence {
  kind: Signal["kind"];
  family: Signal["family"];
  level: Signal["level"];
  unit: Signal["unit"];
  window: string;
  /** Latest and most extreme observed values. */
  observed: number;
  peak: number;
  /** Baseline when the signal first fired, and its threshold. */
  baseline: number | null;
  threshold: number | null;
  first_event_at: number;
  last_event_at: number;
  /** `consumer_objective` only: the consumer, its objective and its requests in the window. */
  consumer?: string;
  objective?: Signal["objective"];
  requests?: number;
  /** `traffic_surge` only: the highest share of 429s that rose with the surge, and its usual share. */
  rate_limited?: Signal["rate_limited"];
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
  /** End of the last minute (event time) the incident was judged on. */
  last_event_at: number;
  clean_minutes: number;
  severity_score: number;
  health_score: number;
  action: Assessment["action"];
  signals: Evidence[];
  /** Figures when the incident opened and now, for the explanation. */
  figures_at_open: Figures;
  figures: Figures;
  explanation: string;
  /**
   * Set by the endpoint object when the incident opens, never by the machine (which carries them
   * along): it opened inside a maintenance window (alerts held until the window ends, then
   * `maintenance_released_at`), and the deploy it started shortly after. Absent in older state.
   */
  in_maintenance?: boolean;
  maintenance_id?: string | null;
  maintenance_released_at?: number | null;
  deploy?: IncidentDeploy | null;
  /** Consumers or locations the failures are concentrated on (src/breakdown), set by the endpoint object. */
  concentration?: Concentration[];
  /** Every change, oldest first (absent on incidents stored before the timeline existed). */
  timeline?: TimelineEntry[];
  /** Times the incident re-opened after a resolution. */
  reopened_count?: number;
}

/** The deploy an incident started shortly after (src/deploys). */
export interface IncidentDeploy {
  id: string;
  version: string;
  at: number;
  description: string | null;
}
