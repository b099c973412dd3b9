/** The answers of `/v1/endpoints` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";
import { baselinesSchema, figuresSchema, healthSchema, signalSchema } from "../detect/schemas";
import { incidentSchema } from "../incidents/schemas";

const nnum = z.number().nullable();

/** An evaluated endpoint (`GET /v1/endpoints`). */
export const endpointRowSchema = z.object({
  service: z.string(),
  method: z.string(),
  route: z.string(),
  health: healthSchema,
  severity_score: z.number(),
  health_score: z.number(),
  action: z.string(),
  figures: figuresSchema,
  signals: z.array(signalSchema),
  baselines: baselinesSchema,
  slower_than_default_objective: z.boolean(),
  surge: z
    .object({
      requests_per_minute: z.number(),
      usual_per_minute: nnum,
      ratio: nnum,
      with_trouble: z.boolean(),
      rate_limited: z
        .object({ share: z.number(), usual: z.number() })
        .nullable()
        .describe("the share of 429s that rose with the surge and its usual share (null: they did not rise)"),
    })
    .nullable(),
  open_incident_id: z.string().nullable(),
  evaluated_at: z.number().int(),
  events_processed: z.number().int(),
  updated_at: z.number().int(),
});

export const endpointListSchema = z.object({ endpoints: z.array(endpointRowSchema) });

/** A minute or hour bucket of an endpoint object's windows (`series.minutes`, `series.hours`). */
export const windowBucketSchema = z.object({
  start: z.number().int(),
  count: z.number(),
  status_4xx: z.number(),
  status_429: z.number().optional().describe("429s (Too Many Requests), also counted in status_4xx"),
  status_5xx: z.number(),
  silent_failures: z.number(),
  inconsistent: z.number().optional(),
  latency_avg_ms: nnum.optional(),
  p50_ms: nnum,
  p95_ms: nnum,
  p99_ms: nnum,
  max_ms: nnum.optional(),
});

/** One endpoint object's view of itself (`GET /v1/endpoints/:service/:method/:route`). */
export const endpointDetailSchema = z.looseObject({
  service: z.string(),
  method: z.string(),
  route: z.string(),
  received: z.number(),
  backlog: z.number(),
  last_event_at: nnum,
  watermark: nnum,
  state: endpointRowSchema
    .omit({ events_processed: true, surge: true, updated_at: true })
    .nullable()
    .describe("the last evaluation, null before the first"),
  series: z.object({ minutes: z.array(windowBucketSchema), hours: z.array(windowBucketSchema) }),
  incidents: z.array(incidentSchema),
});

/** An endpoint's top consumers and locations over a window. */
export const breakdownSchema = z.looseObject({
  service: z.string(),
  method: z.string(),
  route: z.string(),
  window: z.string(),
  from: z.number().int().nullable(),
  to: z.number().int().nullable(),
  consumers: z.record(z.string(), z.unknown()),
  locations: z.record(z.string(), z.unknown()),
});
