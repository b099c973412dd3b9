/** The answers of `/v1/maintenance` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";

/** A maintenance window as the API shows it. */
export const maintenanceWindowSchema = z.object({
  id: z.string(),
  service: z.string(),
  endpoints: z
    .array(z.object({ method: z.string(), route: z.string() }))
    .nullable()
    .describe("null: every endpoint of the service"),
  starts_at: z.number().int(),
  ends_at: z.number().int(),
  reason: z.string().nullable(),
  created_at: z.number().int(),
  active: z.boolean(),
});

export const createdWindowSchema = maintenanceWindowSchema.extend({
  endpoints_notified: z.number().int().describe("endpoint objects told at once"),
});
export const windowListSchema = z.object({ windows: z.array(maintenanceWindowSchema) });
