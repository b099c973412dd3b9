/**
 * An incident's public JSON (the API's, the alert payloads' and the system view's), made from
 * its D1 row. Pure; kept beside the incident model so alerts and health need no route module.
 */
import type { incidents } from "../db/schema";

export type IncidentRow = typeof incidents.$inferSelect;

/** The public JSON of an incident (snake_case; evidence and figures parsed). */
export function toApiIncident(r: IncidentRow) {
  const figures = JSON.parse(r.figures) as {
    at_open: unknown;
    latest: unknown;
    timeline?: unknown[];
    reopened_count?: number;
    concentration?: unknown[];
  };
  return {
    id: r.id,
    service: r.service,
    method: r.method,
    route: r.route,
    severity: r.severity,
    status: r.status,
    opened_at: r.openedAt,
    escalated_at: r.escalatedAt,
    resolved_at: r.resolvedAt,
    last_event_at: r.lastEventAt,
    severity_score: r.severityScore,
    health_score: r.healthScore,
    action: r.action,
    signals: JSON.parse(r.signals) as unknown[],
    explanation: r.explanation,
    figures_at_open: figures.at_open,
    figures: figures.latest,
    // Each change (opened, escalated, resolved, reopened) in event time; a re-opened incident keeps its id.
    timeline: figures.timeline ?? [],
    reopened_count: figures.reopened_count ?? 0,
    // Consumers or locations the failures are concentrated on (src/breakdown/concentration.ts), when one is clear.
    concentration: figures.concentration ?? [],
    updated_at: r.updatedAt,
    // The AI summary explains; it never decides severity, status or alerting.
    ai_summary: r.aiSummary === null ? null : (JSON.parse(r.aiSummary) as unknown),
    ai_model: r.aiModel,
    ai_status: r.aiStatus,
    ai_error: r.aiError,
    ai_updated_at: r.aiUpdatedAt,
    // Opened inside a maintenance window: recorded, alerted only if still open when it ended.
    in_maintenance: r.inMaintenance,
    maintenance_id: r.maintenanceId,
    maintenance_released_at: r.maintenanceReleasedAt,
    deploy: r.deploy === null ? null : (JSON.parse(r.deploy) as unknown),
  };
}
