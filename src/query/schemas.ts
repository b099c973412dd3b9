/** The answers of `GET /v1/logs` and `/v1/logs/live` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";

const nstr = z.string().nullable();
const nnum = z.number().nullable();

/** A stored log record as the API shows it. */
export const logRecordSchema = z.object({
  log_id: z.string(),
  id: nstr,
  timestamp: z.number().int(),
  time: z.string(),
  received_at: z.number().int(),
  service: z.string(),
  method: z.string(),
  route: z.string(),
  path: z.string(),
  status: z.number().int(),
  latency_ms: z.number(),
  ttfb_ms: nnum,
  request_bytes: nnum,
  response_bytes: nnum,
  error: nstr,
  response_empty: z.boolean(),
  inconsistent: z.boolean(),
  request_id: nstr,
  client_ip: nstr,
  user_agent: nstr,
  consumer: nstr,
  region: nstr,
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullable(),
  source: z.string(),
  weight: z.number().describe("how many records this row stands for"),
});

export const logsPageSchema = z.object({
  logs: z.array(logRecordSchema),
  next_cursor: nstr,
  sampled: z.boolean(),
  sampling: z.string(),
});
export const liveLogsSchema = z.object({ logs: z.array(logRecordSchema), sampled: z.boolean(), sampling: z.string() });
