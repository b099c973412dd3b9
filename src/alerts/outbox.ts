/**
 * The alert outbox of one endpoint object. An incident change (opened, escalated, resolved, or
 * an update such as a late AI summary) is written to `alert_events` in the same transaction as
 * the incident itself, so a crash between "incident opened" and "sent" cannot lose the alert.
 * The object's alarm fans each event out to the matching channels as messages with a stable id
 * (the webhook-id, the same on every attempt: at-least-once with an idempotency key), sends the
 * due ones, records every attempt in D1 (`alert_deliveries`) and retries failures with
 * exponential backoff and jitter (first retry after about 30 s) up to MAX_ATTEMPTS. Nothing here
 * runs in the ingest or proxy request path. Cooldowns keep a flapping endpoint from flooding a
 * channel by delaying, never dropping (see `holdOf`). The fan-out is outbox-fan-out.ts, one send and
 * its record outbox-send.ts.
 */
import { loadEnabledChannels, type StoredChannel } from "./channels";
import { fanOut } from "./outbox-fan-out";
import type { OutboxHooks } from "./outbox-events";
import {
  loadApiIncident,
  recordAttempt,
  recordOutcome,
  sendMessage,
  type OutboxMessage,
  type SendOutcome,
} from "./outbox-send";
import type { AlertEvent, ApiIncident } from "./payloads";

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
export { OPEN_COOLDOWN_MS, UPDATE_COOLDOWN_MS } from "./outbox-fan-out";
export { FIRST_RETRY_MS, MAX_ATTEMPTS, retryDelayMs } from "./outbox-send";

/** At most this many messages are sent per alarm; the rest wait for the next one. */
const SEND_BATCH = 20;
/** Time one run may spend sending. */
const RUN_BUDGET_MS = 15_000;
const PRUNE_AFTER_MS = 7 * 24 * 60 * 60_000;
const CHANNELS_TTL_MS = 30_000;
/** How long a handed-off message is its hand-off's (see prepare): past it, the alarm hands it off again. */
export const CLAIM_LEASE_MS = 60_000;
/** Hand-offs of one message that never reported before the alarm sends it itself (see prepare). */
export const HANDOFFS_BEFORE_FALLBACK = 2;

