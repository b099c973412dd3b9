/**
 * The alarm's alert step. With the `ALERTS_QUEUE` binding the alarm only fans new events out and
 * hands the endpoint to the queue when messages are due or a new incident's summary is to be
 * waited for (src/alerts/queue-consumer.ts sends them outside the object); without it (an older
 * deployment) or when the queue refuses the hand-off, the alarm sends them itself as before.
 */
import type { AlertHandOff } from "../alerts/queue-consumer";
import { summarizeIncident } from "../ai/summarize";
import { AI_ALERT_WAIT_MS } from "../alerts/outbox";
import { log } from "../lib/log";
import { errorMessage } from "../lib/errors";
import type { MonitorContext } from "./monitor-context";

/** The queue alerts are handed to (undefined: not bound, the alarm sends them). */
function alertsQueue(env: Partial<Pick<Env, "ALERTS_QUEUE">>): Queue<AlertHandOff> | undefined {
  return env.ALERTS_QUEUE;
}

/** Runs the outbox's part of the alarm at `now`; returns when the outbox is next due (null: nothing left). */
export async function runAlerts(c: MonitorContext, now: number): Promise<number | null> {
  const queue = alertsQueue(c.env);
  if (!queue || c.name === null) return c.outbox.run(now);
  const summarize: string[] = [];
  const { ids, leaseUntil, stale, next } = await c.outbox.prepare(now, (id) => summarize.push(id));
  if (stale) {
    // Handed off before and never reported (the queue accepts but nobody consumes): sent from here.
    log("warn", "alert_handoff_unanswered", { endpoint: c.name });
    return c.outbox.run(now);
  }
  if (ids.length === 0 && summarize.length === 0) return next;
  try {
    await queue.send({ endpoint: c.name, summarize, messages: ids, lease_until: leaseUntil });
  } catch (err) {
    // The queue refused: nothing is lost, the alarm delivers as before.
    log("warn", "alert_handoff_refused", { endpoint: c.name, message: errorMessage(err) });
    await c.outbox.release(ids, now);
    for (const id of summarize)
      await summarizeIncident(c.env, id, { timeoutMs: AI_ALERT_WAIT_MS }).catch(() => undefined);
    return c.outbox.run(now);
  }
  // Back when the lease ends (the hand-off's messages are then sent, retried, or due again).
  return next;
}
