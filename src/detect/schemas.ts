/** Detection's shapes as the API shows them: health, figures, signals, baselines (zod only: the dashboard imports the inferred types). */
import * as z from "zod";

const nnum = z.number().nullable();

export const healthSchema = z.enum(["NORMAL", "WARNING", "CRITICAL"]);
export const severitySchema = z.enum(["WARNING", "CRITICAL"]);

/** Key figures of an endpoint at an evaluation (rates 0..1, latency in ms, null when unknown). */
export const figuresSchema = z.object({
  requests_per_minute: nnum.optional(),
  error_rate: nnum.optional(),
  client_error_rate: nnum.optional(),
  silent_failure_rate: nnum.optional(),
  p50_ms: nnum.optional(),
  p95_ms: nnum.optional(),
  p99_ms: nnum.optional(),
  availability_burn_1h: nnum.optional(),
  latency_burn_1h: nnum.optional(),
});

/** A signal a detector raised. */
export const signalSchema = z.object({
  kind: z.string(),
  family: z.string(),
  level: z.string().describe("info, ticket, warning or page"),
  observed: nnum,
  peak: nnum.optional(),
  baseline: nnum,
  threshold: nnum,
  unit: z.string(),
  window: z.string(),
  strength: z.number().optional(),
  first_event_at: z.number().int().optional(),
  last_event_at: z.number().int().optional(),
  consumer: z.string().optional().describe("consumer_objective only: the named consumer"),
  objective: z.string().optional().describe("consumer_objective only: which of its objectives"),
  requests: z.number().optional(),
  rate_limited: z
    .object({ share: z.number(), usual: z.number() })
    .optional()
    .describe("traffic_surge only: the share of 429s that rose with the surge, and its usual share"),
});

/** A metric's usual value and its band (± 2 standard deviations). */
export const bandSchema = z.object({ value: z.number(), low: z.number(), high: z.number(), n: z.number() });

export const baselinesSchema = z.object({
  p95_ms: bandSchema.nullable().optional(),
  p50_ms: bandSchema.nullable().optional(),
  requests_per_minute: bandSchema.nullable().optional(),
  error_rate: nnum.optional(),
  silent_failure_rate: nnum.optional(),
  inconsistency_rate: nnum.optional(),
  client_error_rate: nnum.optional(),
  objective: z
    .object({ latency_ms: nnum, p95_ms: nnum, learning: z.boolean(), slower_than_default_objective: z.boolean() })
    .optional(),
});

/** A service's objectives. */
export const sloSchema = z.object({ availability: z.number(), latency_target: z.number(), latency_ms: z.number() });
