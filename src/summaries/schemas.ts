/** The answers of `GET /v1/summaries` and `GET /v1/stats` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";

const nnum = z.number().nullable();

/** An hourly or daily summary of an endpoint. */
export const summarySchema = z.object({
  service: z.string(),
  method: z.string(),
  route: z.string(),
  granularity: z.enum(["hour", "day"]),
  bucket_start: z.number().int(),
  count: z.number(),
  status_2xx: z.number(),
  status_3xx: z.number(),
  status_4xx: z.number(),
  status_5xx: z.number(),
  silent_failures: z.number(),
  inconsistent: z.number(),
  bytes: nnum,
  avg_ms: nnum,
  p50_ms: nnum,
  p90_ms: nnum,
  p95_ms: nnum,
  p99_ms: nnum,
  max_ms: nnum,
  apdex: nnum,
  apdex_t_ms: nnum,
  error_budget_consumed: nnum.optional(),
});

/** An hour of one consumer or one location (`consumer=` or `region=`). */
export const breakdownSummarySchema = z.object({
  service: z.string(),
  method: z.string(),
  route: z.string(),
  bucket_start: z.number().int(),
  granularity: z.literal("hour"),
  consumer: z.string().nullable(),
  region: z.string().nullable(),
  count: z.number(),
  status_5xx: z.number(),
  silent_failures: z.number(),
  error_rate: nnum,
  p50_ms: nnum,
  p95_ms: nnum,
});

export const summariesPageSchema = z.union([
  z.object({ summaries: z.array(summarySchema), next_cursor: z.string().nullable() }),
  z.object({
    summaries: z.array(breakdownSummarySchema),
    next_cursor: z.null(),
    source: z.literal("endpoint_breakdown"),
    truncated: z.boolean(),
  }),
]);

export const statsSchema = z.object({
  events_processed: z.number(),
  status: z.object({ "2xx": z.number(), "3xx": z.number(), "4xx": z.number(), "5xx": z.number() }),
  silent_failures: z.number(),
  inconsistent: z.number(),
  services: z.array(z.looseObject({ service: z.string(), events: z.number() })),
  incidents: z.object({ open: z.number().int(), resolved: z.number().int() }),
  since: z.number().int().nullable(),
  cost: z.unknown().describe("the monitor's own billable work per million records and its list price"),
});