export class AlertOutbox {
  private channels: { list: StoredChannel[]; at: number } | null = null;
  /** The run in progress (or the last one): runs are chained, never interleaved. */
  private running: Promise<unknown> = Promise.resolve();
  /** Messages a consumer claimed and has not reported yet (see claim). */
  private readonly claimed = new Set<string>();
  /** How many times each pending message was handed off to the queue (see prepare). */
  private readonly handOffs = new Map<string, number>();

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
    await this.fanOut(now, this.beforeOpenAlert);
    const due = this.sql
      .exec<OutboxMessage & { event_id: string }>(
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

  /**
   * The alarm's part when a queue sends the alerts (queue-consumer.ts): fans out new events
   * without waiting for AI (`opened` gets the incidents whose first alert waits for its summary),
   * prunes, and leases the messages due now to one hand-off: their `next_at` moves to `leaseUntil`
   * (one row each), so no later alarm hands them off again while the consumer waits for the AI
   * summary, and a later hand-off cannot take them before that wait. A message that comes due
   * again (its hand-off never reported) is handed off again; `stale` are those already handed off
   * HANDOFFS_BEFORE_FALLBACK times (the alarm then sends them itself: a queue nobody consumes must
   * not hold alerts). `next`: when the outbox is next due (null: nothing left).
   */
  async prepare(
    now: number,
    opened: (incidentId: string) => void,
  ): Promise<{ ids: string[]; leaseUntil: number; stale: boolean; next: number | null }> {
    const prepared = this.running.then(async () => {
      await this.fanOut(now, async (id) => opened(id));
      this.prune(now);
      const leaseUntil = now + CLAIM_LEASE_MS;
      const ids = this.sql
        .exec<{ message_id: string }>(
          "SELECT message_id FROM alert_outbox WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?",
          now,
          SEND_BATCH,
        )
        .toArray()
        .map((m) => m.message_id);
      const stale = ids.some((id) => (this.handOffs.get(id) ?? 0) >= HANDOFFS_BEFORE_FALLBACK);
      if (stale) return { ids: [], leaseUntil, stale, next: this.nextWake() };
      for (const id of ids) {
        this.sql.exec("UPDATE alert_outbox SET next_at = ? WHERE message_id = ?", leaseUntil, id);
        this.handOffs.set(id, (this.handOffs.get(id) ?? 0) + 1);
        // A claim whose lease ended unreported (its consumer ran out of time) no longer holds it.
        this.claimed.delete(id);
      }
      return { ids, leaseUntil, stale, next: this.nextWake() };
    });
    this.running = prepared.catch(() => undefined);
    return prepared;
  }

  /** A hand-off the queue refused: its messages are due again at once (the alarm sends them). */
  async release(ids: readonly string[], now: number): Promise<void> {
    const released = this.running.then(() => {
      for (const id of ids) {
        this.sql.exec("UPDATE alert_outbox SET next_at = ? WHERE message_id = ? AND status = 'pending'", now, id);
        this.handOffs.delete(id);
        this.claimed.delete(id);
      }
    });
    this.running = released.catch(() => undefined);
    return released;
  }

  /**
   * Claims a hand-off's messages for the sender outside the object (the queue consumer): those of
   * `ids` still pending under the hand-off's lease (`next_at` = `leaseUntil`) and not claimed yet.
   * The claim is kept in memory (no row written): a redelivered hand-off finds them claimed, or
   * reported (their `next_at` or status moved), and claims nothing. Each message's `attempt` is
   * its report's token: a report for an attempt already recorded changes nothing. An eviction
   * forgets the claims; a redelivery within the lease could then send a message again under the
   * same webhook-id (as a crash between a send and its record could).
   */
  async claim(ids: readonly string[], leaseUntil: number): Promise<OutboxMessage[]> {
    const claimed = this.running.then(() => {
      const out: OutboxMessage[] = [];
      for (const id of ids) {
        if (this.claimed.has(id)) continue;
        const m = this.sql
          .exec<OutboxMessage>(
            "SELECT message_id, incident_id, event, channel_id, attempt FROM alert_outbox WHERE message_id = ? AND status = 'pending' AND next_at = ?",
            id,
            leaseUntil,
          )
          .toArray()[0];
        if (!m) continue;
        this.claimed.add(id);
        out.push(m);
      }
      return out;
    });
    this.running = claimed.catch(() => undefined);
    return claimed;
  }

  /** Records the outcomes of claimed messages (see claim); returns when the outbox is next due. */
  async report(
    reports: readonly { message: OutboxMessage; outcome: SendOutcome; at: number }[],
  ): Promise<number | null> {
    for (const r of reports) {
      this.claimed.delete(r.message.message_id);
      this.handOffs.delete(r.message.message_id);
      const current = this.sql
        .exec(
          "SELECT 1 FROM alert_outbox WHERE message_id = ? AND status = 'pending' AND attempt = ?",
          r.message.message_id,
          r.message.attempt,
        )
        .toArray();
      if (current.length === 0) continue;
      await recordOutcome(this.sql, this.db(), r.message, r.outcome, r.at);
    }
    return this.nextWake();
  }

  private fanOut(now: number, beforeOpenAlert: (incidentId: string) => Promise<void>): Promise<void> {
    return fanOut(
      {
        sql: this.sql,
        hooks: this.hooks,
        channels: (at) => this.enabledChannels(at),
        beforeOpenAlert,
        recordAttempt: (a, at) => recordAttempt(this.db(), a, at),
      },
      now,
    );
  }

  private async send(m: OutboxMessage, now: number): Promise<void> {
    this.handOffs.delete(m.message_id);
    this.claimed.delete(m.message_id);
    const outcome = await sendMessage(
      {
        channels: (at) => this.enabledChannels(at),
        loadIncident: (id) => this.loadIncident(id),
        dashboardUrl: this.dashboardUrl,
      },
      m,
      now,
    );
    await recordOutcome(this.sql, this.db(), m, outcome, now);
  }

  private loadIncident(id: string): Promise<ApiIncident | null> {
    return this.hooks.load ? this.hooks.load(id) : loadApiIncident(this.db(), id);
  }
}
