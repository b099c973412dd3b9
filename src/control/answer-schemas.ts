/** The answers of the re-evaluation and the quarantine (zod only: documented and checked by their route definitions). */
import * as z from "zod";

const int = z.number().int();
const endpoint = { service: z.string(), method: z.string(), route: z.string() };
/** An endpoint that failed is listed with its error instead of its result. */
const error = z.string().optional().describe("why this endpoint failed (its other figures are then absent)");

/** `POST /v1/control/re-evaluate`: each endpoint's result or error. */
export const reevaluateAnswerSchema = z.object({
  lookback_minutes: int,
  source: z.enum(["d1", "archive"]),
  failed: int,
  endpoints: z.array(
    z.object({
      ...endpoint,
      records: int.optional(),
      minutes_evaluated: z.number().optional(),
      incidents: z.array(z.string()).optional().describe("incidents opened by the replay (ids)"),
      open_incident_id: z.string().nullable().optional(),
      truncated: z.boolean().optional(),
      error,
    }),
  ),
});

/** `GET /v1/control/quarantine`: a page of records D1 refused, with its error. */
export const quarantinePageSchema = z.object({
  records: z.array(
    z.object({
      ...endpoint,
      record_key: z.string(),
      error: z.string(),
      quarantined_at: int,
      record: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
    }),
  ),
  next_cursor: z.string().nullable(),
});

/** `POST /v1/control/quarantine/replay`: totals and each endpoint's result or error. */
export const quarantineReplaySchema = z.object({
  replayed: int,
  failed: int,
  remaining: int,
  endpoints: z.array(
    z.object({
      ...endpoint,
      replayed: int.optional(),
      failed: int.optional(),
      remaining: int.optional(),
      storage: z.enum(["ok", "full"]).optional(),
      error,
    }),
  ),
});
