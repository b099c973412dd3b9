/**
 * The outbox's fan-out: each new alert event becomes one message per matching channel, after
 * the owner's route decision (incident groups) and the cooldowns, which delay and never drop
 * (see `hold`). See outbox.ts for the design.
 */
import { errorMessage } from "../lib/errors";
import { log } from "../lib/log";
import { channelMatches, type StoredChannel } from "./channels";
import { SERVICE_LIST_SEPARATOR, type EventRoute, type OutboxHooks } from "./outbox-events";
import type { AttemptRecord } from "./outbox-send";
import type { AlertEvent } from "./payloads";

export const UPDATE_COOLDOWN_MS = 10 * 60_000;
export const OPEN_COOLDOWN_MS = 10 * 60_000;
/** Time one fan-out may spend (it asks the group object per event); the rest waits for the next run. */
const FAN_OUT_BUDGET_MS = 15_000;

/** What a fan-out reads and writes besides the outbox's tables. */
export interface FanOutParts {
  sql: SqlStorage;
  hooks: OutboxHooks;
  channels(now: number): Promise<StoredChannel[]>;
  /** Runs before an incident's first alert is fanned out (the short wait for its AI summary). */
  beforeOpenAlert(incidentId: string): Promise<void>;
  recordAttempt(a: AttemptRecord, now: number): Promise<void>;
}

type EventRow = {
  event_id: string;
  incident_id: string;
  event: string;
  severity: string;
  service: string;
  created_at: number;
};

/** Fans out the events not fanned out yet, in the order they were recorded. */
export async function fanOut(p: FanOutParts, now: number): Promise<void> {
  const events = p.sql
    .exec<EventRow>(
      // Insertion order breaks ties: events of one transaction share its frozen clock.
      "SELECT event_id, incident_id, event, severity, service, created_at FROM alert_events WHERE fanned_out = 0 ORDER BY created_at, rowid",
    )
    .toArray();
  if (events.length === 0) return;
  const channels = await p.channels(now);
  const run = { routeFailed: false };
  const held = new Map<string, number>();
  const started = Date.now();
  for (const e of events) {
    // The fan-out asks the group object per event: bounded like the sends; the rest waits for the next run (nextWake).
    if (Date.now() - started > FAN_OUT_BUDGET_MS) break;
    // An incident's later events wait behind its held one (a resolve must not go out before its opening).
    const heldBefore = held.get(e.incident_id);
    const route =
      heldBefore !== undefined ? ({ kind: "wait", until: heldBefore } as const) : await routeEvent(p, e, now, run);
    if (route.kind === "wait") {
      held.set(e.incident_id, route.until);
      p.sql.exec("INSERT OR REPLACE INTO alert_holds (event_id, until) VALUES (?, ?)", e.event_id, route.until);
      continue;
    }
    p.sql.exec("DELETE FROM alert_holds WHERE event_id = ?", e.event_id);
    const services = e.service.split(SERVICE_LIST_SEPARATOR);
    const matching = channels.filter((c) =>
      services.some((service) => channelMatches(c, { service, severity: e.severity })),
    );
    // The AI summary gets a short wait so the first alert can carry it; if it is not ready,
    // the alert goes without it and the summary follows as an update when it comes.
    if (e.event === "incident.opened" && route.kind === "send") await p.beforeOpenAlert(e.incident_id);
    for (const ch of matching) {
      const messageId = `msg_${e.event_id.replace(/[^a-z0-9_]/gi, "_")}_${ch.id}`;
      const hold =
        route.kind === "skip" ? ({ kind: "coalesce", reason: route.reason } as const) : holdOf(p.sql, e, ch.id, now);
      const inserted = p.sql.exec(
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
        await p.recordAttempt(
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
    p.sql.exec("UPDATE alert_events SET fanned_out = 1 WHERE event_id = ?", e.event_id);
  }
}

/** The event's fan-out decision (see OutboxHooks.route); without a route hook: send now. */
async function routeEvent(
  p: FanOutParts,
  e: EventRow,
  now: number,
  run: { routeFailed: boolean },
): Promise<EventRoute> {
  if (!p.hooks.route) return { kind: "send" };
  const until = p.sql
    .exec<{ until: number }>("SELECT until FROM alert_holds WHERE event_id = ?", e.event_id)
    .toArray()[0]?.until;
  if (until !== undefined && until > now) return { kind: "wait", until };
  // After one failed route in a run the rest go alone at once, without another timed-out call each.
  if (run.routeFailed) return { kind: "send" };
  try {
    return await p.hooks.route(
      { incident_id: e.incident_id, event: e.event as AlertEvent, severity: e.severity, service: e.service },
      now,
    );
  } catch (err) {
    run.routeFailed = true;
    log("warn", "alert_route_failed", { incident_id: e.incident_id, event: e.event, message: errorMessage(err) });
    return { kind: "send" };
  }
}

/**
 * Cooldowns delay, they never drop: an incident's updates reach a channel at most once per
 * UPDATE_COOLDOWN_MS (a newer update waiting already absorbs this one), and a WARNING opening
 * within OPEN_COOLDOWN_MS of the endpoint's previous one waits for the cooldown's end. A
 * CRITICAL opening, an escalation or a resolution always goes at once.
 */
function holdOf(
  sql: SqlStorage,
  e: { incident_id: string; event: string; severity: string },
  channelId: string,
  now: number,
): { kind: "none" } | { kind: "defer"; until: number } | { kind: "coalesce"; reason: string } {
  if (e.event === "incident.updated") {
    const waiting = sql
      .exec(
        "SELECT 1 FROM alert_outbox WHERE incident_id = ? AND channel_id = ? AND event = 'incident.updated' AND status = 'pending' LIMIT 1",
        e.incident_id,
        channelId,
      )
      .toArray().length;
    if (waiting > 0) return { kind: "coalesce", reason: "coalesced into the update already waiting for this incident" };
    const last = lastSent(sql, "incident_id = ?", e.incident_id, channelId);
    if (last !== null && now - last < UPDATE_COOLDOWN_MS) return { kind: "defer", until: last + UPDATE_COOLDOWN_MS };
  }
  if (e.event === "incident.opened" && e.severity !== "CRITICAL") {
    const last = lastSent(sql, "event = 'incident.opened' AND incident_id != ?", e.incident_id, channelId);
    if (last !== null && now - last < OPEN_COOLDOWN_MS) return { kind: "defer", until: last + OPEN_COOLDOWN_MS };
  }
  return { kind: "none" };
}

function lastSent(sql: SqlStorage, condition: string, incidentId: string, channelId: string): number | null {
  return sql
    .exec<{ at: number | null }>(
      `SELECT max(coalesce(sent_at, created_at)) AS at FROM alert_outbox WHERE ${condition} AND channel_id = ? AND status != 'skipped'`,
      incidentId,
      channelId,
    )
    .one().at;
}
