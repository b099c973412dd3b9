/** The answers of `/v1/services` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";
import { sloSchema } from "../detect/schemas";

export const probeSchema = z.object({
  name: z.string(),
  method: z.string(),
  path: z.string(),
  expected_status: z.number().int(),
  expected_body: z.string().optional(),
  interval_seconds: z.number().int(),
  timeout_ms: z.number().int(),
});

/** A service as the admin API shows it. */
export const serviceSchema = z.object({
  name: z.string(),
  origin: z.string(),
  hostnames: z.array(z.string()),
  timeout_ms: z.number().int(),
  recording: z.object({ enabled: z.boolean(), sample_rate: z.number().int() }),
  raw_logs: z.object({ mode: z.enum(["all", "sampled", "auto"]), sample_size: z.number().int() }),
  probes: z.array(probeSchema),
  source: z.enum(["vars", "api"]).describe("declared in the SERVICES var or through the API"),
});

export const serviceListSchema = z.object({ services: z.array(serviceSchema) });

const detectionShape = z.looseObject({
  slo: sloSchema.partial().optional(),
  thresholds: z.record(z.string(), z.number()).optional(),
});

/** A service's detection settings (what was set) and the defaults they override. */
export const detectionAnswerSchema = z.object({
  service: z.string(),
  settings: detectionShape,
  defaults: z.looseObject({ slo: sloSchema, thresholds: z.record(z.string(), z.number()) }),
  updated_at: z.number().int().nullable().optional(),
});
