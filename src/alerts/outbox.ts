/**
 * The alert outbox of one endpoint object. An incident change (opened, escalated, resolved, or
 * an update such as a late AI summary) is written to `alert_events` in the same transaction as
 * the incident itself, so a crash between "incident opened" and "sent" cannot lose the alert.
 * The object's alarm fans each event out to the matching channels as messages with a stable id
 * (the webhook-id, the same on every attempt: at-least-once with an idempotency key), sends the
 * due ones, records every attempt in D1 (`alert_deliveries`) and retries failures with
 * exponential backoff and jitter (first retry after about 30 s) up to MAX_ATTEMPTS. Nothing here
 * runs in the ingest or proxy request path. Cooldowns keep a flapping endpoint from flooding a
 * channel by delaying, never dropping (see `hold`).
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { incidents } from "../db/schema";
import { log } from "../lib/log";
import { toApiIncident } from "../incidents/api-incident";
import { channelMatches, loadEnabledChannels, type StoredChannel } from "./channels";
import type { AlertEvent, AlertMessage, ApiIncident } from "./payloads";
import { deliver, recordDelivery } from "./send";
import { errorMessage } from "../lib/errors";
import { backoffMs, type Backoff } from "../lib/backoff";
import { HOUR_MS } from "../lib/time";
import { SERVICE_LIST_SEPARATOR, type EventRoute, type OutboxHooks } from "./outbox-events";

export {
  AI_ALERT_WAIT_MS,
  ANNOUNCE_WITHIN_MS,
  announceChange,
  OUTBOX_SCHEMA,
  SERVICE_LIST_SEPARATOR,
  type Announcer,
  type EventRoute,
  type OutboxHooks,
} from "./outbox-events";

export const MAX_ATTEMPTS = 8;
export const FIRST_RETRY_MS = 30_000;
const ALERT_RETRY: Backoff = { firstMs: FIRST_RETRY_MS, factor: 2, maxMs: HOUR_MS, jitter: 0.2 };
export const UPDATE_COOLDOWN_MS = 10 * 60_000;
export const OPEN_COOLDOWN_MS = 10 * 60_000;
/** At most this many messages are sent per alarm; the rest wait for the next one. */
const SEND_BATCH = 20;
/** Time one run may spend sending. */
const RUN_BUDGET_MS = 15_000;
const PRUNE_AFTER_MS = 7 * 24 * 60 * 60_000;
const CHANNELS_TTL_MS = 30_000;

