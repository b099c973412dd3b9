/**
 * The alert step of a Durable Object's alarm, for the endpoint objects (src/monitor/alerts-handoff.ts)
 * and the IncidentGroups objects (src/incidents/group-object.ts) alike. With the `ALERTS_QUEUE`
 * binding the alarm only fans new events out and leases the messages due now to one hand-off
 * (AlertOutbox.prepare) on the queue, whose consumer (queue-consumer.ts) claims exactly those over
 * RPC, sends and reports them. Without the binding (an older deployment), when the object has no
 * name to be reached by, when the queue refuses the hand-off (its messages released first) or after
 * HANDOFFS_BEFORE_FALLBACK unanswered hand-offs, the alarm sends them itself as before.
 */
import { errorMessage } from "../lib/errors";
import { log } from "../lib/log";
import type { AlertOutbox } from "./outbox";
import type { AlertHandOff } from "./queue-consumer";

/** What differs between the objects that hand their alerts off: the object's part of handOffAlerts. */
export interface HandOffTarget {
  /** Names the object in the logs (`{ endpoint }` or `{ group }`). */
  readonly fields: Readonly<Record<string, string>>;
  /** Whether new incidents' first alerts wait for their AI summary (the endpoints'; group alerts wait for none). */
  readonly summarize: boolean;
  /** The queue message for the leased `messages`; `summarize`: the incidents whose summary the consumer waits for. */
  body(messages: string[], leaseUntil: number, summarize: string[]): AlertHandOff;
  /** Runs when the queue refused the hand-off (its messages released), before the alarm sends them itself. */
  onRefused(summarize: string[]): Promise<void>;
}

/**
 * Runs the outbox's part of the alarm at `now` (see the module's comment); `target` null: the
 * object has no name to be reached by. Returns when the outbox is next due (null: nothing left).
 */
export async function handOffAlerts(
  outbox: AlertOutbox,
  queue: Queue<AlertHandOff> | undefined,
  target: HandOffTarget | null,
  now: number,
): Promise<number | null> {
  if (!queue || target === null) return outbox.run(now);
  const summarize: string[] = [];
  const opened = target.summarize ? (id: string) => void summarize.push(id) : () => undefined;
  const { ids, leaseUntil, stale, next } = await outbox.prepare(now, opened);
  if (stale) {
    // Handed off before and never reported (the queue accepts but nobody consumes): sent from here.
    log("warn", "alert_handoff_unanswered", { ...target.fields });
    return outbox.run(now);
  }
  if (ids.length === 0 && summarize.length === 0) return next;
  try {
    await queue.send(target.body(ids, leaseUntil, summarize));
  } catch (err) {
    // The queue refused: nothing is lost, the alarm delivers as before.
    log("warn", "alert_handoff_refused", { ...target.fields, message: errorMessage(err) });
    await outbox.release(ids, now);
    await target.onRefused(summarize);
    return outbox.run(now);
  }
  // Back when the lease ends (the hand-off's messages are then sent, retried, or due again).
  return next;
}
