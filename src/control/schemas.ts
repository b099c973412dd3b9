/** The answers of `/v1/control` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";

/** The operator's switches. */
export const switchesSchema = z.object({ ingestion: z.boolean(), proxy_recording: z.boolean(), probes: z.boolean() });

/** A job's run, as recorded in job_runs. */
export const jobRunSchema = z.looseObject({ job: z.string(), rows: z.number().int(), duration_ms: z.number(), detail: z.unknown() });
