/** D1 tables of alerting: channels and delivery attempts. */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Alert channels (admin API): a signed webhook, a Slack incoming webhook or PagerDuty Events v2,
 * optionally filtered by service and minimum severity. `secret` is write-only: the API never
 * returns it (a webhook's `whsec_` signing secret, or PagerDuty's routing key).
 */
export const alertChannels = sqliteTable("alert_channels", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  name: text("name").notNull(),
  url: text("url").notNull(),
  secret: text("secret"),
  /** JSON array of service names; null: every service. */
  services: text("services"),
  minSeverity: text("min_severity").notNull(),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Every delivery attempt of an alert to a channel, for `GET /v1/alert-deliveries`. */
export const alertDeliveries = sqliteTable(
  "alert_deliveries",
  {
    seq: integer("seq").primaryKey(),
    /** The stable message id (the webhook-id): the same for every attempt of one message. */
    messageId: text("message_id").notNull(),
    channelId: text("channel_id").notNull(),
    incidentId: text("incident_id"),
    event: text("event").notNull(),
    attempt: integer("attempt").notNull(),
    at: integer("at").notNull(),
    /** delivered | failed (will retry) | gave_up | skipped (cooldown) */
    status: text("status").notNull(),
    responseCode: integer("response_code"),
    error: text("error"),
    durationMs: integer("duration_ms"),
  },
  (t) => [
    index("alert_deliveries_at").on(t.at),
    index("alert_deliveries_message").on(t.messageId),
    index("alert_deliveries_incident").on(t.incidentId, t.at),
  ],
);
