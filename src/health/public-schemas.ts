/** The answers of the public `/health` routes (zod only). */
import * as z from "zod";

const dbCheck = z.union([
  z.object({ ok: z.literal(true), latest_migration: z.string() }),
  z.object({ ok: z.literal(false), reason: z.string() }),
]);

export const healthStatusSchema = z.looseObject({
  status: z
    .enum(["ok", "degraded"])
    .describe("degraded: D1 refuses writes for capacity; records are kept in the endpoint objects meanwhile"),
  version: z.string(),
  time: z.string(),
  storage: z.enum(["ok", "full"]),
  full_since: z.number().int().nullable(),
  ingest: z.record(z.string(), z.number()).describe("this isolate's ingest counters"),
  switches: z.object({ ingestion: z.boolean(), proxy_recording: z.boolean(), probes: z.boolean() }),
  switches_known: z.boolean(),
  caps: z
    .looseObject({ known: z.boolean(), reached: z.boolean() })
    .describe(
      "MAX_SERVICES, the route cap and the rate of new proxied routes, and where they were reached in the last 24 h (known false: the catalog could not be read)",
    ),
  d1_size: z.looseObject({ state: z.string() }),
  raw_logs: z.string(),
});

export const liveSchema = z.object({ status: z.literal("ok") });
export const readySchema = z.object({ status: z.string(), checks: z.object({ db: dbCheck }) });
export const dbSchema = z.intersection(z.object({ status: z.string() }), dbCheck);
