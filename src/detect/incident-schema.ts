/**
 * The one zod schema of an incident and its parts (evidence, signals, figures, timeline, deploy,
 * concentration), as the endpoint object stores it: in its `incidents` table, inside the incident
 * machine of `engine_state` (state-schemas.ts), and signals and figures in its published state.
 * Loose, mirroring the types field for field (see src/lib/stored-schema.ts). Fields added after the
 * first version (maintenance, deploy, concentration, timeline, re-opens, consumer and 429 evidence)
 * are optional in the types, so incidents stored before them parse. Pure.
 */
import * as z from "zod";
import type { Concentration, ConcentrationMetric } from "../breakdown/concentration";
import { DIMENSIONS } from "../breakdown/top-k";
import { enumOf, shapeOf, storedNumber } from "../lib/stored-schema";
import type { Evidence, Incident, IncidentDeploy, TimelineEntry } from "./incident-types";
import type { Action, ConsumerObjectiveMetric, Figures, RateLimited, Signal, SignalFamily, SignalKind } from "./types";

const nullableNumber = storedNumber.nullable();

/** An incident's severity and status (also a group member's). */
export const SeveritySchema = enumOf<Incident["severity"]>()(["WARNING", "CRITICAL"]);
export const StatusSchema = enumOf<Incident["status"]>()(["open", "resolved"]);

/** Signal kinds, families, levels and units: the lists only ever grew (each must list its whole union). */
export const SignalKindSchema = enumOf<SignalKind>()([
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
export const SignalFamilySchema = enumOf<SignalFamily>()([
  "latency",
  "availability",
  "silent",
  "consistency",
  "traffic",
  "probe",
  "client",
  "consumer",
]);
export const SignalLevelSchema = enumOf<Signal["level"]>()(["info", "ticket", "warning", "page"]);
export const SignalUnitSchema = enumOf<Signal["unit"]>()(["ms", "ratio", "per_minute", "burn_rate", "count"]);
export const ConsumerObjectiveSchema = enumOf<ConsumerObjectiveMetric>()([
  "error_rate",
  "silent_failure_rate",
  "latency_p95_ms",
]);
export const ActionSchema = enumOf<Action>()(["CONTINUE", "RETRY", "REPROCESS", "ESCALATE", "HALT"]);

export const RateLimitedSchema: z.ZodType<RateLimited> = z.looseObject(
  shapeOf<RateLimited>()({ share: storedNumber, usual: storedNumber }),
);

export const FiguresSchema: z.ZodType<Figures> = z.looseObject(
  shapeOf<Figures>()({
    requests_per_minute: storedNumber,
    error_rate: nullableNumber,
    client_error_rate: nullableNumber,
    silent_failure_rate: nullableNumber,
    p50_ms: nullableNumber,
    p95_ms: nullableNumber,
    p99_ms: nullableNumber,
    availability_burn_1h: nullableNumber,
    latency_burn_1h: nullableNumber,
  }),
);

/** A signal as an incident keeps it (also the machine's pending evidence). */
export const EvidenceSchema: z.ZodType<Evidence> = z.looseObject(
  shapeOf<Evidence>()({
    kind: SignalKindSchema,
    family: SignalFamilySchema,
    level: SignalLevelSchema,
    unit: SignalUnitSchema,
    window: z.string(),
    observed: storedNumber,
    peak: storedNumber,
    baseline: nullableNumber,
    threshold: nullableNumber,
    first_event_at: storedNumber,
    last_event_at: storedNumber,
    consumer: z.string().optional(),
    objective: ConsumerObjectiveSchema.optional(),
    requests: storedNumber.optional(),
    rate_limited: RateLimitedSchema.optional(),
  }),
);

const ConcentrationSchema: z.ZodType<Concentration> = z.looseObject(
  shapeOf<Concentration>()({
    dimension: z.enum(DIMENSIONS),
    metric: enumOf<ConcentrationMetric>()(["5xx", "silent_failures", "requests"]),
    names: z.array(z.string()),
    share: storedNumber,
    rate: storedNumber,
    rate_elsewhere: storedNumber,
    failures: storedNumber,
    requests: storedNumber,
    text: z.string(),
  }),
);

const TimelineEntrySchema: z.ZodType<TimelineEntry> = z.looseObject(
  shapeOf<TimelineEntry>()({
    at: storedNumber,
    change: enumOf<TimelineEntry["change"]>()(["opened", "escalated", "resolved", "reopened"]),
    severity: SeveritySchema,
    signals: z.array(SignalKindSchema),
  }),
);

const IncidentDeploySchema: z.ZodType<IncidentDeploy> = z.looseObject(
  shapeOf<IncidentDeploy>()({
    id: z.string(),
    version: z.string(),
    at: storedNumber,
    description: z.string().nullable(),
  }),
);

/** An incident as the endpoint object stores it (its table, and the machine in `engine_state`). */
export const IncidentSchema: z.ZodType<Incident> = z.looseObject(
  shapeOf<Incident>()({
    id: z.string(),
    service: z.string(),
    method: z.string(),
    route: z.string(),
    severity: SeveritySchema,
    status: StatusSchema,
    opened_at: storedNumber,
    escalated_at: nullableNumber,
    resolved_at: nullableNumber,
    last_event_at: storedNumber,
    clean_minutes: storedNumber,
    severity_score: storedNumber,
    health_score: storedNumber,
    action: ActionSchema,
    signals: z.array(EvidenceSchema),
    figures_at_open: FiguresSchema,
    figures: FiguresSchema,
    explanation: z.string(),
    in_maintenance: z.boolean().optional(),
    maintenance_id: z.string().nullable().optional(),
    maintenance_released_at: nullableNumber.optional(),
    deploy: IncidentDeploySchema.nullable().optional(),
    concentration: z.array(ConcentrationSchema).optional(),
    timeline: z.array(TimelineEntrySchema).optional(),
    reopened_count: storedNumber.optional(),
  }),
);

/** A signal a detector raised (as the endpoint object stores it in its published state). */
export const SignalSchema: z.ZodType<Signal> = z.looseObject(
  shapeOf<Signal>()({
    kind: SignalKindSchema,
    family: SignalFamilySchema,
    level: SignalLevelSchema,
    observed: storedNumber,
    baseline: nullableNumber,
    threshold: nullableNumber,
    unit: SignalUnitSchema,
    window: z.string(),
    strength: storedNumber,
    consumer: z.string().optional(),
    objective: ConsumerObjectiveSchema.optional(),
    requests: storedNumber.optional(),
    rate_limited: RateLimitedSchema.optional(),
  }),
);
