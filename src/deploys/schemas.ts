/** The answers of `/v1/deploys` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";

/** A deploy marker. */
export const deploySchema = z.object({
  id: z.string(),
  service: z.string(),
  version: z.string(),
  at: z.number().int(),
  description: z.string().nullable(),
  source: z.enum(["api", "records"]),
});

export const deployListSchema = z.object({ deploys: z.array(deploySchema) });
