/** The answers of `/v1/alert-channels` and `/v1/alert-deliveries` (zod only: the dashboard imports the inferred types). */
import * as z from "zod";

/** An alert channel as the API shows it (secrets never shown; a Slack token or query secrets masked in `url`). */
export const channelSchema = z.object({
  id: z.string(),
  type: z.enum(["webhook", "slack", "pagerduty"]),
  name: z.string(),
  url: z.string(),
  has_secret: z.boolean(),
  services: z.array(z.string()).nullable(),
  min_severity: z.enum(["WARNING", "CRITICAL"]),
  enabled: z.boolean(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
});

export const channelListSchema = z.object({ channels: z.array(channelSchema) });

/** The outcome of `POST /v1/alert-channels/:id/test`. */
export const channelTestSchema = z.object({
  delivered: z.boolean(),
  status_code: z.number().int().nullable(),
  error: z.string().nullable(),
  message_id: z.string(),
  duration_ms: z.number(),
});

/** A delivery attempt. */
export const deliverySchema = z.object({
  message_id: z.string(),
  channel_id: z.string(),
  incident_id: z.string().nullable(),
  event: z.string(),
  attempt: z.number().int(),
  at: z.number().int(),
  status: z.string(),
  response_code: z.number().int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number().nullable(),
});

export const deliveryListSchema = z.object({ deliveries: z.array(deliverySchema) });
