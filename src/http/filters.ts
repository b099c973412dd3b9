/** Query-string fields shared by the read APIs that filter by endpoint (logs, incidents, re-evaluation). */
import * as z from "zod";

export const endpointFilterFields = {
  service: z.string().min(1).max(64).optional(),
  method: z
    .string()
    .min(1)
    .max(16)
    .transform((m) => m.toUpperCase())
    .optional(),
  route: z.string().min(1).max(256).optional(),
};
