/** The answers of `/v1/control` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";

/** The operator's switches. */
export const switchesSchema = z.object({ ingestion: z.boolean(), proxy_recording: z.boolean(), probes: z.boolean() });

/** A job's run, as recorded in job_runs. */
export const jobRunSchema = z.looseObject({
  job: z.string(),
  rows: z.number().int(),
  duration_ms: z.number(),
  detail: z.record(z.string(), z.unknown()).optional(),
  errors: z.array(z.string()).optional(),
});

const counts = z.object({ records: z.number(), endpoints: z.number() });

/** `GET /v1/control/status`. */
export const controlStatusSchema = z.looseObject({
  jobs: z.array(
    z.looseObject({
      job: z.string(),
      last_started_at: z.number().nullable(),
      last_ok_at: z.number().nullable(),
      runs: z.number(),
      failures: z.number(),
    }),
  ),
  backlog: counts,
  archive_backlog: counts.describe("records held for the R2 write-through"),
  quarantine: counts.describe("rows D1 refused on their own, held by the endpoint objects"),
  storage: z.enum(["ok", "full"]),
  switches: switchesSchema,
  probes: z.unknown(),
  d1_size: z.looseObject({ state: z.string() }),
  raw_logs: z.string(),
});
