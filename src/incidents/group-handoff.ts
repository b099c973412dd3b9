/**
 * The alert step of an IncidentGroups object's alarm (group-object.ts), as the endpoint objects'
 * (src/monitor/alerts-handoff.ts): with the `ALERTS_QUEUE` binding the alarm only fans new group
 * events out and leases the messages due now to one hand-off `{kind: "group", key, messages,
 * lease_until}` (AlertOutbox.prepare); the Worker's queue() handler (src/alerts/queue-consumer.ts)
 * claims exactly those over RPC, sends and reports them. Without the binding (an older
 * deployment), when the object has no name to be reached by, when the queue refuses the hand-off
 * (released first) or after HANDOFFS_BEFORE_FALLBACK unanswered hand-offs, the alarm sends them itself.
 */
import type { AlertOutbox } from "../alerts/outbox";
import type { AlertHandOff } from "../alerts/queue-consumer";
import { errorMessage } from "../lib/errors";
import { log } from "../lib/log";

/** Runs the group outbox's part of the alarm at `now`; returns when the outbox is next due (null: nothing left). */
export async function runGroupAlerts(
  outbox: AlertOutbox,
  key: string | null,
  queue: Queue<AlertHandOff> | undefined,
  now: number,
): Promise<number | null> {
  if (!queue || key === null) return outbox.run(now);
  // Group alerts wait for no AI summary (their lead incident's came with its own alert).
  const { ids, leaseUntil, stale, next } = await outbox.prepare(now, () => undefined);
  if (stale) {
    // Handed off before and never reported (the queue accepts but nobody consumes): sent from here.
    log("warn", "alert_handoff_unanswered", { group: key });
    return outbox.run(now);
  }
  if (ids.length === 0) return next;
  try {
    await queue.send({ kind: "group", key, messages: ids, lease_until: leaseUntil });
  } catch (err) {
    // The queue refused: nothing is lost, the alarm delivers as before.
    log("warn", "alert_handoff_refused", { group: key, message: errorMessage(err) });
    await outbox.release(ids, now);
    return outbox.run(now);
  }
  // Back when the lease ends (the hand-off's messages are then sent, retried, or due again).
  return next;
}
