/** The answer of `POST /v1/analysis` (zod only: documented and checked by its route definition). */
import * as z from "zod";
import { deploySchema } from "../deploys/schemas";
import { healthSchema } from "../detect/schemas";

const int = z.number().int();
const nnum = z.number().nullable();

/** One deterministic finding (src/ai/findings.ts `Finding`). */
export const findingSchema = z.object({
  kind: z.enum([
    "incident",
    "endpoint_health",
    "error_rate",
    "latency_p95",
    "silent_failures",
    "inconsistencies",
    "traffic",
  ]),
  service: z.string(),
  method: z.string(),
  route: z.string(),
  metric: z.string(),
  unit: z.enum(["ratio", "ms", "per_minute", "score"]).nullable(),
  before: nnum,
  after: nnum,
  change: nnum,
  severity: z.enum(["INFO", "WARNING", "CRITICAL"]),
  text: z.string(),
  incident_id: z.string().nullable(),
});

/** Findings, severity and the AI narrative (null without a model) over the compared periods. */
export const analysisSchema = z.object({
  range: z.object({ from: int, to: int, before_from: int, before_to: int }),
  deploy: deploySchema.nullable(),
  findings: z.array(findingSchema),
  narrative: z.string().nullable(),
  recommendations: z.array(z.string()),
  severity: healthSchema,
  confidence: z.number(),
  ai_status: z.enum(["ok", "unavailable", "failed", "timeout", "invalid"]),
  ai_model: z.string().nullable(),
  ai_error: z.string().nullable(),
});
