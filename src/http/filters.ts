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

/** The path parameters naming one endpoint (`/:service/:method/:route`, the route URL-encoded). */
export const endpointParams = z.object({
  service: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be a service name"),
  method: z
    .string()
    .regex(/^[A-Za-z]{1,16}$/, "must be an HTTP method")
    .transform((m) => m.toUpperCase()),
  route: z.string().min(1).max(256).startsWith("/", "must start with /"),
});
