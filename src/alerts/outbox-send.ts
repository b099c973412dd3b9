/**
 * One message of the alert outbox sent to its channel, then its attempt recorded: the row's
 * status, attempt and next time in the owner's SQLite, the attempt itself in D1
 * (`alert_deliveries`). The send (the receiver's I/O) and the record (the outbox's rows) are two
 * functions so that the send can run where the rows are not (see outbox.ts).
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { incidents } from "../db/schema";
import { toApiIncident } from "../incidents/api-incident";
import { backoffMs, type Backoff } from "../lib/backoff";
import { log } from "../lib/log";
import { HOUR_MS } from "../lib/time";
import type { StoredChannel } from "./channels";
import type { AlertEvent, AlertMessage, ApiIncident } from "./payloads";
import { deliver, recordDelivery, type DeliveryResult } from "./send";

export const MAX_ATTEMPTS = 8;
export const FIRST_RETRY_MS = 30_000;
const ALERT_RETRY: Backoff = { firstMs: FIRST_RETRY_MS, factor: 2, maxMs: HOUR_MS, jitter: 0.2 };
/** An incident not in D1 yet (its copy is retried by the object's alarm) is looked for again after this. */
const NOT_READY_RETRY_MS = 5_000;

/** Exponential backoff with ±20% jitter: about 30 s, 1 min, 2 min ... never over an hour. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  return backoffMs(ALERT_RETRY, attempt, random);
}

/** A pending message of the outbox, as its row holds it (`attempt`: attempts made so far). */
export type OutboxMessage = {
  message_id: string;
  incident_id: string;
  event: string;
  channel_id: string;
  attempt: number;
};

/** What became of one send: the channel is gone, the incident is not in D1 yet, or the receiver's answer. */
export type SendOutcome = { kind: "no_channel" } | { kind: "not_ready" } | { kind: "sent"; result: DeliveryResult };

/** What a send reads: the enabled channels, the incident as the API shows it, the dashboard's URL. */
export interface SendSource {
  channels(now: number): Promise<StoredChannel[]>;
  loadIncident(id: string): Promise<ApiIncident | null>;
  dashboardUrl: string | null;
}

/** The incident's D1 row as the API shows it (null: not in D1 yet). */
export async function loadApiIncident(db: D1Database, id: string): Promise<ApiIncident | null> {
  const row = await drizzle(db).select().from(incidents).where(eq(incidents.id, id)).get();
  return row ? toApiIncident(row) : null;
}

/** Sends one message to its channel (nothing is written: see recordOutcome). */
export async function sendMessage(src: SendSource, m: OutboxMessage, now: number): Promise<SendOutcome> {
  const channel = (await src.channels(now)).find((c) => c.id === m.channel_id);
  if (!channel) return { kind: "no_channel" };
  const incident = await src.loadIncident(m.incident_id);
  if (!incident) return { kind: "not_ready" };
  const message: AlertMessage = {
    id: m.message_id,
    event: m.event as AlertEvent,
    timestamp: now,
    incident,
    dashboard_url: src.dashboardUrl,
  };
  return { kind: "sent", result: await deliver(channel, message) };
}

/** One attempt as `alert_deliveries` records it. */
export interface AttemptRecord {
  messageId: string;
  channelId: string;
  incidentId: string;
  event: string;
  attempt: number;
  status: string;
  code: number | null;
  error: string | null;
  duration: number | null;
}

/** Records one attempt in D1 (`recordDelivery`: a D1 failure is logged, never blocks the outbox). */
export function recordAttempt(db: D1Database, a: AttemptRecord, now: number): Promise<void> {
  return recordDelivery(db, {
    message_id: a.messageId,
    channel_id: a.channelId,
    incident_id: a.incidentId,
    event: a.event,
    attempt: a.attempt,
    at: now,
    status: a.status,
    response_code: a.code,
    error: a.error,
    duration_ms: a.duration,
  });
}

/** Records a send's outcome: the row (delivered, retried with backoff, or given up) and the attempt in D1. */
export async function recordOutcome(
  sql: SqlStorage,
  db: D1Database,
  m: OutboxMessage,
  outcome: SendOutcome,
  now: number,
): Promise<void> {
  const attempt = m.attempt + 1;
  const base = { messageId: m.message_id, channelId: m.channel_id, incidentId: m.incident_id, event: m.event, attempt };
  if (outcome.kind === "no_channel") {
    sql.exec("UPDATE alert_outbox SET status = 'gave_up', attempt = ? WHERE message_id = ?", attempt, m.message_id);
    const error = "the channel was deleted or disabled";
    return recordAttempt(db, { ...base, status: "gave_up", code: null, error, duration: null }, now);
  }
  if (outcome.kind === "not_ready") {
    // Not in D1 yet (the copy is retried by the object's alarm): try again shortly.
    sql.exec("UPDATE alert_outbox SET next_at = ? WHERE message_id = ?", now + NOT_READY_RETRY_MS, m.message_id);
    return;
  }
  const result = outcome.result;
  if (result.ok) {
    sql.exec(
      "UPDATE alert_outbox SET status = 'delivered', attempt = ?, sent_at = ? WHERE message_id = ?",
      attempt,
      now,
      m.message_id,
    );
  } else if (attempt >= MAX_ATTEMPTS) {
    sql.exec("UPDATE alert_outbox SET status = 'gave_up', attempt = ? WHERE message_id = ?", attempt, m.message_id);
    log("error", "alert_gave_up", {
      message_id: m.message_id,
      channel_id: m.channel_id,
      attempts: attempt,
      status: result.status,
      error: result.error,
    });
  } else {
    sql.exec(
      "UPDATE alert_outbox SET attempt = ?, next_at = ? WHERE message_id = ?",
      attempt,
      Math.max(now, Date.now()) + retryDelayMs(attempt),
      m.message_id,
    );
  }
  const status = result.ok ? "delivered" : attempt >= MAX_ATTEMPTS ? "gave_up" : "failed";
  const record = { status, code: result.status, error: result.error, duration: result.duration_ms };
  return recordAttempt(db, { ...base, ...record }, now);
}
