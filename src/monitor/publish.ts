/**
 * What an endpoint object publishes to D1 for the API: its incidents (upserted by id, so a retry
 * or a replay writes the same rows again) and its current state row in `endpoint_health`.
 */
import { drizzle } from "drizzle-orm/d1";
import type { BatchItem } from "drizzle-orm/batch";
import { endpointHealth, incidents } from "../db/schema";
import type { EngineState } from "../detect/evaluate";
import type { Incident } from "../detect/incident";
import { usualRate, ERROR_RATE_PARAMS, CLIENT_RATE_PARAMS } from "../detect/rates";
import { baselineSd, type MetricState } from "../detect/metric";
import { LATENCY_PARAMS } from "../detect/latency-detector";
import { TRAFFIC_PARAMS } from "../detect/traffic-detector";
import { offsetAt, slotOffsets } from "../detect/season";
import type { Action, Figures, Health, Signal } from "../detect/types";
import type { RequestMetrics } from "../metrics/request-counters";
import type { CostCounts } from "../cost/counts";

/** A metric's usual value and its band (± 2 standard deviations), in the metric's own unit. */
export interface Band {
  value: number;
  low: number;
  high: number;
  /** Observations learnt. */
  n: number;
}

export interface Baselines {
  p95_ms: Band | null;
  p50_ms: Band | null;
  requests_per_minute: Band | null;
  error_rate: number | null;
  silent_failure_rate: number | null;
  inconsistency_rate: number | null;
  client_error_rate: number | null;
  /** The learnt default objectives (null values while learning or when the user set them). */
  objective?: {
    latency_ms: number | null;
    p95_ms: number | null;
    learning: boolean;
    slower_than_default_objective: boolean;
  };
}

export interface EndpointState {
  service: string;
  method: string;
  route: string;
  health: Health;
  severity_score: number;
  health_score: number;
  action: Action;
  signals: Signal[];
  figures: Figures;
  baselines: Baselines;
  open_incident_id: string | null;
  /**
   * A default objective is learnt and the endpoint's own level is past it: shown, never paged.
   * Absent in state stored before learnt objectives existed.
   */
  slower_than_default_objective?: boolean;
  /** Start of the last evaluated minute (event time). */
  evaluated_at: number;
}

function band(m: MetricState, params: typeof LATENCY_PARAMS, offset = 0): Band | null {
  if (m.ewma.n === 0) return null;
  const sd = baselineSd(m, params);
  // Both metrics are learnt on a log1p scale (without the time of day's offset).
  const mean = m.ewma.mean + offset;
  return {
    value: Math.expm1(mean),
    low: Math.max(0, Math.expm1(mean - 2 * sd)),
    high: Math.expm1(mean + 2 * sd),
    n: m.ewma.n,
  };
}

/** The learnt baselines, at the time of day of `at` (event time) once the daily profile is known. */
export function baselinesOf(state: EngineState, at: number | null = null): Baselines {
  const d = state.detectors;
  const offset = (metric: "traffic" | "latency"): number =>
    at === null ? 0 : offsetAt(slotOffsets(state.season ?? null, metric), at);
  const rate = (r: typeof d.errors, p: typeof ERROR_RATE_PARAMS): number | null =>
    r.n === 0 ? null : usualRate(r, { ...p, floor: 0 });
  return {
    p95_ms: band(d.latency_p95, LATENCY_PARAMS, offset("latency")),
    p50_ms: band(d.latency_p50, LATENCY_PARAMS, offset("latency")),
    requests_per_minute: band(d.traffic, TRAFFIC_PARAMS, offset("traffic")),
    error_rate: rate(d.errors, ERROR_RATE_PARAMS),
    silent_failure_rate: rate(d.silent, ERROR_RATE_PARAMS),
    inconsistency_rate: rate(d.inconsistent, ERROR_RATE_PARAMS),
    client_error_rate: rate(d.client, CLIENT_RATE_PARAMS),
    objective: {
      latency_ms: d.objective?.latency_ms ?? null,
      p95_ms: d.objective?.p95_ms ?? null,
      learning: (d.objective?.latency_ms ?? null) === null,
      slower_than_default_objective: d.objective?.slower_than_default ?? false,
    },
  };
}

/** The object's counters published beside its state. */
export interface PublishedCounters {
  eventsProcessed: number;
  backlog: number;
  /** The monotonic request counters for GET /metrics. */
  metrics: RequestMetrics;
  /** The object's cumulative billable work (src/cost), published inside `metrics` as `cost`. */
  cost?: CostCounts;
  /** Records not yet written through to R2 (with an ARCHIVE bucket), published inside `metrics` as `archive_backlog`. */
  archiveBacklog?: number;
}

/** What a publish records as the backlog it published: D1's, and R2's when there is an archive. */
export function backlogMark(backlog: number, archiveBacklog?: number): string {
  return archiveBacklog === undefined ? String(backlog) : `${backlog}/${archiveBacklog}`;
}

/** Upserts incidents and the endpoint's state row in one D1 batch. */
export async function publishState(
  db: D1Database,
  list: Incident[],
  state: EndpointState | null,
  counters: PublishedCounters,
  now: number,
): Promise<void> {
  const d = drizzle(db);
  const statements: BatchItem<"sqlite">[] = list.map((i) => {
    const row = {
      id: i.id,
      service: i.service,
      method: i.method,
      route: i.route,
      severity: i.severity,
      status: i.status,
      openedAt: i.opened_at,
      escalatedAt: i.escalated_at,
      resolvedAt: i.resolved_at,
      lastEventAt: i.last_event_at,
      severityScore: i.severity_score,
      healthScore: i.health_score,
      action: i.action,
      signals: JSON.stringify(i.signals),
      // The timeline rides in the figures JSON (no migration while other columns are being added).
      figures: JSON.stringify({
        at_open: i.figures_at_open,
        latest: i.figures,
        timeline: i.timeline ?? [],
        reopened_count: i.reopened_count ?? 0,
        concentration: i.concentration ?? [],
      }),
      explanation: i.explanation,
      inMaintenance: i.in_maintenance ?? false,
      maintenanceId: i.maintenance_id ?? null,
      maintenanceReleasedAt: i.maintenance_released_at ?? null,
      deploy: i.deploy ? JSON.stringify(i.deploy) : null,
      updatedAt: now,
    };
    const { id: _id, ...update } = row;
    return d.insert(incidents).values(row).onConflictDoUpdate({ target: incidents.id, set: update });
  });
  if (state) {
    const row = {
      service: state.service,
      method: state.method,
      route: state.route,
      health: state.health,
      severityScore: state.severity_score,
      healthScore: state.health_score,
      action: state.action,
      signals: JSON.stringify(state.signals),
      figures: JSON.stringify(state.figures),
      baselines: JSON.stringify(state.baselines),
      openIncidentId: state.open_incident_id,
      evaluatedAt: state.evaluated_at,
      eventsProcessed: counters.eventsProcessed,
      backlog: counters.backlog,
      metrics: JSON.stringify({
        ...counters.metrics,
        ...(counters.cost ? { cost: counters.cost } : {}),
        ...(counters.archiveBacklog === undefined ? {} : { archive_backlog: counters.archiveBacklog }),
      }),
      updatedAt: now,
    };
    const { service: _s, method: _m, route: _r, ...update } = row;
    statements.push(
      d
        .insert(endpointHealth)
        .values(row)
        .onConflictDoUpdate({
          target: [endpointHealth.service, endpointHealth.method, endpointHealth.route],
          set: update,
        }),
    );
  }
  const [first, ...rest] = statements;
  if (first) await d.batch([first, ...rest]);
}
