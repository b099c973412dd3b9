/** D1 tables of raw records: services, request logs and the hours they touch. */
import { sql } from "drizzle-orm";
import { integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Services (dimension table): every service seen in logs, and the ones configured through the
 * admin API with their origin and settings (`config` is the validated JSON of the service).
 */
export const services = sqliteTable("services", {
  name: text("name").primaryKey(),
  firstSeenAt: integer("first_seen_at").notNull(),
  config: text("config"),
  updatedAt: integer("updated_at"),
});

/**
 * Raw request logs (fact table): the evidence and a weighted sample of plain successes
 * (src/storage/sampling.ts). Lean on purpose, since every index costs a row written per insert
 * and per retention delete: a WITHOUT ROWID table keyed by (timestamp, record_key), so the time
 * range of the summaries, the retention and an unfiltered newest-first page is a key range, and
 * one secondary index for a service's newest-first page. The record key in the primary key makes
 * a re-sent flush a no-op (ON CONFLICT DO NOTHING). drizzle cannot say WITHOUT ROWID: migration
 * 0009 is written by hand (its snapshot is drizzle-kit's). `weight` is how many records of the endpoint the row stands
 * for (1 unless sampled).
 */
export const requestLogs = sqliteTable(
  "request_logs",
  {
    recordKey: text("record_key").notNull(),
    timestamp: integer("timestamp").notNull(),
    receivedAt: integer("received_at").notNull(),
    service: text("service").notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    path: text("path").notNull(),
    status: integer("status").notNull(),
    /** 1..5 for 1xx..5xx (virtual: costs no byte and no write). */
    statusClass: integer("status_class").generatedAlwaysAs(sql`status / 100`, { mode: "virtual" }),
    latencyMs: real("latency_ms").notNull(),
    ttfbMs: real("ttfb_ms"),
    requestBytes: integer("request_bytes"),
    responseBytes: integer("response_bytes"),
    error: text("error"),
    responseEmpty: integer("response_empty", { mode: "boolean" }).notNull().default(false),
    inconsistent: integer("inconsistent", { mode: "boolean" }).notNull().default(false),
    clientId: text("client_id"),
    requestId: text("request_id"),
    clientIp: text("client_ip"),
    userAgent: text("user_agent"),
    consumer: text("consumer"),
    region: text("region"),
    attributes: text("attributes"),
    source: text("source")
      .notNull()
      .default(sql`'ingest'`),
    weight: real("weight").notNull().default(1),
  },
  // No secondary index (migration 0010): each stored row is one D1 row written on insert and one
  // on delete; a service filter scans the time range (query times: docs/operations.md "Raw logs in
  // D1: sampling and the lean table"; rows and bytes: bench/README.md "Capacity and cost").
  (t) => [primaryKey({ columns: [t.timestamp, t.recordKey] })],
);

/**
 * The hours of event time that received raw rows, with the sequence number of the last flush
 * that wrote into each (a counter, one up per flush): the summaries' late-record watermark, now
 * that the raw table has no rowid. One row written per flush and hour.
 */
export const logHours = sqliteTable("log_hours", {
  hour: integer("hour").primaryKey(),
  seq: integer("seq").notNull(),
});

/**
 * The hours of event time in which each service has raw rows (one row per service and hour, written
 * by the flush that first stores a row there, and dropped by retention once no raw row is left in
 * it). `GET /v1/logs?service=` reads only the span of the service's hours instead of the whole
 * table (the raw table has no service index since migration 0010); an unknown service reads
 * nothing. WITHOUT ROWID in migration 0012 (hand-edited: drizzle cannot say it).
 */
export const logServiceHours = sqliteTable(
  "log_service_hours",
  {
    service: text("service").notNull(),
    hour: integer("hour").notNull(),
  },
  (t) => [primaryKey({ columns: [t.service, t.hour] })],
);