/** Exponential backoff with ±20% jitter: about 30 s, 1 min, 2 min ... never over an hour. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  return backoffMs(ALERT_RETRY, attempt, random);
}

export class AlertOutbox {
  private channels: { list: StoredChannel[]; at: number } | null = null;
  /** The run in progress (or the last one): runs are chained, never interleaved. */
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sql: SqlStorage,
    private readonly db: () => D1Database,
    private readonly dashboardUrl: string | null,
    /** Runs before an incident's first alert goes out (the short wait for its AI summary). */
    private readonly beforeOpenAlert: (incidentId: string) => Promise<void> = async () => undefined,
    private readonly hooks: OutboxHooks = {},
  ) {}

  /** Records an incident change to announce (call inside the transaction that stores the incident). */
  enqueue(
    e: { incident_id: string; event: AlertEvent; severity: string; service: string; round?: number },
    now: number,
  ): void {
    // Updates and reminders repeat: each is its own event (opened, escalated, resolved happen once
    // per round; a re-opened incident starts a new round).
    const repeats = e.event === "incident.updated" || e.event === "incident.reminder";
    const eventId = `${e.incident_id}:${e.event}${repeats ? `:${now}` : e.round ? `:r${e.round}` : ""}`;
    this.sql.exec(
      "INSERT OR IGNORE INTO alert_events (event_id, incident_id, event, severity, service, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      eventId,
      e.incident_id,
      e.event,
      e.severity,
      e.service,
      now,
    );
  }

  /** Whether the incident's opening was recorded for announcement. */
  wasAnnounced(incidentId: string): boolean {
    return (
      this.sql.exec("SELECT 1 FROM alert_events WHERE event_id = ?", `${incidentId}:incident.opened`).toArray().length >
      0
    );
  }

  /** When the incident was last alerted (opened, escalated or reminded; the time the event was recorded), or null. */
  lastAlertAt(incidentId: string): number | null {
    return this.sql
      .exec<{ at: number | null }>(
        "SELECT max(created_at) AS at FROM alert_events WHERE incident_id = ? AND event IN ('incident.opened', 'incident.escalated', 'incident.reminder')",
        incidentId,
      )
      .one().at;
  }

  /** Forgets finished events and messages after a week (the dedup of replays needs recent ones only). */
  prune(now: number): void {
    const before = now - PRUNE_AFTER_MS;
    this.sql.exec("DELETE FROM alert_outbox WHERE status != 'pending' AND created_at < ?", before);
    this.sql.exec(
      "DELETE FROM alert_events WHERE fanned_out = 1 AND created_at < ? AND event_id NOT IN (SELECT event_id FROM alert_outbox)",
      before,
    );
  }

  /** Whether anything waits: events to fan out or messages due now or later. */
  nextWake(): number | null {
    const held = this.sql
      .exec<{ at: number | null }>(
        "SELECT min(coalesce(h.until, 0)) AS at FROM alert_events e LEFT JOIN alert_holds h ON h.event_id = e.event_id WHERE e.fanned_out = 0",
      )
      .one().at;
    const row = this.sql
      .exec<{ at: number | null }>("SELECT min(next_at) AS at FROM alert_outbox WHERE status = 'pending'")
      .one();
    if (held === null) return row.at;
    return row.at === null ? held : Math.min(held, row.at);
  }

  /** The event's fan-out decision (see OutboxHooks.route); null: fan out now. */
  private async routeEvent(
    e: { event_id: string; incident_id: string; event: string; severity: string; service: string },
    now: number,
    run: { routeFailed: boolean },
  ): Promise<EventRoute> {
    if (!this.hooks.route) return { kind: "send" };
    const until = this.sql
      .exec<{ until: number }>("SELECT until FROM alert_holds WHERE event_id = ?", e.event_id)
      .toArray()[0]?.until;
    if (until !== undefined && until > now) return { kind: "wait", until };
    // After one failed route in a run the rest go alone at once, without another timed-out call each.
    if (run.routeFailed) return { kind: "send" };
    try {
      return await this.hooks.route(
        { incident_id: e.incident_id, event: e.event as AlertEvent, severity: e.severity, service: e.service },
        now,
      );
    } catch (err) {
      run.routeFailed = true;
      log("warn", "alert_route_failed", { incident_id: e.incident_id, event: e.event, message: errorMessage(err) });
      return { kind: "send" };
    }
  }

  private async enabledChannels(now: number): Promise<StoredChannel[]> {
    if (!this.channels || now - this.channels.at > CHANNELS_TTL_MS)
      this.channels = { list: await loadEnabledChannels(this.db()), at: now };
    return this.channels.list;
  }

  /** Fans out new events and sends what is due; returns when to come back (null: nothing left). */
  async run(now = Date.now()): Promise<number | null> {
    // One run at a time: the alarm and an RPC may both ask, and interleaved runs would send twice.
    // A second caller waits for the run in progress, then runs (so what it enqueued is looked at:
    // a fan-out that asks an incident's group takes a round trip).
    const next = this.running.then(() => this.runOnce(now));
    this.running = next.catch(() => undefined);
    return next;
  }

  private async runOnce(now: number): Promise<number | null> {
    await this.fanOut(now);
    const due = this.sql
      .exec<{
        message_id: string;
        event_id: string;
        incident_id: string;
        event: string;
        channel_id: string;
        attempt: number;
      }>(
        "SELECT message_id, event_id, incident_id, event, channel_id, attempt FROM alert_outbox WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?",
        now,
        SEND_BATCH,
      )
      .toArray();
    const started = Date.now();
    for (const m of due) {
      // A slow receiver must not hold the object's alarm (the D1 flush waits behind it): the rest waits for the next run.
      if (Date.now() - started > RUN_BUDGET_MS) break;
      await this.send(m, now);
    }
    this.prune(now);
    return this.nextWake();
  }

  private async fanOut(now: number): Promise<void> {
    const events = this.sql
      .exec<{
        event_id: string;
        incident_id: string;
        event: string;
        severity: string;
        service: string;
        created_at: number;
      }>(
        // Insertion order breaks ties: events of one transaction share its frozen clock.
        "SELECT event_id, incident_id, event, severity, service, created_at FROM alert_events WHERE fanned_out = 0 ORDER BY created_at, rowid",
      )
      .toArray();
    if (events.length === 0) return;
    const channels = await this.enabledChannels(now);
    const run = { routeFailed: false };
    const held = new Map<string, number>();
    const started = Date.now();
    for (const e of events) {
      // The fan-out asks the group object per event: bounded like the sends; the rest waits for the next run (nextWake).
      if (Date.now() - started > RUN_BUDGET_MS) break;
      // An incident's later events wait behind its held one (a resolve must not go out before its opening).
      const heldBefore = held.get(e.incident_id);
      const route =
        heldBefore !== undefined ? ({ kind: "wait", until: heldBefore } as const) : await this.routeEvent(e, now, run);
      if (route.kind === "wait") {
        held.set(e.incident_id, route.until);
        this.sql.exec("INSERT OR REPLACE INTO alert_holds (event_id, until) VALUES (?, ?)", e.event_id, route.until);
        continue;
      }
      this.sql.exec("DELETE FROM alert_holds WHERE event_id = ?", e.event_id);
      const services = e.service.split(SERVICE_LIST_SEPARATOR);
      const matching = channels.filter((c) =>
        services.some((service) => channelMatches(c, { service, severity: e.severity })),
      );
      // The AI summary gets a short wait so the first alert can carry it; if it is not ready,
      // the alert goes without it and the summary follows as an update when it comes.
      if (e.event === "incident.opened" && route.kind === "send") await this.beforeOpenAlert(e.incident_id);
      for (const ch of matching) {
        const messageId = `msg_${e.event_id.replace(/[^a-z0-9_]/gi, "_")}_${ch.id}`;
        const hold =
          route.kind === "skip" ? ({ kind: "coalesce", reason: route.reason } as const) : this.hold(e, ch.id, now);
        const inserted = this.sql.exec(
          `INSERT OR IGNORE INTO alert_outbox (message_id, event_id, incident_id, event, channel_id, next_at, status, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          messageId,
          e.event_id,
          e.incident_id,
          e.event,
          ch.id,
          hold.kind === "defer" ? hold.until : now,
          hold.kind === "coalesce" ? "skipped" : "pending",
          now,
        );
        if (hold.kind === "coalesce" && inserted.rowsWritten > 0) {
          await this.recordAttempt(
            {
              messageId,
              channelId: ch.id,
              incidentId: e.incident_id,
              event: e.event,
              attempt: 0,
              status: "skipped",
              code: null,
              error: hold.reason,
              duration: null,
            },
            now,
          );
        }
      }
      this.sql.exec("UPDATE alert_events SET fanned_out = 1 WHERE event_id = ?", e.event_id);
    }
  }

  /**
   * Cooldowns delay, they never drop: an incident's updates reach a channel at most once per
   * UPDATE_COOLDOWN_MS (a newer update waiting already absorbs this one), and a WARNING opening
   * within OPEN_COOLDOWN_MS of the endpoint's previous one waits for the cooldown's end. A
   * CRITICAL opening, an escalation or a resolution always goes at once.
   */
  private hold(
    e: { incident_id: string; event: string; severity: string },
    channelId: string,
    now: number,
  ): { kind: "none" } | { kind: "defer"; until: number } | { kind: "coalesce"; reason: string } {
    if (e.event === "incident.updated") {
      const waiting = this.sql
        .exec(
          "SELECT 1 FROM alert_outbox WHERE incident_id = ? AND channel_id = ? AND event = 'incident.updated' AND status = 'pending' LIMIT 1",
          e.incident_id,
          channelId,
        )
        .toArray().length;
      if (waiting > 0)
        return { kind: "coalesce", reason: "coalesced into the update already waiting for this incident" };
      const last = this.lastSent("incident_id = ?", e.incident_id, channelId);
      if (last !== null && now - last < UPDATE_COOLDOWN_MS) return { kind: "defer", until: last + UPDATE_COOLDOWN_MS };
    }
    if (e.event === "incident.opened" && e.severity !== "CRITICAL") {
      const last = this.lastSent("event = 'incident.opened' AND incident_id != ?", e.incident_id, channelId);
      if (last !== null && now - last < OPEN_COOLDOWN_MS) return { kind: "defer", until: last + OPEN_COOLDOWN_MS };
    }
    return { kind: "none" };
  }

  private lastSent(condition: string, incidentId: string, channelId: string): number | null {
    return this.sql
      .exec<{ at: number | null }>(
        `SELECT max(coalesce(sent_at, created_at)) AS at FROM alert_outbox WHERE ${condition} AND channel_id = ? AND status != 'skipped'`,
        incidentId,
        channelId,
      )
      .one().at;
  }

  private async loadIncident(id: string): Promise<ApiIncident | null> {
    if (this.hooks.load) return this.hooks.load(id);
    const row = await drizzle(this.db()).select().from(incidents).where(eq(incidents.id, id)).get();
    return row ? toApiIncident(row) : null;
  }

  /** Records one attempt in D1 (`recordDelivery`: a D1 failure is logged, never blocks the outbox). */
  private recordAttempt(
    a: {
      messageId: string;
      channelId: string;
      incidentId: string;
      event: string;
      attempt: number;
      status: string;
      code: number | null;
      error: string | null;
      duration: number | null;
    },
    now: number,
  ): Promise<void> {
    return recordDelivery(this.db(), {
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

  private async send(
    m: { message_id: string; incident_id: string; event: string; channel_id: string; attempt: number },
    now: number,
  ): Promise<void> {
    const channel = (await this.enabledChannels(now)).find((c) => c.id === m.channel_id);
    const attempt = m.attempt + 1;
    if (!channel) {
      this.sql.exec(
        "UPDATE alert_outbox SET status = 'gave_up', attempt = ? WHERE message_id = ?",
        attempt,
        m.message_id,
      );
      await this.recordAttempt(
        {
          messageId: m.message_id,
          channelId: m.channel_id,
          incidentId: m.incident_id,
          event: m.event,
          attempt,
          status: "gave_up",
          code: null,
          error: "the channel was deleted or disabled",
          duration: null,
        },
        now,
      );
      return;
    }
    const incident = await this.loadIncident(m.incident_id);
    if (!incident) {
      // Not in D1 yet (the copy is retried by the object's alarm): try again shortly.
      this.sql.exec("UPDATE alert_outbox SET next_at = ? WHERE message_id = ?", now + 5_000, m.message_id);
      return;
    }
    const message: AlertMessage = {
      id: m.message_id,
      event: m.event as AlertEvent,
      timestamp: now,
      incident,
      dashboard_url: this.dashboardUrl,
    };
    const result = await deliver(channel, message);
    if (result.ok) {
      this.sql.exec(
        "UPDATE alert_outbox SET status = 'delivered', attempt = ?, sent_at = ? WHERE message_id = ?",
        attempt,
        now,
        m.message_id,
      );
    } else if (attempt >= MAX_ATTEMPTS) {
      this.sql.exec(
        "UPDATE alert_outbox SET status = 'gave_up', attempt = ? WHERE message_id = ?",
        attempt,
        m.message_id,
      );
      log("error", "alert_gave_up", {
        message_id: m.message_id,
        channel_id: m.channel_id,
        attempts: attempt,
        status: result.status,
        error: result.error,
      });
    } else {
      this.sql.exec(
        "UPDATE alert_outbox SET attempt = ?, next_at = ? WHERE message_id = ?",
        attempt,
        Math.max(now, Date.now()) + retryDelayMs(attempt),
        m.message_id,
      );
    }
    const status = result.ok ? "delivered" : attempt >= MAX_ATTEMPTS ? "gave_up" : "failed";
    await this.recordAttempt(
      {
        messageId: m.message_id,
        channelId: m.channel_id,
        incidentId: m.incident_id,
        event: m.event,
        attempt,
        status,
        code: result.status,
        error: result.error,
        duration: result.duration_ms,
      },
      now,
    );
  }
}
