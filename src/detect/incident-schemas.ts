/**
 * Zod schema of the incident machine as the endpoint object stores it inside `engine_state` (the
 * open incident lives there, and the last resolved one while it may re-open), with the incident,
 * its evidence, figures and timeline. Same rules as state-schemas.ts: the TS types mirrored
 * exactly (checked by the compiler), later fields optional, loose objects, no transform. Pure.
 */
import * as z from "zod";
import type { Concentration, FailureMetric } from "../breakdown/concentration";
import type { Dimension } from "../breakdown/top-k";
import type { Action, ConsumerObjectiveMetric, Figures, RateLimited, Signal, SignalFamily, SignalKind } from "./types";
import type { Evidence, Incident, IncidentDeploy, Machine, TimelineEntry } from "./incident";
import { enumOf, type ShapeOf } from "./schema-kit";

const num = z.number();
const nullableNum = z.number().nullable();

const kind = enumOf<SignalKind>()([
  "latency_p95_threshold",
  "latency_p95_baseline",
  "latency_p50_baseline",
  "latency_burn_page",
  "latency_burn_ticket",
  "error_rate_threshold",
  "error_rate_baseline",
  "availability_burn_page",
  "availability_burn_ticket",
  "silent_failures",
  "inconsistencies",
  "traffic_drop",
  "traffic_surge",
  "traffic_stop",
  "probe_failed",
  "client_errors",
  "consumer_objective",
]);
const family = enumOf<SignalFamily>()([
  "latency",
  "availability",
  "silent",
  "consistency",
  "traffic",
  "probe",
  "client",
  "consumer",
]);
const level = enumOf<Signal["level"]>()(["info", "ticket", "warning", "page"]);
const unit = enumOf<Signal["unit"]>()(["ms", "ratio", "per_minute", "burn_rate", "count"]);
const severity = enumOf<Incident["severity"]>()(["WARNING", "CRITICAL"]);
const action = enumOf<Action>()(["CONTINUE", "RETRY", "REPROCESS", "ESCALATE", "HALT"]);

const rateLimitedShape = { share: num, usual: num } satisfies ShapeOf<RateLimited>;

const evidenceShape = {
  kind,
  family,
  level,
  unit,
  window: z.string(),
  observed: num,
  peak: num,
  baseline: nullableNum,
  threshold: nullableNum,
  first_event_at: num,
  last_event_at: num,
  consumer: z.string().optional(),
  objective: enumOf<ConsumerObjectiveMetric>()(["error_rate", "silent_failure_rate", "latency_p95_ms"]).optional(),
  requests: num.optional(),
  rate_limited: z.looseObject(rateLimitedShape).optional(),
} satisfies ShapeOf<Evidence>;
const EvidenceSchema: z.ZodType<Evidence> = z.looseObject(evidenceShape);

const figuresShape = {
  requests_per_minute: num,
  error_rate: nullableNum,
  client_error_rate: nullableNum,
  silent_failure_rate: nullableNum,
  p50_ms: nullableNum,
  p95_ms: nullableNum,
  p99_ms: nullableNum,
  availability_burn_1h: nullableNum,
  latency_burn_1h: nullableNum,
} satisfies ShapeOf<Figures>;
const FiguresSchema: z.ZodType<Figures> = z.looseObject(figuresShape);

const timelineShape = {
  at: num,
  change: enumOf<TimelineEntry["change"]>()(["opened", "escalated", "resolved", "reopened"]),
  severity,
  signals: z.array(kind),
} satisfies ShapeOf<TimelineEntry>;

const deployShape = {
  id: z.string(),
  version: z.string(),
  at: num,
  description: z.string().nullable(),
} satisfies ShapeOf<IncidentDeploy>;

const concentrationShape = {
  dimension: enumOf<Dimension>()(["consumer", "region"]),
  metric: enumOf<FailureMetric>()(["5xx", "silent_failures"]),
  names: z.array(z.string()),
  share: num,
  rate: num,
  rate_elsewhere: num,
  failures: num,
  requests: num,
  text: z.string(),
} satisfies ShapeOf<Concentration>;

const incidentShape = {
  id: z.string(),
  service: z.string(),
  method: z.string(),
  route: z.string(),
  severity,
  status: enumOf<Incident["status"]>()(["open", "resolved"]),
  opened_at: num,
  escalated_at: nullableNum,
  resolved_at: nullableNum,
  last_event_at: num,
  clean_minutes: num,
  severity_score: num,
  health_score: num,
  action,
  signals: z.array(EvidenceSchema),
  figures_at_open: FiguresSchema,
  figures: FiguresSchema,
  explanation: z.string(),
  in_maintenance: z.boolean().optional(),
  maintenance_id: z.string().nullable().optional(),
  maintenance_released_at: nullableNum.optional(),
  deploy: z.looseObject(deployShape).nullable().optional(),
  concentration: z.array(z.looseObject(concentrationShape)).optional(),
  timeline: z.array(z.looseObject(timelineShape)).optional(),
  reopened_count: num.optional(),
} satisfies ShapeOf<Incident>;
const IncidentSchema: z.ZodType<Incident> = z.looseObject(incidentShape);

/** The incident machine (`machine` in `engine_state`). */
export const MachineSchema: z.ZodType<Machine> = z.looseObject({
  open: IncidentSchema.nullable(),
  streak_start: nullableNum,
  streak: num,
  pending: z.array(EvidenceSchema).optional(),
  resolved: IncidentSchema.nullable().optional(),
} satisfies ShapeOf<Machine>);
