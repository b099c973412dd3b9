/**
 * Detection settings of a service: SLOs, static thresholds and volume guards, with defaults that
 * let a new service go without any configuration, and per-endpoint overrides keyed by
 * "METHOD /route". Validated with zod where they enter (the admin API, D1). Pure.
 */
import * as z from "zod";

const fraction = z.number().gt(0).lt(1);

const slo = z.strictObject({
  /** Share of requests that must not fail with a 5xx. */
  availability: fraction.optional(),
  /** Share of requests that must answer within `latency_ms`. */
  latency_target: fraction.optional(),
  latency_ms: z.number().positive().max(600_000).optional(),
});

const thresholds = z.strictObject({
  p95_ms: z.number().positive().max(600_000).optional(),
  error_rate: fraction.optional(),
  silent_failure_rate: fraction.optional(),
  inconsistency_rate: fraction.optional(),
});

/** At most this many named consumers get objectives of their own (per service, and per endpoint override). */
export const MAX_CONSUMER_OBJECTIVES = 20;

/** A named consumer's own objectives, judged on its share of the endpoint's breakdown (src/breakdown/objectives.ts). */
const consumerObjective = z
  .strictObject({
    /** Highest acceptable share of its requests answered with a 5xx. */
    error_rate: fraction.optional(),
    /** Highest acceptable share of empty 2xx answers. */
    silent_failure_rate: fraction.optional(),
    /** Highest acceptable p95 latency. */
    latency_p95_ms: z.number().positive().max(600_000).optional(),
    /** Requests of the consumer a window needs before it is judged (default: the endpoint's `min_requests`; 50 for p95). */
    min_requests: z.number().int().min(1).max(100_000).optional(),
  })
  .refine(
    (o) => o.error_rate !== undefined || o.silent_failure_rate !== undefined || o.latency_p95_ms !== undefined,
    "give at least one of error_rate, silent_failure_rate, latency_p95_ms",
  );
export type ConsumerObjective = z.output<typeof consumerObjective>;

const consumerObjectives = z
  .record(z.string().min(1).max(128), consumerObjective)
  .refine(
    (o) => Object.keys(o).length <= MAX_CONSUMER_OBJECTIVES,
    `at most ${MAX_CONSUMER_OBJECTIVES} named consumers`,
  );

const overrides = z.strictObject({
  slo: slo.optional(),
  thresholds: thresholds.optional(),
  /** Requests a window needs before a rate or a percentile is judged. */
  min_requests: z.number().int().min(1).max(100_000).optional(),
  /** Bad events a window needs before a rate is judged. */
  min_events: z.number().int().min(1).max(100_000).optional(),
  /** Clean minutes in a row before an incident is resolved. */
  resolve_after_minutes: z.number().int().min(1).max(1440).optional(),
  /** Apdex T of the summaries: satisfied at or under T, tolerating up to 4T. */
  apdex_t_ms: z.number().positive().max(600_000).optional(),
  /** Objectives of named consumers, keyed by the records' `consumer`. */
  consumer_objectives: consumerObjectives.optional(),
});

const ENDPOINT_KEY = /^[A-Z]{1,16} \/.{0,255}$/;

/** What the admin API takes: service-wide settings plus overrides per "METHOD /route". */
export const detectionSettings = overrides.extend({
  endpoints: z
    .record(z.string().regex(ENDPOINT_KEY, 'keys must look like "GET /orders/:id"'), overrides)
    .refine((e) => Object.keys(e).length <= 200, "at most 200 endpoint overrides")
    .optional(),
});
export type DetectionSettings = z.output<typeof detectionSettings>;

/** Fully resolved settings of one endpoint. */
export interface DetectionConfig {
  slo: { availability: number; latency_target: number; latency_ms: number };
  thresholds: { p95_ms: number; error_rate: number; silent_failure_rate: number; inconsistency_rate: number };
  min_requests: number;
  min_events: number;
  resolve_after_minutes: number;
  apdex_t_ms: number;
  /** Objectives of named consumers (the endpoint's entry for a name merged over the service's). */
  consumer_objectives?: Record<string, ConsumerObjective>;
  /**
   * Defaults to learn from the endpoint's own history rather than apply as given (set by
   * `resolveDetection` for whatever the user did not set; absent: every value is absolute).
   */
  learn?: { latency_slo: boolean; p95_threshold: boolean; error_rate_threshold?: boolean; availability_slo?: boolean };
}

/**
 * Defaults. The availability SLO is 99.5% rather than 99.9% because a new service's usual error
 * rate is unknown: at 99.9% a service that always runs at 0.2% 5xx would be on a permanent
 * ticket-level burn. Set your own SLO and it is used as given.
 */
export const DEFAULT_DETECTION: DetectionConfig = {
  slo: { availability: 0.995, latency_target: 0.99, latency_ms: 1000 },
  thresholds: { p95_ms: 2000, error_rate: 0.05, silent_failure_rate: 0.05, inconsistency_rate: 0.05 },
  min_requests: 20,
  min_events: 5,
  resolve_after_minutes: 15,
  apdex_t_ms: 500,
  consumer_objectives: {},
};

/**
 * The settings of one endpoint: defaults, then the service's, then the endpoint's override. The
 * latency objective, the availability objective, the p95 threshold and the 5xx-rate threshold the
 * user left unset are marked to be learnt (`learn`).
 */
export function resolveDetection(settings: DetectionSettings | null, method: string, route: string): DetectionConfig {
  const layers = [settings, settings?.endpoints?.[`${method} ${route}`]];
  const out: DetectionConfig = structuredClone(DEFAULT_DETECTION);
  const learn = { latency_slo: true, p95_threshold: true, error_rate_threshold: true, availability_slo: true };
  for (const layer of layers) {
    if (!layer) continue;
    Object.assign(out.slo, stripUndefined(layer.slo ?? {}));
    if (layer.slo?.latency_ms !== undefined || layer.slo?.latency_target !== undefined) learn.latency_slo = false;
    if (layer.thresholds?.p95_ms !== undefined) learn.p95_threshold = false;
    if (layer.thresholds?.error_rate !== undefined) learn.error_rate_threshold = false;
    if (layer.slo?.availability !== undefined) learn.availability_slo = false;
    Object.assign(out.thresholds, stripUndefined(layer.thresholds ?? {}));
    if (layer.min_requests !== undefined) out.min_requests = layer.min_requests;
    if (layer.min_events !== undefined) out.min_events = layer.min_events;
    if (layer.resolve_after_minutes !== undefined) out.resolve_after_minutes = layer.resolve_after_minutes;
    if (layer.apdex_t_ms !== undefined) out.apdex_t_ms = layer.apdex_t_ms;
    for (const [name, objective] of Object.entries(layer.consumer_objectives ?? {})) {
      const named = (out.consumer_objectives ??= {});
      named[name] = { ...named[name], ...stripUndefined(objective) };
    }
  }
  out.learn = learn;
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
