/** The answer of `GET /v1/health/system` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";
import { healthSchema } from "../detect/schemas";
import { incidentSchema } from "../incidents/schemas";

export const systemHealthSchema = z.object({
  status: healthSchema,
  severity_score: z.number(),
  health_score: z.number(),
  endpoints: z.object({
    total: z.number().int(),
    NORMAL: z.number().int(),
    WARNING: z.number().int(),
    CRITICAL: z.number().int(),
  }),
  services: z.array(
    z.object({
      service: z.string(),
      endpoints: z.number().int(),
      health: healthSchema,
      severity_score: z.number(),
      health_score: z.number(),
    }),
  ),
  open_incidents: z.number().int(),
  recent_issues: z.array(incidentSchema),
  events_processed: z.number().int(),
  evaluated_at: z.number().int().nullable(),
});
